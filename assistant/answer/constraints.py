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
5. the rest of the passage states it → it holds (a biography names the year of a prize a few
   sentences before);
6. a year: the document's date states another year → it does not (a report dated 2016-11-21 that
   says 目前…11人 speaks of 2016, not of a 2014 asked about; its 今年 is 2016, its 去年 2015);
7. the document's title, date or text states it → it holds (a report dated 2016 speaks of 2016);
8. stated nowhere: a time, number, ordinal or name the scope never states is not bound (unmet);
   a level or a qualifier nothing contradicts holds — "网民规模" of a national report need not
   repeat 全国.

A long first heading is the document's title (a report's "关于中央、省委…的汇报"): it can confirm,
not contradict; the document's date can do both (step 6).

Besides the constraints, the asked slot must be filled: `answer/slot.py`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePath
from typing import Literal

from assistant.ingest.structure import leading_date, parse_date
from assistant.question import LEVEL_BODIES, QUALIFIER_GROUPS, UNITS, Constraint, chinese_digits, constraints
from assistant.schema import Passage
from assistant.text.words import normalize

__all__ = ["Scope", "Verdict", "contradicted", "holds", "scope_of", "stated_unmet", "unmet", "verdict"]

# Kinds that must be stated somewhere in scope; the others need only not be contradicted.
_MUST_BE_STATED = frozenset(("time", "number", "ordinal", "entity"))
Verdict = Literal["holds", "contradicted", "unstated"]


@dataclass(frozen=True)
class Scope:
    """What governs a sentence besides itself: its headings (outermost first), document title and date,
    and the passage it stands in."""

    section: tuple[str, ...] = ()  # headings, a long document title left out (it is `title`)
    title: str = ""
    date: str = ""  # yyyy-mm-dd (or yyyy-mm, yyyy) when the document's name, title or date line carries one
    passage: str = ""
    document: str = ""


TITLE_CHARS = 12  # a first heading longer than this is a document's title, not a section's (as in evidence.py)


@lru_cache(maxsize=4096)
def scope_of(passage: Passage, document: str = "") -> Scope:
    """The scope of the sentences of `passage` (in `document`, its whole text when known): its headings, its
    document's name and long title as title, and the date they carry (`…的汇报-2016-11-21.txt`) or its date
    line under the title (`(2016 年 11 月 21 日)`), read by the one date reader (`ingest.structure.parse_date`)."""
    section = passage.section
    title = PurePath(passage.doc).stem
    if section and len(section[0]) > TITLE_CHARS:
        title, section = f"{title} {section[0]}", section[1:]
    date = parse_date(title) or leading_date(document) or ""
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
    if c.kind == "level":
        return any(form in text for form in _level_forms(c.text))
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
def _level_forms(level: str) -> tuple[str, ...]:
    """The ways a text names one body at one level: 县网信办 and 县委网信办 are the same office."""
    m = re.fullmatch(r"([省市县区])(委?)(.+)", level)
    if not m or m[3] in ("委", "级", "政府") or m[3].startswith("委"):
        return (level,)
    return (f"{m[1]}{m[3]}", f"{m[1]}委{m[3]}")


@lru_cache(maxsize=256)
def _level_rivals(level: str) -> tuple[str, ...]:
    """The same body at another level: 市委 → 省委, 县委, 区委, 中央 …; 省政府 → 国务院 …; 县网信办 → 市委网信办,
    国家网信办 …; 全省 → 全国, 全市 …"""
    if level.startswith("全"):
        return tuple(f"全{p}" for p in "国省市县区" if f"全{p}" != level)
    m = re.fullmatch(r"([省市县区])(委?)(.+)", level)
    if not m or not any(m[3] == body or f"委{m[3]}" == body for body in LEVEL_BODIES) and m[3] not in LEVEL_BODIES:
        return ()
    body = m[3]
    rivals = [form for p in "省市县区" if p != m[1] for form in _level_forms(f"{p}{m[2]}{body}")]
    if body == "委":
        rivals.append("中央")  # the same kind of body at the national level
    elif body == "政府":
        rivals += ["国务院", "中央政府"]
    elif body != "级":
        rivals += [f"国家{body}", f"中央{body}"]
    return tuple(rivals)


def verdict(c: Constraint, sentence: str, scope: Scope = Scope()) -> Verdict:
    """Whether constraint `c` holds for `sentence` in `scope`, is contradicted, or is stated nowhere
    (the steps of the module's docstring)."""
    year = _year_of(scope.date)
    own = _clean_dated(sentence, year)
    if _states(c, own):
        return "holds"
    passage = _clean_dated(scope.passage, year) if scope.passage and c.kind != "number" else ""
    if _contradicts(c, own):
        # "本届总决赛…继1987年以后…" in a passage about 2008年NBA总决赛 names another year in passing
        # (a year only: a sentence naming 市委 where 省委 is asked speaks of another body)
        return "holds" if c.kind == "time" and passage and _states(c, passage) else "contradicted"
    for heading in reversed(scope.section):
        text = _clean(heading)
        if _states(c, text):
            return "holds"
        if _contradicts(c, text):
            return "contradicted"
    if c.kind == "number":  # a count or measure binds in its own sentence (or heading): 23岁 elsewhere in
        return "unstated"  # the passage is another sentence's fact
    if passage and _states(c, passage):
        return "holds"
    if c.kind == "level" and passage and _contradicts(c, passage):
        return "contradicted"  # a passage about 市委网信办 that never names 县网信办 speaks of the city's office
    if c.kind == "time" and c.text.endswith("年") and year and c.text[:-1] != year:
        return "contradicted"  # what a report dated 2016 says without a year is said of 2016 (step 6)
    for layer in (scope.title, _date_words(scope.date), scope.document):
        if layer and _states(c, _clean(layer)):
            return "holds"
    return "unstated"


def holds(c: Constraint, sentence: str, scope: Scope = Scope()) -> bool:
    """Does constraint `c` hold for `sentence` in `scope`? A level or a qualifier nothing contradicts holds;
    a time, number, ordinal or name must be stated in scope."""
    v = verdict(c, sentence, scope)
    return v == "holds" or (v == "unstated" and c.kind not in _MUST_BE_STATED)


def contradicted(c: Constraint, sentence: str, scope: Scope = Scope()) -> bool:
    """Does `sentence`, a heading over it or its document's date state another value of the constraint?
    Weaker than `not holds`: silence is not contradiction (a cited passage need not carry its document's year)."""
    return verdict(c, sentence, scope) == "contradicted"


def _year_of(date: str) -> str:
    return date[:4] if re.match(r"\d{4}", date) else ""


_RELATIVE_YEARS = {"今年": 0, "本年": 0, "去年": -1, "上年": -1, "前年": -2, "明年": 1}
_RELATIVE = re.compile("|".join(_RELATIVE_YEARS))


@lru_cache(maxsize=8192)
def _clean_dated(text: str, year: str) -> str:
    """`_clean`, with the years a dated document names relatively written out: 今年 → 2016年 in a report
    dated 2016 (a question's 2016年 is then stated, its 2015年 contradicted)."""
    clean = _clean(text)
    if not year:
        return clean
    return _RELATIVE.sub(lambda m: f"{int(year) + _RELATIVE_YEARS[m[0]]}年", clean)


def _date_words(date: str) -> str:
    """2016-11-21 → 2016年11月21日 (2016-11 → 2016年11月), as a sentence would state it."""
    if not date:
        return ""
    return "".join(f"{int(part)}{unit}" for part, unit in zip(date.split("-"), "年月日", strict=False))


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
