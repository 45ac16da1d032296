"""The web chat: a Gradio page and a JSON API over one shared `Assistant`.

This module only lays out the page and turns answers into HTML; every answer comes
from `Assistant.ask()`. The formatting functions come first and are plain functions
(string in, string out), so they can be read and tested without a server.

Escaping: every piece of text that reaches the page (the question, the answer, the
passages, section and document names) goes through `html.escape` before any of our
own tags are added, and the Chatbot shows messages as HTML without Markdown
processing, so a question or a passage cannot add markup of its own.
"""

from __future__ import annotations

import html
import logging
import os
import re
from collections.abc import Iterator, Sequence
from typing import Any

import gradio as gr

from assistant.config import Settings
from assistant.pipeline import Assistant, QuestionError
from assistant.schema import Answer, Source, Span
from assistant.serialize import answer_to_dict

__all__ = [
    "EXAMPLES",
    "TITLE",
    "answer_html",
    "build_app",
    "description_html",
    "launch",
    "matched_mask",
    "notice_html",
    "passage_html",
    "serve",
    "source_html",
    "user_html",
]

# Gradio reads this when a Blocks is created: no version check or telemetry calls home.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

log = logging.getLogger(__name__)

TITLE = "洛阳市网信工作汇报问答"
REPORT_NAME = "《关于中央、省委相关会议精神及我市贯彻落实意见的汇报》"

# Natural questions a reader of the report would ask; each is answered by the report.
EXAMPLES = [
    "市委网信办目前有多少在编人员？",
    "今年以来发生了多少起网络攻击事件？",
    "“精彩洛阳”官方微信有多少粉丝？",
    "县里的网信机构存在什么问题？",
    "市委网信办每天要接收多少条指令？",
]

TOP_K_MAX = 10  # the settings slider; more sources than this do not fit a chat
API_TOP_K_MAX = 50  # same bound as the CLI's --top-k
CONCURRENCY = 4  # answers computed at once; more requests wait in the queue instead of freezing the page

PENDING = '<span class="qa-pending">正在报告中查找…</span>'
FAILED = "抱歉，处理这个问题时出了点问题，请稍后再试或换个问法。"

ANSWERERS = [("摘录式：直接引用报告原文", "extractive"), ("生成式：语言模型根据同样的段落作答（需模型服务）", "llm")]

_CITATION = re.compile(r"\[(\d+)\]")

# Styles for the HTML inside chat messages; Gradio's theme variables keep dark mode readable.
CSS = """
.qa-header h1 { margin: 0 0 .2em; font-size: 1.6em; }
.qa-header p { margin: 0; color: var(--body-text-color-subdued); }
.qa-answer { line-height: 1.7; }
.qa-text { margin: 0; font-size: 1.08em; font-weight: 500; }
.qa-resolved, .qa-note { margin: 0 0 .3em; font-size: .9em; color: var(--body-text-color-subdued); }
.qa-cite { color: var(--primary-500); font-weight: 600; font-size: .9em; }
.qa-notfound .qa-text { color: #b45309; font-weight: 600; }
.qa-sources, .qa-related { margin-top: .6em; border-radius: 8px; padding: .3em .7em; }
.qa-sources { border: 1px solid var(--primary-200); }
.qa-related { border: 1px dashed #d1a054; background: rgba(245, 158, 11, .06); }
.qa-sources > summary, .qa-related > summary { cursor: pointer; font-weight: 600; font-size: .92em; }
.qa-related > summary { color: #b45309; }
.qa-source { margin: .6em 0; }
.qa-source-head { font-size: .88em; color: var(--body-text-color-subdued); }
.qa-section { color: var(--body-text-color); }
.qa-section + .qa-doc::before { content: " · "; }
.qa-doc { font-size: .92em; }
.qa-rank { font-weight: 700; color: var(--primary-500); margin-right: .3em; }
.qa-related .qa-rank { color: #b45309; }
.qa-quote { margin: .25em 0; padding: .35em .8em; border-left: 3px solid var(--primary-500);
            background: var(--background-fill-secondary); font-size: .95em; }
.qa-related .qa-quote { border-left-color: #d1a054; }
.qa-quote mark { background: #fde68a; color: inherit; padding: 0 .1em; border-radius: 2px; }
.qa-quote b { text-decoration: underline; text-decoration-color: var(--primary-500); font-weight: 600; }
.qa-scores { font-size: .8em; color: var(--body-text-color-subdued); font-variant-numeric: tabular-nums; }
.qa-badge { font-size: .75em; padding: 0 .4em; border-radius: 4px; margin-left: .4em;
            background: var(--primary-50); color: var(--primary-500); }
.dark .qa-quote mark { background: #854d0e; }
.dark .qa-badge { background: var(--primary-900); color: var(--primary-200); }
.qa-pending { color: var(--body-text-color-subdued); }
.qa-notice { color: #b45309; }
"""


