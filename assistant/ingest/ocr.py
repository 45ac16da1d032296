"""Scanned pages → lines with positions, by RapidOCR (the optional extra `ocr`).

RapidOCR 3.x was chosen by measurement (`python -m benchmarks.formats --ocr`, docs/documents.md):
its wheel ships PP-OCRv6 detection and recognition models, so it reads offline, and on the report
scanned at 150 dpi it was both more accurate (0.915 against 0.898 before any clean-up) and about
twice as fast as `rapidocr-onnxruntime` 1.4 (PP-OCRv4), which also dropped two whole lines.

A page image becomes `cleanup.Line`s in points, as a text layer's would, so the PDF reader's
clean-up (running headers and footers, page numbers, lines joined into paragraphs) applies to
scans unchanged. What OCR adds here:

- **Skew.** A page scanned a little askew gives tilted boxes; the median tilt of the long boxes is
  the page's skew, and the boxes' corners are turned back by it before lines are compared, so a
  paragraph's lines start at one margin again.
- **Turned pages.** A page scanned sideways gives tall boxes: it is turned a quarter and read again.
- **Reading order.** Boxes on one row of one column are one line; a band of rows whose left and
  right halves hold separate lines side by side is a two-column band, read left column first.
- **Punctuation.** The recogniser writes ASCII `, : ; ? !` inside Chinese text; they become the
  full-width marks Chinese text uses, so quotes and the sentence splitter see what a text file has.
  Brackets stay as read: reports print both `(一)` and `（一）`, and a scan cannot tell them apart.
- **Unsure lines.** A line read with a low score is read again from its own crop (see `_again`).

Results are cached by the file's SHA-256 (and the engine's version) in the cache folder: building
the index again, or after a crash, does not read the pages again.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import re
import statistics
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from assistant.ingest.cleanup import Line, Page

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

EXTRA = "ocr"
INSTALL = 'pip install "luoyang-report-assistant[ocr]"'
CACHE_VERSION = 2  # bump when what is cached, or how lines are read and ordered, changes
PageProgress = Callable[[int, int], None]  # pages read, pages to read

# A scan's pixels per inch are known from the PDF page size and the image's pixels; pages are
# rendered at that resolution, within these bounds (the recogniser gains nothing above 300 dpi,
# and RapidOCR scales a page down to 2000 pixels on its long side anyway).
MIN_DPI = 150
MAX_DPI = 300
RETRY_BELOW = 0.9  # a line read with less confidence is read again from its own crop
MIN_SCORE = 0.5  # a line still below this after the second reading is noise (a speck, a stamp's edge)
MIN_SKEW_DEGREES = 0.1  # below this, turning the boxes back changes nothing that matters
_lock = threading.Lock()  # one page at a time through the engine: it uses every core already


def available() -> bool:
    """True when the OCR extra is installed."""
    return importlib.util.find_spec("rapidocr") is not None


def engine_version() -> str:
    from importlib.metadata import version

    return f"rapidocr-{version('rapidocr')}"


@lru_cache(maxsize=1)
def _engine():
    from rapidocr import RapidOCR

    # every line comes back, however unsure: RapidOCR would drop those under 0.5 itself, before the
    # second reading (`_again`) that rescues most of them
    return RapidOCR(params={"Global.log_level": "error", "Global.text_score": 0.0})


@dataclass(frozen=True)
class _Box:
    text: str
    corners: tuple[tuple[float, float], ...]  # four (x, y) in pixels, clockwise from top-left
    score: float

    @property
    def width(self) -> float:
        (x0, y0), (x1, y1) = self.corners[0], self.corners[1]
        return math.hypot(x1 - x0, y1 - y0)

    @property
    def height(self) -> float:
        (x1, y1), (x2, y2) = self.corners[1], self.corners[2]
        return math.hypot(x2 - x1, y2 - y1)

    @property
    def angle(self) -> float:
        """The tilt of the top edge, in degrees (positive: falling to the right)."""
        (x0, y0), (x1, y1) = self.corners[0], self.corners[1]
        return math.degrees(math.atan2(y1 - y0, x1 - x0))


def _recognise(pixels: np.ndarray) -> list[_Box]:
    """The page's text boxes; a line the recogniser was unsure of is read again from its own crop."""
    with _lock:  # every switch named: RapidOCR keeps the last call's switches for the next call
        result = _engine()(pixels, use_det=True, use_cls=True, use_rec=True)
    if result.boxes is None or result.txts is None:
        return []
    boxes = [
        _Box(text, tuple((float(x), float(y)) for x, y in corners), float(score))
        for corners, text, score in zip(result.boxes, result.txts, result.scores, strict=True)
    ]
    again = [_again(pixels, b) if b.score < RETRY_BELOW else b for b in boxes if b.text.strip()]
    return [b for b in again if b.score >= MIN_SCORE]


