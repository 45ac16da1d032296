"""Words for BM25 and coverage, and the dictionary bridges."""

from __future__ import annotations

from assistant.text import lexicon
from assistant.text.words import content_words, normalize, words


def test_normalize_joins_numbers_and_cjk_and_folds_width():
    assert normalize("目前仅有在编人员 11 人，**第三**，ＡＢＣ") == "目前仅有在编人员11人,第三,abc"


def test_numbers_and_names_stay_matchable():
    text = words("网络攻击事件 50 余起，谢伏瞻书记主持会议，“精彩洛阳”")
    for term in ("50", "谢伏瞻", "精彩", "洛阳"):
        assert term in text
    assert "11" in words("仅有在编人员 11 人") and "11" in words("仅有在编人员11人")


def test_stop_words_and_punctuation_are_removed():
    assert words("这份汇报是哪天的？") == ["汇报"]
    assert all(w not in words("市委网信办目前有多少在编人员？") for w in ("有", "多少", "？"))


def test_content_words_keep_the_longest_segmentation_once():
    assert content_words("省委网络安全和信息化领导小组第三次会议由谁主持？") == [
        "省委", "网络安全", "信息化", "领导小组", "第三次", "会议", "主持",
    ]  # fmt: skip


def test_english_glosses_are_singular_content_words():
    assert lexicon.english_glosses("How many staff positions does the office have?") == {"staff", "position", "office"}


def test_bridges_prefer_close_meanings():
    vocabulary = {"怨言", "怨气", "意见", "人员"}
    glossary = lexicon.gloss_index(vocabulary)
    bridges = lexicon.bridges(["牢骚", "人员"], vocabulary, glossary)
    assert "人员" not in bridges, "a word the corpus uses needs no bridge"
    assert set(bridges["牢骚"]) >= {"怨言"} and "意见" not in bridges["牢骚"]
    assert lexicon.bridges(["staff"], vocabulary, glossary) == {"staff": ["人员"]}
