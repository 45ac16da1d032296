"""An answer laid out for a terminal: the answer, then its sources — one line each, whole passages, or none.

Everything from the corpus or a model passes through `cells.clean` before it is laid out, so text holding
escape sequences or control characters cannot act on the terminal. Lines are wrapped (or cut) to the
terminal's width in display cells; without a width (output is not a terminal) nothing is wrapped or cut.

Colour conventions (README): the answer bold, yellow when the report does not answer; citation numbers
cyan; the quoted sentence green; notes yellow; scores and other details dim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from assistant.render import answer_confidence, confidence_label
from assistant.render.cells import Run, clean, cut, cut_middle, to_ansi, wrap
from assistant.render.cells import width as cells_width
from assistant.schema import Answer, Source

__all__ = [
    "SOURCE_MODES",
    "Layout",
    "chat_help",
    "confidence_label",
    "full_sources",
    "terminal",
    "welcome",
]

SourceMode = Literal["compact", "full", "none"]
SOURCE_MODES: tuple[SourceMode, ...] = ("compact", "full", "none")

# SGR styles, one per role.
ANSWER, NOT_FOUND, CITATION, QUOTED, NOTE, DETAIL, HEADING, NUMBER = "1", "1;33", "1;36", "1;32", "33", "2", "4", "1"
INDENT = "    "
_CITATION = re.compile(r"\[(?:\d+|\?)\]")
_SENTENCE = re.compile(r"[^。！？；!?;\n]+[。！？；!?;]*[”’」』）)]*")


@dataclass(frozen=True)
class Layout:
    """How to print: `columns` is the terminal's width (None: not a terminal, so no wrapping or cutting)."""

    columns: int | None = None
    color: bool = False
    sources: SourceMode = "compact"

    def __post_init__(self) -> None:
        if self.sources not in SOURCE_MODES:
            raise ValueError(f"sources must be one of {', '.join(SOURCE_MODES)}, got {self.sources!r}")
        if self.columns is not None and self.columns < 1:
            raise ValueError(f"columns must be at least 1, got {self.columns}")


def terminal(answer: Answer, layout: Layout = Layout()) -> str:  # noqa: B008 (a frozen, immutable default)
    """The answer, a line for its confidence (an answer found, judged), then its sources as `layout.sources` asks."""
    lines: list[list[Run]] = []
    if answer.resolved_question and answer.resolved_question != answer.question:
        lines += _wrap([Run(f"（理解为：{clean(answer.resolved_question)}）", DETAIL)], layout)
    lines += _answer_lines(answer, layout)
    if answer.note:
        lines += _wrap([Run(clean(answer.note), NOTE)], layout)
    if label := answer_confidence(answer):  # none under "not found": a low chance would read as doubt of that
        lines += _wrap([Run(f"把握：{label}", DETAIL)], layout)
    if answer.sources and layout.sources != "none":
        lines += [[], [Run("来源" if answer.found else "相关段落（不是答案）", HEADING)]]
        for source in answer.sources:
            lines += _full(source, layout) if layout.sources == "full" else [_compact(source, layout)]
    return _text(lines, layout)


def full_sources(answer: Answer, layout: Layout, rank: int | None = None) -> str:
    """Source number `rank` of the answer as a whole passage (all of them when `rank` is None)."""
    chosen = [s for s in answer.sources if rank is None or s.rank == rank]
    if not chosen:
        raise ValueError(f"没有来源 {rank}：上一个回答的来源是 1–{len(answer.sources)}。")
    return _text([line for s in chosen for line in _full(s, layout)], layout)


def welcome() -> str:
    return "问吧。/s N 展开来源 N，/help 列出命令，Ctrl-D 退出。"


def chat_help() -> str:
    return "\n".join(
        [
            "  /s N, /sources N   展开上一个回答的来源 N（不带 N：全部来源）",
            "  /clear             开始新的对话（之后的追问不再接着前面的问题）",
            "  /help              这份说明",
            "  /quit, Ctrl-D      退出（Ctrl-C 在提问时也退出，在回答时中断这个回答）",
            "  追问可以很短：那县里呢？为什么？",
        ]
    )


# --- layout --------------------------------------------------------------------------------------


def _text(lines: list[list[Run]], layout: Layout) -> str:
    return "\n".join(to_ansi(line, layout.color) for line in lines)


def _wrap(runs: list[Run], layout: Layout, indent: str = "", first_indent: str | None = None) -> list[list[Run]]:
    return wrap(runs, layout.columns, indent, first_indent)


