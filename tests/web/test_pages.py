"""A PDF source opens its page as an image with the quoted lines marked (assistant/web/pages.py), checked in
headless Chromium against where PDFium says the quote's characters stand on the page."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant.ingest.cleanup import fix_code_points
from assistant.pipeline import Assistant
from assistant.web import app as web

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # benchmarks/ is not an installed package
    sys.path.insert(0, str(ROOT))

from benchmarks.documents import chromium_available, print_pdf, report_blocks, report_html  # noqa: E402

STAFF = "市委网信办目前有多少在编人员？"


@pytest.fixture(scope="module")
def pdf_server(assistant, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A real app server over a corpus of the report printed to PDF by Chromium."""
    if not chromium_available():
        pytest.skip("no /usr/bin/chromium with Noto CJK fonts: `make browser` installs them")
    corpus = tmp_path_factory.mktemp("pdf-corpus")
    print_pdf(report_html(report_blocks()), corpus / "report.pdf")
    settings = assistant.settings.with_(
        corpus_dir=corpus, index_dir=tmp_path_factory.mktemp("pdf-index"), host="127.0.0.1", port=0
    )
    demo = web.build_app(Assistant(settings, embedder=assistant.embedder), settings)
    _, url, _ = web.launch(demo, settings, prevent_thread_lock=True, quiet=True)
    try:
        yield url.rstrip("/"), corpus / "report.pdf"
    finally:
        demo.close(verbose=False)


def _quote_box(pdf_path: Path, page: int, quote: str) -> tuple[float, float, float, float]:
    """Where the quote's first characters stand on the page, by PDFium: (x0, top, x1, bottom) in points."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(pdf_path))
    try:
        pg = pdf[page - 1]
        height = pg.get_height()
        textpage = pg.get_textpage()
        chars = [(fix_code_points(textpage.get_text_range(i, 1)), i) for i in range(textpage.count_chars())]
        chars = [(c, i) for c, i in chars if c.strip()]
        joined = "".join(c for c, _ in chars)
        needle = re.sub(r"\s", "", quote)[:8]
        at = joined.find(needle)
        assert at >= 0, f"{needle} not on page {page}"
        boxes = [textpage.get_charbox(chars[k][1]) for k in range(at, at + len(needle))]
        return (min(b[0] for b in boxes), height - max(b[3] for b in boxes),
                max(b[2] for b in boxes), height - min(b[1] for b in boxes))  # fmt: skip
    finally:
        pdf.close()


@pytest.mark.browser
@pytest.mark.slow
def test_a_pdf_source_opens_its_page_with_the_quote_marked(browser, pdf_server) -> None:
    url, pdf_path = pdf_server
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        page.goto(url)
        box = page.get_by_placeholder("输入问题")
        box.fill(STAFF)
        box.press("Enter")
        reply = page.get_by_test_id("bot").first
        reply.locator(".qa-answer, .qa-notice").wait_for(timeout=60_000)
        assert "11" in reply.locator(".qa-text").inner_text()
        sources = reply.locator("details.qa-sources")
        sources.locator("summary").click()
        first = sources.locator(".qa-source").first
        quote = first.locator("mark").first.inner_text()
        assert re.fullmatch(r"第 \d+(–\d+)? 页", first.locator(".qa-page").inner_text())  # the page(s) in its heading
        href = first.locator("a.qa-page-link").get_attribute("href")
        assert href and href.startswith("/pages/view?")

        view = browser.new_page(viewport={"width": 1100, "height": 1400})
        view.goto(url + href)
        view.locator(".sheet img").wait_for()
        view.wait_for_function("document.querySelector('.sheet img').complete")
        number = int(re.search(r"第 (\d+) 页", view.locator(".bar").inner_text()).group(1))
        sheet = view.locator(".sheet")
        width, height = float(sheet.get_attribute("data-width")), float(sheet.get_attribute("data-height"))
        img = view.locator(".sheet img").bounding_box()
        marks = [m.bounding_box() for m in view.locator(".hl").all()]
        assert marks, "no line is marked"
        # the marks as drawn by the browser, back in points on the page
        drawn = [((m["x"] - img["x"]) / img["width"] * width, (m["y"] - img["y"]) / img["height"] * height,
                  (m["x"] + m["width"] - img["x"]) / img["width"] * width,
                  (m["y"] + m["height"] - img["y"]) / img["height"] * height) for m in marks]  # fmt: skip
        x0, top, x1, bottom = _quote_box(pdf_path, number, quote)
        cx, cy = (x0 + x1) / 2, (top + bottom) / 2
        assert any(a <= cx <= c and b <= cy <= d for a, b, c, d in drawn), (drawn, (x0, top, x1, bottom))
        # and the marks stay near the quote: no more lines than the quoted sentence spans, and none far away
        assert len(drawn) <= 6 and all(abs((b + d) / 2 - cy) < 120 for _, b, _, d in drawn)
        png = httpx.get(url + view.locator(".sheet img").get_attribute("src"), timeout=30)
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        view.close()
    finally:
        page.close()


def test_pages_serve_only_corpus_pdfs_and_images(settings, tmp_path: Path) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from assistant.web import pages

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "notes.txt").write_text("正文。\n", encoding="utf-8")
    (tmp_path / "secret.pdf").write_bytes(b"%PDF-1.4")
    app = FastAPI()
    pages.mount(app, settings.with_(corpus_dir=corpus))
    client = TestClient(app)
    for doc in ("notes.txt", "../secret.pdf", "nothing.pdf"):
        response = client.get("/pages/view", params={"doc": doc})
        assert response.status_code == 404 and response.text == "文档库中没有这个 PDF 或图片文档。"
    locked = TestClient(FastAPI())
    pages.mount(locked.app, settings.with_(corpus_dir=corpus, username="a", password="b"))
    assert locked.get("/pages/view", params={"doc": "x.pdf"}).status_code == 401
