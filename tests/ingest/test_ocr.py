"""Scanned reports read by OCR: the report printed by Chromium, scanned here (150 and 300 dpi, a little askew,
with noise) into image-only PDFs and page images, read back and compared with the printed text layer."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from assistant.ingest import ocr, read_corpus, read_document
from assistant.ingest.chunking import chunk_document
from assistant.ingest.cleanup import is_radical
from assistant.ingest.ocr import _Box, _deskew, _punctuation, _reading_order
from assistant.schema import Document, page_at

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # benchmarks/ is not an installed package
    sys.path.insert(0, str(ROOT))

from test_docx import assert_answers_like_the_text_file  # noqa: E402

from benchmarks.documents import (  # noqa: E402
    chromium_available,
    print_pdf,
    report_blocks,
    report_html,
    scan_pages,
    scanned_report,
    source_text,
    two_column_html,
)
from benchmarks.formats import char_accuracy  # noqa: E402

needs_ocr = pytest.mark.skipif(not ocr.available(), reason='the ocr extra: pip install -e ".[ocr]"')


# --------------------------------------------------------------------------- layout, without the engine


def _box(text: str, x0: float, y0: float, x1: float, y1: float, tilt: float = 0.0) -> _Box:
    return _Box(text, ((x0, y0), (x1, y0 + tilt), (x1, y1 + tilt), (x0, y1)), 0.99)


def test_two_columns_are_read_left_column_first() -> None:
    boxes = [_box("简报标题横跨两栏", 100, 50, 1100, 90)]
    for row in range(4):
        y = 150 + 50 * row
        boxes += [_box(f"右栏第{row + 1}行", 640, y, 1100, y + 36), _box(f"左栏第{row + 1}行", 100, y, 560, y + 36)]
    boxes.append(_box("页脚横跨两栏的一行文字", 100, 500, 1100, 540))
    lines = _reading_order(boxes, width=1200, scale=72 / 150)
    assert [ln.text for ln in lines] == [
        "简报标题横跨两栏", *[f"左栏第{n}行" for n in range(1, 5)], *[f"右栏第{n}行" for n in range(1, 5)],
        "页脚横跨两栏的一行文字",
    ]  # fmt: skip


def test_one_column_keeps_rows_and_joins_a_row_cut_in_two() -> None:
    boxes = [
        _box("一、总体情况", 100, 50, 400, 86),
        _box("今年以来，全市网信工作", 100, 100, 700, 136),
        _box("稳步推进。", 760, 102, 1000, 138),  # the detector cut the row at a wide space
        _box("（2016年11月21日）", 800, 160, 1100, 196),  # right-aligned, alone on its row
    ]
    assert [ln.text for ln in _reading_order(boxes, 1200, 0.48)] == [
        "一、总体情况", "今年以来，全市网信工作 稳步推进。", "（2016年11月21日）",
    ]  # fmt: skip


def test_skewed_boxes_are_turned_back_to_one_margin() -> None:
    # a page turned clockwise by 0.6°: each line's top edge falls to the right, and it starts further left
    # the lower it stands
    tilt = 1000 * 0.0105
    boxes = [_box(f"第{n}行正文内容", 300 - 0.0105 * (200 + 60 * n), 200 + 60 * n, 1300, 236 + 60 * n, tilt)
             for n in range(20)]  # fmt: skip
    straight = _deskew(boxes, 600, 800)
    starts = [min(x for x, _ in b.corners) for b in straight]
    assert max(starts) - min(starts) < 2  # pixels: the margin is one again
    assert max(starts) - min(starts) < 0.1 * (max(b.corners[0][0] for b in boxes) - min(b.corners[0][0] for b in boxes))


def test_ascii_punctuation_in_chinese_text_becomes_full_width() -> None:
    assert _punctuation("主要精神如下:") == "主要精神如下："
    assert _punctuation("安全,发展;是否?") == "安全，发展；是否？"
    assert _punctuation("12/7/26, 1:48 AM") == "12/7/26, 1:48 AM"  # Latin text keeps its marks
    assert _punctuation("(2016年11月21日)") == "(2016年11月21日)"  # brackets stay as read


def test_a_page_is_found_from_an_offset() -> None:
    starts = (0, 120, 300)
    assert [page_at(starts, o) for o in (0, 119, 120, 299, 300, 10_000)] == [1, 1, 2, 2, 3, 3]
    assert page_at((), 5) is None


# --------------------------------------------------------------------------- scans of the printed report

browser = pytest.mark.browser


@pytest.fixture(scope="session")
def printed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not chromium_available():
        pytest.skip("no /usr/bin/chromium with Noto CJK fonts: `make browser` installs them")
    folder = tmp_path_factory.mktemp("printed")
    return print_pdf(report_html(report_blocks()), folder / "report.pdf")


def _pages_of(printed: Path, pages: list[int], path: Path) -> Path:
    """Some pages of the printed report, with their text layer: what the scan of those pages should read as."""
    import pypdfium2 as pdfium

    source = pdfium.PdfDocument(str(printed))
    part = pdfium.PdfDocument.new()
    part.import_pages(source, pages)
    part.save(str(path))
    return path


def _body(text: str) -> str:
    """The text without the browser's header and footer lines (`12/7/26, 1:48 AM 洛阳汇报`, `file:///… 6/8`)."""
    return "\n".join(
        line for line in text.split("\n") if "file://" not in line and not re.search(r"\d+/\d+/\d+, \d+:\d+", line)
    )


