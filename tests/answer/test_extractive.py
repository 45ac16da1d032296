"""The extractive answerer end to end on the real index: quoted answers, honest refusals, checked answers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.answer import model
from assistant.config import Settings
from assistant.evaluate import norm
from assistant.pipeline import Assistant, QuestionError

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("市委网信办目前有多少在编人员？", "11"),
        ("这份汇报是哪天的？", "21"),
        ("安全和发展之间是什么关系？", "前提"),
        ("网信办的人手够用吗？", "11"),
        ("How many staff positions does the municipal cyberspace office have?", "11"),
    ],
)
def test_answers_quote_the_cited_source_first(assistant: Assistant, question: str, expected: str) -> None:
    result = assistant.ask(question)
    assert result.found, result.evidence
    assert expected in norm(result.text)
    assert len(result.text) <= 200
    assert result.confidence is not None and result.confidence >= model.answerability().threshold_found
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", result.text)}
    assert cited == {1}, "the source the answer quotes comes first"
    quoted = norm(re.sub(r"\[\d+\]", "", result.text))
    source = result.sources[0]
    assert source.rank == 1 and quoted in norm(source.hit.passage.text)  # the cited source holds the quoted words
    assert source.used and all(norm(source.hit.passage.text[s.start : s.end]) in quoted for s in source.used)


def test_a_list_question_gets_the_list_not_only_its_announcement(assistant: Assistant) -> None:
    # (the shaped answers themselves: tests/answer/test_shaped.py)
    result = assistant.ask("我市网信工作存在哪些不足？")
    assert result.found and result.shape == "list" and len(result.items) == 3
    sections = assistant.ask("贯彻落实省委会议精神要重点抓好哪几个方面的工作？")
    assert "六个方面" in sections.text and len(sections.items) == 6


@pytest.mark.parametrize(
    ("question", "missing"),
    [
        ("郑州市委网信办有多少在编人员？", "郑州"),
        ("开封有几家国家三类新闻网站？", "开封"),
        ("洛阳市2016年的GDP是多少？", "gdp"),
        ("明天洛阳的天气怎么样？", None),
        ("谢伏瞻书记是哪一年出生的？", None),  # the report names him, but gives no date of his
        ("省委网络安全和信息化领导小组第三次会议是哪天开的？", None),
    ],
)
def test_questions_the_report_does_not_answer_are_refused(assistant: Assistant, question: str, missing) -> None:
    result = assistant.ask(question)
    assert not result.found
    assert result.text.startswith("报告中没有找到")
    if missing:
        assert missing in result.missing
        assert missing in result.text.lower()
    assert all(not s.used for s in result.sources), "related passages are not presented as quoted"
    assert result.confidence is not None and (missing or result.confidence < model.answerability().threshold_found)


def test_a_sentence_about_another_named_thing_is_not_an_answer(tmp_path: Path, assistant: Assistant) -> None:
    """A corpus the code has never seen: the question's plant is not the one the document describes."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "狭叶艾纳香.txt").write_text(
        "狭叶艾纳香\n\n狭叶艾纳香是菊科艾纳香属的植物。下部叶有长达3-4厘米的细柄，叶片倒卵形至倒披针形。"
        "上部叶较小，无柄。花期在每年的四月至六月。\n",
        encoding="utf-8",
    )
    (corpus / "黄蝉.txt").write_text(
        "黄蝉\n\n黄蝉是夹竹桃科黄蝉属的植物，原产于巴西。其花冠为黄色，漏斗状。误食后会引起腹痛和腹泻。\n",
        encoding="utf-8",
    )
    other = Assistant(Settings.load(corpus_dir=corpus, index_dir=tmp_path / "index"), embedder=assistant.embedder)
    described = other.ask("狭叶艾纳香的下部叶有什么特点？")
    assert described.found and "细柄" in described.text
    assert described.sources[0].hit.passage.section[0] == "狭叶艾纳香"  # the title heads the section path
    assert not other.ask("长柄艾纳香的下部叶有什么特点？").found
    assert "腹痛" in other.ask("误食黄蝉有什么危害？").text  # not the title line 黄蝉
    assert not other.ask("误食黄蝉有什么危害？", doc="狭叶艾纳香.txt").found  # one document only
    with pytest.raises(QuestionError, match="没有名为"):
        other.ask("误食黄蝉有什么危害？", doc="没有这个.txt")


def test_a_followup_about_something_else_is_not_answered_with_the_first_answer(assistant: Assistant) -> None:
    first = assistant.ask("市委网信办目前有多少在编人员？")
    followup = assistant.ask("那县里呢？", [first.resolved_question])
    assert followup.resolved_question == "县里有多少在编人员？"
    assert "11" not in followup.text
    assert any("县" in s.hit.passage.text for s in followup.sources[:3])


def test_empty_and_over_long_questions_raise_a_polite_error(assistant: Assistant) -> None:
    with pytest.raises(QuestionError, match="请输入问题"):
        assistant.ask("   ")
    with pytest.raises(QuestionError, match="问题太长"):
        assistant.ask("问" * (assistant.settings.max_question_chars + 1))
