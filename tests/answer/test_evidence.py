"""The evidence on candidate sentences: kinds held, words and phrases covered (bridges included), feature rows."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.answer import evidence
from assistant.answer.evidence import ANSWER_FEATURES, FEATURES, coverage, holds_kind
from assistant.question import analyse


def test_numbers_are_quantities_but_ordinals_are_not_unless_asked_for() -> None:
    many = analyse("市委网信办目前有多少在编人员？")
    assert holds_kind("目前市委网信办仅有在编人员 11 人", many)
    assert holds_kind("重点要抓好以下六个方面的工作。", many)
    assert not holds_kind("新浪官方微博“微博洛阳”粉丝数量居全省第一", many)
    assert not holds_kind("一是要凝聚共识", many)
    assert holds_kind("香港在DVD分区属第三区", analyse("香港在DVD分区属于第几区？"))


def test_a_time_question_needs_a_time() -> None:
    when = analyse("谢伏瞻书记是哪一年出生的？")
    assert not holds_kind("谢伏瞻书记主持会议并讲话。", when)
    assert holds_kind("(2016 年 11 月 21 日)", when)
    assert holds_kind("国家网信办今年 1 月启动申办工作", when)
    assert holds_kind("乌尔巴克齿龙生存于上白垩纪早期", when)


def test_a_place_question_needs_a_place_the_question_does_not_name() -> None:
    where = analyse("那50余起网络攻击是哪个国家的情报机关干的？")
    assert not holds_kind("及时发现处置境外情报机关针对我市重点单位重点行业实施的网络攻击事件 50 余起。", where)
    assert holds_kind("1963年2月2日出生于法国瓦尔省圣拉斐尔", analyse("夏尔在哪里出生的？"))


def test_coverage_weights_words_by_rarity_and_credits_bridges() -> None:
    rarity = {"网信": 1.0, "人手": 3.0}.get
    assert coverage(["网信", "人手"], {}, "网信办", rarity) == pytest.approx(0.25)
    bridged = coverage(["网信", "人手"], {"人手": ["人员"]}, "网信办人员", rarity)
    assert bridged == pytest.approx((1 + evidence.BRIDGE_CREDIT * 3) / 4)


def test_a_single_character_must_be_a_word_of_the_text() -> None:
    rarity = {"办": 1.0}.get
    assert coverage(["办"], {}, "无法申办执法证", rarity) == 0.0
    assert coverage(["办"], {}, "市委网信办", rarity) == 1.0


def test_a_paraphrase_covers_the_phrase_it_stands_for() -> None:
    assert evidence._covered("牢骚", "对怨言要及时化解", {}) == [False, False]
    assert evidence._covered("牢骚", "对怨言要及时化解", {"牢骚": ["怨言"]}) == [True, True]


def test_beyond_the_section_counts_only_what_the_heading_does_not_say() -> None:
    phrases = ("长柄艾纳香", "下部叶")
    section = "长柄艾纳香"
    assert evidence._beyond(phrases, section, "下部叶有长达3-4厘米的细柄", {}) == 1.0
    assert evidence._beyond(phrases, section, "上部叶无柄", {}) == pytest.approx(2 / 3)  # 部叶 of 下部叶


@pytest.mark.slow
def test_every_candidate_gets_one_row_of_every_feature(assistant) -> None:
    question = assistant.question("市委网信办目前有多少在编人员？")
    reading = assistant.read(question)
    assert reading.features.shape == (len(reading.candidates), len(FEATURES))
    assert np.isfinite(reading.features).all()
    assert all(not reading.sentence(i).startswith("四、") for i in range(len(reading.candidates)))  # no headings
    row = evidence.answer_features(reading, reading.column("cosine"), 0)
    assert row.shape == (1, len(ANSWER_FEATURES)) and np.isfinite(row).all()
