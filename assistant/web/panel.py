"""The web page's 文档 panel and document selector: the components and their events.

The panel lists the library; people allowed to change it (`web_library.change_refused`) also get the
upload's drop zone and a 删除 button per document, which asks to confirm first. A change runs through
`web_library.Library`, which swaps in a new `Assistant`; then the page's header, examples, document
selector and list follow it. The HTML and the scripts are in `assistant/render/library.py`.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import gradio as gr
from gradio import utils as gradio_utils

from assistant.about import About
from assistant.config import Settings
from assistant.ingest import SUFFIXES
from assistant.render.html import header_html
from assistant.render.library import REMOVE_JS, UPLOAD_JS, confirm_html, library_html, notices_html, upload_html
from assistant.store.build import Progress
from assistant.web.library import Library, Notice, change_refused, uploads_from_event

__all__ = ["ALL_DOCUMENTS", "LibraryPanel", "document_choices", "selector"]

ALL_DOCUMENTS = ""  # the selector's value for "全部文档" (no file has an empty name)
STAGES = {"waiting": "等待另一次索引构建完成…", "documents": "正在合并索引…", "loading": "正在载入新的索引…"}


def document_choices(about: About) -> list[tuple[str, str]]:
    """The document selector's choices: all documents, then each by its title (and its file when titles repeat)."""
    seen = Counter(d.title for d in about.documents)
    return [("全部文档", ALL_DOCUMENTS)] + [
        (f"《{d.title}》" + (f" {d.name}" if seen[d.title] > 1 else ""), d.name) for d in about.documents
    ]


def selector(about: About, value: str | None = ALL_DOCUMENTS) -> gr.Dropdown:
    """The selector as it should be now: shown when there is a choice, its value kept while that document is."""
    choices = document_choices(about)
    keep = value if value in {v for _, v in choices} else ALL_DOCUMENTS
    return gr.Dropdown(choices=choices, value=keep, visible=len(choices) > 2)


def _progress(progress: gr.Progress) -> Progress:
    """The index build's progress (stage, done, total) as Gradio's progress bar over the panel's status line."""

    def report(stage: str, done: int, total: int) -> None:
        if stage == "embedding" and total:
            progress((done, total), desc="正在为新文档建立索引（嵌入句子）", unit="句")
        elif stage.startswith("ocr ") and total:
            progress((done, total), desc=f"正在识别扫描页（OCR）：{stage[4:]}", unit="页")
        else:
            progress(None, desc=STAGES.get(stage, "正在更新索引…"))

    return report


def _event_data(evt: gr.EventData) -> dict:
    data = getattr(evt, "_data", None)
    return data if isinstance(data, dict) else {}


