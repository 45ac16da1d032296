"""Answers: found or not, the quoted words stand in the cited source, follow-ups, and the pure helpers."""

from __future__ import annotations

import re

import pytest

from assistant.answer import extractive as answer
from assistant.evaluate import norm
from assistant.pipeline import QuestionError, resolve_followup


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("市委网信办目前有多少在编人员？", "quantity"),
        ("有几家企业获评示范企业？", "quantity"),
        ("这份汇报是哪天的？", "date"),
        ("When was the notice issued?", "date"),
        ("谁主持了会议？", ""),
        ("要做好哪几个方面的工作？", ""),  # asks for a list, not a number
        ("第一是什么？", ""),
    ],
)
def test_asked_kind(question, kind):
    assert answer.asked_kind(question) == kind


def test_numbers_are_quantities_but_ordinals_are_not():
    assert answer._fits("目前市委网信办仅有在编人员 11 人", "quantity")
    assert answer._fits("重点要抓好以下六个方面的工作。", "quantity")
    assert not answer._fits("新浪官方微博“微博洛阳”粉丝数量居全省第一", "quantity")
    assert not answer._fits("一是要凝聚共识", "quantity")
    assert answer._fits("(2016 年 11 月 21 日)", "date")


def test_coverage_weights_words_by_rarity_and_credits_bridges():
    rarity = {"网信": 1.0, "人手": 3.0}.get
    assert answer.coverage(["网信", "人手"], {}, "网信办", rarity) == pytest.approx(0.25)
    bridged = answer.coverage(["网信", "人手"], {"人手": ["人员"]}, "网信办人员", rarity)
    assert bridged == pytest.approx((1 + answer.BRIDGE_CREDIT * 3) / 4)


def test_a_single_character_must_be_a_word_of_the_text():
    rarity = {"办": 1.0}.get
    assert answer.coverage(["办"], {}, "无法申办执法证", rarity) == 0.0
    assert answer.coverage(["办"], {}, "市委网信办", rarity) == 1.0


def test_a_short_answer_to_a_list_question_brings_the_list():
    sentence = "虽然取得了一些成绩，但我市网络安全和信息化工作仍存在不足。"
    assert answer._introduces_more(sentence, "我市网信工作存在哪些不足？")
    assert answer._introduces_more("主要有以下几点：", "为什么？")
    assert not answer._introduces_more(sentence, "工作存在不足吗？")


def test_resolve_followup():
    first = "市委网信办目前有多少在编人员？"
    assert resolve_followup("那县里呢？", [first]) == "县里网信办目前有多少在编人员？"
    assert resolve_followup("为什么？", [first]) == "市委网信办目前有多少在编人员？为什么？"
    standalone = "省委网络安全和信息化领导小组第三次会议由谁主持？"
    assert resolve_followup(standalone, [first]) == standalone
    assert resolve_followup("那县里呢？", []) == "那县里呢？"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("市委网信办目前有多少在编人员？", "11"),
        ("这份汇报是哪天的？", "21"),
        ("安全和发展之间是什么关系？", "前提"),
        ("网信办的人手够用吗？", "11"),
        ("How many staff positions does the municipal cyberspace office have?", "11"),
        ("贯彻落实省委会议精神要重点抓好哪几个方面的工作？", "六"),
    ],
)
def test_answers_quote_the_cited_source(assistant, question, expected):
    result = assistant.ask(question)
    assert result.found, result.evidence
    assert expected in norm(result.text)
    assert len(result.text) <= 200
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", result.text)}
    assert cited, "the answer cites its source"
    quoted = norm(re.sub(r"\[\d+\]", "", result.text))
    for n in cited:
        source = result.sources[n - 1]
        assert source.rank == n
        assert quoted in norm(source.hit.passage.text)  # the cited source holds the quoted words
        assert source.used, "the sentence used is marked"
        assert all(norm(source.hit.passage.text[s.start : s.end]) in quoted for s in source.used)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "missing"),
    [
        ("郑州市委网信办有多少在编人员？", "郑州"),
        ("开封有几家国家三类新闻网站？", "开封"),
        ("洛阳市2016年的GDP是多少？", "gdp"),
        ("明天洛阳的天气怎么样？", None),
        ("省委网络安全和信息化领导小组第三次会议是哪天开的？", None),
    ],
)
def test_questions_the_report_does_not_answer_are_refused(assistant, question, missing):
    result = assistant.ask(question)
    assert not result.found
    assert result.text.startswith("报告中没有找到")
    if missing:
        assert missing in result.missing
        assert missing in result.text.lower()
    assert all(not s.used for s in result.sources), "related passages are not presented as quoted"


@pytest.mark.slow
def test_a_followup_about_something_else_is_not_answered_with_the_first_answer(assistant):
    first = assistant.ask("市委网信办目前有多少在编人员？")
    followup = assistant.ask("那县里呢？", [first.resolved_question])
    assert followup.resolved_question == "县里网信办目前有多少在编人员？"
    assert "11" not in followup.text
    assert any("县" in s.hit.passage.text for s in followup.sources[:3])


@pytest.mark.slow
def test_empty_and_over_long_questions_raise_a_polite_error(assistant):
    with pytest.raises(QuestionError, match="请输入问题"):
        assistant.ask("   ")
    with pytest.raises(QuestionError, match="问题太长"):
        assistant.ask("问" * (assistant.settings.max_question_chars + 1))
