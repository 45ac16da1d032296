"""The answer verifier: the shipped delta assembled into a real ONNX model over the real e5 weights."""

from __future__ import annotations

import json
import re

import pytest

from assistant.answer import verifier
from tests.conftest import REPORT

pytestmark = pytest.mark.slow

SECTION = "6.融合协调发展，信息化建设稳步推进"
# The report's sentence, as it stands (a line break inside it in the file).
AWARDS = re.sub(r"\s+", "", "两化融合示范带动，6家企业获评2015年河南省“互联网+”工业创新示范企业，数量位居全省第一。")
STAFF = "目前市委网信办仅有在编人员 11 人，人员较少，请求按工作需要适当增加编制和人员。"


@pytest.fixture(scope="module")
def model(settings):
    return verifier.load(settings)


def test_the_quoted_sentences_are_the_reports():
    text = re.sub(r"\s+", "", REPORT.read_text(encoding="utf-8"))
    assert AWARDS in text and re.sub(r"\s+", "", STAFF) in text


def test_a_sentence_of_another_year_does_not_answer(model):
    """2016 asked, 2015 said: the question's year is read together with the sentence's."""
    passage = verifier.passage_text(AWARDS, SECTION)
    asked_2015, asked_2016 = model.probabilities(
        [("2015年有几家企业获评河南省“互联网+”工业创新示范企业？", passage),
         ("2016年有几家企业获评河南省“互联网+”工业创新示范企业？", passage)]
    )  # fmt: skip
    assert asked_2016 < 0.5, f"the 2015 sentence said to answer a 2016 question ({asked_2016:.3f})"
    assert asked_2015 > asked_2016 + 0.2, (asked_2015, asked_2016)


def test_the_answering_sentence_beats_a_same_topic_one(model):
    question = "市委网信办目前有多少在编人员？"
    right, other = model.probabilities(
        [(question, verifier.passage_text(STAFF)),
         (question, verifier.passage_text("市委网信办负责全市网络安全和信息化工作的统筹协调。"))]
    )  # fmt: skip
    assert right > 0.5 > other, (right, other)


def test_a_score_does_not_depend_on_its_batch(model):
    pair = ("市委网信办目前有多少在编人员？", verifier.passage_text(STAFF))
    alone = model.probabilities([pair])[0]
    longer = (
        "洛阳市在网络安全和信息化方面有哪些主要工作？",
        verifier.passage_text(AWARDS * 2, SECTION),
    )
    batched = model.probabilities([longer, pair])[1]
    assert abs(alone - batched) < 1e-3


def test_score_is_the_public_entry_and_takes_nothing(settings):
    assert verifier.score([], settings) == []
    pairs = [("市委网信办目前有多少在编人员？", verifier.passage_text(STAFF))]
    assert verifier.score(pairs, settings) == pytest.approx(verifier.load(settings).probabilities(pairs))


def test_the_committed_delta_is_small_and_the_assembly_checked(model):
    assert verifier.delta_path().stat().st_size < 3_000_000  # the adapter and head only, not a model
    marker = json.loads((model.folder / "verifier.json").read_text(encoding="utf-8"))
    assert marker["check_max_logit_gap"] <= 0.5  # the 8-bit model agrees with the float one it was made from
    assert verifier.is_assembled(model.folder)


def test_the_answerer_reads_the_verifier_when_its_answer_model_names_it(assistant, monkeypatch):
    """The shipped answerability model does not read the verifier (docs/trust.md 3b); one that names the column
    gets the verifier's probability for the chosen sentence (the same trees here: no split reads the new column)."""
    from dataclasses import replace

    from assistant.answer import extractive, model
    from assistant.answer.evidence import VERIFIER_FEATURE

    shipped = model.answerability()
    assert VERIFIER_FEATURE not in shipped.features
    reading = assistant.read(assistant.question(assistant.check("市委网信办目前有多少在编人员？")))
    before = extractive.choose(reading)
    assert before.verified is None and before.best is not None
    with_verifier = replace(shipped, features=(*shipped.features, VERIFIER_FEATURE))
    monkeypatch.setattr(model, "answerability", lambda: with_verifier)
    after = extractive.choose(reading)
    assert after.best == before.best and after.confidence == pytest.approx(before.confidence)
    assert after.verified is not None and after.verified > 0.5, after.verified
    assert "11" in reading.sentence(after.best)