class LibraryPanel:
    """The 文档 panel: `build()` inside the page's accordion, then `wire()` its events to the page."""

    def __init__(self, shelf: Library, about: Callable[[], About], settings: Settings) -> None:
        self.shelf, self.about, self.settings = shelf, about, settings

    def build(self, first: About) -> None:
        self.note = gr.HTML("")  # why this visitor may only look
        self.documents = gr.HTML(
            library_html(self.shelf.documents(), first), js_on_load=REMOVE_JS, elem_id="qa-library"
        )
        with gr.Row(visible=False, equal_height=True) as self.confirm:
            self.confirm_text = gr.HTML("")
            self.yes = gr.Button("删除", variant="stop", scale=0, min_width=80, elem_id="qa-remove-yes")
            self.no = gr.Button("取消", variant="secondary", scale=0, min_width=80, elem_id="qa-remove-no")
        # Shown on page load to those who may change the library.
        self.uploader = gr.HTML(upload_html(SUFFIXES, self.settings.max_upload_mb), js_on_load=UPLOAD_JS,
                                visible=False, elem_id="qa-upload")  # fmt: skip
        self.status = gr.HTML("", min_height=24, elem_id="qa-library-status")
        self.pending = gr.State(None)  # the document this session was asked to confirm removing

    def wire(self, demo: gr.Blocks, header: gr.HTML, examples: gr.Dataset, chooser: gr.Dropdown) -> None:
        page = [header, examples, chooser, self.documents]
        demo.load(self.refresh, None, [*page, self.uploader, self.note], queue=False, api_visibility="private")
        # Changes take turns (one build at a time); their progress shows over the status line.
        change = {"api_visibility": "private", "concurrency_limit": 1, "concurrency_id": "library",
                  "show_progress_on": [self.status]}  # fmt: skip
        after = [self.status, *page, self.confirm, self.pending]
        self.uploader.upload(self.add, [chooser], after, **change)
        self.documents.click(self.ask_remove, None, [self.confirm, self.confirm_text, self.pending, self.status],
                             api_visibility="private")  # fmt: skip
        self.yes.click(self.remove, [self.pending, chooser], after, **change)
        self.no.click(lambda: (gr.Row(visible=False), None), None, [self.confirm, self.pending],
                      api_visibility="private")  # fmt: skip

    # --- events ---

    def refresh(self, request: gr.Request) -> tuple:
        """The page as the library is now, on every load (it may have changed since start), and what this
        visitor may do with it."""
        self.shelf.follow()
        why = self._refused(request)
        note = f'<p class="qa-library-note">{html.escape(why)}</p>' if why else ""
        return *self._page(not why), gr.HTML(visible=not why), note

    def add(self, doc: str, evt: gr.EventData, request: gr.Request, progress=gr.Progress()) -> tuple:  # noqa: B008
        """The files of an upload, added to the library (the page's script sends them, see `UPLOAD_JS`)."""
        why = self._refused(request)
        if why:
            return self._after([Notice("refused", why)], False, doc)
        uploads = uploads_from_event(_event_data(evt), Path(gradio_utils.get_upload_folder()))
        try:
            return self._after(self.shelf.add(uploads, _progress(progress)) if uploads else [], True, doc)
        finally:  # the library keeps its own copy; the upload's is not left lying in the temporary folder
            for upload in uploads:
                if upload.path is not None:
                    upload.path.unlink(missing_ok=True)

    def ask_remove(self, evt: gr.EventData, request: gr.Request) -> tuple:
        """A 删除 button: ask to confirm, naming the document."""
        why = self._refused(request)
        name = _event_data(evt).get("remove")
        if why or not isinstance(name, str):
            return gr.Row(visible=False), "", None, notices_html([Notice("refused", why)] if why else [])
        return gr.Row(visible=True), confirm_html(name, self.about().title_of(name)), name, ""

    def remove(self, name: str | None, doc: str, request: gr.Request, progress=gr.Progress()) -> tuple:  # noqa: B008
        """Confirmed: remove the document."""
        why = self._refused(request)
        if why or not isinstance(name, str):
            return self._after([Notice("refused", why)] if why else [], not why, doc)
        return self._after(self.shelf.remove(name, _progress(progress)), True, doc)

    # --- helpers ---

    def _refused(self, request: gr.Request | None) -> str:
        # The connection's peer address (the ASGI scope's client), as the server sees it.
        client = getattr(request, "client", None)
        return change_refused(self.settings, getattr(client, "host", None), getattr(request, "username", None))

    def _page(self, removable: bool, doc: str | None = ALL_DOCUMENTS) -> tuple:
        """What follows the library: header, examples, document selector, the library's table."""
        now = self.about()
        table = library_html(self.shelf.documents(), now, removable)
        return header_html(now), gr.Dataset(samples=[[q] for q in now.examples]), selector(now, doc), table

    def _after(self, notices: list[Notice], removable: bool, doc: str | None) -> tuple:
        """The outputs of a change: what it did, the page as it is now, the confirmation closed."""
        return notices_html(notices), *self._page(removable, doc), gr.Row(visible=False), None
