"""Sentences and passages, on the real report and on generated Chinese text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import REPORT_NAME, TITLE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import CJK, generated_docs

from assistant.ingest import Paragraph, paragraphs, read_corpus
from assistant.ingest.chunking import chunk_corpus, chunk_document, nws_len, split_sentences
from assistant.schema import Document, Passage

CORPUS = Path(__file__).resolve().parents[2] / "corpus"


def _nws(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _para_index(paras: list[Paragraph], offset: int) -> tuple[int, int]:
    """(paragraph, clean index) of the clean character at `offset` in the original."""
    for i, para in enumerate(paras):
        if para.start <= offset < para.end and offset in para.offsets:
            return i, para.offsets.index(offset)
    raise AssertionError(f"offset {offset} is no clean character")


def _inside_long_sentence(text: str, pos: int, max_chars: int) -> bool:
    """True if `pos` falls strictly inside a sentence too long to keep whole (where cuts are allowed)."""
    return any(s < pos < e and nws_len(text[s:e]) > max_chars for s, e in split_sentences(text))


def _visible(doc: Document) -> str:
    """The text with the `#` marks of Markdown headings blanked out: they are markup, not text."""
    if not doc.name.endswith(".md"):
        return doc.text
    blank = re.compile(r"^[ \t]*#{1,6}[ \t]+")
    lines = doc.text.splitlines(keepends=True)
    return "".join(blank.sub(lambda m: " " * len(m.group()), line) for line in lines)


def check_passages(doc: Document, passages: list[Passage], max_chars: int) -> None:
    """Every invariant a document's passages promise."""
    paras = paragraphs(doc)
    visible = _visible(doc)
    # offsets map back, and the passages cover every character but the `**` markers, in order
    for p in passages:
        assert p.doc == doc.name
        assert p.text and p.text == p.text.strip()
        assert "**" not in p.text or "**" in _nws(doc.text).replace("**", "")
        assert _nws(doc.text[p.start : p.end]).replace("**", "") == _nws(p.text)
    assert "".join(_nws(p.text) for p in passages) == _nws(visible).replace("**", "")
    for a, b in zip(passages, passages[1:], strict=False):
        assert a.end <= b.start  # document order, no overlap
    covered = set()
    for p in passages:
        covered.update(range(p.start, p.end))
    assert all(i in covered for i, ch in enumerate(visible) if not ch.isspace() and ch != "*")
    assert len({p.id for p in passages}) == len(passages)

    for p in passages:
        first, a = _para_index(paras, p.start)
        last, b = _para_index(paras, p.end - 1)
        b += 1
        segments = p.text.split("\n")
        assert len(segments) == last - first + 1
        if first == last:
            assert segments[0] == paras[first].text[a:b]
        else:
            assert segments[0] == paras[first].text[a:]
            assert segments[-1] == paras[last].text[:b]
            assert segments[1:-1] == [paras[i].text for i in range(first + 1, last)]
        assert all(paras[i].section == p.section for i in range(first, last + 1))
        # a heading opens a passage; it never sits in the middle of one
        assert not any(paras[i].is_heading for i in range(first + 1, last + 1))
        # whole sentences, unless one is too long to keep whole
        starts = {s for s, _ in split_sentences(paras[first].text)}
        ends = {e for _, e in split_sentences(paras[last].text)}
        assert a in starts or _inside_long_sentence(paras[first].text, a, max_chars), p
        assert b in ends or _inside_long_sentence(paras[last].text, b, max_chars), p
        # size: over the limit only for one (cut) sentence, with the heading that opens it
        body = segments[-1] if paras[first].is_heading and len(segments) == 2 else p.text
        if nws_len(p.text) > max_chars:
            assert len(split_sentences(body)) == 1 and nws_len(body) <= max_chars, p
        if paras[first].is_heading and p.text == paras[first].text:  # a whole heading alone: its section is empty
            assert first + 1 == len(paras) or paras[first + 1].section != p.section or paras[first + 1].is_heading


# --------------------------------------------------------------------------- sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("第一句。第二句！第三句？", ["第一句。", "第二句！", "第三句？"]),
        ("他说：“好。”然后走了。", ["他说：“好。”", "然后走了。"]),
        ("实现“弯道超车”。下一句", ["实现“弯道超车”。", "下一句"]),
        ("一是甲；二是乙……三是丙", ["一是甲；", "二是乙……", "三是丙"]),
        ("  前面有空格。  后面也有  ", ["前面有空格。", "后面也有"]),
        ("行一\n行二\r\n\r\n行三", ["行一", "行二", "行三"]),
        ("Really?! Yes; fine.", ["Really?!", "Yes;", "fine."]),
        ("（见附件。）后文。", ["（见附件。）", "后文。"]),
        ("增长 1.5 倍。", ["增长 1.5 倍。"]),
        ("", []),
        (" \n\u3000", []),
    ],
)
def test_split_sentences_examples(text: str, expected: list[str]) -> None:
    assert [text[s:e] for s, e in split_sentences(text)] == expected


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=CJK + "。！？；…，、“”’」）》 \n\t\u3000!?;", max_size=200))
def test_split_sentences_cover_the_text(text: str) -> None:
    spans = split_sentences(text)
    pos = 0
    for s, e in spans:
        assert pos <= s < e
        assert not text[s].isspace() and not text[e - 1].isspace()
        assert "\n" not in text[s:e]
        pos = e
    assert "".join(_nws(text[s:e]) for s, e in spans) == _nws(text)


