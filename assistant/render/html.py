"""Answers and the page's header as HTML for the web chat: plain functions, text in, HTML out.

Escaping: every piece of text that reaches the page (the question, the answer, the passages,
section and document names, the corpus settings file) goes through `html.escape` before any of
our own tags are added; the chat shows these strings as HTML without Markdown processing, so
a question or a passage cannot add markup or links of its own.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from urllib.parse import urlencode

from assistant.about import About
from assistant.render import HIGH_FOUND, answer_confidence, confidence_bands
from assistant.schema import SECTION_SEP, Answer, Source, Span

__all__ = [
    "CSS",
    "PENDING",
    "answer_html",
    "confidence_html",
    "header_html",
    "matched_mask",
    "notice_html",
    "passage_html",
    "source_html",
    "user_html",
]

PENDING = '<span class="qa-pending">正在文档中查找…</span>'

_CITATION = re.compile(r"\[(\d+)\]")

# Styles for the HTML below; Gradio's theme variables keep dark mode readable.
CSS = """
.qa-header h1 { margin: 0 0 .2em; font-size: 1.6em; }
.qa-header p { margin: 0; color: var(--body-text-color-subdued); }
.qa-answer { line-height: 1.7; }
.qa-items { margin: .2em 0 .4em; padding-left: 1.8em; }
.qa-items li { margin: .1em 0; }
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
.qa-doc { color: var(--body-text-color); font-weight: 600; }
.qa-doc + .qa-section::before { content: " › "; }
.qa-section { color: var(--body-text-color); }
.qa-page { color: var(--body-text-color-subdued); margin-left: 0.5em; }
.qa-page-link { margin-left: 0.6em; font-size: .9em; }
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
.qa-confidence { margin: .2em 0 0; font-size: .85em; color: var(--body-text-color-subdued); cursor: help; }
.qa-conf-high b { color: #15803d; }
.qa-conf-mid b { color: var(--body-text-color); }
.qa-conf-low b { color: #b45309; }
.dark .qa-conf-high b { color: #4ade80; }
.qa-p { font-variant-numeric: tabular-nums; }
.qa-docs { width: 100%; border-collapse: collapse; font-size: .9em; }
.qa-docs caption { caption-side: top; text-align: left; padding: 0 0 .3em; }
/* table.… outranks the prose styles Gradio gives tables in HTML blocks (a dark border on every cell) */
table.qa-docs, table.qa-docs tr, table.qa-docs th, table.qa-docs td { border: none; }
table.qa-docs th, table.qa-docs td { text-align: left; padding: .3em .8em .3em 0; vertical-align: top; }
table.qa-docs td.qa-num, table.qa-docs th, .qa-remove { white-space: nowrap; }
table.qa-docs tbody tr { border-top: 1px solid var(--border-color-primary); }
.qa-docs th { color: var(--body-text-color-subdued); font-weight: 500; }
.qa-docs td.qa-num { font-variant-numeric: tabular-nums; }
.qa-docs-more { font-size: .85em; color: var(--body-text-color-subdued); }
.qa-docs td.qa-file { word-break: break-all; color: var(--body-text-color-subdued); }
.qa-remove { font-size: .85em; padding: 0 .6em; border: 1px solid var(--border-color-primary); border-radius: 4px;
             background: var(--background-fill-primary); cursor: pointer; }
.qa-remove:hover { border-color: #dc2626; color: #dc2626; }
.qa-upload .qa-drop { display: flex; flex-direction: column; align-items: center; gap: .2em; padding: 1em;
                      border: 2px dashed var(--border-color-primary); border-radius: 8px; cursor: pointer; }
.qa-upload .qa-drop:hover, .qa-upload.qa-dragging .qa-drop { border-color: var(--primary-500); }
.qa-upload input[type=file] { position: absolute; width: 1px; height: 1px; opacity: 0; }
.qa-upload small, .qa-upload-state { color: var(--body-text-color-subdued); font-size: .85em; margin: 0; }
.qa-notices { list-style: none; margin: .3em 0; padding: 0; font-size: .92em; }
.qa-notices li { margin: .15em 0; }
.qa-mark { display: inline-block; width: 1.4em; font-weight: 700; }
.qa-done .qa-mark { color: #15803d; }
.qa-same .qa-mark { color: var(--body-text-color-subdued); }
.qa-refused { color: #b45309; }
.qa-confirm { margin: 0; font-weight: 500; }
.qa-library-note { font-size: .88em; color: var(--body-text-color-subdued); }
"""


def _text(text: str) -> str:
    """Escaped text; line breaks kept, since messages are shown as HTML, not Markdown."""
    return html.escape(text).replace("\r\n", "\n").replace("\n", "<br>")


def user_html(question: str) -> str:
    """The user's message exactly as typed, as text: tags and Markdown in it stay visible."""
    return _text(question)


def notice_html(message: str) -> str:
    """A polite one-line message in place of an answer (empty or over-long question, busy, failure)."""
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


def _where(source: Source, titles: Mapping[str, str] | None) -> str:
    """Document, section and page of a source. The title heads a section path: shown once, as the document,
    and only when there are several documents to tell apart; with one, its sections suffice."""
    p = source.hit.passage
    section = p.section
    title = (titles or {}).get(p.doc)
    if title is not None and section and _same(section[0], title):
        section = section[1:]
    parts = []
    if titles is not None and len(titles) > 1:
        parts.append(f'<span class="qa-doc">《{_text(title or p.doc)}》</span>')
    if section:
        parts.append(f'<span class="qa-section">{_text(SECTION_SEP.join(section))}</span>')
    if not parts:
        parts.append(f'<span class="qa-doc">{_text(title or p.doc)}</span>')
    if p.pages:  # PDFs and page images: the page, as printed citations give it
        first, last = p.pages[0], p.pages[-1]
        parts.append(f'<span class="qa-page">第 {first} 页</span>' if first == last
                     else f'<span class="qa-page">第 {first}–{last} 页</span>')  # fmt: skip
    return "".join(parts)


def _same(heading: str, title: str) -> bool:
    return "".join(heading.split()) == "".join(title.split())


PAGES = "/pages/view"  # served by assistant/web/pages.py


def page_link(source: Source) -> str | None:
    """The address of the source's page with its quote marked; None for a format without pages.

    The quote's place is given in non-white-space characters from the passage's start, as the passage's
    text and the document's differ in white space only."""
    p = source.hit.passage
    if not p.boxes:
        return None
    spans = sorted(source.used, key=lambda s: s.start)
    first, last = (spans[0].start, spans[-1].end) if spans else (0, len(p.text))
    a = sum(1 for c in p.text[:first] if not c.isspace())
    b = sum(1 for c in p.text[:last] if not c.isspace())
    return f"{PAGES}?{urlencode({'doc': p.doc, 'start': p.start, 'a': a, 'b': b})}"


def source_html(source: Source, show_scores: bool = True, titles: Mapping[str, str] | None = None) -> str:
    """One numbered source: where it is, the quoted passage, and optionally why it was found.

    `titles` maps document names to titles; with several documents each source names its own.
    """
    hit, p = source.hit, source.hit.passage
    badge = '<span class="qa-badge">答案引自此处</span>' if source.used else ""
    link = page_link(source)
    if link:  # PDFs and page images: the page itself, the quoted lines marked (assistant/web/pages.py)
        badge += f'<a class="qa-page-link" href="{_text(link)}" target="_blank" rel="noopener">查看原页</a>'
    head = f'<span class="qa-rank">[{source.rank}]</span>{_where(source, titles)}{badge}'
    parts = [
        '<div class="qa-source">',
        f'<div class="qa-source-head">{head}</div>',
        f'<div class="qa-quote">{passage_html(p.text, source.used, hit.matched)}</div>',
    ]
    if show_scores:
        parts.append(
            f'<div class="qa-scores">综合得分 {_score(hit.score, 4)} · 语义相似度 {_score(hit.dense, 3)}'
            f" · BM25 {_score(hit.sparse, 2)}</div>"
        )
    parts.append("</div>")
    return "".join(parts)


def answer_html(answer: Answer, show_scores: bool = True, titles: Mapping[str, str] | None = None) -> str:
    """The answer with its citation markers, then its sources folded away.

    When the documents do not answer, the passages are listed under a different label
    and colour, so that they are not mistaken for sources of an answer.
    """
    parts = [f'<div class="qa-answer{"" if answer.found else " qa-notfound"}">']
    if answer.resolved_question and answer.resolved_question != answer.question:
        parts.append(f'<p class="qa-resolved">理解为：{_text(answer.resolved_question)}</p>')
    parts.append(_answer_text(answer))
    if answer.note:
        parts.append(f'<p class="qa-note">{_text(answer.note)}</p>')
    parts.append(confidence_html(answer, show_scores))
    if answer.sources:
        css, label = ("qa-sources", "来源") if answer.found else ("qa-related", "相关但不是答案")
        parts.append(f'<details class="{css}"><summary>{label}（{len(answer.sources)} 段）</summary>')
        parts.extend(source_html(s, show_scores, titles) for s in answer.sources)
        parts.append("</details>")
    parts.append("</div>")
    # Joined without line breaks: one HTML block, whatever renders it (the copy button copies it too).
    return "".join(parts)


_ITEM_LINE = re.compile(r"^\d{1,2}\.\s*")


def _cited(text: str) -> str:
    return _CITATION.sub(r'<span class="qa-cite">[\1]</span>', _text(text))


def _answer_text(answer: Answer) -> str:
    """The answer's text; a shaped answer's items as a numbered list (`<ol>`), each with its citation."""
    if not answer.items:
        return f'<p class="qa-text">{_cited(answer.text)}</p>'
    head, items = [], []
    for line in answer.text.split("\n"):
        m = _ITEM_LINE.match(line)
        if m and len(items) < len(answer.items):
            items.append(f"<li>{_cited(line[m.end() :])}</li>")
        elif not items:
            head.append(_cited(line))
    intro = f'<p class="qa-text">{"<br>".join(head)}</p>' if head else ""
    return f'{intro}<ol class="qa-items">{"".join(items)}</ol>'


def confidence_html(answer: Answer, show_scores: bool = False) -> str:
    """`把握：高/中/低` under an answer found (the terminal's words and bands), the probability on hover and with
    the scores. Nothing for "not found", where a low chance would read as doubt of the refusal."""
    label = answer_confidence(answer)
    if label is None:
        return ""
    p = answer.confidence
    level = {"高": "high", "中": "mid"}.get(label, "low")
    (high, _), (low, _), _ = confidence_bands()
    hint = (
        f"估计这个回答正确的概率：{p:.0%}（高：{high:.0%} 以上，问题有{HIGH_FOUND:.0%}以上见于答案句及其前后句，"
        "且答案可由规则核对——不是问原因、方法、定义或是否，问题所问的关系见于答案句；"
        f"中：{low:.0%} 以上，低：{low:.0%} 以下）"
    )
    shown = f'<span class="qa-p">（{p:.2f}）</span>' if show_scores else ""
    return f'<p class="qa-confidence qa-conf-{level}" title="{hint}">把握：<b>{label}</b>{shown}</p>'


def header_html(about: About) -> str:
    """The page's heading and the line under it: what the answers come from."""
    return f'<div class="qa-header"><h1>{_text(about.title)}</h1><p>{_text(about.description)}</p></div>'
