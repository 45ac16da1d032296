"""PDF files → text: the text layer by PDFium (pypdfium2), scanned pages by OCR (assistant/ingest/ocr.py).

PDFium was chosen by measurement (`python -m benchmarks.formats`, README "Documents"): on
Chromium-printed Chinese reports it reads the characters as the source has them, where pypdf
and pdfplumber return Kangxi radicals for a tenth of them, and it is about ten times faster.

Each page becomes lines with their position and font size, from its text layer or, for a page
without one (a scan, or a scanned page inside a printed report), from OCR; `cleanup` drops
running headers, footers and page numbers, rebuilds the paragraphs the line breaks cut, and maps
any radical code points that remain. Without the OCR extra, a scan is refused in one line that
names the command installing it.
"""

from __future__ import annotations

import hashlib
import statistics

from assistant.ingest import ocr
from assistant.ingest.cleanup import Line, Page, drop_furniture, fix_code_points, join_lines, mark_tables
from assistant.ingest.common import CorpusError, Extracted
from assistant.schema import LineBox

# Below this share of readable characters, a text layer is noise: fonts that map their
# glyphs to no Unicode text give private-use or replacement characters.
MIN_READABLE = 0.8


def read(data: bytes, label: str, progress: ocr.PageProgress | None = None) -> Extracted:
    """The cleaned text of a PDF, its pages' text layers or OCR; CorpusError if it is encrypted or damaged,
    or scanned while the OCR extra is not installed. `progress(done, total)` follows the pages read by OCR."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as err:
        raise CorpusError(f"{label}: {_why(str(err))}") from None
    try:
        pages = [_page(pdf, i) for i in range(len(pdf))]
        meta_title = _meta_title(pdf)
        scanned = [i for i, page in enumerate(pages) if not _has_text(page)]
        if scanned:
            if not ocr.available():
                raise CorpusError(_needs_ocr(label, pages, scanned))
            digest = hashlib.sha256(data).hexdigest()
            read_pages = ocr.cached_pages(digest, lambda: ocr.read_pdf_pages(pdf, scanned, progress))
            for i in scanned:
                pages[i] = read_pages.get(i, Page((), pages[i].height))
    except pdfium.PdfiumError as err:
        raise CorpusError(f"{label}: damaged PDF ({err})") from None
    finally:
        pdf.close()
    if not any(page.lines for page in pages):
        raise CorpusError(f"{label}: no text found on its {len(pages)} page(s), by OCR either")
    placed: list[tuple[int, int, int, Line]] = []
    text = fix_code_points(join_lines(mark_tables(drop_furniture(pages)), placed))
    return Extracted(
        text=text,
        pages=len(pages),
        meta_title=meta_title,
        page_starts=page_starts(len(pages), placed),
        lines=tuple(LineBox(n + 1, a, b, ln.x0, ln.top, ln.x1, ln.bottom) for n, a, b, ln in placed),
    )


def page_starts(count: int, placed: list[tuple[int, int, int, Line]]) -> tuple[int, ...]:
    """Where each page's text starts: its first line's offset; a page without lines starts where the next does."""
    starts: list[int | None] = [None] * count
    for number, start, _, _ in placed:
        if starts[number] is None:
            starts[number] = start
    out: list[int] = []
    following = placed[-1][2] if placed else 0
    for value in reversed(starts):
        following = value if value is not None else following
        out.append(following)
    result = list(reversed(out))
    result[0] = 0  # the first page holds everything before its first line too
    return tuple(result)


def _has_text(page: Page) -> bool:
    visible = [c for line in page.lines for c in line.text if not c.isspace()]
    readable = sum(1 for c in visible if c.isprintable() and not _private(c))
    return bool(visible) and readable >= MIN_READABLE * len(visible)


def _needs_ocr(label: str, pages: list[Page], scanned: list[int]) -> str:
    if any(pages[i].lines for i in scanned):  # a text layer that is not text: fonts without a Unicode map
        what = "the text layer is not text (fonts without a Unicode map)"
    else:
        what = "no text layer"
    if len(scanned) < len(pages):
        numbers = ", ".join(str(i + 1) for i in scanned[:10]) + ("…" if len(scanned) > 10 else "")
        what = f"page(s) {numbers}: {what}"
    return f"{label}: {what}: reading it needs OCR: {ocr.INSTALL}"


def _why(message: str) -> str:
    lowered = message.lower()
    if "password" in lowered:
        return "encrypted PDF: a password is needed"
    if "security" in lowered:
        return "encrypted PDF with an unsupported security handler"
    return "damaged or not a PDF"


def _private(ch: str) -> bool:
    cp = ord(ch)
    return 0xE000 <= cp <= 0xF8FF or cp == 0xFFFD or cp >= 0xF0000


def _page(pdf, index: int) -> Page:
    """The page's lines in PDFium's reading order, with their extent and font size."""
    import pypdfium2.raw as raw

    page = pdf[index]
    height = page.get_height()
    textpage = page.get_textpage()
    try:
        lines: list[Line] = []
        chars: list[str] = []
        visible: list[int] = []  # PDFium's indexes of the line's non-space characters
        cuts: list[int] = []  # positions in `chars` where a wide gap opens a new cell (a table's column)
        after_space = False

        def cells() -> tuple[tuple[float, str], ...]:
            if not cuts:
                return ()
            bounds = [0, *cuts, len(chars)]
            texts = ["".join(chars[a:b]).strip() for a, b in zip(bounds, bounds[1:], strict=False)]
            return tuple(zip(starts, texts, strict=True))

        starts: list[float] = []

        def flush() -> None:
            if visible:
                # a line's extent from its first and last characters, its height and size from three
                # (asking PDFium for every character's box tripled the time of a 50-page read)
                samples = sorted({visible[0], visible[len(visible) // 2], visible[-1]})
                boxes = {i: textpage.get_charbox(i, loose=True) for i in samples}
                lines.append(
                    Line(
                        text="".join(chars).strip(),
                        x0=boxes[visible[0]][0],
                        x1=boxes[visible[-1]][2],
                        top=height - max(b[3] for b in boxes.values()),
                        bottom=height - min(b[1] for b in boxes.values()),
                        size=statistics.median(raw.FPDFText_GetFontSize(textpage.raw, i) for i in samples),
                        cells=cells(),
                    )
                )
            chars.clear()
            visible.clear()
            cuts.clear()
            starts.clear()

        for i in range(textpage.count_chars()):
            cp = raw.FPDFText_GetUnicode(textpage.raw, i)
            if cp in (0x0A, 0x0D):
                if cp == 0x0A:
                    flush()
                    after_space = False
                continue
            ch = chr(cp) if cp not in (0x02, 0xFFFE) else "-"  # PDFium marks a hyphen it found at a line end
            if not ch.isprintable() and not ch.isspace():
                continue
            if not ch.isspace() and after_space and visible:
                # a space between two characters: a cell boundary when the gap is wider than the font
                # size (a table's columns; an ordinary space is a quarter of it). Boxes are asked for
                # here only, where a space stands, to keep the read fast.
                left, right = textpage.get_charbox(visible[-1], loose=True), textpage.get_charbox(i, loose=True)
                if right[0] - left[2] > raw.FPDFText_GetFontSize(textpage.raw, i):
                    if not cuts:
                        starts.append(textpage.get_charbox(visible[0], loose=True)[0])
                    cuts.append(len(chars))
                    starts.append(right[0])
            after_space = ch.isspace()
            chars.append(ch)
            if not ch.isspace():
                visible.append(i)
        flush()
        return Page(tuple(lines), height)
    finally:
        textpage.close()
        page.close()


def _meta_title(pdf) -> str:
    title = (pdf.get_metadata_value("Title") or "").strip()
    # Word's printer driver names the file, not the report
    for prefix in ("Microsoft Word - ", "Microsoft PowerPoint - "):
        if title.startswith(prefix):
            return ""
    return " ".join(title.split())