# --------------------------------------------------------------------------- the report


@pytest.mark.parametrize("max_chars", [50, 120, 200, 300, 400, 1000])
def test_report_passages_keep_their_promises(report: Document, max_chars: int) -> None:
    check_passages(report, chunk_document(report, max_chars), max_chars)


def test_report_repairs_show_in_passages(report: Document) -> None:
    passages = chunk_document(report)
    texts = [p.text for p in passages]
    for joined in ["一定要不断提高", "习近平总书记治国理政", "河南省“互联网+”工业创新示范企业", "典型宣传"]:
        assert any(joined in t for t in texts), joined
    assert any("坚守意识形态主阵地，坚决打赢" in t for t in texts)
    assert not any("**" in t for t in texts)


def test_report_passage_sections(report: Document) -> None:
    passages = chunk_document(report)
    staff = [p for p in passages if "目前市委网信办仅有在编人员 11 人" in p.text]
    assert len(staff) == 1
    assert staff[0].section[:2] == (TITLE, "四、提请领导小组研究解决的问题")
    assert "1.关于加强市委网信办机构建设" in staff[0].section
    assert staff[0].text.startswith("1.关于加强市委网信办机构建设\n近年来")  # the heading opens it
    assert staff[0].section_path == f"{TITLE} › 四、提请领导小组研究解决的问题 › 1.关于加强市委网信办机构建设"
    handling = [p for p in passages if "涉洛舆情平稳可控" in p.text]
    assert handling[0].section[-1] == "4.积极主动作为，涉洛网络舆情处置果断"
    assert passages[0].section == (TITLE,)  # the title heads every section path, its own passage too
    assert passages[0].text == "关于中央、省委相关会议精神 及我市贯彻落实意见的汇报\n(2016 年 11 月 21 日)"


def test_report_passages_are_stable(report: Document) -> None:
    first = chunk_document(report)
    assert first == chunk_document(report)
    assert all(re.fullmatch(r"[0-9a-f]{16}", p.id) for p in first)
    assert chunk_corpus([report, report]) == first + first


def test_report_passages_are_full(report: Document) -> None:
    for max_chars in (100, 200, 300, 400):
        passages = chunk_document(report, max_chars)
        for a, b in zip(passages, passages[1:], strict=False):  # neighbours in a section would not fit in one
            if a.section == b.section and not b.text.startswith(b.section[-1:]):
                assert nws_len(a.text) + nws_len(b.text) > max_chars


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig"])
def test_other_encodings_give_the_same_passages(tmp_path: Path, report: Document, encoding: str) -> None:
    (tmp_path / REPORT_NAME).write_bytes(report.text.encode(encoding))
    (tmp_path / "broken.txt").write_bytes(b"\x81\x20" * 20)
    (tmp_path / "image.txt").write_bytes(b"GIF89a\x00\x01")
    docs, errors = read_corpus(tmp_path)
    assert len(errors) == 2 and all("\n" not in str(e) for e in errors)
    assert [d.encoding for d in docs] == [encoding]

    def key(ps: list[Passage]) -> list[tuple]:
        return [(p.id, p.text, p.section, p.start, p.end) for p in ps]

    assert key(chunk_corpus(docs)) == key(chunk_document(report))


def test_cut_sentence_prefers_clause_marks() -> None:
    sentence = "，".join(["甲乙丙丁戊己庚辛"] * 12) + "。"  # 107 characters, one sentence
    passages = chunk_document(Document("long.txt", sentence, "utf-8", ""), max_chars=50)
    assert len(passages) == 3
    assert all(nws_len(p.text) <= 50 for p in passages)
    assert all(p.text.endswith(("，", "。")) for p in passages)
    assert "".join(p.text for p in passages) == sentence


def test_cut_without_clause_marks_is_hard() -> None:
    passages = chunk_document(Document("x.txt", "字" * 130, "utf-8", ""), max_chars=50)
    assert [len(p.text) for p in passages] == [50, 50, 30]


def test_small_last_passage_is_rebalanced() -> None:
    sentences = ["甲" * 29 + "。"] * 3 + ["乙" * 9 + "。"]  # 30, 30, 30, 10 with max 90: greedy gives 90 + 10
    doc = Document("b.txt", "".join(sentences), "utf-8", "")
    sizes = [nws_len(p.text) for p in chunk_document(doc, max_chars=90)]
    assert sizes == [60, 40]


def test_empty_document_has_no_passages() -> None:
    assert chunk_document(Document("e.txt", "\n \n", "utf-8", "")) == []


# --------------------------------------------------------------------------- generated text


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=generated_docs(), max_chars=st.integers(10, 400))
def test_generated_passages_keep_their_promises(doc: Document, max_chars: int) -> None:
    check_passages(doc, chunk_document(doc, max_chars), max_chars)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), max_chars=st.integers(20, 600))
def test_report_excerpts_keep_their_promises(data: st.DataObject, max_chars: int, report: Document) -> None:
    lines = report.text.split("\n")
    a = data.draw(st.integers(0, len(lines) - 1))
    b = data.draw(st.integers(a + 1, len(lines)))
    doc = Document("excerpt.txt", "\n".join(lines[a:b]), "utf-8", "")
    check_passages(doc, chunk_document(doc, max_chars), max_chars)
