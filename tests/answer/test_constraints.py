"""Constraints of a question and their binding to a sentence in its scope (assistant/answer/constraints.py),
and what the answerers do with them on the real report."""

from __future__ import annotations

import pytest

from assistant.answer.constraints import Scope, holds, scope_of, stated_unmet, unmet
from assistant.answer.grounding import ground
from assistant.pipeline import Assistant
from assistant.question import Constraint, analyse, chinese_digits, constraints
from assistant.schema import Hit, Passage, Source

REPORT_2015 = "两化融合示范带动，6家企业获评2015年河南省“互联网+”工业创新示范企业，数量位居全省第一。"
REPORT_DOC = "洛阳-关于中央、省委相关会议精神及我市贯彻落实意见的汇报-2016-11-21.txt"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("2016年有几家企业获评河南省“互联网+”工业创新示范企业？", {("time", "2016年"), ("entity", "河南省")}),
        ("第二批示范企业有哪些？", {("ordinal", "第2批")}),
        ("严长寿二十三岁时做了什么？", {("number", "23岁")}),
        ("市委网络安全和信息化领导小组第三次会议提出了什么？", {("level", "市委"), ("ordinal", "第3次")}),
        ("二〇一六年上半年全国网民有多少人？", {("time", "2016年"), ("level", "全国"), ("qualifier", "上半年")}),
        ("2015年3月5日发生了什么？", {("time", "2015年"), ("time", "3月5日")}),
        ("女单冠军是谁？", {("qualifier", "女单")}),
    ],
)
def test_constraints_are_what_the_question_states(question: str, expected: set[tuple[str, str]]) -> None:
    found = {(c.kind, c.text) for c in constraints(question)}
    assert expected <= found
    assert analyse(question).constraints == constraints(analyse(question).text)


def test_questions_without_constraints_have_none() -> None:
    questions = ("安全和发展之间是什么关系？", "一是什么？", "统一战线工作要做好哪些人的工作？", "今年有什么新变化？")
    for question in questions:
        assert [c for c in constraints(question) if c.kind != "entity"] == [], question


def test_chinese_numerals_are_read_as_numbers_only_where_they_count() -> None:
    assert chinese_digits("二〇一六年") == "2016年"
    assert chinese_digits("二十三岁") == "23岁"
    assert chinese_digits("第十二届") == "第12届"
    assert chinese_digits("一是加强领导，统一思想") == "一是加强领导，统一思想"


def test_a_sentence_stating_another_year_does_not_answer_even_in_a_document_of_the_asked_year() -> None:
    passage = Passage("p", REPORT_DOC, ("6.融合协调发展，信息化建设稳步推进",), REPORT_2015, 0, len(REPORT_2015))
    scope = scope_of(passage)
    assert scope.date == "2016-11-21"
    asked_2016 = constraints("2016年有几家企业获评河南省“互联网+”工业创新示范企业？")
    asked_2015 = constraints("2015年有几家企业获评河南省“互联网+”工业创新示范企业？")
    assert [c.text for c in unmet(asked_2016, REPORT_2015, scope)] == ["2016年"]
    assert unmet(asked_2015, REPORT_2015, scope) == ()
    # a sentence stating no year in that document speaks of the document's year
    assert holds(Constraint("time", "2016年"), "目前市委网信办仅有在编人员11人。", scope)
    assert not holds(Constraint("time", "2013年"), "目前市委网信办仅有在编人员11人。", scope)


def test_a_heading_governs_the_sentences_below_it_and_a_long_title_only_confirms() -> None:
    title = "关于中央、省委相关会议精神及我市贯彻落实意见的汇报"
    heading = "(二) 省委网络安全和信息化领导小组第三次会议精神"
    sentence = "会议强调，要加强网络安全工作。"
    under = Scope((heading,), title=title)
    assert not holds(Constraint("level", "市委"), sentence, under)
    assert holds(Constraint("level", "省委"), sentence, under)
    assert not holds(Constraint("ordinal", "第5次"), sentence, under)
    # the title names 省委 and 中央; it does not make every sentence of the report about 省委
    assert holds(Constraint("level", "市委"), sentence, Scope((), title=title))


def test_levels_qualifiers_and_first_ordinals() -> None:
    assert not holds(Constraint("level", "省委"), "目前市委网信办仅有在编人员11人。")
    assert holds(Constraint("level", "全国"), "网民规模达到7.1亿。")  # nothing contradicts it
    assert not holds(Constraint("qualifier", "女单"), "她获得了男单冠军。")
    assert holds(Constraint("ordinal", "第1次"), "《鳄鱼泪》1978年4月23日首播，共89集。")
    assert not holds(Constraint("number", "23岁"), "一岁时，严氏随家人到台湾。", Scope(passage="二十三岁经介绍"))