def _nws(text: str) -> str:
    return re.sub(r"\s+", "", text)


@browser
@needs_ocr
@pytest.mark.parametrize("dpi", [150, 300])
def test_scanned_pages_read_as_the_printed_text(printed: Path, tmp_path: Path, dpi: int) -> None:
    pages = [1, 2] if dpi == 150 else [3, 4]
    scan = scanned_report(printed, tmp_path / f"scan{dpi}.pdf", dpi, pages)
    seen: list[tuple[int, int]] = []
    doc = read_document(scan, tmp_path, progress=lambda done, total: seen.append((done, total)))
    text_layer = read_document(_pages_of(printed, pages, tmp_path / "pages.pdf"), tmp_path)
    assert doc.format == "pdf" and doc.pages == 2
    assert char_accuracy(doc.text, text_layer.text) >= 0.97
    assert "file://" not in doc.text and not re.search(r"\d/8|AM|PM", doc.text)  # the browser's header and footer
    assert not any(is_radical(c) for c in doc.text)
    assert seen == [(1, 2), (2, 2)]  # one step per page read
    # the second reading of the same bytes comes from the cache: no page is read again
    again: list[tuple[int, int]] = []
    assert read_document(scan, tmp_path, progress=lambda d, t: again.append((d, t))).text == doc.text
    assert again == []


@browser
@needs_ocr
def test_passages_of_a_scan_know_their_pages(printed: Path, tmp_path: Path) -> None:
    scan = scanned_report(printed, tmp_path / "scan.pdf", 150, [1, 2])
    doc = read_document(scan, tmp_path)
    assert len(doc.page_starts) == 2 and doc.page_starts[0] == 0 < doc.page_starts[1] < len(doc.text)
    assert {box.page for box in doc.lines} == {1, 2}
    for box in doc.lines:  # every line box points at its line's text, on the page it stands on
        assert doc.page_of(box.start) == box.page and box.x0 < box.x1 and box.top < box.bottom
    passages = chunk_document(doc)
    assert passages[0].pages == (1,) and passages[-1].pages[-1] == 2
    for p in passages:
        assert p.pages == tuple(range(doc.page_of(p.start), doc.page_of(p.end - 1) + 1))


@browser
@needs_ocr
def test_two_column_page_reads_column_by_column(tmp_path: Path) -> None:
    if not chromium_available():
        pytest.skip("no /usr/bin/chromium")
    blocks = report_blocks()
    printed = print_pdf(two_column_html(blocks), tmp_path / "columns.pdf", header_footer=False)
    doc = read_document(scanned_report(printed, tmp_path / "columns-scan.pdf", 150, [0]), tmp_path)
    body = [b.text for b in blocks if b.kind == "body" and 60 <= len(b.text) <= 200][:6]
    text = _nws(doc.text)
    # each paragraph whole and in order: the left column's before the right column's
    found = [text.find(_nws(p)[:12]) for p in body]
    assert all(f >= 0 for f in found) and found == sorted(found), found
    assert char_accuracy(doc.text, "网信工作简报\n" + "\n".join(body)) >= 0.97


@browser
@needs_ocr
def test_page_images_sideways_and_in_a_tiff(printed: Path, tmp_path: Path) -> None:
    reference = read_document(_pages_of(printed, [5], tmp_path / "p6.pdf"), tmp_path).text
    [page] = scan_pages(printed, 150, [5])
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    page.rotate(90, expand=True).save(corpus / "sideways.png", dpi=(150, 150))
    first, second = scan_pages(printed, 150, [6, 7], seed=3)
    first.save(corpus / "two-pages.tif", save_all=True, append_images=[second], dpi=(150, 150), compression="tiff_lzw")
    docs, errors = read_corpus(corpus)
    assert errors == []
    by_name = {d.name: d for d in docs}
    # one page alone: the browser's header and footer stay (furniture is what recurs), in another order
    # than the text layer's, so the comparison leaves them out of both
    assert char_accuracy(_body(by_name["sideways.png"].text), _body(reference)) >= 0.97
    tiff = by_name["two-pages.tif"]
    assert (tiff.format, tiff.pages, len(tiff.page_starts)) == ("image", 2, 2)
    assert (
        char_accuracy(tiff.text, read_document(_pages_of(printed, [6, 7], tmp_path / "p7.pdf"), tmp_path).text) >= 0.97
    )


