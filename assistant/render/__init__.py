"""Answers laid out for people: `terminal` for the command line (text with ANSI styles), `html` for the web page.

What both faces say the same way lives here: the answer's confidence in plain words.
"""

from __future__ import annotations

__all__ = ["CONFIDENCE_BANDS", "confidence_label"]

# The answerability model's probability that an answer is right, in words (the first bound it reaches). Measured
# out of fold on 2,100 questions (README): answers at p ≥ 0.95 were right 94% of the time, 0.8–0.95 86%,
# 0.5–0.8 66%, below 0.5 42%.
CONFIDENCE_BANDS: tuple[tuple[float, str], ...] = ((0.8, "高"), (0.5, "中"), (0.0, "低"))


def confidence_label(probability: float) -> str:
    """A probability that the answer is right, in plain words: 高 (≥ 0.8), 中 (≥ 0.5), 低."""
    return next((label for bound, label in CONFIDENCE_BANDS if probability >= bound), CONFIDENCE_BANDS[-1][1])