# --- formatting: plain functions, text in, HTML out --------------------------------------------


def _text(text: str) -> str:
    """Escaped text; line breaks kept, since messages are shown as HTML, not Markdown."""
    return html.escape(text).replace("\r\n", "\n").replace("\n", "<br>")


def user_html(question: str) -> str:
    """The user's message exactly as typed, as text: tags and Markdown in it stay visible."""
    return _text(question)


def notice_html(message: str) -> str:
    """A polite one-line message in place of an answer (empty or over-long question, failure)."""
    return f'<span class="qa-notice">{_text(message)}</span>'


def _word_pattern(word: str) -> str:
    # Matched words come normalised ("2016 年" with a space, lower case): let white space
    # in them match none or some; the pattern is used case-insensitively.
    return r"\s*".join(re.escape(piece) for piece in word.split())


def matched_mask(text: str, matched: Sequence[str]) -> list[bool]:
    """Which characters of `text` belong to a matched query word.

    A one-character word (办, 县) is marked only next to a longer matched word, so that
    市委网信办 is marked as a whole but the 办 of 办公室 is not.
    """
    mask = [False] * len(text)
    words = {w for w in matched if w.strip()}
    long_words = sorted((w for w in words if len(w.strip()) > 1), key=len, reverse=True)
    short_words = [w.strip() for w in words if len(w.strip()) == 1]
    if long_words:
        for m in re.finditer("|".join(map(_word_pattern, long_words)), text, re.IGNORECASE):
            mask[m.start() : m.end()] = [True] * (m.end() - m.start())
    if short_words:
        # Grow marked runs by adjacent one-character words until nothing changes.
        changed = True
        while changed:
            changed = False
            for i, ch in enumerate(text):
                if (
                    not mask[i]
                    and ch.lower() in short_words
                    and ((i > 0 and mask[i - 1]) or (i + 1 < len(text) and mask[i + 1]))
                ):
                    mask[i] = changed = True
    return mask


def _bold_runs(text: str, mask: Sequence[bool]) -> str:
    """Escaped `text` with the runs where `mask` is true in <b>."""
    out, i = [], 0
    while i < len(text):
        j = i
        while j < len(text) and mask[j] == mask[i]:
            j += 1
        piece = _text(text[i:j])
        out.append(f"<b>{piece}</b>" if mask[i] else piece)
        i = j
    return "".join(out)


def passage_html(text: str, used: Sequence[Span] = (), matched: Sequence[str] = ()) -> str:
    """The passage with the sentences used in the answer in <mark> and the query words in <b>.

    Query words are marked within each piece separately, so <b> always nests inside
    <mark> and never crosses it.
    """
    mask = matched_mask(text, matched)
    out, pos = [], 0
    for span in sorted(used, key=lambda s: s.start):
        start, end = max(span.start, pos), min(span.end, len(text))
        if start >= end:
            continue
        out.append(_bold_runs(text[pos:start], mask[pos:start]))
        out.append(f"<mark>{_bold_runs(text[start:end], mask[start:end])}</mark>")
        pos = end
    out.append(_bold_runs(text[pos:], mask[pos:]))
    return "".join(out)


