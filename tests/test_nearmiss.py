"""The answer-removed near misses (training/nearmiss.py): every sentence stating an answer goes, the topic stays."""

from __future__ import annotations

from training.nearmiss import _piece_documents, _without_answers

DOCUMENT = (
    "神圣十月是一部日本漫画。"
    "2006年8月，神圣十月第一次连载于日本的漫画杂志──Comic Blade月刊上。"
    "泰森食品公司斥资77亿美元收购希尔夏品牌。连同债务承担，交易价格为85.5亿美元。"
    "作者另有多部作品。"
)
QUESTIONS = [
    {"question": "《神圣十月》是由哪个杂志连载的？", "answer_any": [["《月刊Comic Blade》"]]},
    {"question": "泰森食品公司共斥资多少钱？", "answer_any": [["斥资77亿美元收购希尔夏品牌。连同债务承担"]]},
]


def test_an_answer_said_again_in_other_words_or_over_two_sentences_is_removed_and_the_topic_kept() -> None:
    pieces = _piece_documents({"a": DOCUMENT, "b": "另一篇文章，说的是别的事情。"})
    kept = _without_answers(DOCUMENT, QUESTIONS, pieces)
    assert "Comic Blade" not in kept  # 《月刊Comic Blade》 said again as "Comic Blade月刊"
    assert "77亿" not in kept and "85.5亿" not in kept  # the answer runs over both sentences
    assert kept == "神圣十月是一部日本漫画。作者另有多部作品。"
