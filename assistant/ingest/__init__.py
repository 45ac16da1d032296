"""Reports as received → documents with text, format and structure.

The flow, one module per step:

    files.py      the corpus folder: which files, safety (symlinks, size, duplicates), a reader per format
    text.py       .txt/.md: decoded as they are (UTF-8, BOM, GB18030)
    docx.py       Word .docx (python-docx) → Markdown-like text: headings, bold lead-ins, lists, table rows
    pdf.py        PDF text layers (pypdfium2) → lines with positions → cleanup → paragraphs; pages without one by OCR
    image.py      page images (.png/.jpg/.tif) → OCR → the same clean-up
    ocr.py        scanned pages → lines with positions (RapidOCR, the `ocr` extra): skew, columns, cache
    html.py       HTML pages (BeautifulSoup) → Markdown-like text, navigation and scripts dropped
    cleanup.py    shared repairs: radical code points, broken lines, page headers/footers/numbers, tables
                  (table rows named by their columns; PDF tables found from the layout)
    structure.py  paragraphs with their heading paths, the title, the date

`Document.text` is the text each reader produced (a text file's own characters); every offset
handed out later (passages, quoted spans, highlights) points into it.
"""

from assistant.ingest.common import CorpusError
from assistant.ingest.files import KINDS, SUFFIXES, UNSUPPORTED, corpus_files, read_corpus, read_document, scan
from assistant.ingest.structure import Paragraph, heading_level, paragraphs, parse_date, report_date, title

__all__ = [
    "KINDS",
    "SUFFIXES",
    "UNSUPPORTED",
    "CorpusError",
    "Paragraph",
    "corpus_files",
    "heading_level",
    "paragraphs",
    "parse_date",
    "read_corpus",
    "read_document",
    "report_date",
    "scan",
    "title",
]
