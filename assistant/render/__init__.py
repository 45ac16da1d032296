"""Answers laid out for people: `terminal` for the command line (text with ANSI styles), `html` for the web page.

What both faces say the same way lives here: the answer's confidence in plain words.
"""

from __future__ import annotations

__all__ = ["HIGH", "confidence_bands", "confidence_label"]

# The answerability model's probability that an answer is right, in words (the first bound it reaches):
# 高 from HIGH; 中 from the refusal threshold chosen in training (`answerability.json`); 低 below it — an
# answer the assistant gives only when low-confidence answers are asked for (Settings.low_confidence).
# Re-measured per domain (report, CMRC trial, near-miss sets) by `python -m benchmarks.trust`: see
# docs/trust.md.
HIGH = 0.9  # out of fold, answers at p ≥ 0.9 were right 90–100% of the time on five of six sets (training/results.md)


def confidence_bands() -> tuple[tuple[float, str], ...]:
    """(lower bound, label), highest first: 高 ≥ HIGH, 中 ≥ the shipped refusal threshold, 低 below."""
    from assistant.answer import model  # the threshold lives with the model it belongs to

    return ((HIGH, "高"), (model.answerability().threshold_found, "中"), (0.0, "低"))


def confidence_label(probability: float) -> str:
    """A probability that the answer is right, in plain words (see `confidence_bands`)."""
    bands = confidence_bands()
    return next((label for bound, label in bands if probability >= bound), bands[-1][1])