@browser
@needs_ocr
def test_a_scanned_page_inside_a_printed_report(printed: Path, tmp_path: Path) -> None:
    """Pages with a text layer are read from it; the page without one by OCR; nothing is lost."""
    import pypdfium2 as pdfium

    scan = scanned_report(printed, tmp_path / "p3.pdf", 150, [2])
    mixed = pdfium.PdfDocument.new()
    mixed.import_pages(pdfium.PdfDocument(str(printed)), [0, 1])
    mixed.import_pages(pdfium.PdfDocument(str(scan)))
    mixed.save(str(tmp_path / "mixed.pdf"))
    seen: list[tuple[int, int]] = []
    doc = read_document(tmp_path / "mixed.pdf", tmp_path, progress=lambda d, t: seen.append((d, t)))
    assert doc.pages == 3 and seen == [(1, 1)]  # only the scanned page went through OCR
    text_layer = read_document(_pages_of(printed, [0, 1, 2], tmp_path / "p123.pdf"), tmp_path)
    assert char_accuracy(doc.text, text_layer.text) >= 0.98
    third = doc.text[doc.page_starts[2] :]
    assert char_accuracy(third, text_layer.text[text_layer.page_starts[2] :]) >= 0.97


@browser
def test_without_the_extra_a_scan_is_one_line_naming_it(
    printed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pypdfium2 as pdfium

    scan = scanned_report(printed, tmp_path / "scan.pdf", 150, [0])
    scan_pages(printed, 150, [0])[0].save(tmp_path / "page.png")
    mixed = pdfium.PdfDocument.new()
    mixed.import_pages(pdfium.PdfDocument(str(printed)), [0])
    mixed.import_pages(pdfium.PdfDocument(str(scan)))
    mixed.save(str(tmp_path / "mixed.pdf"))
    monkeypatch.setattr(ocr, "available", lambda: False)  # as on an install without the extra
    install = 'pip install "luoyang-report-assistant[ocr]"'
    docs, errors = read_corpus(tmp_path)
    messages = sorted(str(e).replace(tmp_path.as_posix() + "/", "") for e in errors)
    assert messages == [
        f"mixed.pdf: page(s) 2: no text layer: reading it needs OCR: {install}",
        f"page.png: a page image: reading it needs OCR: {install}",
        f"scan.pdf: no text layer: reading it needs OCR: {install}",
    ]
    assert docs == []


@needs_ocr
def test_an_image_without_text_and_a_damaged_image(tmp_path: Path) -> None:
    from PIL import Image

    Image.new("L", (800, 1100), 255).save(tmp_path / "blank.png")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    docs, errors = read_corpus(tmp_path)
    messages = sorted(str(e).replace(tmp_path.as_posix() + "/", "") for e in errors)
    assert docs == []
    assert messages == [
        "blank.png: no text found in the image by OCR",
        "broken.jpg: damaged or not an image",
    ]


# --------------------------------------------------------------------------- the whole report, scanned


@pytest.fixture(scope="session")
def scanned(printed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not ocr.available():
        pytest.skip("the ocr extra is not installed")
    folder = tmp_path_factory.mktemp("scanned")
    return scanned_report(printed, folder / "report-scan.pdf", 150)


@browser
@needs_ocr
@pytest.mark.slow
def test_the_scanned_report_reads_as_its_source(scanned: Path) -> None:
    doc: Document = read_document(scanned, scanned.parent)
    assert doc.pages == 8 and len(doc.page_starts) == 8
    assert char_accuracy(doc.text, source_text(report_blocks())) >= 0.97


@browser
@needs_ocr
@pytest.mark.slow
def test_the_scanned_report_answers_like_the_text_file(scanned: Path, tmp_path: Path, assistant) -> None:
    assert_answers_like_the_text_file(scanned, tmp_path, assistant)


@browser
@needs_ocr
@pytest.mark.slow
def test_index_build_reports_ocr_page_by_page_and_cites_pages(printed: Path, tmp_path: Path, assistant) -> None:
    """The build shows a scan's pages as a stage of their own, and answers from a scan cite their page."""
    from assistant.render.json import answer_to_dict
    from assistant.store.local import build

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    scanned_report(printed, corpus / "scan.pdf", 150, [6, 7])  # the pages about the staff
    settings = assistant.settings.with_(corpus_dir=corpus, index_dir=tmp_path / "index")
    stages: list[tuple[str, int, int]] = []
    build(settings, assistant.embedder, lambda stage, done, total: stages.append((stage, done, total)))
    assert [s for s in stages if s[0].startswith("ocr ")] == [("ocr scan.pdf", 1, 2), ("ocr scan.pdf", 2, 2)]
    from assistant.pipeline import Assistant

    answer = answer_to_dict(
        Assistant(settings, embedder=assistant.embedder).final_answer("市委网信办目前有多少在编人员？")
    )
    assert "11" in answer["answer"]
    assert answer["sources"][0]["doc"] == "scan.pdf" and answer["sources"][0]["page"] in (1, 2)
