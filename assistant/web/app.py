"""The web chat: a Gradio page and a JSON API over one shared `Assistant`.

`build_app` lays out the page and wires its events; the HTML comes from `assistant/render/html.py`,
the page's words about the corpus from `assistant/about.py`, and the serving (Host check, request
limits, uvicorn) from `assistant/web/server.py`. Every answer runs through a `Gate`: a few at once, a
few more waiting, each with a deadline; beyond that the user hears a polite "busy".
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

import gradio as gr

from assistant.about import SETTINGS_FILE, About, about
from assistant.config import Settings
from assistant.pipeline import Assistant, QuestionError, Turn
from assistant.render.html import PENDING, answer_html, header_html, notice_html, user_html
from assistant.render.json import answer_to_dict
from assistant.schema import Answer
from assistant.web.errors import ApiError
from assistant.web.gate import Busy, Gate, TimedOut
from assistant.web.keys import Access, load_keyring
from assistant.web.library import Library
from assistant.web.panel import ALL_DOCUMENTS, LibraryPanel, document_choices
from assistant.web.server import allowed_hosts, create_app, launch
from assistant.web.service import API_TOP_K_MAX, BUSY, FAILED, TIMED_OUT, Service, answerers
from assistant.web.service import public_answer as _public

__all__ = ["allowed_hosts", "answerers", "build_app", "create_app", "launch", "serve"]

# Gradio reads this when a Blocks is created: no version check or telemetry calls home.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

log = logging.getLogger(__name__)

TOP_K_MAX = 10  # the settings slider; more sources than this do not fit a chat
CONCURRENCY = 4  # answers computed at once; `queue_size` more wait for one of these workers
MAX_MESSAGES = 200  # chat messages kept per session; older ones leave the page

GONE = "所选的文档已不在文档库中，请改选“全部文档”或另一份文档。"

ANSWERER_LABELS = {"extractive": "摘录式：直接引用原文", "llm": "生成式：语言模型根据同样的段落作答"}


# --- checks on what a request may carry ----------------------------------------------------------


def _remember(turns: list[Turn], question: str, answer: Answer, settings: Settings) -> list[Turn]:
    """The session's conversation after an answer (the last `max_history_turns` turns)."""
    return (turns + [Turn(question, answer)])[-settings.max_history_turns :] if settings.max_history_turns else []


# --- the page ------------------------------------------------------------------------------------


class _About:
    """The page's words about the corpus, computed again when the index or the settings file changes."""

    def __init__(self, library: Library, settings: Settings) -> None:
        self.library, self.settings = library, settings
        self._key: tuple | None = None
        self._value: About | None = None

    def __call__(self, assistant: Assistant | None = None) -> About:
        """About the documents of `assistant`'s index (default: the current one)."""
        index = (assistant or self.library.assistant).index
        try:
            stamp = (self.settings.corpus_dir / SETTINGS_FILE).stat().st_mtime_ns
        except OSError:
            stamp = None
        key = (id(index), stamp)
        if key != self._key or self._value is None:
            self._value = about(index.passages, self.settings.corpus_dir, self.settings.max_question_chars)
            self._key = key
        return self._value

    def titles(self, assistant: Assistant | None = None) -> dict[str, str]:
        return {d.name: d.title for d in self(assistant).documents}


def _valid_history(history: list[Turn], assistant: Assistant) -> list[Turn | str]:
    """The conversation for `assistant`: a turn whose answer quoted a passage its index no longer holds (the
    document was removed since) is given as its question alone, and so answered again from the current index."""
    out: list[Turn | str] = []
    for turn in history:
        try:
            for source in turn.answer.sources:
                assistant.index.passage_number(source.hit.passage.id)
            out.append(turn)
        except KeyError:
            out.append(turn.asked)
    return out


