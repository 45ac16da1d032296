"""PDF files with a text layer → text, by PDFium (pypdfium2).

PDFium was chosen by measurement (`python -m benchmarks.formats`, README "Documents"): on
Chromium-printed Chinese reports it reads the characters as the source has them, where pypdf
and pdfplumber return Kangxi radicals for a tenth of them, and it is about ten times faster.

Each page becomes lines with their position and font size; `cleanup` drops running headers,
footers and page numbers, rebuilds the paragraphs the line breaks cut, and maps any radical
code points that remain. Scanned pages have no text layer: we do not do OCR, and say so.
"""

from __future__ import annotations

import statistics

from assistant.ingest.cleanup import Line, Page, drop_furniture, fix_code_points, join_lines
from assistant.ingest.common import CorpusError, Extracted

# Below this share of readable characters, a text layer is noise: fonts that map their
# glyphs to no Unicode text give private-use or replacement characters.
MIN_READABLE = 0.8


def read(data: bytes, label: str) -> Extracted:
    """The cleaned text of a PDF's text layer; CorpusError if it is encrypted, damaged or scanned."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as err:
        raise CorpusError(f"{label}: {_why(str(err))}") from None
    try:
        pages = [_page(pdf, i) for i in range(len(pdf))]
        meta_title = _meta_title(pdf)
    except pdfium.PdfiumError as err:
        raise CorpusError(f"{label}: damaged PDF ({err})") from None
    finally:
        pdf.close()
    chars = "".join(line.text for page in pages for line in page.lines)
    visible = [c for c in chars if not c.isspace()]
    if not visible:
        raise CorpusError(f"{label}: no text layer: OCR is not supported")
    readable = sum(1 for c in visible if c.isprintable() and not _private(c))
    if readable < MIN_READABLE * len(visible):
        raise CorpusError(f"{label}: the text layer is not text (fonts without a Unicode map): OCR is not supported")
    text = fix_code_points(join_lines(drop_furniture(pages)))
    return Extracted(text=text, pages=len(pages), meta_title=meta_title)


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
                    )
                )
            chars.clear()
            visible.clear()

        for i in range(textpage.count_chars()):
            cp = raw.FPDFText_GetUnicode(textpage.raw, i)
            if cp in (0x0A, 0x0D):
                if cp == 0x0A:
                    flush()
                continue
            ch = chr(cp) if cp not in (0x02, 0xFFFE) else "-"  # PDFium marks a hyphen it found at a line end
            if not ch.isprintable() and not ch.isspace():
                continue
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
