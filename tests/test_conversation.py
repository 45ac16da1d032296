"""Follow-up questions: resolved against the previous question and answer, and answered through the real faces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.conversation import Turn, list_items, resolve
from assistant.pipeline import Assistant
from assistant.schema import Answer

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "eval"
LIST = "主要有以下几点：一是各县网信机构不健全，人员编制不足。二是网评队伍建设薄弱，重视不够。三是沟通协调较少。"


def turn(question: str, answer: str = "") -> Turn:
    return Turn(question, Answer(question, bool(answer), answer, (), question))


@pytest.mark.parametrize(
    ("before", "followup", "understood"),
    [
        ("我市有几家国家一类新闻网站？", "三类的呢？", "我市有几家国家三类新闻网站？"),  # in place of its like part
        ("市委网信办目前有多少在编人员？", "那信息化办呢？", "信息化办有多少在编人员？"),  # in place of the subject
        ("腾讯官方微博“精彩洛阳”取得了什么成绩？", "那它的官方微信呢？", "“精彩洛阳”的官方微信取得了什么成绩？"),
        ("中央网络安全和信息化工作座谈会是谁主持的？", "省委的会议呢？", "省委的会议是谁主持的？"),
        ("市委网信办每天接收多少条指令？", "最多的时候呢？", "市委网信办每天接收多少条指令，最多的时候呢？"),
        ("今年办理处置了多少件舆情？", "其中有哪些重大舆情事件？",
         "今年办理处置了多少件舆情？其中有哪些重大舆情事件？"),
        ("谢伏瞻书记主持了什么会议？", "他是哪一年出生的？", "谢伏瞻书记是哪一年出生的？"),
        ("洛阳和哪些网站开展了宣传合作？", "这种模式叫什么？", "洛阳和哪些网站开展了宣传合作？这种模式叫什么？"),
        ("市委网信办目前有多少在编人员？", "为什么？", "市委网信办目前有多少在编人员？为什么？"),
        ("市委网信办目前有多少在编人员？", "省委网络安全和信息化领导小组第三次会议由谁主持？",
         "省委网络安全和信息化领导小组第三次会议由谁主持？"),  # names its own subject: stands alone
    ],
)  # fmt: skip
def test_a_followup_is_read_with_the_question_before_it(before: str, followup: str, understood: str) -> None:
    assert resolve(followup, [turn(before)]).text == understood


def test_the_answer_to_that_else_must_mention_it() -> None:
    assert "信息化" in resolve("那信息化办呢？", [turn("市委网信办目前有多少在编人员？")]).focus
    assert resolve("三类的呢？", [turn("我市有几家国家一类新闻网站？")]).focus == ("三类",)


def test_an_ordinal_points_into_the_list_the_previous_answer_gave() -> None:
    r = resolve("第二点具体是什么？", [turn("我市网信工作存在哪些不足？", LIST)])
    assert r.text == "我市网信工作存在哪些不足？其中第二点“网评队伍建设薄弱”具体是什么？"
    assert r.focus == ("网评队伍建设薄弱",) and not r.unclear


def test_a_list_announced_goes_on_after_the_answer() -> None:
    following = ["（一）抓正面宣传\n（一）抓正面宣传，创新求进。", "（二）抓舆论引导\n（二）抓舆论引导，积极应对。"]
    r = resolve("第二个方面是什么？", [turn("要抓好哪几个方面？", "重点要抓好以下六个方面的工作。")], following)
    assert "抓舆论引导" in r.text


def test_what_cannot_be_understood_is_asked_back_not_guessed() -> None:
    fifth = resolve("第五点是什么？", [turn("我市网信工作存在哪些不足？", LIST)])
    assert fifth.unclear.startswith("上一个回答只列出了 3 点")
    assert "没有分点" in resolve("第二点呢？", [turn("市委网信办有多少在编人员？", "11 人")]).unclear
    assert resolve("第二点是什么？", []).unclear  # nothing said yet


def test_an_ordinal_inside_a_noun_is_not_a_follow_up() -> None:
    for first in ("第二批示范企业有哪些？", "第三届大赛在哪里举办？", "第七次会议讲了什么？"):
        r = resolve(first, [])
        assert not r.unclear and r.text == first
    assert resolve("市委网信办有多少在编人员？", []).unclear == ""


def test_list_items_are_numbered_in_order() -> None:
    assert list_items(LIST)[3] == "三是沟通协调较少"
    assert list_items("（一）甲。（一）甲，乙。（二）丙。") == {1: "（一）甲。（一）甲，乙", 2: "（二）丙"}
    assert list_items("只有一句话。") == {}


@pytest.mark.slow
def test_dev_conversations_through_the_pipeline(assistant: Assistant) -> None:
    path = SHARED / "multiturn-dev.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} is not here")
    right = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        c = json.loads(line)
        answer = assistant.ask(c["turns"][-1], c["turns"][:-1])
        if not c["answerable"]:
            assert not answer.found, (c["id"], answer.resolved_question, answer.text)
            continue
        right += answer.found and all(any(a in answer.text.replace(" ", "") for a in alts) for alts in c["answer_any"])
    assert right >= 7


@pytest.mark.slow
def test_a_turn_keeps_the_answer_and_follow_ups_use_it(assistant: Assistant) -> None:
    turns = assistant.turns(["我市网信工作存在哪些不足？"])
    assert turns[0].answer.found and len(turns[0].answer.items) == 3  # the list, its items cited (一是…三是)
    second = assistant.ask("第二点具体是什么？", turns)
    assert second.found and "网评队伍" in second.text
    assert "第二点" in second.resolved_question and second.resolved_question != second.question
    unclear = assistant.ask("第九点呢？", turns)
    assert not unclear.found and "请把问题说完整" in unclear.text


def test_ordinals_index_the_list_given() -> None:
    from assistant.conversation import ListedItem

    items = [ListedItem(n, lead, f"p{n}", 0) for n, lead in enumerate(["抓正面宣传", "抓舆论引导", "抓规范管理"], 1)]
    before = [turn("贯彻落实意见要抓好哪几个方面？", "…")]
    for followup, number in (("第二点呢？", 2), ("具体说说第三点", 3), ("最后一项呢？", 3), ("第一条是什么？", 1)):
        r = resolve(followup, before, (), items)
        assert r.item == items[number - 1] and items[number - 1].lead in r.text, followup
    assert "没有“第五点”" in resolve("第五点呢？", before, (), items).unclear
    assert resolve("第三次会议由谁主持？", before, (), items).item is None  # names its own subject
    after_item = [turn("贯彻落实意见要抓好哪几个方面？其中第二点“抓舆论引导”具体是什么？", "…")]
    assert resolve("第三点呢？", after_item, (), items).text.count("其中第") == 1  # of the list, not of the item


def test_the_other_list_of_a_document() -> None:
    r = resolve("那成效呢？", [turn("清河县数字政府建设存在哪些问题？", "…")])
    assert r.text == "清河县数字政府建设存在哪些成效？"


@pytest.mark.parametrize(
    ("before", "followup", "understood"),
    [
        ("“精彩洛阳”官方微信有多少粉丝？", "那新浪官方微博呢？", "新浪官方微博有多少粉丝？"),  # the whole subject
        ("新浪官方微博的粉丝数量在全省排第几？", "那腾讯的呢？", "腾讯官方微博的粉丝数量在全省排第几？"),  # a name
    ],
)
def test_another_platform_keeps_the_slot_asked(before: str, followup: str, understood: str) -> None:
    assert resolve(followup, [turn(before, "…")]).text == understood
