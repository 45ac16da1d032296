"""Hypothesis strategies for Chinese official documents: headings, sentences, page breaks, `**` markers."""

from __future__ import annotations

from hypothesis import strategies as st

from assistant.schema import Document

CJK = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于"
    "出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法"
)
ENDERS = "。！？；…"


clause = st.text(alphabet=CJK + "，、“”《》 0123456789", min_size=1, max_size=40)
sentence = st.tuples(clause, st.sampled_from(ENDERS), st.sampled_from(["", "”", "）"])).map("".join)
heading = st.tuples(
    st.sampled_from(["一、", "二、", "（三）", "(四) ", "1.", "2．", "3、", "# ", "## "]),
    st.text(alphabet=CJK + "，", min_size=1, max_size=15),
    st.sampled_from(["", "。", "。" + "有正文跟随。"]),
).map("".join)


@st.composite
def body_line(draw: st.DrawFn) -> str:
    text = "".join(draw(st.lists(sentence, min_size=1, max_size=8)))
    if draw(st.booleans()) and len(text) > 2:  # a bold stretch
        a = draw(st.integers(0, len(text) - 1))
        b = draw(st.integers(a + 1, len(text)))
        text = f"{text[:a]}**{text[a:b]}**{text[b:]}"
    if draw(st.booleans()) and len(text) > 2:  # a page break in the middle of the line
        cut = draw(st.integers(1, len(text) - 1))
        text = text[:cut] + draw(st.sampled_from(["\n\n", "\n \n\n", "\r\n\r\n", "\f\n"])) + text[cut:]
    return draw(st.sampled_from(["", " ", "\u3000\u3000"])) + text


@st.composite
def generated_docs(draw: st.DrawFn, markdown: bool = True) -> Document:
    """A document of headings, body lines and page breaks; `markdown` allows `#` headings and .md names."""
    headings = heading if markdown else heading.filter(lambda h: not h.startswith("#"))
    parts = []
    if draw(st.booleans()):
        parts.append(draw(st.text(alphabet=CJK, min_size=1, max_size=20)))
    if draw(st.booleans()):
        parts.append("(2016 年 11 月 21 日)")
    parts += draw(st.lists(st.one_of(headings, body_line(), body_line()), min_size=1, max_size=12))
    sep = draw(st.sampled_from(["\n\n", "\n", "\r\n\r\n", "\n\n\n"]))
    name = draw(st.sampled_from(["gen.txt", "gen.md"] if markdown else ["gen.txt"]))
    return Document(name, sep.join(parts) + draw(st.sampled_from(["", "\n"])), "utf-8", "")