def build_app(assistant: Assistant, settings: Settings) -> gr.Blocks:
    """The page and the `/ask` API around the current `Assistant`, shared by every session; the 文档 panel can
    replace it with one over a changed library (`web_library.Library`)."""
    # Load the model now, once, rather than racing to load it in the first concurrent requests.
    assistant.embedder.model  # noqa: B018
    gate = Gate(CONCURRENCY, settings.queue_size)
    shelf = Library(assistant, settings)
    corpus = _About(shelf, settings)
    panel = LibraryPanel(shelf, corpus, settings)
    # What the `/ask` below and the HTTP API (assistant/web/api.py, served beside the page by `create_app`) share.
    service = Service(shelf, gate, settings, Access(settings, load_keyring(settings)), corpus.titles)
    choices = answerers(settings)

    def respond(
        question: str, messages: list | None, history: list[Turn] | None, top_k: float, show_scores: bool,
        answerer: str, doc: str | None,
    ) -> Iterator[tuple[str, list, list, list[Turn]]]:  # fmt: skip
        """One turn: show the question at once, then replace the placeholder with the answer."""
        messages, history = list(messages or [])[-MAX_MESSAGES:], list(history or [])
        question = question if isinstance(question, str) else ""
        if question.strip():
            messages.append({"role": "user", "content": user_html(question)})
        messages.append({"role": "assistant", "content": PENDING})
        yield "", messages, messages, history
        kept = ""  # what stays in the text box: the question, when it has to be asked again
        answerer = answerer if answerer in choices else choices[0]
        current = shelf.follow()  # this turn is answered by one Assistant from start to end
        titles = corpus.titles(current)
        doc = doc or None
        try:
            if doc is not None and doc not in current.index.documents:
                raise QuestionError(GONE)
            k = min(max(int(top_k or settings.top_k), 1), TOP_K_MAX)
            earlier = _valid_history(history, current)
            work = gate.stream(lambda: current.answers(question, earlier, top_k=k, answerer=answerer, doc=doc),
                               settings.request_timeout)  # fmt: skip
            for answer in work:
                answer = _public(answer, settings)
                messages[-1] = {"role": "assistant", "content": answer_html(answer, bool(show_scores), titles)}
                if answer.answerer == "llm":
                    yield "", messages, messages, history  # the generated text as it streams
        except QuestionError as exc:
            messages[-1], kept = {"role": "assistant", "content": notice_html(str(exc))}, question
        except (Busy, TimedOut) as exc:
            message = BUSY if isinstance(exc, Busy) else TIMED_OUT
            messages[-1], kept = {"role": "assistant", "content": notice_html(message)}, question
        except Exception:
            log.exception("answering %r failed", question[:200])
            messages[-1], kept = {"role": "assistant", "content": notice_html(FAILED)}, question
        else:
            history = _remember(history, question, answer, settings)
        yield kept, messages, messages, history

    def respond_example(sample: list[str], *rest: Any) -> Iterator[tuple[str, list, list, list[Turn]]]:
        yield from respond(sample[0] if sample else "", *rest)

    def ask(
        question: str,
        top_k: int = settings.top_k,
        history: list[str] | None = None,
        answerer: str = choices[0],
        doc: str | None = None,
    ) -> dict:
        """Answer a question about the documents; returns the JSON of `assistant ask --json`.

        `history` holds the conversation's earlier questions, oldest first, so that a
        follow-up such as "那县里呢？" or "第二点具体是什么？" is understood. `doc` limits the
        answer to one document, by its name as `/documents` lists it (empty or None: all).
        """
        if not isinstance(top_k, int | float) or not 1 <= int(top_k) <= API_TOP_K_MAX:
            raise gr.Error(f"top_k 应在 1 到 {API_TOP_K_MAX} 之间。", print_exception=False)
        if doc is not None and not isinstance(doc, str):
            raise gr.Error("doc 应为文档名（文本）。", print_exception=False)
        if not isinstance(question, str):
            raise gr.Error("question 应为文本。", print_exception=False)
        try:  # the same checks, gate and answer as the HTTP API's /api/ask
            _, answer = service.final(question, history=history, top_k=int(top_k), answerer=answerer, doc=doc or None)
        except ApiError as exc:
            raise gr.Error(exc.message, print_exception=False) from None
        return answer_to_dict(answer)

    def documents_api() -> list[dict]:
        """The documents of the library (name, title, format, pages, passages, added, size, status), as
        `assistant list --json` gives them; `name` is what `/ask` takes as `doc`."""
        shelf.follow()
        return [asdict(entry) for entry in shelf.documents()]

    first = corpus()
    with gr.Blocks(title=first.title, analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        header = gr.HTML(header_html(first))
        history = gr.State([])  # this session's conversation (turns: questions and answers), for follow-ups
        messages = gr.State([])  # the conversation, kept here: the browser sends only the new question
        chatbot = gr.Chatbot(
            label="对话",
            show_label=False,
            # As tall as the window allows next to the header, box, examples and settings; scrolls inside.
            height="calc(100vh - 420px)",
            min_height=420,
            # Messages are HTML we built from escaped text; no Markdown or LaTeX on top of it,
            # so nothing a user types is interpreted. The sanitizer stays on as a second guard.
            render_markdown=False,
            sanitize_html=True,
            latex_delimiters=[],
            feedback_options=None,
            buttons=["copy"],
            placeholder="请提问，例如下面的示例问题。回答只来自文档原文，并标出引用的段落。",
        )
        # The row of the question, with the document it is about when there are several.
        with gr.Row(equal_height=True):
            question = gr.Textbox(
                show_label=False, placeholder="输入问题，按回车发送（可追问，如“那县里呢？”）", scale=8, lines=1,
                max_lines=4, autofocus=True, submit_btn=False,
            )  # fmt: skip
            selector = gr.Dropdown(
                document_choices(first), value=ALL_DOCUMENTS, show_label=False, scale=3, min_width=160,
                visible=len(first.documents) > 1, elem_id="qa-doc", info=None, filterable=True,
            )  # fmt: skip
            send = gr.Button("提问", variant="primary", scale=1, min_width=90)
        examples = gr.Dataset(
            components=[question], samples=[[q] for q in first.examples], label="示例问题", type="values"
        )
        with gr.Accordion("设置", open=False):
            with gr.Row():
                top_k = gr.Slider(1, TOP_K_MAX, value=min(settings.top_k, TOP_K_MAX), step=1, label="来源数量（top-k）")
                show_scores = gr.Checkbox(value=True, label="显示来源分数", info="综合得分、语义相似度与 BM25")
            answerer = gr.Radio(
                [(ANSWERER_LABELS[a], a) for a in choices], value=choices[0], label="回答方式", visible=len(choices) > 1
            )
            clear = gr.Button("清空对话", variant="secondary")
        # The documents behind the answers; who may, adds and removes them here.
        with gr.Accordion("文档", open=False):
            panel.build(first)

        inputs = [question, messages, history, top_k, show_scores, answerer, selector]
        outputs = [question, chatbot, messages, history]
        # The UI's own events stay off the public API; `/ask` below is the API. The gate bounds
        # the work, so Gradio passes every turn on at once and the overflow hears "busy" in the chat.
        turn = {"outputs": outputs, "show_progress": "minimal", "api_visibility": "private", "concurrency_limit": None}
        question.submit(respond, inputs, **turn)
        send.click(respond, inputs, **turn)
        examples.click(respond_example, [examples, *inputs[1:]], **turn)
        clear.click(lambda: ("", [], [], []), None, outputs, queue=False, api_visibility="private")
        chatbot.clear(lambda: ([], []), None, [messages, history], queue=False, api_visibility="private")
        panel.wire(demo, header, examples, selector)

        gr.api(ask, api_name="ask", concurrency_limit=None)
        gr.api(documents_api, api_name="documents", concurrency_limit=None)

    # Gradio's own queue only holds what the gate has not yet seen; its overflow is refused too.
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=CONCURRENCY + settings.queue_size)
    demo.gate = gate  # type: ignore[attr-defined]  (closed with the server)
    demo.library = shelf  # type: ignore[attr-defined]  (the current Assistant, for tests and the operator)
    demo.service = service  # type: ignore[attr-defined]  (served by `create_app`)
    return demo


def serve(assistant: Assistant, settings: Settings) -> None:
    """Serve the web chat until interrupted (the CLI's `assistant web`)."""
    launch(build_app(assistant, settings), settings)