def test_a_claim_is_checked_on_what_it_states_not_what_the_question_presupposed() -> None:
    source = "目前市委网信办仅有在编人员 11 人，人员较少。"
    assert stated_unmet("市委网信办有在编人员11人。", source) == ()
    # the office is the constraint, at its level: 省委网信办 (not only 省委)
    assert [c.text for c in stated_unmet("省委网信办有在编人员11人。", source)] == ["省委网信办"]
    assert [c.text for c in stated_unmet("2015年，6家企业获评。", "6家企业获评2014年河南省示范企业。")] == ["2015年"]


def _source(text: str, rank: int = 1, section: tuple[str, ...] = ()) -> Source:
    return Source(rank, Hit(Passage(f"p{rank}", REPORT_DOC, section, text, 0, len(text)), 1.0))


def test_grounding_removes_a_generated_sentence_whose_year_or_body_differs_from_its_source() -> None:
    sources = [_source(REPORT_2015), _source("目前市委网信办仅有在编人员 11 人，人员较少。", 2)]
    right = ground("6家企业获评2015年河南省“互联网+”工业创新示范企业[1]。", sources)
    assert right.supported == 1 and not right.unsupported
    wrong_year = ground("2016年有6家企业获评河南省“互联网+”工业创新示范企业[1]。", sources)
    assert wrong_year.supported == 0 and wrong_year.broken and wrong_year.kept == ""
    mixed = ground("市委网信办有在编人员11人[2]。省委网信办有在编人员11人[2]。", sources)
    assert mixed.supported == 1 and mixed.unsupported == ("省委网信办有在编人员11人。",)
    assert "省委" not in mixed.kept and "[2]" in mixed.kept


@pytest.mark.slow
def test_a_same_topic_near_miss_is_refused_and_its_control_answered(assistant: Assistant) -> None:
    near = assistant.ask("2016年有几家企业获评河南省“互联网+”工业创新示范企业？")
    assert not near.found, near.text
    assert near.sources  # the related passages are shown
    control = assistant.ask("2015年有几家企业获评河南省“互联网+”工业创新示范企业？")
    assert control.found and "6家" in control.text.replace(" ", "")


@pytest.mark.slow
def test_another_level_or_meeting_is_refused(assistant: Assistant) -> None:
    assert assistant.ask("省委网信办目前有多少在编人员？").found is False
    assert assistant.ask("市委网信办目前有多少在编人员？").found is True


@pytest.mark.slow
def test_another_platform_is_refused(assistant: Assistant) -> None:
    """The report gives the WeChat account's followers and names the Tencent Weibo account: neither answers
    for the other platform, nor for another company's."""
    assert not holds(Constraint("qualifier", "微博"), "“精彩洛阳”官方微信粉丝数量已超过2万。")
    assert assistant.ask("“精彩洛阳”官方微信的粉丝数量超过了多少万？").found
    assert not assistant.ask("“精彩洛阳”腾讯官方微博的粉丝数量超过了多少万？").found
    assert not assistant.ask("百度官方微博叫什么名字？").found
    wechat = "“精彩洛阳”官方微信粉丝数量已超过2万。"
    assert [c.text for c in stated_unmet("“精彩洛阳”官方微博粉丝已超过2万[1]。", wechat)] == ["微博"]


@pytest.mark.slow
def test_a_low_confidence_answer_is_refused_unless_asked_for(assistant: Assistant, settings) -> None:
    from assistant.config import Settings
    from assistant.render import confidence_label

    question = "What are the main problems of the city's cyberspace work?"  # no bridge reaches 问题/不足
    refused = assistant.ask(question)
    assert not refused.found and refused.sources  # the candidates shown as related passages
    assert settings.low_confidence == "refuse"
    asking = Assistant(settings.with_(low_confidence="answer"))
    given = asking.ask(question)
    assert given.found and confidence_label(given.confidence) == "低"
    assert Settings.load({"ASSISTANT_LOW_CONFIDENCE": "answer"}).low_confidence == "answer"
    with pytest.raises(ValueError, match="low_confidence"):
        Settings.load({"ASSISTANT_LOW_CONFIDENCE": "maybe"})


@pytest.mark.slow
def test_english_questions_are_answered_through_the_bridges_or_refused(assistant: Assistant) -> None:
    right = assistant.ask("How many staff positions does the municipal cyberspace office have?")
    assert right.found and "11" in right.text
    assert not assistant.ask("What is the population of Luoyang?").found