def _again(pixels: np.ndarray, box: _Box) -> _Box:
    """Read one line again from the upright rectangle around its box, with a margin.

    The page-wide pass reads each line from a crop warped to its detected quadrilateral; a line that
    opens with a character looking like a rule (`一，多次荣获…`) can come out as nonsense there (score
    0.6), and the plain crop reads it right (0.99). The better-scored reading is kept.
    """
    xs = [x for x, _ in box.corners]
    ys = [y for _, y in box.corners]
    margin = 0.3 * (max(ys) - min(ys))
    height, width = pixels.shape[:2]
    x0, x1 = max(0, int(min(xs) - margin)), min(width, int(max(xs) + margin))
    y0, y1 = max(0, int(min(ys) - margin)), min(height, int(max(ys) + margin))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return box
    with _lock:
        result = _engine()(pixels[y0:y1, x0:x1], use_det=False, use_cls=False, use_rec=True)
    texts, scores = getattr(result, "txts", None), getattr(result, "scores", None)
    if not texts or not scores or float(scores[0]) <= box.score:
        return box
    return _Box(texts[0], box.corners, float(scores[0]))


def read_image(image: Image.Image, dpi: float) -> Page:
    """One page image → its lines in reading order, in points from the top-left corner."""
    import numpy as np

    rgb = image.convert("RGB")
    boxes = _recognise(np.asarray(rgb))
    if boxes and _sideways(boxes):
        # read both quarter turns; the one the recogniser is surer of is upright
        turns = [(angle, _recognise(np.asarray(rgb.rotate(angle, expand=True)))) for angle in (90, -90)]
        angle, boxes = max(turns, key=lambda t: sum(b.score * len(b.text) for b in t[1]))
        rgb = rgb.rotate(angle, expand=True)
    width, height = rgb.size
    boxes = _deskew(boxes, width / 2, height / 2)
    scale = 72 / dpi
    return Page(tuple(_reading_order(boxes, width, scale)), height * scale)


def _sideways(boxes: Sequence[_Box]) -> bool:
    """Most text is in boxes taller than wide: the page lies on its side."""
    tall = sum(len(b.text) for b in boxes if b.height > 1.5 * b.width and len(b.text) > 1)
    return tall > 0.5 * sum(len(b.text) for b in boxes)


def _deskew(boxes: list[_Box], cx: float, cy: float) -> list[_Box]:
    """Boxes turned back by the page's skew: the median tilt of the boxes wide enough to show it."""
    tilts = [b.angle for b in boxes if b.width > 4 * b.height]
    if not tilts:
        return boxes
    skew = statistics.median(tilts)
    if abs(skew) < MIN_SKEW_DEGREES:
        return boxes
    cos, sin = math.cos(math.radians(-skew)), math.sin(math.radians(-skew))

    def turn(x: float, y: float) -> tuple[float, float]:
        dx, dy = x - cx, y - cy
        return cx + dx * cos - dy * sin, cy + dx * sin + dy * cos

    return [_Box(b.text, tuple(turn(x, y) for x, y in b.corners), b.score) for b in boxes]


@dataclass(frozen=True)
class _Row:
    x0: float
    x1: float
    top: float
    bottom: float
    texts: tuple[str, ...]

    @property
    def mid(self) -> float:
        return (self.top + self.bottom) / 2


def _extent(box: _Box) -> _Row:
    xs = [x for x, _ in box.corners]
    ys = [y for _, y in box.corners]
    return _Row(min(xs), max(xs), min(ys), max(ys), (box.text.strip(),))


def _same_row(a: _Row, b: _Row) -> bool:
    overlap = min(a.bottom, b.bottom) - max(a.top, b.top)
    return overlap > 0.5 * min(a.bottom - a.top, b.bottom - b.top)


def _merge(rows: list[_Row]) -> list[_Row]:
    """Boxes of one row (a line the detector cut at a wide space) → one row, left to right."""
    out: list[_Row] = []
    for row in sorted(rows, key=lambda r: (r.mid, r.x0)):
        if out and _same_row(out[-1], row):
            prev = out[-1]
            first, second = (prev, row) if prev.x0 <= row.x0 else (row, prev)
            out[-1] = _Row(first.x0, max(prev.x1, row.x1), min(prev.top, row.top), max(prev.bottom, row.bottom),
                           first.texts + second.texts)  # fmt: skip
        else:
            out.append(row)
    return out


