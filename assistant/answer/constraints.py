"""Constraint binding: does a sentence, in its scope, agree with everything the question states?

A question's constraints (`question.constraints`: 2016年, 6家, 第二批, 市委, 女单, 河南省) must hold
for an answer: in the quoted sentence, or in the scope that governs it — its section headings
(innermost first), the document's title or date, the passage around it. One implementation for
both answerers: the extractive answer drops the candidates that break one (`unmet`), the
generated answer's grounding checks every constraint a generated sentence states against the
sentence it cites (`stated_unmet`), with no exemption for what the question presupposed.

How one constraint is decided, nearest scope first:

1. the sentence states it → it holds;
2. the sentence states another value of the same kind (2015年 for 2016年, 第一批 for 第二批, 省委
   for 市委, 男单 for 女单) → it does not ("6家企业获评2015年…" does not answer a question about
   2016, though it stands under the heading "2016年…工作总体情况"), unless the rest of its passage
   states the asked year ("本届总决赛…继1987年以后…" in a passage about the 2008 finals names
   another year in passing);
3. the section headings, innermost first: one that states it → it holds, one that states another
   value first → it does not (a heading "2015年工作情况" governs the sentences below it);
4. a number (23岁, 6家) binds only there: the passage's other sentences count other things;
5. the rest of the passage, then the document's title, date or text states it → it holds (a
   report dated 2016 speaks of 2016; a biography names the year of a prize a few sentences before);
6. stated nowhere: a time, number, ordinal or name the scope never states is not bound (unmet);
   a level or a qualifier nothing contradicts holds — "网民规模" of a national report need not
   repeat 全国.

A long first heading is the document's title (a report's "关于中央、省委…的汇报"): it can confirm,
not contradict.
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

__all__ = ["Scope", "contradicted", "holds", "scope_of", "stated_unmet", "unmet"]

# Kinds that must be stated somewhere in scope; the others need only not be contradicted.
_MUST_BE_STATED = frozenset(("time", "number", "ordinal", "entity"))
_DATE = re.compile(r"(?<!\d)((?:1[5-9]|20)\d\d)[-_.年](\d{1,2})[-_.月](\d{1,2})")


@dataclass(frozen=True)
class Scope:
    """What governs a sentence besides itself: its headings (outermost first), document title and date,
    and the passage it stands in."""

    section: tuple[str, ...] = ()  # headings, a long document title left out (it is `title`)
    title: str = ""
    date: str = ""  # yyyy-mm-dd when the document's name or title carries one
    passage: str = ""
    document: str = ""


TITLE_CHARS = 12  # a first heading longer than this is a document's title, not a section's (as in evidence.py)


@lru_cache(maxsize=4096)
def scope_of(passage: Passage, document: str = "") -> Scope:
    """The scope of the sentences of `passage` (in `document`, its whole text when known): its headings, its
    document's name and long title as title, and the date they carry (`…的汇报-2016-11-21.txt`)."""
    section = passage.section
    title = PurePath(passage.doc).stem
    if section and len(section[0]) > TITLE_CHARS:
        title, section = f"{title} {section[0]}", section[1:]
    m = _DATE.search(title)
    date = f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}" if m else ""
    return Scope(section, title, date, passage.text, document)


@lru_cache(maxsize=8192)
def _clean(text: str) -> str:
    return chinese_digits(normalize(text))


def _states(c: Constraint, text: str) -> bool:
    if c.kind == "time" and c.text.endswith("年"):
        return re.search(rf"(?<![\d.]){c.text[:-1]}(?!\d)", text) is not None
    if c.kind == "ordinal" and re.fullmatch(r"第1\D", c.text) and "首" in text:
        return True  # 第一次播出 = 首播, 第一届 = 首届
    if c.kind == "number":  # the value, whatever its unit is called (11名 and 11人 count the same people)
        value = _NUMBERS.fullmatch(c.text)
        number = value[1] if value else c.text
        return re.search(rf"(?<![\d.]){re.escape(number)}(?![\d.])", text) is not None
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
    own = _clean(sentence)
    if _states(c, own):
        return True
    passage = _clean(scope.passage) if scope.passage and c.kind != "number" else ""
    if _contradicts(c, own):
        # "本届总决赛…继1987年以后…" in a passage about 2008年NBA总决赛 names another year in passing
        # (a year only: a sentence naming 市委 where 省委 is asked speaks of another body)
        return c.kind == "time" and bool(passage) and _states(c, passage)
    for heading in reversed(scope.section):
        text = _clean(heading)
        if _states(c, text):
            return True
        if _contradicts(c, text):
            return False
    if c.kind == "number":  # a count or measure binds in its own sentence (or heading): 23岁 elsewhere in
        return False  # the passage is another sentence's fact
    if passage and _states(c, passage):
        return True
    for layer in (scope.title, _date_words(scope.date), scope.document):
        if layer and _states(c, _clean(layer)):
            return True
    return c.kind not in _MUST_BE_STATED


def contradicted(c: Constraint, sentence: str, scope: Scope = Scope()) -> bool:
    """Does `sentence`, or a heading over it, state another value of the constraint (and it does not hold)?
    Weaker than `not holds`: silence is not contradiction (a cited passage need not carry its document's year)."""
    if holds(c, sentence, scope):
        return False
    return any(_contradicts(c, _clean(text)) for text in (sentence, *scope.section))


def _date_words(date: str) -> str:
    """2016-11-21 → 2016年11月21日, as a sentence would state it."""
    if not date:
        return ""
    y, m, d = date.split("-")
    return f"{y}年{int(m)}月{int(d)}日"


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