def _score(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def source_html(source: Source, show_scores: bool = True) -> str:
    """One numbered source: where it is, the quoted passage, and optionally why it was found."""
    hit, p = source.hit, source.hit.passage
    section = f'<span class="qa-section">{_text(p.section_path)}</span>' if p.section else ""
    where = f'{section}<span class="qa-doc">{_text(p.doc)}</span>'
    badge = '<span class="qa-badge">答案引自此处</span>' if source.used else ""
    parts = [
        '<div class="qa-source">',
        f'<div class="qa-source-head"><span class="qa-rank">[{source.rank}]</span>{where}{badge}</div>',
        f'<div class="qa-quote">{passage_html(p.text, source.used, hit.matched)}</div>',
    ]
    if show_scores:
        parts.append(
            f'<div class="qa-scores">综合得分 {_score(hit.score, 4)} · 语义相似度 {_score(hit.dense, 3)}'
            f" · BM25 {_score(hit.sparse, 2)}</div>"
        )
    parts.append("</div>")
    return "".join(parts)


def answer_html(answer: Answer, show_scores: bool = True) -> str:
    """The answer with its citation markers, then its sources folded away.

    When the report does not answer, the passages are listed under a different label
    and colour, so that they are not mistaken for sources of an answer.
    """
    parts = [f'<div class="qa-answer{"" if answer.found else " qa-notfound"}">']
    if answer.resolved_question and answer.resolved_question != answer.question:
        parts.append(f'<p class="qa-resolved">理解为：{_text(answer.resolved_question)}</p>')
    text = _CITATION.sub(r'<span class="qa-cite">[\1]</span>', _text(answer.text))
    parts.append(f'<p class="qa-text">{text}</p>')
    if answer.note:
        parts.append(f'<p class="qa-note">{_text(answer.note)}</p>')
    if answer.sources:
        css, label = ("qa-sources", "来源") if answer.found else ("qa-related", "相关但不是答案")
        parts.append(f'<details class="{css}"><summary>{label}（{len(answer.sources)} 段）</summary>')
        parts.extend(source_html(s, show_scores) for s in answer.sources)
        parts.append("</details>")
    parts.append("</div>")
    # Joined without line breaks: one HTML block, whatever renders it (the copy button copies it too).
    return "".join(parts)


def description_html(assistant: Assistant) -> str:
    """The line under the title: what the answers come from."""
    passages = assistant.index.passages
    docs = sorted({p.doc for p in passages})
    names = "、".join(f"“{_text(d)}”" for d in docs)
    return (
        f'<div class="qa-header"><h1>{_text(TITLE)}</h1>'
        f"<p>根据{_text(REPORT_NAME)}（洛阳，2016 年 11 月 21 日）作答，每个回答都注明出处。"
        f"资料：{names}，共 {len(docs)} 份文档、{len(passages)} 个段落。报告里没有的，会直接说明没有找到。</p></div>"
    )


# --- the app -------------------------------------------------------------------------------------


Message = dict[str, Any]


def build_app(assistant: Assistant, settings: Settings) -> gr.Blocks:
    """The page and the `/ask` API around one `Assistant`, shared by every session."""
    # Load the model now, once, rather than racing to load it in the first concurrent requests.
    assistant.embedder.model  # noqa: B018

    def respond(
        question: str, messages: list[Message] | None, history: list[str] | None, top_k: float, show_scores: bool,
        answerer: str,
    ) -> Iterator[tuple[str, list[Message], list[str]]]:  # fmt: skip
        """One turn: show the question at once, then replace the placeholder with the answer."""
        messages, history = list(messages or []), list(history or [])
        question = question or ""
        if question.strip():
            messages.append({"role": "user", "content": user_html(question)})
        messages.append({"role": "assistant", "content": PENDING})
        yield "", messages, history
        kept = ""  # what stays in the text box: the question, when it has to be edited
        try:
            for answer in assistant.answers(question, history, top_k=int(top_k), answerer=answerer):
                messages[-1] = {"role": "assistant", "content": answer_html(answer, show_scores)}
                if answer.answerer == "llm":
                    yield "", messages, history  # the generated text as it streams
        except QuestionError as exc:
            messages[-1], kept = {"role": "assistant", "content": notice_html(str(exc))}, question
        except Exception:
            log.exception("answering %r failed", question[:200])
            messages[-1], kept = {"role": "assistant", "content": notice_html(FAILED)}, question
        else:
            # Follow-ups are resolved against the questions as they were understood.
            history.append(answer.resolved_question or answer.question)
        yield kept, messages, history

    def respond_example(
        sample: list[str], messages: list[Message] | None, history: list[str] | None, top_k: float, show_scores: bool,
        answerer: str,
    ) -> Iterator[tuple[str, list[Message], list[str]]]:  # fmt: skip
        yield from respond(sample[0], messages, history, top_k, show_scores, answerer)

    def ask(
        question: str, top_k: int = settings.top_k, history: list[str] | None = None, answerer: str = "extractive"
    ) -> dict:
        """Answer a question about the report; returns the JSON of `assistant ask --json`.

        `history` holds the conversation's earlier questions, oldest first (their
        `resolved_question`), so that a follow-up such as "那县里呢？" is understood.
        """
        if not 1 <= int(top_k) <= API_TOP_K_MAX:
            raise gr.Error(f"top_k 应在 1 到 {API_TOP_K_MAX} 之间。")
        if answerer not in ("extractive", "llm"):
            raise gr.Error("answerer 应为 extractive 或 llm。")
        try:
            answer = assistant.final_answer(question, list(history or []), top_k=int(top_k), answerer=answerer)
        except QuestionError as exc:
            raise gr.Error(str(exc)) from None
        except Exception:
            log.exception("API answering %r failed", (question or "")[:200])
            raise gr.Error(FAILED) from None
        return answer_to_dict(answer)

    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        gr.HTML(description_html(assistant))
        history = gr.State([])  # this session's questions as understood, for follow-ups
        chatbot = gr.Chatbot(
            label="对话",
            show_label=False,
            # As tall as the window allows next to the header, box, examples and settings; scrolls inside.
            height="calc(100vh - 390px)",
            min_height=420,
            # Messages are HTML we built from escaped text; no Markdown or LaTeX on top of it,
            # so nothing a user types is interpreted. The sanitizer stays on as a second guard.
            render_markdown=False,
            sanitize_html=True,
            latex_delimiters=[],
            feedback_options=None,
            buttons=["copy"],
            placeholder="请提问，例如下面的示例问题。回答只来自报告原文，并标出引用的段落。",
        )
        with gr.Row(equal_height=True):
            question = gr.Textbox(
                show_label=False, placeholder="输入问题，按回车发送（可追问，如“那县里呢？”）", scale=8, lines=1,
                max_lines=4, autofocus=True, submit_btn=False,
            )  # fmt: skip
            send = gr.Button("提问", variant="primary", scale=1, min_width=90)
        examples = gr.Dataset(components=[question], samples=[[q] for q in EXAMPLES], label="示例问题", type="values")
        with gr.Accordion("设置", open=False):
            with gr.Row():
                top_k = gr.Slider(1, TOP_K_MAX, value=min(settings.top_k, TOP_K_MAX), step=1, label="来源数量（top-k）")
                show_scores = gr.Checkbox(value=True, label="显示来源分数", info="综合得分、语义相似度与 BM25")
            answerer = gr.Radio(ANSWERERS, value=settings.answerer, label="回答方式")
            clear = gr.Button("清空对话", variant="secondary")

        inputs = [question, chatbot, history, top_k, show_scores, answerer]
        outputs = [question, chatbot, history]
        # The UI's own events stay off the public API; `/ask` below is the API.
        turn = {"outputs": outputs, "show_progress": "minimal", "api_visibility": "private"}
        question.submit(respond, inputs, **turn)
        send.click(respond, inputs, **turn)
        examples.click(respond_example, [examples, *inputs[1:]], **turn)
        clear.click(lambda: ("", [], []), None, outputs, queue=False, api_visibility="private")
        chatbot.clear(lambda: [], None, history, queue=False, api_visibility="private")

        gr.api(ask, api_name="ask")

    # Requests wait in the queue (with progress shown) instead of blocking each other or a second tab.
    demo.queue(default_concurrency_limit=CONCURRENCY)
    return demo


def launch(app: gr.Blocks, settings: Settings, **overrides: Any) -> tuple:
    """Start `app` on settings.host:settings.port, with login when both username and password are set."""
    options: dict[str, Any] = {
        "server_name": settings.host,
        "server_port": settings.port,
        "auth": (settings.username, settings.password) if settings.username and settings.password else None,
        "share": False,  # no tunnel: the app never reaches out to the internet
        "css": CSS,
        # System fonts: the page loads nothing from font services.
        "theme": gr.themes.Soft(
            font=["Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "system-ui", "sans-serif"],
            font_mono=["Noto Sans Mono CJK SC", "ui-monospace", "monospace"],
        ),
        "footer_links": ["api"],
        "show_error": False,  # unexpected errors are shown as a polite message, not a traceback
    }
    options.update(overrides)
    return app.launch(**options)


def serve(assistant: Assistant, settings: Settings) -> None:
    """Serve the web chat until interrupted (the CLI's `assistant web`)."""
    launch(build_app(assistant, settings), settings)