def test_an_answer_citing_another_body_does_not_answer_the_question() -> None:
    from assistant.answer.grounding import question_unmet

    sources = [_source(REPORT_2015), _source("目前市委网信办仅有在编人员 11 人，人员较少。", 2)]
    assert [c.text for c in question_unmet("市委网信办有在编人员11人[2]。", sources, "省委网信办有多少在编人员？")] == [
        "省委网信办"
    ]
    assert question_unmet("市委网信办有在编人员11人[2]。", sources, "市委网信办有多少在编人员？") == ()
    assert question_unmet("市委网信办有在编人员11人[2]。", sources, "2016年市委网信办有多少在编人员？") == ()


def test_one_date_reader_reads_file_names_date_lines_and_chinese_numerals() -> None:
    from assistant.ingest.structure import leading_date, parse_date

    assert parse_date(REPORT_DOC) == "2016-11-21"
    assert parse_date("(2016 年 11 月 21 日)") == "2016-11-21"
    assert parse_date("二〇一六年十一月") == "2016-11"
    assert parse_date("2016-13-40") is None and parse_date("没有日期") is None
    assert leading_date("关于…的汇报\n\n(2016 年 11 月 21 日)\n\n一、…") == "2016-11-21"
    assert leading_date("正文里提到 2014 年 8 月下发的通知。") is None  # a date in a sentence dates no document
    passage = Passage(id=0, doc="汇报.txt", start=0, end=3, text="目前…", section=())
    assert scope_of(passage, "汇报\n(2016 年 11 月 21 日)\n").date == "2016-11-21"


def test_a_year_the_documents_date_contradicts_is_not_met_and_relative_years_are_read() -> None:
    from assistant.answer.constraints import contradicted, verdict

    scope = Scope(section=("四、提请领导小组研究解决的问题",), title=REPORT_DOC, date="2016-11-21",
                  passage="目前市委网信办仅有在编人员 11 人。", document="")  # fmt: skip
    current = "目前市委网信办仅有在编人员 11 人，人员较少。"
    assert verdict(Constraint("time", "2014年"), current, scope) == "contradicted"
    assert contradicted(Constraint("time", "2014年"), current, scope)
    assert holds(Constraint("time", "2016年"), current, scope)
    # the report's 2015 figure answers a 2015 question: the sentence states it
    assert holds(Constraint("time", "2015年"), REPORT_2015, scope)
    # 今年 in a report dated 2016 is 2016; 去年 2015
    assert holds(Constraint("time", "2016年"), "国家网信办今年 1 月启动申办工作。", scope)
    assert contradicted(Constraint("time", "2015年"), "国家网信办今年 1 月启动申办工作。", scope)
    assert holds(Constraint("time", "2015年"), "去年全市处置舆情 500 件。", scope)
    # an undated document neither confirms nor contradicts a year
    assert verdict(Constraint("time", "2014年"), current, Scope(passage=current)) == "unstated"


def test_a_list_or_outline_is_not_given_for_another_year(assistant: Assistant) -> None:
    for question in ("2015年贯彻落实意见要抓好哪几个方面？", "2015年的汇报分成哪几部分？"):
        answer = assistant.final_answer(question, ())
        assert not answer.found and answer.shape == "fact", question
    assert assistant.final_answer("2016年的汇报分成哪几部分？", ()).shape == "outline"
    assert assistant.final_answer("贯彻落实意见要抓好哪几个方面？", ()).found


def test_a_local_office_is_not_the_national_or_another_levels_one() -> None:
    from assistant.answer.constraints import contradicted

    assert ("level", "省委网信办") in {(c.kind, c.text) for c in constraints("省委网信办什么时候启动申办工作？")}
    national = "国家网信办今年 1 月启动“互联网信息内容管理行政执法证”申办工作。"
    assert contradicted(Constraint("level", "省委网信办"), national)
    assert contradicted(Constraint("level", "省政府"), "国务院 2014 年 8 月下发《通知》。")
    assert holds(Constraint("level", "县网信办"), "各县委网信办日均收集上报 100 条。")  # one office, two names
    # the sentence names no body: the passage's 市委网信办 is whose figure it is
    passage = "目前市委网信办仅有在编人员 11 人。每天日均收集上报 1600 余条。"
    scope = Scope(passage=passage)
    assert contradicted(Constraint("level", "县网信办"), "每天日均收集上报 1600 余条。", scope)
    assert holds(Constraint("level", "市委网信办"), "每天日均收集上报 1600 余条。", scope)
