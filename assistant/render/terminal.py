"""An answer as text for a terminal: the answer, then its numbered, quoted sources."""

from __future__ import annotations

import textwrap

import click

from assistant.schema import Answer, Source

__all__ = ["terminal"]


def terminal(answer: Answer, color: bool | None = None) -> str:
    """`color=None` leaves it to click.echo, which strips styles when the output is not a terminal."""
    lines = []
    if answer.resolved_question and answer.resolved_question != answer.question:
        lines.append(click.style(f"（理解为：{answer.resolved_question}）", dim=True))
    lines.append(click.style(answer.text, bold=True, fg=None if answer.found else "yellow"))
    if answer.note:
        lines.append(click.style(answer.note, fg="yellow"))
    if answer.sources:
        heading = "来源" if answer.found else "相关段落（不是答案）"
        lines += ["", click.style(heading, underline=True)]
        for source in answer.sources:
            lines += _source(source)
    text = "\n".join(lines)
    return click.unstyle(text) if color is False else text


def _source(source: Source) -> list[str]:
    hit, p = source.hit, source.hit.passage
    where = f"{p.doc}" + (f" › {p.section_path}" if p.section else "")
    scores = f"score {hit.score:.4f}, dense {hit.dense if hit.dense is not None else '-'}, bm25 {hit.sparse or 0:.2f}"
    head = (
        click.style(f"[{source.rank}] ", bold=True)
        + where
        + click.style(f"  ({scores}; chars {p.start}–{p.end})", dim=True)
    )
    body = _marked(p.text, source)
    out = [head] + textwrap.wrap(body, width=76, initial_indent="    ", subsequent_indent="    ")
    if hit.matched:
        out.append(click.style("    matched: " + " ".join(hit.matched), dim=True))
    return out


def _marked(text: str, source: Source) -> str:
    """The passage with the sentences used in the answer highlighted."""
    pieces, pos = [], 0
    for span in sorted(source.used, key=lambda s: s.start):
        pieces.append(text[pos : span.start])
        pieces.append(click.style(text[span.start : span.end], fg="green", bold=True))
        pos = span.end
    pieces.append(text[pos:])
    return "".join(pieces).replace("\n", " ")
