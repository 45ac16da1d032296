"""Question analysis: the asked kind, the counted noun, key terms, phrases — no corpus needed."""

from __future__ import annotations

import pytest

from assistant.question import Kind, analyse, phrase_coverage


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("市委网信办目前有多少在编人员？", Kind.QUANTITY),
        ("有几家企业获评示范企业？", Kind.QUANTITY),
        ("这份汇报是哪天的？", Kind.TIME),
        ("谢伏瞻书记是哪一年出生的？", Kind.TIME),
        ("When was the notice issued?", Kind.TIME),
        ("谁主持了会议？", Kind.PERSON),
        ("Who chaired the meeting?", Kind.PERSON),
        ("毛主席逝世40周年时的非法聚集发生在哪里？", Kind.PLACE),
        ("那些网络攻击是哪个国家干的？", Kind.PLACE),
        ("马飚毕业于哪所大学？", Kind.ORGANISATION),
        ("要做好哪几个方面的工作？", Kind.LIST),  # asks for a list, not a number
        ("我市网信工作存在哪些不足？", Kind.LIST),  # 存在哪些 is not 在哪
        ("为什么要建立该纪念碑？", Kind.REASON),
        ("市委网信办连年被评为什么？", Kind.OTHER),  # 被评为|什么: what it was named, not why
        ("软枝黄蝉又称为什么？", Kind.NAME),
        ("潘仕成的先祖是怎样起家的？", Kind.MANNER),
        ("洛阳的新浪官方微博叫什么？", Kind.NAME),
        ("什么是羊水栓塞？", Kind.DEFINITION),
        ("节目名称后附加箭头，是什么意思？", Kind.DEFINITION),
        ("县里网信部门的工作人员算公务员吗？", Kind.YES_NO),
        ("乙酰胺的分子式是什么？", Kind.OTHER),  # an attribute of X, not what X is
        ("What is the population of Luoyang?", Kind.OTHER),
    ],
)
def test_the_asked_kind(question: str, kind: Kind) -> None:
    assert analyse(question).kind is kind


@pytest.mark.parametrize(
    ("question", "counted"),
    [
        ("洛阳市现在有多少网民？", "网民"),
        ("市委网信办每天接收多少条指令？", "指令"),  # the measure word is not the noun
        ("2016年发现处置了多少起境外情报机关实施的网络攻击事件？", "网络攻击事件"),  # the head after 的
        ("溶组织内阿米巴感染的人数约是多少？", "人数"),  # counted before 是多少
        ("这是什么？", ""),
    ],
)
def test_a_quantity_question_names_what_it_counts(question: str, counted: str) -> None:
    assert analyse(question).counted == counted


def test_key_terms_are_titles_quotes_names_and_numbers() -> None:
    q = analyse("腾讯微博“精彩洛阳”在2016年有多少粉丝？《囚爱恶魔》呢？")
    assert {"精彩洛阳", "囚爱恶魔", "2016", "腾讯"} <= set(q.key_terms)
    assert "粉丝" not in q.key_terms


def test_phrases_are_runs_of_content_words_split_at_function_and_question_words() -> None:
    q = analyse("长柄艾纳香的下部叶有什么特点？")
    assert q.phrases == ("长柄艾纳香", "下部叶", "特点")
    assert q.specific == ("长柄艾纳香", "下部叶")  # 特点 is too common a word to have to be found
    assert "有效期" in analyse("执法证的有效期是几年？").phrases  # 有 at a word's start is kept


def test_phrase_coverage_counts_characters_in_shared_runs() -> None:
    assert phrase_coverage("长柄艾纳香", "狭叶艾纳香是菊科植物") == pytest.approx(3 / 5)
    assert phrase_coverage("长柄艾纳香", "长柄艾纳香的叶") == 1.0
    assert phrase_coverage("县", "各县（市、区）") == 1.0  # one character: found or not
    assert phrase_coverage("网民", "网上的民意") == 0.0  # single characters apart are not the phrase


def test_english_questions_are_marked_and_have_no_chinese_phrases() -> None:
    q = analyse("How many staff does the office have?")
    assert q.english and q.kind is Kind.QUANTITY and q.phrases == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("贯彻落实意见要抓好哪几个方面？", "list"),
        ("全市网信工作有哪些不足之处？", "list"),
        ("他提了几点要求？", "list"),
        ("汇报分成哪几部分？", "outline"),
        ("实施方案由哪几部分组成？", "outline"),
        ("请概括一下这份汇报的内容。", "summary"),
        ("这份汇报主要讲了什么？", "summary"),
        ("为什么请求增加编制？", "reason"),
        ("采取了哪些措施？", "manner"),
        ("网络安全观要怎么树立？", "manner"),
        ("中央会议和省委会议有什么不同？", "comparison"),
        ("市委网信办有几个在编人员？", "fact"),
        ("座谈会是谁主持的？", "fact"),
    ],
)
def test_shape(text: str, expected: str) -> None:
    from assistant.question import analyse, shape

    assert shape(text) == expected
    assert analyse(text).shape == expected


def test_a_count_of_a_list_is_asked_with_a_list_noun() -> None:
    from assistant.question import asks_count

    assert asks_count("贯彻落实意见要抓好几个方面？") and asks_count("他提了几点要求？")
    assert not asks_count("市委网信办有几个在编人员？") and not asks_count("有哪些不足？")
