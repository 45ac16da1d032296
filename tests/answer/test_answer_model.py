"""The learned answer models: the committed files agree with the code and with the library that trained them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from assistant.answer import model
from assistant.answer.evidence import ANSWER_FEATURES, FEATURES


@pytest.mark.parametrize(("trees", "features"), [(model.ranker, FEATURES), (model.answerability, ANSWER_FEATURES)])
def test_the_numpy_evaluator_reproduces_lightgbm(trees, features) -> None:
    m = trees()
    assert m.features == features  # the model was trained on the columns the code computes
    rows = np.asarray(m.check["rows"])
    np.testing.assert_allclose(m.raw(rows), m.check["raw"], rtol=1e-9, atol=1e-9)


def test_the_threshold_is_a_probability_and_probabilities_are_in_range() -> None:
    m = model.answerability()
    assert 0.0 < m.threshold_found < 1.0
    p = m.probability(np.asarray(m.check["rows"]))
    assert ((p > 0) & (p < 1)).all()


def test_rows_of_the_wrong_width_are_refused() -> None:
    with pytest.raises(ValueError, match="features"):
        model.ranker().raw(np.zeros((2, 3)))


def test_an_unknown_model_format_is_one_line() -> None:
    data = json.loads(model.files("assistant.answer").joinpath("ranker.json").read_text(encoding="utf-8"))
    with pytest.raises(model.AnswerModelError, match="format"):
        model.from_json({**data, "format": 99})
