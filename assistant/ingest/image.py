"""Page images (.png, .jpg, .tif; a multi-page TIFF is one document) → text by OCR.

Each image is a scanned page: read by assistant/ingest/ocr.py into lines with positions, then
cleaned as a PDF's pages are (headers, footers and page numbers dropped, paragraphs rebuilt).
"""

from __future__ import annotations

import hashlib
import io

from assistant.ingest import ocr
from assistant.ingest.cleanup import Line, Page, drop_furniture, fix_code_points, join_lines
from assistant.ingest.common import CorpusError, Extracted
from assistant.ingest.pdf import page_starts
from assistant.schema import LineBox

# An image that says nothing of its resolution is taken for a 150 dpi scan: only the ratios of
# the line boxes matter to the clean-up, and the highlights are drawn on the image itself.
DEFAULT_DPI = 150.0


def read(data: bytes, label: str, progress: ocr.PageProgress | None = None) -> Extracted:
    """The text of a page image (or of each frame of a TIFF); CorpusError if it is no image, or OCR is missing."""
    from PIL import Image, ImageSequence, UnidentifiedImageError

    if not ocr.available():
        raise CorpusError(f"{label}: a page image: reading it needs OCR: {ocr.INSTALL}")
    try:
        image = Image.open(io.BytesIO(data))
        frames = [(frame.copy(), _dpi(frame)) for frame in ImageSequence.Iterator(image)]
    except (UnidentifiedImageError, OSError, ValueError):
        raise CorpusError(f"{label}: damaged or not an image") from None

    def read_all() -> dict[int, Page]:
        pages = {}
        for n, (frame, dpi) in enumerate(frames):
            pages[n] = ocr.read_image(frame, dpi)
            if progress:
                progress(n + 1, len(frames))
        return pages

    read_pages = ocr.cached_pages(hashlib.sha256(data).hexdigest(), read_all)
    pages = [read_pages.get(n, Page((), 0.0)) for n in range(len(frames))]
    if not any(page.lines for page in pages):
        raise CorpusError(f"{label}: no text found in the image by OCR")
    placed: list[tuple[int, int, int, Line]] = []
    text = fix_code_points(join_lines(drop_furniture(pages), placed))
    return Extracted(
        text=text,
        pages=len(pages),
        page_starts=page_starts(len(pages), placed),
        lines=tuple(LineBox(n + 1, a, b, ln.x0, ln.top, ln.x1, ln.bottom) for n, a, b, ln in placed),
    )


def _dpi(frame) -> float:
    dpi = frame.info.get("dpi")
    try:
        value = float(dpi[0]) if dpi else 0.0
    except (TypeError, ValueError, IndexError):
        value = 0.0
    return value if 50 <= value <= 1200 else DEFAULT_DPI