_ITEM_LINE = re.compile(r"^(\d{1,2}\. )")


def _answer_lines(answer: Answer, layout: Layout) -> list[list[Run]]:
    """The answer's lines; a list's items (`1. …`) wrap under their own text, not under their number."""
    if not answer.items:
        return _wrap(_answer_runs(answer), layout)
    lines: list[list[Run]] = []
    for line in clean(answer.text).split("\n"):
        m = _ITEM_LINE.match(line)
        if m is None:
            lines += _wrap(_answer_runs(answer, line), layout)
            continue
        number = m.group(1)
        runs = [Run(number, NUMBER), *_answer_runs(answer, line[m.end() :])]
        lines += _wrap(runs, layout, " " * len(number), "")
    return lines


def _answer_runs(answer: Answer, text: str | None = None) -> list[Run]:
    """The answer's text (or one line of it) with its citation markers [n] set apart."""
    style = ANSWER if answer.found else NOT_FOUND
    text, runs, pos = clean(answer.text if text is None else text), [], 0
    for m in _CITATION.finditer(text):
        runs += [Run(text[pos : m.start()], style), Run(m.group(), CITATION)]
        pos = m.end()
    return [*runs, Run(text[pos:], style)]


def _compact(source: Source, layout: Layout) -> list[Run]:
    """`[n] document p. 3 › section — the quoted sentence` (the page for PDFs), cut to the width: the sentence gets
    the most room."""
    p = source.hit.passage
    number = f"[{source.rank}] "
    doc, section = clean(p.doc), clean(p.section[-1]) if p.section else ""
    sentence = _sentence(source)
    if layout.columns is not None:
        room = layout.columns - cells_width(number)
        doc = cut_middle(doc, min(cells_width(doc), max(8, room // 6)))
        section = "".join(r.text for r in cut([Run(section)], min(cells_width(section), max(8, room // 5))))
    runs = [Run(number, NUMBER), Run(doc, DETAIL)]
    if p.page_label:
        runs.append(Run(f" {p.page_label}", DETAIL))
    if section:
        runs.append(Run(f" › {section}", DETAIL))
    return cut([*runs, Run(" — "), *sentence], layout.columns)


def _sentence(source: Source) -> list[Run]:
    """The sentence(s) the answer quotes, highlighted; for a source not quoted, its sentence with most question
    words (never its heading)."""
    text = source.hit.passage.text
    if source.used:
        return [Run(clean(text[s.start : s.end]).replace("\n", " ").strip(), QUOTED) for s in source.used]
    heading = source.hit.passage.section[-1] if source.hit.passage.section else ""
    sentences = [s.strip() for s in _SENTENCE.findall(text) if s.strip() and s.strip(" 。") != heading.strip(" 。")]
    if not sentences:
        return [Run(clean(text).replace("\n", " "))]
    words = source.hit.matched
    best = max(sentences, key=lambda s: sum(w in s for w in words))  # max keeps the first of equals
    return [Run(clean(best))]


def _full(source: Source, layout: Layout) -> list[list[Run]]:
    """The whole passage: where it is, its scores, its text with the quoted sentences highlighted, matched words."""
    hit, p = source.hit, source.hit.passage
    where = (
        clean(p.doc) + (f" {p.page_label}" if p.pages else "") + (f" › {clean(p.section_path)}" if p.section else "")
    )
    dense = f"{hit.dense:.4f}" if hit.dense is not None else "-"
    scores = f"  (score {hit.score:.4f}, dense {dense}, bm25 {hit.sparse or 0:.2f}; chars {p.start}–{p.end})"
    lines = _wrap([Run(f"[{source.rank}] ", NUMBER), Run(where), Run(scores, DETAIL)], layout, INDENT, "")
    lines += _wrap(_marked(source), layout, INDENT)
    if hit.matched:
        lines += _wrap([Run("matched: " + clean(" ".join(hit.matched)), DETAIL)], layout, INDENT)
    return lines


def _marked(source: Source) -> list[Run]:
    """The passage with the sentences used in the answer highlighted (spans first, then cleaning: offsets hold);
    its line feeds (after a heading, between paragraphs) are kept."""
    text, runs, pos = source.hit.passage.text, [], 0
    for span in sorted(source.used, key=lambda s: s.start):
        runs += [Run(clean(text[pos : span.start])), Run(clean(text[span.start : span.end]), QUOTED)]
        pos = max(pos, span.end)
    return [*runs, Run(clean(text[pos:]))]
