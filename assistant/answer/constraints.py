"""Constraint binding: does a sentence, in its scope, agree with everything the question states?

A question's constraints (`question.constraints`: 2016年, 6家, 第二批, 市委, 女单, 河南省) must hold
for an answer: in the quoted sentence, or in the scope that governs it — its section headings
(innermost first), the document's title or date, the passage around it. One implementation for
both answerers: the extractive answer drops the candidates that break one (`unmet`), the
generated answer's grounding checks every constraint a generated sentence states against the
sentence it cites (`stated_unmet`), with no exemption for what the question presupposed.

How one constraint is decided, nearest scope first:

1. the sentence states it → it holds; the sentence states another value of the same kind (2015年
   for 2016年, 第一批 for 第二批, 省委 for 市委, 男单 for 女单) → it does not;
2. the section headings, innermost first: the same two tests (a heading "2015年工作情况" governs
   the sentences below it);
3. the document's title and date, then the rest of the passage: they can only confirm (a report
   dated 2016 speaks of 2016 unless a sentence or heading says otherwise; its title naming 省委
   and 市委 both decides nothing);
4. stated nowhere: a time, number, ordinal or name the scope never states is not bound (unmet);
   a level or a qualifier the scope never mentions is not contradicted (holds) — "网民规模" of a
   national report need not repeat 全国.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePath

from assistant.question import (
    LEVEL_BODIES,
    LEVEL_PREFIXES,
    QUALIFIER_GROUPS,
    UNITS,
    Constraint,
    chinese_digits,
    constraints,
)
from assistant.schema import Passage
from assistant.text.words import normalize

__all__ = ["Scope", "holds", "scope_of", "stated_unmet", "unmet"]

# Kinds that must be stated somewhere in scope; the others need only not be contradicted.
_MUST_BE_STATED = frozenset(("time", "number", "ordinal", "entity"))
_DATE = re.compile(r"(?<!\d)((?:1[5-9]|20)\d\d)[-_.年](\d{1,2})[-_.月](\d{1,2})")


@dataclass(frozen=True)
class Scope:
    """What governs a sentence besides itself: its headings (outermost first), document title and date,
    and the passage it stands in."""

    section: tuple[str, ...] = ()
    title: str = ""
    date: str = ""  # yyyy-mm-dd when the document's name or title carries one
    passage: str = ""


@lru_cache(maxsize=4096)
def scope_of(passage: Passage) -> Scope:
    """The scope of the sentences of `passage`: its section path, its document's name as title and the
    date in that name (`洛阳-关于…的汇报-2016-11-21.txt` is dated 2016-11-21)."""
    title = PurePath(passage.doc).stem
    m = _DATE.search(title)
    date = f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}" if m else ""
    return Scope(passage.section, title, date, passage.text)


@lru_cache(maxsize=8192)
def _clean(text: str) -> str:
    return chinese_digits(normalize(text))


def _states(c: Constraint, text: str) -> bool:
    if c.kind == "time" and c.text.endswith("年"):
        return re.search(rf"(?<![\d.]){c.text[:-1]}(?!\d)", text) is not None
    if c.kind in ("time", "number", "ordinal"):
        return re.search(rf"(?<![\d.]){re.escape(c.text)}", text) is not None if c.text[0].isdigit() else c.text in text
    if c.kind == "entity":
        # 洛阳市 is held by a text that says 洛阳, 河南省 by 河南
        return c.text in text or (len(c.text) > 2 and c.text[-1] in "省市县区州" and c.text[:-1] in text)
    return c.text in text


_YEARS = re.compile(r"(?<![\d.])((?:1[5-9]|20)\d\d)(?:年(?!代)|(?=[-/.]\d{1,2}[-/.]\d))")
_MONTHS = re.compile(r"(?<![\d.])(1[0-2]|0?[1-9])月")
_ORDINALS = re.compile(r"第(\d+)(.)")
_NUMBERS = re.compile(rf"(?<![\d.第])(\d+(?:\.\d+)?)\s*([{UNITS}])")


def _contradicts(c: Constraint, text: str) -> bool:
    """Does `text` state another value of the constraint's kind (and not its own: see `_states`)?"""
    if c.kind == "time":
        if c.text.endswith("年"):
            return any(m[1] != c.text[:-1] for m in _YEARS.finditer(text))
        month = re.match(r"(\d+)月", c.text)
        return bool(month) and any(m[1].lstrip("0") != month[1].lstrip("0") for m in _MONTHS.finditer(text))
    if c.kind == "ordinal":
        m = _ORDINALS.fullmatch(c.text)
        return bool(m) and any(o[2] == m[2] and o[1] != m[1] for o in _ORDINALS.finditer(text))
    if c.kind == "number":
        m = _NUMBERS.fullmatch(c.text)
        # only counts of the same thing: 5家 against 6家, not 5家 against 30%
        return bool(m) and m[2] not in "年月日" and any(n[2] == m[2] and n[1] != m[1] for n in _NUMBERS.finditer(text))
    if c.kind == "level":
        return any(other in text for other in _level_rivals(c.text))
    if c.kind == "qualifier":
        return any(other in text for group in QUALIFIER_GROUPS if c.text in group for other in group
                   if other != c.text and c.text not in other)  # fmt: skip
    return False


@lru_cache(maxsize=256)
def _level_rivals(level: str) -> tuple[str, ...]:
    """The same body at another level: 市委 → 省委, 县委, 区委 …; 全省 → 全国, 全市 …"""
    if level.startswith("全"):
        return tuple(f"全{p}" for p in "国省市县区" if f"全{p}" != level)
    for body in sorted(LEVEL_BODIES, key=len, reverse=True):
        if level.endswith(body):
            prefix = level[: -len(body)]
            return tuple(p + body for p in LEVEL_PREFIXES if p != prefix and p in "省市县区")
    return ()


def holds(c: Constraint, sentence: str, scope: Scope = Scope()) -> bool:
    """Does constraint `c` hold for `sentence` in `scope`? (the steps of the module's docstring)"""
    for layer in (sentence, *reversed(scope.section)):
        text = _clean(layer)
        if _states(c, text):
            return True
        if _contradicts(c, text):
            return False
    for layer in (scope.title, scope.date.replace("-", "年", 1), scope.passage):
        if layer and _states(c, _clean(layer)):
            return True
    return c.kind not in _MUST_BE_STATED


def unmet(asked: Iterable[Constraint], sentence: str, scope: Scope = Scope()) -> tuple[Constraint, ...]:
    """The constraints of a question that `sentence` (in `scope`) does not satisfy."""
    return tuple(c for c in asked if not holds(c, sentence, scope))


def stated_unmet(claim: str, sentence: str, scope: Scope = Scope()) -> tuple[Constraint, ...]:
    """The constraints a generated `claim` itself states (its years, numbers with units, ordinals, levels,
    qualifiers, names) that the cited `sentence` in `scope` does not: 省委 written where the source says 市委."""
    return unmet(_claim_constraints(claim), sentence, scope)


@lru_cache(maxsize=512)
def _claim_constraints(claim: str) -> tuple[Constraint, ...]:
    return constraints(claim)