def _reading_order(boxes: list[_Box], width: float, scale: float) -> list[Line]:
    """Lines top to bottom; where the page is in two columns, the left column's lines first.

    Rows are cut into bands at lines that cross the page's middle (a title, a full-width paragraph);
    a band is two columns when at least two of its rows have a line on each side of the middle
    with a gap between them, side by side.
    """
    if not boxes:
        return []
    middle = width / 2

    def crossing(row: _Row) -> bool:
        return row.x0 < middle - 0.02 * width and row.x1 > middle + 0.02 * width

    # the boxes of one row: when one of them crosses the middle, the row is one line across the page
    rows: list[list[_Row]] = []
    for extent in sorted((_extent(b) for b in boxes), key=lambda r: (r.mid, r.x0)):
        if rows and _same_row(rows[-1][0], extent):
            rows[-1].append(extent)
        else:
            rows.append([extent])
    bands: list[list[_Row]] = [[]]
    for row in rows:
        if any(crossing(r) for r in row):
            bands += [_merge(row), []]
        else:
            bands[-1].extend(row)
    ordered: list[_Row] = []
    for band in bands:
        left = [r for r in band if r.x1 <= middle + 0.02 * width]
        right = [r for r in band if r not in left]
        side_by_side = sum(1 for a in left for b in right if _same_row(a, b) and a.x1 < b.x0)
        if side_by_side >= 2:
            ordered += _merge(left) + _merge(right)
        else:
            ordered += _merge(band)
    return [
        Line(
            text=_punctuation(" ".join(r.texts)),
            x0=r.x0 * scale,
            x1=r.x1 * scale,
            top=r.top * scale,
            bottom=r.bottom * scale,
            # font sizes snap to half points: a box's height wavers by a pixel or two from line to line,
            # which the paragraph joiner must not take for a change of size
            size=round((r.bottom - r.top) * scale * 2) / 2,
        )
        for r in ordered
    ]


# --------------------------------------------------------------------------- punctuation

_WIDE = r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef\u2e80-\u2fdf“”‘’]"
_FULL = {",": "，", ":": "：", ";": "；", "?": "？", "!": "！"}


def _punctuation(text: str) -> str:
    """ASCII punctuation the recogniser wrote inside Chinese text → the full-width marks; between Latin
    letters and digits (`1:48`, `3,000`, `a, b`) it stays."""
    return re.sub(rf"(?<={_WIDE})\s*([,:;?!])|([,:;?!])\s*(?={_WIDE})", lambda m: _FULL[m.group(1) or m.group(2)], text)


# --------------------------------------------------------------------------- PDF pages and images


def pdf_dpi(page) -> float:
    """The resolution of a scanned PDF page: its largest image's pixels over its size on the page."""
    import pypdfium2.raw as raw

    best = 0.0
    for obj in page.get_objects(filter=(raw.FPDF_PAGEOBJ_IMAGE,), max_depth=2):
        try:
            width_px, _ = obj.get_px_size()
            left, _, right, _ = obj.get_pos()
        except Exception:  # noqa: BLE001 (an image PDFium cannot measure: fall back to the default)
            continue
        if right - left > 0:
            best = max(best, width_px / ((right - left) / 72))
    return min(MAX_DPI, max(MIN_DPI, best or MIN_DPI))


def read_pdf_pages(pdf, indexes: Sequence[int], progress: PageProgress | None = None) -> dict[int, Page]:
    """The pages `indexes` of an open pypdfium2 document, read by OCR."""
    pages: dict[int, Page] = {}
    for done, index in enumerate(indexes):
        page = pdf[index]
        try:
            dpi = pdf_dpi(page)
            image = page.render(scale=dpi / 72).to_pil()
        finally:
            page.close()
        pages[index] = read_image(image, dpi)
        if progress:
            progress(done + 1, len(indexes))
    return pages


def to_json(pages: dict[int, Page]) -> dict:
    return {
        "version": CACHE_VERSION,
        "pages": {
            str(i): {
                "height": page.height,
                "lines": [[ln.text, ln.x0, ln.x1, ln.top, ln.bottom, ln.size] for ln in page.lines],
            }
            for i, page in pages.items()
        },
    }


def from_json(data: dict) -> dict[int, Page] | None:
    """Pages from the cache; None when the record is of another layout or damaged."""
    try:
        if data.get("version") != CACHE_VERSION:
            return None
        return {
            int(i): Page(tuple(Line(str(t), *map(float, rest)) for t, *rest in p["lines"]), float(p["height"]))
            for i, p in data["pages"].items()
        }
    except (AttributeError, KeyError, TypeError, ValueError):
        return None


def cached_pages(sha256: str, read: Callable[[], dict[int, Page]]) -> dict[int, Page]:
    """`read()`'s pages, from the cache folder when this file (by hash) was read by this engine before."""
    import json

    from assistant.cache import cached_json

    name = f"ocr/{engine_version()}/{sha256}.json"
    pages = from_json(cached_json(name, lambda: to_json(read())))
    if pages is None:  # an old or damaged record: read again and overwrite it
        from assistant.config import default_cache_dir

        fresh = read()
        path = default_cache_dir() / name
        with contextlib.suppress(OSError):  # a read-only cache costs the reading next time, nothing more
            path.write_text(json.dumps(to_json(fresh), ensure_ascii=False), encoding="utf-8")
        return fresh
    return pages
