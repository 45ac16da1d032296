"""Read corpus files as received and recover their structure.

Reading: detect the encoding (UTF-8 with or without BOM, GB18030, or a confident
charset-normalizer guess) and keep the decoded text untouched, so that every
offset handed out later points into exactly what the file says.

Structure: split the text into paragraphs with a heading path each, repairing
what page breaks and Markdown conversion did (sentences cut by a blank line,
`**` bold markers). Repairs never copy text: each clean character remembers its
offset in the original.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from assistant.schema import Document

SUFFIXES = (".txt", ".md")
NUL = b"\x00"

# A line ending with one of these finishes a sentence (or a clause that may stand
# alone); anything else followed by more body text was cut by a page break.
SENTENCE_END = frozenset("。！？；…：!?;:")
CLOSERS = frozenset("”’」』）)》〉】〕］]\"'")

CN_NUM = "一二三四五六七八九十百零〇"
# Heading patterns of Chinese official documents, tried on the clean, stripped line.
_LEVEL1 = re.compile(rf"[{CN_NUM}]+、")
_LEVEL2 = re.compile(rf"[(（]\s*[{CN_NUM}]+\s*[)）]")
_LEVEL3 = re.compile(r"\d{1,2}\s*[.．、](?!\s*\d)")
_MD_HEADING = re.compile(r"[ \t]*(#{1,6})[ \t]+")
_MD_BLOCK = re.compile(r"[-*+>]\s|\|")  # list, quote or table lines: never joined
_DATE = re.compile(
    r"[(（]?\s*(?:\d{4}|[〇零一二三四五六七八九]{4})\s*年"
    r"(?:\s*[\d〇零一二三四五六七八九十]{1,3}\s*月(?:\s*[\d〇零一二三四五六七八九十]{1,3}\s*日)?)?\s*[)）]?"
)
_HEADING_END = "。！？"

# Section ranks: Markdown depths nest outside the numbered headings of the text.
_CN_RANK = {1: 10, 2: 11, 3: 12}
MAX_HEADING_CHARS = 80  # longer "headings" are numbered list items, not titles
MAX_TITLE_CHARS = 60


class CorpusError(Exception):
    """A file or folder that cannot be read; the message is one line naming it."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))  # one line, whatever the path holds


# --------------------------------------------------------------------------- reading


def corpus_files(root: Path) -> list[Path]:
    """Every .txt and .md file under root, sorted, hidden files and folders skipped."""
    found = []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.suffix.lower() in SUFFIXES and path.is_file():
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


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


def read_document(path: Path, root: Path) -> Document:
    """Read one file as received: decoded text, its encoding and the bytes' SHA-256."""
    label = path.as_posix()
    try:
        data = path.read_bytes()
    except OSError as err:
        raise CorpusError(f"{label}: cannot read ({err.strerror or err})") from err
    text, encoding = decode(data, label)
    name = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
    return Document(name=name, text=text, encoding=encoding, sha256=hashlib.sha256(data).hexdigest())


def read_corpus(root: Path) -> tuple[list[Document], list[CorpusError]]:
    """All readable documents under root, and one error per file that is not."""
    if not root.exists():
        raise CorpusError(f"{root.as_posix()}/: no such folder")
    if not root.is_dir():
        raise CorpusError(f"{root.as_posix()}: not a folder")
    docs: list[Document] = []
    errors: list[CorpusError] = []
    for path in corpus_files(root):
        try:
            docs.append(read_document(path, root))
        except CorpusError as err:  # one bad file must not stop the others
            errors.append(err)
    return docs, errors


# --------------------------------------------------------------------------- structure


@dataclass(frozen=True)
class Paragraph:
    """Clean text of one paragraph; `offsets[i]` is the index in `Document.text` of `text[i]`."""

    section: tuple[str, ...]
    text: str
    offsets: tuple[int, ...] = field(repr=False)
    is_heading: bool = False  # a heading standing alone on its line
    kind: str = "body"  # "title", "date", "heading" or "body"

    @property
    def start(self) -> int:
        return self.offsets[0]

    @property
    def end(self) -> int:
        return self.offsets[-1] + 1


@dataclass(frozen=True)
class _Line:
    text: str  # clean: `**` removed, stripped
    offsets: tuple[int, ...]
    blank_before: bool  # a blank line separates it from the previous line
    md_depth: int = 0  # Markdown heading depth, 0 if not a Markdown heading


