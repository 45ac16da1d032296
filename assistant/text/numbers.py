"""Chinese numerals read as numbers, for every stage that compares or counts: 二〇一六 → 2016,
二十三 → 23, 十一 → 11, 一百零五 → 105, 两 → 2."""

from __future__ import annotations

__all__ = ["chinese_number"]

# Arabic digits too: a year may mix them (二0一六).
_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0, "两": 2} | {str(i): i for i in range(10)}
_UNITS = {"十": 10, "百": 100, "千": 1000}


def chinese_number(text: str) -> int | None:
    """`text` — Arabic digits, or Chinese numerals up to the thousands — as a number; None when it is neither.
    Without 十/百/千 the numerals are read digit by digit, as years are written (二〇一六)."""
    if text.isdigit():
        return int(text)
    if not text or any(c not in _DIGITS and c not in _UNITS for c in text):
        return None
    if not any(c in _UNITS for c in text):
        return int("".join(str(_DIGITS[c]) for c in text))
    total, current = 0, 0
    for c in text:
        if c in _UNITS:
            total += max(current, 1) * _UNITS[c]
            current = 0
        else:
            current = _DIGITS[c]
    return total + current
