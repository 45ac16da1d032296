"""The corpus folder: which files are documents, and reading each with its format's reader.

Safe by default: hidden files and folders are skipped, symlinks leading outside the folder
are not followed, a file over the size limit (`max_file_mb`) is not read, and a file with
the same bytes as one already read is read once. Each skipped or unreadable file is one
line in the errors `read_corpus` returns; the other files still load.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from assistant.ingest import docx, html, image, pdf, text
from assistant.ingest.cleanup import fix_code_points
from assistant.ingest.common import CorpusError, Extracted
from assistant.ingest.ocr import PageProgress
from assistant.schema import Document

TERMS_FILE = "terms.txt"  # the corpus folder's own terms, one a line (assistant/text/terms.py)

READERS: dict[str, tuple[str, Callable[[bytes, str], Extracted]]] = {
    ".txt": ("txt", text.read),
    ".md": ("md", text.read),
    ".docx": ("docx", docx.read),
    ".pdf": ("pdf", pdf.read),
    ".html": ("html", html.read),
    ".htm": ("html", html.read),
    ".png": ("image", image.read),  # page scans, read by OCR (the `ocr` extra)
    ".jpg": ("image", image.read),
    ".jpeg": ("image", image.read),
    ".tif": ("image", image.read),
    ".tiff": ("image", image.read),
}
# Readers that can report pages read by OCR, one by one (a scan takes seconds a page).
PAGED = {"pdf", "image"}
SUFFIXES = tuple(READERS)
KINDS = ".txt, .md, .docx, .pdf, .html or page image (.png/.jpg/.tif)"  # for messages
# Formats people send that we do not read: named, so that the file is not silently ignored.
UNSUPPORTED = {
    ".doc": "old Word .doc format is not supported: save it as .docx",
    ".wps": "WPS .wps format is not supported: save it as .docx",
    ".rtf": "RTF is not supported: save it as .docx",
    ".odt": "OpenDocument .odt is not supported: save it as .docx",
}
MB = 1024 * 1024
OUTSIDE = "a symlink leading outside the corpus folder, not followed"


def scan(root: Path) -> tuple[list[Path], list[CorpusError]]:
    """Documents under root (sorted, hidden skipped), and one error per file passed over."""
    found: list[Path] = []
    skipped: list[CorpusError] = []
    real_root = root.resolve()
    for folder, dirs, files in os.walk(root, followlinks=False):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for d in list(dirs):
            if (here / d).is_symlink():
                dirs.remove(d)  # os.walk would not enter it anyway; say why when it leads outside
                if not _inside(here / d, real_root):
                    skipped.append(CorpusError(f"{(here / d).as_posix()}/: {OUTSIDE}"))
        for name in files:
            path = here / name
            suffix = path.suffix.lower()
            if name.startswith(".") or (suffix not in READERS and suffix not in UNSUPPORTED):
                continue
            if here == root and name == TERMS_FILE:  # the user's terms for the tokenizer, not a document
                continue
            if path.is_symlink() and not _inside(path, real_root):
                skipped.append(CorpusError(f"{path.as_posix()}: {OUTSIDE}"))
            elif suffix in UNSUPPORTED:
                skipped.append(CorpusError(f"{path.as_posix()}: {UNSUPPORTED[suffix]}"))
            elif path.is_file():
                found.append(path)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix()), skipped


def _inside(path: Path, real_root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(real_root)
    except (OSError, RuntimeError):  # a symlink loop
        return False


def corpus_files(root: Path) -> list[Path]:
    """The documents `read_corpus` reads under root: supported suffixes, hidden and outside links skipped."""
    return scan(root)[0]


def default_max_file_mb() -> float:
    """The size limit from the settings (env ASSISTANT_MAX_FILE_MB)."""
    from assistant.config import Settings

    return Settings.load().max_file_mb


def read_document(
    path: Path, root: Path, max_file_mb: float | None = None, progress: PageProgress | None = None
) -> Document:
    """Read one file with its format's reader: text, format, pages, metadata title, the bytes' SHA-256.

    `progress(done, total)` follows the pages of a scan as OCR reads them (it is not called otherwise)."""
    label = path.as_posix()
    suffix = path.suffix.lower()
    if suffix in UNSUPPORTED:
        raise CorpusError(f"{label}: {UNSUPPORTED[suffix]}")
    if suffix not in READERS:
        raise CorpusError(f"{label}: not a supported format ({', '.join(SUFFIXES)})")
    limit = default_max_file_mb() if max_file_mb is None else max_file_mb
    try:
        size = path.stat().st_size
        if size > limit * MB:
            raise CorpusError(f"{label}: {size / MB:.1f} MB, over the {limit:g} MB limit (max_file_mb)")
        data = path.read_bytes()
    except OSError as err:
        raise CorpusError(f"{label}: cannot read ({err.strerror or err})") from err
    fmt, reader = READERS[suffix]
    try:
        extracted = reader(data, label, progress) if fmt in PAGED else reader(data, label)
    except CorpusError:
        raise
    except Exception as err:  # a parser's surprise on a damaged file is still one line
        raise CorpusError(f"{label}: cannot read this .{fmt} file ({type(err).__name__}: {err})") from None
    name = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
    return Document(
        name=name,
        text=fix_code_points(extracted.text),
        encoding=extracted.encoding,
        sha256=hashlib.sha256(data).hexdigest(),
        format=fmt,
        pages=extracted.pages,
        meta_title=extracted.meta_title,
        page_starts=extracted.page_starts,
        lines=extracted.lines,
    )


def read_corpus(root: Path, max_file_mb: float | None = None) -> tuple[list[Document], list[CorpusError]]:
    """All readable documents under root, and one error per file that is not (or is skipped)."""
    if not root.exists():
        raise CorpusError(f"{root.as_posix()}/: no such folder")
    if not root.is_dir():
        raise CorpusError(f"{root.as_posix()}: not a folder")
    limit = default_max_file_mb() if max_file_mb is None else max_file_mb
    paths, errors = scan(root)
    docs: list[Document] = []
    first: dict[str, str] = {}
    for path in paths:
        try:
            doc = read_document(path, root, limit)
        except CorpusError as err:  # one bad file must not stop the others
            errors.append(err)
            continue
        if doc.sha256 in first:  # the same file under two names would answer twice with one source
            errors.append(CorpusError(f"{path.as_posix()}: the same file as {first[doc.sha256]}, read once"))
            continue
        first[doc.sha256] = doc.name
        docs.append(doc)
    return docs, errors