def _raw_lines(text: str) -> Iterator[tuple[int, str]]:
    """(offset, line without its line break); splitlines also breaks at form feeds."""
    pos = 0
    for chunk in text.splitlines(keepends=True):
        yield pos, chunk.rstrip("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
        pos += len(chunk)


def bold_markers(text: str) -> frozenset[int]:
    """Offsets of the `*` of `**` markers, paired left to right over the non-white-space
    characters, exactly as `re.sub(r"\\s+", "", text).replace("**", "")` would drop them."""
    markers: set[int] = set()
    pending = -1
    for i, ch in enumerate(text):
        if ch.isspace():
            continue
        if ch != "*":
            pending = -1
        elif pending < 0:
            pending = i
        else:
            markers.update((pending, i))
            pending = -1
    return frozenset(markers)


def _clean_line(raw: str, base: int, markdown: bool, markers: frozenset[int]) -> tuple[str, tuple[int, ...], int]:
    """Drop `**` (and a Markdown heading's `#` marks), strip, keep each char's offset."""
    depth = 0
    skip = 0
    if markdown and (m := _MD_HEADING.match(raw)):
        depth, skip = len(m.group(1)), m.end()
    kept = [(raw[i], base + i) for i in range(skip, len(raw)) if base + i not in markers]
    lo, hi = 0, len(kept)
    while lo < hi and kept[lo][0].isspace():
        lo += 1
    while hi > lo and kept[hi - 1][0].isspace():
        hi -= 1
    return "".join(c for c, _ in kept[lo:hi]), tuple(o for _, o in kept[lo:hi]), depth


def _lines(doc: Document) -> list[_Line]:
    markdown = doc.name.lower().endswith(".md")
    markers = bold_markers(doc.text)
    lines: list[_Line] = []
    blank = False
    for base, raw in _raw_lines(doc.text):
        text, offsets, depth = _clean_line(raw, base, markdown, markers)
        if not text:
            blank = True
            continue
        lines.append(_Line(text, offsets, blank or not lines, depth))
        blank = False
    return lines


def ends_sentence(text: str) -> bool:
    """True if a line's clean text ends a sentence (so a page break there is a real break)."""
    stripped = text.rstrip()
    return bool(stripped) and (stripped[-1] in SENTENCE_END or stripped[-1] in CLOSERS)


def heading_level(line: str) -> int:
    """1 for `一、`, 2 for `(一)`/`（一）`, 3 for `1.`/`1．`/`1、`; 0 if not a heading."""
    for level, pattern in ((1, _LEVEL1), (2, _LEVEL2), (3, _LEVEL3)):
        m = pattern.match(line)
        if m and line[m.end() :].strip():
            return level
    return 0


def _heading_title(text: str) -> tuple[str, bool]:
    """(title, standalone): the title is the first sentence, without its end mark.

    A heading line with more text after its first sentence (`4.积极主动作为，…果断。健全…`)
    is an inline heading: the title names the section and the line is its first body paragraph.
    """
    cut = min((i for i in (text.find(c) for c in _HEADING_END) if i >= 0), default=-1)
    if cut < 0:
        return text.strip(), True
    return text[:cut].strip(), not text[cut + 1 :].strip()


def _is_date(text: str) -> bool:
    return _DATE.fullmatch(text.strip()) is not None


def _nws(text: str) -> int:
    return sum(1 for c in text if not c.isspace())


def _looks_like_title(line: _Line) -> bool:
    t = line.text
    return (
        _nws(t) <= MAX_TITLE_CHARS
        and not any(c in t for c in _HEADING_END)
        and not ends_sentence(t)
        and not _is_date(t)
        and heading_level(t) == 0
        and line.md_depth == 0
    )


def _title_count(lines: list[_Line]) -> int:
    """How many leading lines form the title (0 if the document has none).

    A title may wrap over lines with no blank line between them (as PDF conversion does),
    but never across a blank line: what follows a blank line is the date or the text.
    """
    if not lines:
        return 0
    first = lines[0]
    if first.md_depth == 1:
        # `# Title` is the title when it is the only top-level Markdown heading
        return 1 if sum(1 for ln in lines if ln.md_depth == 1) == 1 else 0
    if not _looks_like_title(first):
        return 0
    n = 1
    total = _nws(first.text)
    while n < len(lines) and not lines[n].blank_before and _looks_like_title(lines[n]):
        total += _nws(lines[n].text)
        if total > MAX_TITLE_CHARS:
            break
        n += 1
    return n


def _heading(line: _Line) -> tuple[int, str, bool] | None:
    """(rank, title, standalone) if the line is a heading."""
    if line.md_depth:
        return line.md_depth - 1, line.text.strip(), True
    level = heading_level(line.text)
    if not level:
        return None
    title, standalone = _heading_title(line.text)
    if _nws(title) > MAX_HEADING_CHARS:
        return None
    return _CN_RANK[level], title, standalone


def _continues(prev: Paragraph, line: _Line, markdown: bool) -> bool:
    """A body line continues the previous body paragraph cut mid-sentence (a page break)."""
    if prev.kind != "body" or ends_sentence(prev.text):
        return False
    return not (markdown and (_MD_BLOCK.match(line.text) or _MD_BLOCK.match(prev.text)))


def paragraphs(doc: Document) -> list[Paragraph]:
    """The document's paragraphs in order, repaired, each with its heading path."""
    lines = _lines(doc)
    markdown = doc.name.lower().endswith(".md")
    out: list[Paragraph] = []
    n_title = _title_count(lines)
    # The title heads every section path: it names what each passage is about (a Wikipedia-style
    # article's sentences often do not repeat their subject), and, as a heading, it is never an answer.
    top: tuple[str, ...] = ()
    if n_title:
        title_lines = lines[:n_title]
        text = "".join(ln.text for ln in title_lines)
        top = (text.strip(),)
        out.append(Paragraph(top, text, tuple(o for ln in title_lines for o in ln.offsets), True, "title"))
    stack: list[tuple[int, str]] = []
    for line in lines[n_title:]:
        section = top + tuple(title for _, title in stack)
        head = _heading(line)
        if head is not None:
            rank, title, standalone = head
            stack = [entry for entry in stack if entry[0] < rank] + [(rank, title)]
            section = top + tuple(t for _, t in stack)
            kind = "heading" if standalone else "body"
            out.append(Paragraph(section, line.text, line.offsets, is_heading=standalone, kind=kind))
        elif _is_date(line.text):
            out.append(Paragraph(section, line.text, line.offsets, kind="date"))
        elif out and out[-1].section == section and _continues(out[-1], line, markdown):
            prev = out[-1]
            out[-1] = Paragraph(section, prev.text + line.text, prev.offsets + line.offsets)
        else:
            out.append(Paragraph(section, line.text, line.offsets))
    return out


def title(doc: Document) -> str:
    """The document's title, or its file stem if it has none."""
    paras = paragraphs(doc)
    if paras and paras[0].kind == "title":
        return paras[0].text.strip()
    return Path(doc.name).stem
