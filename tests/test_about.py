"""What the page says about its corpus: titles, dates, description and examples from the documents
or from the corpus folder's settings file."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from assistant.about import SETTINGS_FILE, about, read_page_settings
from assistant.schema import Passage

ROOT = Path(__file__).resolve().parents[1]


def _passages(doc: str, title: str | None, paragraphs: list[tuple[tuple[str, ...], str]]) -> list[Passage]:
    top = (title,) if title else ()
    return [
        Passage(id=f"{doc}-{n}", doc=doc, section=top + section, text=text, start=n * 100, end=n * 100 + len(text))
        for n, (section, text) in enumerate(paragraphs)
    ]


REPORT = _passages(
    "洛阳-汇报-2016-11-21.txt",
    "关于中央、省委相关会议精神 及我市贯彻落实意见的汇报",
    [
        ((), "关于中央、省委相关会议精神 及我市贯彻落实意见的汇报\n(2016 年 11 月 21 日)"),
        (("一、中央、省委相关会议精神", "(一) 中央网络安全和信息化工作座谈会精神"), "习近平总书记主持会议。"),
        (("二、2016 年网络安全和信息化工作总体情况", "1.加强理论武装，网信战线凝聚力显著增强"), "正文。"),
        (("四、提请领导小组研究解决的问题", "1.关于加强市委网信办机构建设"), "目前市委网信办仅有在编人员 11 人。"),
    ],
)
NOTICE = _passages(
    "notice.md",
    "网络安全通报",
    [((), "网络安全通报"), (("一、事件概况",), "本月发生攻击 3 起。"), ((), "2017年3月5日")],
)
UNTITLED = _passages("notes/会议记录.txt", None, [(("一、议题",), "讨论预算。"), (("二、决定",), "通过。")])


def test_one_document_gives_its_title_and_date():
    page = about(REPORT)
    (doc,) = page.documents
    assert doc.title == "关于中央、省委相关会议精神及我市贯彻落实意见的汇报"  # the wrapped title joined
    assert doc.date == "2016 年 11 月 21 日" and doc.passages == 4
    assert page.title == doc.title
    assert page.description.startswith("2016 年 11 月 21 日。")


def test_dates_come_from_the_title_block_the_file_name_or_the_closing_line():
    assert about(NOTICE).documents[0].date == "2017 年 3 月 5 日"  # the closing line
    renamed = [Passage(p.id, "报告_20190704.txt", p.section, p.text, p.start, p.end) for p in UNTITLED]
    assert about(renamed).documents[0].date == "2019 年 7 月 4 日"
    assert about(UNTITLED).documents[0].date == ""


def test_a_document_without_a_title_is_named_by_its_file():
    assert about(UNTITLED).documents[0].title == "会议记录"


def test_several_documents_say_how_many_and_name_them():
    page = about(REPORT + NOTICE + UNTITLED)
    assert page.title == "3 份文档问答"
    first, second = "《关于中央、省委相关会议精神及我市贯彻落实意见的汇报》", "《网络安全通报》"
    assert page.description.startswith(f"根据 3 份文档作答：{first}、{second}")
    assert page.title_of("notice.md") == "网络安全通报"


def test_examples_are_made_from_headings_spread_over_the_corpus():
    examples = about(REPORT + NOTICE).examples
    assert examples[0] == "关于“中央、省委相关会议精神”，文中是怎么说的？"
    assert "关于“加强市委网信办机构建设”，文中是怎么说的？" in examples  # 关于 is not doubled
    assert "关于“事件概况”，文中是怎么说的？" in examples  # the second document too
    assert not any("，网信战线" in e for e in examples)  # clause-like headings read badly as questions
    assert not any("汇报”" in e for e in examples)  # never the title itself


def test_a_corpus_without_headings_asks_about_its_documents():
    flat = _passages("a.txt", "甲报告", [((), "正文。")])
    assert about(flat).examples == ("《甲报告》主要讲了什么？",)


def test_the_settings_file_gives_title_description_and_examples(tmp_path: Path):
    (tmp_path / SETTINGS_FILE).write_text(
        'title = "洛阳市网信工作汇报问答"\nexamples = ["市委网信办目前有多少在编人员？", "", 3]\n', encoding="utf-8"
    )
    page = about(REPORT, tmp_path)
    assert page.title == "洛阳市网信工作汇报问答"
    title = "关于中央、省委相关会议精神及我市贯彻落实意见的汇报"
    assert page.description.startswith(f"根据《{title}》（2016 年 11 月 21 日）作答。")
    assert page.examples == ("市委网信办目前有多少在编人员？",)


def test_a_broken_settings_file_is_ignored_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    (tmp_path / SETTINGS_FILE).write_text('title = "unclosed\n', encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        page = about(REPORT, tmp_path)
    assert page.title == "关于中央、省委相关会议精神及我市贯彻落实意见的汇报"
    assert SETTINGS_FILE in caplog.text
    (tmp_path / SETTINGS_FILE).write_bytes(b'title = "\xff"')
    assert read_page_settings(tmp_path) == {}
    (tmp_path / SETTINGS_FILE).write_text('examples = "one"\ncolour = "red"\n', encoding="utf-8")
    assert read_page_settings(tmp_path) == {}


def test_the_shipped_corpus_settings_are_valid_questions():
    page = read_page_settings(ROOT / "corpus")
    assert page["title"] and 3 <= len(page["examples"]) <= 6
