"""Recovering a document's structure: paragraphs, headings, title and date."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import TITLE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import generated_docs

from assistant.ingest import Paragraph, heading_level, paragraphs, parse_date, read_document, report_date, title
from assistant.schema import Document

CORPUS = Path(__file__).resolve().parents[2] / "corpus"


@pytest.fixture(scope="module")
def report_paras(report: Document) -> list[Paragraph]:
    return paragraphs(report)


def _nws(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _para_with(paras: list[Paragraph], needle: str) -> Paragraph:
    found = [p for p in paras if needle in p.text]
    assert len(found) == 1, f"{needle!r} in {len(found)} paragraphs"
    return found[0]


def assert_offsets_exact(doc: Document, paras: list[Paragraph]) -> None:
    """Each clean character is the original character at its offset; order is kept."""
    last = -1
    for para in paras:
        assert len(para.offsets) == len(para.text)
        for ch, off in zip(para.text, para.offsets, strict=True):
            assert doc.text[off] == ch
            assert off > last
            last = off


# --------------------------------------------------------------------------- structure


def test_line_breaks_are_kept(tmp_path: Path) -> None:
    text = "标题\r\n\r\n一、总体\r\n\r\n正文第一句。\r\n"
    (tmp_path / "crlf.txt").write_bytes(text.encode("utf-8"))
    doc = read_document(tmp_path / "crlf.txt", tmp_path)
    assert doc.text == text
    paras = paragraphs(doc)
    assert_offsets_exact(doc, paras)
    assert [p.text for p in paras] == ["标题", "一、总体", "正文第一句。"]


def test_report_offsets_map_exactly(report: Document, report_paras: list[Paragraph]) -> None:
    assert_offsets_exact(report, report_paras)


def test_report_page_breaks_are_repaired(report_paras: list[Paragraph]) -> None:
    clean = "\n".join(p.text for p in report_paras)
    for joined in ["一定要不断提高", "习近平总书记治国理政", "河南省“互联网+”工业创新示范企业", "典型宣传"]:
        assert joined in clean
    assert "坚守意识形态主阵地，坚决打赢" in clean
    assert "**" not in clean
    assert "第一，树立正确的网络安全观。网络安全是" in clean
    assert "第三，全天候" in clean


def test_report_white_space_inside_lines_is_kept(report_paras: list[Paragraph]) -> None:
    clean = "\n".join(p.text for p in report_paras)
    assert "(2016 年 11 月 21 日)" in clean
    assert "仅有在编人员 11 人" in clean


def test_report_title_and_date(report: Document, report_paras: list[Paragraph]) -> None:
    assert title(report) == TITLE
    first, date = report_paras[:2]
    assert (first.kind, first.section, first.is_heading) == ("title", (TITLE,), True)
    assert (date.kind, date.section, date.text) == ("date", (TITLE,), "(2016 年 11 月 21 日)")
    assert all(p.section[0] == TITLE for p in report_paras)  # the title heads every section path


def test_report_section_paths(report_paras: list[Paragraph]) -> None:
    staff = _para_with(report_paras, "目前市委网信办仅有在编人员 11 人")
    assert staff.section == (TITLE, "四、提请领导小组研究解决的问题", "1.关于加强市委网信办机构建设")
    assert not staff.is_heading
    inline = _para_with(report_paras, "健全工作机制，确保网上涉洛舆情平稳可控")
    assert inline.section == (TITLE, "二、2016 年网络安全和信息化工作总体情况", "4.积极主动作为，涉洛网络舆情处置果断")
    assert inline.text.startswith("4.积极主动作为，涉洛网络舆情处置果断。健全工作机制")
    follow = _para_with(report_paras, "提升研判力")  # next paragraph, same section
    assert follow.section == inline.section
    sub = _para_with(report_paras, "抓正面宣传，创新求进。")
    assert sub.section == (TITLE, "三、贯彻落实省委会议精神初步意见", "（一）抓正面宣传，创新求进")
    level2 = _para_with(report_paras, "谢伏瞻书记主持会议并讲话")
    assert level2.section == (TITLE, "一、中央、省委相关会议精神", "(二) 省委网络安全和信息化领导小组第三次会议精神")


def test_report_standalone_headings(report_paras: list[Paragraph]) -> None:
    headings = [p.text for p in report_paras if p.is_heading]
    assert "四、提请领导小组研究解决的问题" in headings
    assert "1.关于加强市委网信办机构建设" in headings
    assert "(一) 中央网络安全和信息化工作座谈会精神" in headings
    assert all(p.kind in ("heading", "title") for p in report_paras if p.is_heading)


@pytest.mark.parametrize(
    ("line", "level"),
    [
        ("一、中央、省委相关会议精神", 1),
        ("十二、其他", 1),
        ("(一) 中央网络安全", 2),
        ("（二）抓舆论引导", 2),
        ("( 三 )抓规范", 2),
        ("1.关于加强市委网信办机构建设", 3),
        ("4．积极主动作为", 3),
        ("2、健全", 3),
        ("(2016 年 11 月 21 日)", 0),
        ("1.5 亿元投入", 0),
        ("2016 年网络安全", 0),
        ("一是要凝聚共识", 0),
        ("第一，树立", 0),
        ("一、", 0),
    ],
)
def test_heading_levels(line: str, level: int) -> None:
    assert heading_level(line) == level


def test_heading_drops_deeper_levels() -> None:
    text = "一、甲\n\n(一) 乙\n\n1.丙\n\n正文一。\n\n(二) 丁\n\n正文二。\n\n二、戊\n\n正文三。\n"
    paras = paragraphs(Document("t.txt", text, "utf-8", ""))
    body = {p.text: p.section for p in paras if not p.is_heading}
    assert body == {
        "正文一。": ("一、甲", "(一) 乙", "1.丙"),
        "正文二。": ("一、甲", "(二) 丁"),
        "正文三。": ("二、戊",),
    }


def test_heading_line_is_not_joined_with_the_next_line() -> None:
    paras = paragraphs(Document("t.txt", "1.关于机构建设\n\n近年来，工作增多。\n", "utf-8", ""))
    assert [(p.text, p.is_heading) for p in paras] == [("1.关于机构建设", True), ("近年来，工作增多。", False)]


def test_no_title_falls_back_to_stem() -> None:
    doc = Document("dir/某报告.txt", "今年以来，工作取得进展。\n", "utf-8", "")
    assert title(doc) == "某报告"
    assert paragraphs(doc)[0].kind == "body"


def test_markdown_headings_by_depth() -> None:
    text = (
        "# 总报告\n\n## 一、背景\n\n正文**加粗**一。\n\n### 细节\n\n正文二。\n\n## 二、措施\n\n(一) 子项\n\n正文三。\n"
    )
    doc = Document("r.md", text, "utf-8", "")
    paras = paragraphs(doc)
    assert_offsets_exact(doc, paras)
    assert title(doc) == "总报告"
    body = {p.text: p.section for p in paras if p.kind == "body"}
    assert body == {
        "正文加粗一。": ("总报告", "一、背景"),
        "正文二。": ("总报告", "一、背景", "细节"),
        "正文三。": ("总报告", "二、措施", "(一) 子项"),
    }


# --------------------------------------------------------------------------- generated text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=generated_docs(markdown=False))
def test_generated_paragraphs_keep_every_character(doc: Document) -> None:
    paras = paragraphs(doc)
    assert_offsets_exact(doc, paras)
    assert "".join(_nws(p.text) for p in paras) == _nws(doc.text).replace("**", "")
    for p in paras:
        assert p.text == p.text.strip() and p.text and "\n" not in p.text
        assert p.kind in ("title", "date", "heading", "body")


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_report_excerpts_keep_every_character(data: st.DataObject, report: Document) -> None:
    lines = report.text.split("\n")
    a = data.draw(st.integers(0, len(lines) - 1))
    b = data.draw(st.integers(a + 1, len(lines)))
    doc = Document("excerpt.txt", "\n".join(lines[a:b]), "utf-8", "")
    paras = paragraphs(doc)
    assert_offsets_exact(doc, paras)
    assert "".join(_nws(p.text) for p in paras) == _nws(doc.text).replace("**", "")


def test_markdown_list_items_are_not_joined() -> None:
    paras = paragraphs(Document("l.md", "要点\n\n- 第一项\n- 第二项\n\n| 表 | 格 |\n", "utf-8", ""))
    assert [p.text for p in paras] == ["要点", "- 第一项", "- 第二项", "| 表 | 格 |"]


# --------------------------------------------------------------------------- dates, chapters, bold lead-ins


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("(2016 年 11 月 21 日)", "2016-11-21"),
        ("（2024年1月5日）", "2024-01-05"),
        ("二〇一六年十一月二十一日", "2016-11-21"),
        ("二〇二三年三月", "2023-03"),
        ("2015 年", "2015"),
        ("2016 年 13 月 1 日", None),
        ("2016 年 2 月 30 日", None),
        ("没有日期", None),
    ],
)
def test_parse_date(text: str, iso: str | None) -> None:
    assert parse_date(text) == iso


def test_report_date_only_from_the_first_lines(report: Document) -> None:
    assert report_date(report) == "2016-11-21"
    text = "标题\n\n正文一。\n\n正文二。\n\n正文三。\n\n正文四。\n\n(2016 年 11 月 21 日)\n"
    late = Document("t.txt", text, "utf-8", "")
    assert report_date(late) is None


def test_chapters_nest_outside_the_numbered_headings() -> None:
    text = "总报告\n\n第一章 总则\n\n一、目的\n\n正文一。\n\n第二节 细则\n\n正文二。\n\n第二章 附则\n\n正文三。\n"
    paras = paragraphs(Document("c.txt", text, "utf-8", ""))
    body = {p.text: p.section for p in paras if p.kind == "body"}
    assert body == {
        "正文一。": ("总报告", "第一章 总则", "一、目的"),
        "正文二。": ("总报告", "第一章 总则", "第二节 细则"),
        "正文三。": ("总报告", "第二章 附则"),
    }
    assert paragraphs(Document("c.txt", "第一部分 总体情况\n\n正文。\n", "utf-8", ""))[0].kind == "heading"


def test_bold_lead_ins_are_headings_only_where_a_reader_marked_real_bold() -> None:
    text = "# 报告\n\n**主要做法**\n\n正文一。\n\n**一是加强领导。**成立小组。\n\n**整句加粗的强调。**\n\n正文二。\n"
    sections = {p.text: p.section for p in paragraphs(Document("r.docx", text, "", ""))}
    assert sections["正文一。"] == ("报告", "主要做法")
    assert sections["一是加强领导。成立小组。"] == ("报告", "一是加强领导")
    assert sections["整句加粗的强调。"] == ("报告", "一是加强领导")
    # a Markdown file's `**` is emphasis as it always was
    md = {p.text: p.section for p in paragraphs(Document("r.md", text, "utf-8", ""))}
    assert md["主要做法正文一。"] == ("报告",) and md["一是加强领导。成立小组。"] == ("报告",)


def test_lines_of_word_and_html_text_are_whole_paragraphs() -> None:
    text = "标题\n\n第一段没有句号\n\n第二段。\n"
    assert [p.text for p in paragraphs(Document("w.docx", text, "", ""))] == ["标题", "第一段没有句号", "第二段。"]
    assert [p.text for p in paragraphs(Document("w.txt", text, "utf-8", ""))] == ["标题", "第一段没有句号第二段。"]


def test_title_falls_back_to_the_metadata_title_which_then_heads_the_sections() -> None:
    text = "今年以来，工作取得进展。\n\n一、成绩\n\n正文。\n"
    doc = Document("dir/某报告.pdf", text, "", "", meta_title="元数据")
    assert title(doc) == "元数据"
    assert [p.section for p in paragraphs(doc)] == [("元数据",), ("元数据", "一、成绩"), ("元数据", "一、成绩")]


def test_pdf_lines_are_joined_by_the_layout_not_again_by_the_text() -> None:
    text = "报告\n\n一、总体\n\n工作成效\n今年以来，进展。\n"
    assert [p.text for p in paragraphs(Document("r.pdf", text, "", ""))][-2:] == ["工作成效", "今年以来，进展。"]
    assert [p.text for p in paragraphs(Document("r.txt", text, "", ""))][-1] == "工作成效今年以来，进展。"


# --- lists and outline ---------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=generated_docs(markdown=False))
def test_generated_lists_are_numbered_in_order_and_quoted_where_they_say(doc: Document) -> None:
    from assistant.ingest.chunking import chunk_document
    from assistant.ingest.structure import enumerations, outline

    passages = chunk_document(doc)
    lists = enumerations(passages)
    for e in lists:
        assert len(e.items) >= 2 and [i.number for i in e.items] == list(range(1, len(e.items) + 1))
        assert 0 <= e.first <= e.last < len(passages)
        for item in e.items:
            assert passages[item.place.passage].text[item.place.start : item.place.end] == item.lead
            assert item.place.passage <= item.last < len(passages)
    parts = outline(passages, lists).parts
    assert parts is None or parts in lists


def test_a_list_in_the_text_across_a_paragraph_and_its_lead_in() -> None:
    from assistant.ingest.chunking import chunk_document
    from assistant.ingest.structure import enumerations, strip_mark

    text = (
        "工作报告\n\n一、问题\n虽然成绩不少，但仍有不足。主要有以下三点：一是人员少，任务重。二是经费不足。\n"
        "三是制度不全，落实不够。\n"
    )
    lists = enumerations(chunk_document(Document("r.txt", text, "utf-8", "0")))
    inline = next(e for e in lists if e.kind == "inline")
    assert [i.lead for i in inline.items] == ["人员少，任务重", "经费不足", "制度不全，落实不够"]
    assert inline.lead_in == "主要有以下三点：" and inline.expected == 3
    assert "虽然" not in inline.parent and "仍有不足" in inline.parent  # what the list is of, after 但
    assert strip_mark("（三）抓规范管理") == "抓规范管理" and strip_mark("1.关于") == "关于"
