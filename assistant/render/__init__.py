"""Answers laid out for people: `terminal` for the command line (text with ANSI styles), `html` for the web page.

What both faces say the same way lives here: the answer's confidence in plain words.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.schema import Answer

__all__ = ["HIGH", "HIGH_FOUND", "answer_confidence", "confidence_bands", "confidence_label"]

# The answerability model's probability that an answer is right, in words (the first bound it reaches):
# 高 from HIGH; 中 from the refusal threshold chosen in training (`answerability.json`); 低 below it — an
# answer the assistant gives only when low-confidence answers are asked for (Settings.low_confidence).
# Re-measured per domain (report, CMRC trial, near-miss sets) by `python -m benchmarks.trust`: see
# docs/trust.md.
HIGH = 0.9  # out of fold, answers at p ≥ 0.9 were right 90–100% of the time on five of six sets (training/results.md)
# 高 also needs the question found around the answer: this share of its phrases in the quoted sentence and the
# sentences beside it (`evidence["phrases"]`). A probability learnt on some domains overrates, on another, a
# sentence about the asked thing that leaves part of the question unsaid; with this, 高 held out on CMRC was
# right 0.86 → 0.91 (open), 0.79 → 0.90 (no-answer), 0.67 → 0.85 (answer removed), and still 1.0 on the report
# (docs/trust.md, section 5).
HIGH_FOUND = 0.8
# And an answer a rule can check (`answer.slot.checked`): not free text (why, how, what X is, whether) and the
# question's relation said in the sentence. Held out on CMRC answer removed, 高 right 0.85 → 0.92; the report's
# why-questions are 中 now, however sure the model (docs/trust.md, section 9).


def confidence_bands() -> tuple[tuple[float, str], ...]:
    """(lower bound, label), highest first: 高 ≥ HIGH, 中 ≥ the shipped refusal threshold, 低 below."""
    from assistant.answer import model  # the threshold lives with the model it belongs to

    return ((HIGH, "高"), (model.answerability().threshold_found, "中"), (0.0, "低"))


def confidence_label(
    probability: float, found: float = 1.0, bands: tuple[tuple[float, str], ...] = (), checked: bool = True
) -> str:
    """A probability that the answer is right, in plain words (`bands`, default `confidence_bands()`); 高 only
    when `found` — the share of the question said around the answer — reaches HIGH_FOUND and a rule could
    vouch for the answer (`checked`: not free text, and the question's relation said; `answer.slot.checked`),
    else 中."""
    bands = bands or confidence_bands()
    label = next((label for bound, label in bands if probability >= bound), bands[-1][1])
    return "中" if label == "高" and (found < HIGH_FOUND or not checked) else label


def answer_confidence(answer: Answer) -> str | None:
    """An answer's 把握 (高/中/低), from its probability and how much of the question is said around it; None
    for "not found" (a low chance would read as doubt of the refusal) or an answer not judged."""
    if not answer.found or answer.confidence is None:
        return None
    return confidence_label(
        answer.confidence, answer.evidence.get("phrases", 1.0), checked=answer.evidence.get("checked", 1.0) >= 1.0
    )
