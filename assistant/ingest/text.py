""".txt and .md files → text: detect the encoding, keep the text as the file has it.

UTF-8 with or without BOM, GB18030 (which reads GBK and GB2312), or a confident
charset-normalizer guess. Nothing is repaired here: the structure reader repairs page breaks
and `**` markers with each character remembering its offset, so offsets point into exactly
what the file says (only radical code points are mapped, one for one, by the caller).
"""

from __future__ import annotations

from assistant.ingest.common import CorpusError, Extracted

NUL = b"\x00"


def read(data: bytes, label: str) -> Extracted:
    """The decoded text and its encoding; CorpusError naming `label` if it is not text."""
    text, encoding = decode(data, label)
    return Extracted(text=text, encoding=encoding)


def decode(data: bytes, label: str) -> tuple[str, str]:
    """Return (text, encoding) for a file's bytes, or raise CorpusError naming `label`."""
    if NUL in data:
        raise CorpusError(f"{label}: binary file (NUL byte at offset {data.index(NUL)})")
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError as err:
            raise CorpusError(f"{label}: not UTF-8 text despite its BOM ({_where(data, err)})") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as err:
        first_error = err
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as err:
        # the decoder that got further most likely is the intended one: point at its stumble
        if err.start > first_error.start:
            first_error = err
    guess = _guess(data)
    if guess is not None:
        return guess
    raise CorpusError(f"{label}: not UTF-8 or GB18030 text ({_where(data, first_error)})")


def _guess(data: bytes) -> tuple[str, str] | None:
    """charset-normalizer's best guess, only when it is confident."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # optional: without it, only UTF-8 and GB18030 are read
        return None
    best = from_bytes(data).best()
    # low chaos alone is not enough: repeated junk bytes read as UTF-16 have none, but no coherence either
    if best is None or best.chaos > 0.1 or best.coherence <= 0 or best.encoding.startswith("utf_"):
        return None
    try:
        return data.decode(best.encoding), best.encoding
    except (UnicodeDecodeError, LookupError):
        return None


def _where(data: bytes, err: UnicodeDecodeError) -> str:
    return f"byte 0x{data[err.start]:02x} at offset {err.start}"
