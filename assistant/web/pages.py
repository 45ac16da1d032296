"""A PDF source's page as an image with the quoted lines highlighted: `/pages/view` and `/pages/image`.

A source in the web chat links here (assistant/render/html.py `page_link`) with the passage's start
offset and the quote's place inside it counted in non-white-space characters (the passage's text and
the document's differ in white space only). The view reads the document again (kept in memory while
its file is unchanged), finds the quote's page and the lines it spans (`Document.lines`, in points on
the page), and shows the page rendered by pypdfium2 with a mark over each line. Page images (.png,
.jpg, .tif) are shown as they are.

Only documents of the corpus folder are served, by the names the corpus reader gives them (hidden
files and links leading outside are never served). With a login set (ASSISTANT_USERNAME and
ASSISTANT_PASSWORD) these pages ask for the same name and password.
"""

from __future__ import annotations

import base64
import hmac
import html
import io
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from assistant.config import Settings
from assistant.ingest import CorpusError, corpus_files, read_document
from assistant.schema import Document, LineBox

PREFIX = "/pages"
RENDER_SCALE = 2.0  # 144 dpi: sharp on a laptop screen, a few hundred kB a page
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")

STYLE = """
body { margin: 0; background: #e5e7eb; font-family: sans-serif; }
.bar { padding: .5em 1em; background: #fff; border-bottom: 1px solid #d1d5db; font-size: 14px; }
.sheet { position: relative; margin: 1em auto; max-width: 900px; box-shadow: 0 1px 6px rgba(0,0,0,.25); }
.sheet img { display: block; width: 100%; height: auto; }
.hl { position: absolute; background: rgba(250, 204, 21, .38); outline: 2px solid rgba(217, 119, 6, .8); }
"""


def mount(app: FastAPI, settings: Settings) -> None:
    """Add the page routes to `app` (before Gradio is mounted at `/`, which would take every path)."""

    @app.get(f"{PREFIX}/view", response_class=HTMLResponse)
    def view(request: Request, doc: str, start: int = 0, a: int = 0, b: int = 0) -> Response:
        found = _allowed(request, settings, doc)
        if isinstance(found, Response):
            return found
        qa, qb = _offsets(found.text, start, a, b)
        page = found.page_of(qa) or 1
        width, height = _page_size(settings.corpus_dir / doc, page)
        marks = [box for box in found.lines if box.page == page and box.start < qb and box.end > qa]
        return HTMLResponse(_view_html(doc, page, found.pages or 1, width, height, marks))

    @app.get(f"{PREFIX}/image")
    def image(request: Request, doc: str, page: int = 1) -> Response:
        found = _allowed(request, settings, doc)
        if isinstance(found, Response):
            return found
        if not 1 <= page <= (found.pages or 1):
            return _problem(404, "没有这一页。")
        return Response(_png(settings.corpus_dir / doc, page), media_type="image/png",
                        headers={"Cache-Control": "private, max-age=300"})  # fmt: skip


def _allowed(request: Request, settings: Settings, doc: str) -> Document | Response:
    """The document to show, or the answer refusing it (login missing, no such PDF or image)."""
    return _login(request, settings) or _document(settings, doc)


def _login(request: Request, settings: Settings) -> Response | None:
    if not (settings.username and settings.password):
        return None
    header = request.headers.get("authorization", "")
    try:
        user, _, password = base64.b64decode(header.removeprefix("Basic ")).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        user, password = "", ""
    if hmac.compare_digest(user, settings.username) and hmac.compare_digest(password, settings.password):
        return None
    return Response("请先登录。", status_code=401, headers={"WWW-Authenticate": 'Basic realm="assistant"'},
                    media_type="text/plain; charset=utf-8")  # fmt: skip


def _problem(status: int, message: str) -> Response:
    return Response(message, status_code=status, media_type="text/plain; charset=utf-8")


def _document(settings: Settings, name: str) -> Document | Response:
    """The corpus document of that name, read (PDF or page image only), or a polite refusal."""
    root = settings.corpus_dir
    names = {p.relative_to(root).as_posix(): p for p in corpus_files(root)} if root.is_dir() else {}
    path = names.get(name)
    if path is None or not (path.suffix.lower() == ".pdf" or path.suffix.lower() in IMAGE_SUFFIXES):
        return _problem(404, "文档库中没有这个 PDF 或图片文档。")
    stat = path.stat()
    try:
        return _read(str(path), str(root), stat.st_mtime_ns, stat.st_size)
    except CorpusError:
        return _problem(422, "这个文档现在无法读取。")


@lru_cache(maxsize=8)
def _read(path: str, root: str, mtime_ns: int, size: int) -> Document:  # the file's stamp keys the cache
    return read_document(Path(path), Path(root))


def _offsets(text: str, start: int, a: int, b: int) -> tuple[int, int]:
    """Document offsets of the quote: `a` and `b` non-white-space characters after `start`."""
    start = max(0, min(start, len(text)))
    qa = qb = None
    count = 0
    for i in range(start, len(text)):
        if text[i].isspace():
            continue
        if count == a:
            qa = i
        count += 1
        if count == b:
            qb = i + 1
            break
    qa = start if qa is None else qa
    return qa, max(qa + 1, qb if qb is not None else len(text))


def _page_size(path: Path, page: int) -> tuple[float, float]:
    """The page's size in points, as the line boxes measure it."""
    if path.suffix.lower() in IMAGE_SUFFIXES:
        from assistant.ingest.image import _dpi

        frame = _frame(path, page)
        dpi = _dpi(frame)
        return frame.width * 72 / dpi, frame.height * 72 / dpi
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        return tuple(pdf[page - 1].get_size())  # type: ignore[return-value]
    finally:
        pdf.close()


def _frame(path: Path, page: int):
    from PIL import Image, ImageSequence

    with Image.open(path) as image:
        for n, frame in enumerate(ImageSequence.Iterator(image), start=1):
            if n == page:
                out = frame.copy()
                out.info.update(frame.info)
                return out
    raise ValueError(f"no page {page}")


def _png(path: Path, page: int) -> bytes:
    if path.suffix.lower() in IMAGE_SUFFIXES:
        image = _frame(path, page).convert("RGB")
    else:
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(str(path))
        try:
            image = pdf[page - 1].render(scale=RENDER_SCALE).to_pil()
        finally:
            pdf.close()
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


def _view_html(doc: str, page: int, pages: int, width: float, height: float, marks: list[LineBox]) -> str:
    src = f"{PREFIX}/image?doc={quote(doc)}&page={page}"
    boxes = "".join(
        f'<div class="hl" data-x0="{m.x0:.1f}" data-top="{m.top:.1f}" '
        f'data-x1="{m.x1:.1f}" data-bottom="{m.bottom:.1f}" '
        f'style="left:{100 * m.x0 / width:.3f}%;top:{100 * m.top / height:.3f}%;'
        f'width:{100 * (m.x1 - m.x0) / width:.3f}%;height:{100 * (m.bottom - m.top) / height:.3f}%"></div>'
        for m in marks
    )
    return (
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{html.escape(doc)} 第 {page} 页</title>'
        f"<style>{STYLE}</style></head><body>"
        f'<div class="bar">{html.escape(doc)} · 第 {page} 页（共 {pages} 页）· 引文所在的行已标出</div>'
        f'<div class="sheet" data-width="{width:.1f}" data-height="{height:.1f}"><img src="{src}" alt="第 {page} 页">'
        f"{boxes}</div></body></html>"
    )
