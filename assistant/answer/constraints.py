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

Besides the constraints, the **asked slot** must be filled (`slot_filled`): what the question asks
for, next to the words it asks it about — a number beside the counted noun (多少在编人员: 11 beside
在编人员, not 1600 beside 舆情线索), a year for 哪一年, a day for 哪一天, a name for 叫什么 beside
the thing named (主任叫什么名字: a sentence without 主任 names someone else), a place for 哪里.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePath
from typing import Literal

# the counted noun's reader is the evidence feature's own (number_near_counted), kept in one place
from assistant.answer.evidence import _near_counted as number_near_counted
from assistant.answer.evidence import holds_kind
from assistant.ingest.structure import leading_date, parse_date
from assistant.question import (
    KIND_RULES,
    LEVEL_BODIES,
    MEASURE_WORDS,
    ORG_NOUNS,
    QUALIFIER_GROUPS,
    UNITS,
    Constraint,
    Kind,
    Question,
    chinese_digits,
    constraints,
    is_proper_name,
    phrases_of,
    specific_phrases,
)
from assistant.schema import Passage
from assistant.text.words import content_words, normalize

__all__ = ["Scope", "Verdict", "contradicted", "holds", "scope_of", "slot_filled", "stated_unmet", "unmet", "verdict"]

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


# --- the asked slot ------------------------------------------------------------------------------

_YEAR_ASKED = re.compile(r"哪一?年|年份|\bwhich year\b|\bwhat year\b", re.I)
_DAY_ASKED = re.compile(r"哪一?天|几号|几月几日|日期|\bwhich day\b|\bwhat date\b", re.I)
_A_YEAR = re.compile(r"(?<![\d.])\d{2,4}\s*年(?![以之]?[前后内间])|[今去前明]年|同年|次年|翌年|当年|[元初]年")
_A_DAY = re.compile(r"\d{1,2}\s*[日号]|[今昨明前]天|当[天日]|次日|翌日|同日")
_EXACT_ASKED = re.compile(r"具体|确切|准确|精确|\bexact(?:ly)?\b|\bprecise(?:ly)?\b", re.I)
_NUMBER_SAID = re.compile(r"\d+(?:\.\d+)?")
_BOUND_BEFORE = re.compile(r"(?:超过|超|逾|近|约|大约|将近|不到|不足|至少|最多)\s*$")
_BOUND_AFTER = re.compile(r"^\s*[万亿千百]?\s*(?:余|多|[^\d，。；,;]{0,3}(?:左右|以上|以下|上下))")


def _only_bounds(text: str) -> bool:
    """Every number of `text` is a bound or an estimate (超过2万, 600余件, 100条左右), none a figure."""
    numbers = list(_NUMBER_SAID.finditer(text))
    return bool(numbers) and all(
        _BOUND_BEFORE.search(text[: m.start()]) or _BOUND_AFTER.search(text[m.end() :]) for m in numbers
    )


_COUNTRY_ASKED = re.compile(r"哪[个一]?(?:国家|国|城市|省份?)")
_NAMED_THING = re.compile(rf"(?:{ORG_NOUNS})[^的]{{0,2}}$|[网站台刊报号]$")
_PERSON_SUFFIX = "方者人商家员"  # 赞助方, 创造者, 经营方: the head is the verb before the suffix
_HEAD = 2  # characters of a head noun or verb: 主任 of 洛阳市委网信办主任, 主持 of 谁主持的


def slot_filled(question: Question, sentence: str, passage: str = "") -> bool:
    """Does `sentence` fill what `question` asks for, next to what it is asked about (module docstring)?

    Checked where a rule can tell: a count (`question.counted`) needs a number beside its noun; 哪一年 a
    year and 哪一天 a day, not any time word (目前, 近年来); 谁 and 叫什么 the person's or thing's head word
    (主任, 书记, 主持) in the sentence, or else in its `passage`: a sentence that does not speak of a
    主任 does not name one. A place (哪里, 哪个国家) needs a place the question does not name. Other kinds,
    and English questions (their words reach the text through bridges), are left to the answerability model.
    """
    text = _clean(sentence)
    kind = question.kind
    if kind is Kind.QUANTITY and _EXACT_ASKED.search(question.text) and _only_bounds(text):
        return False  # 具体有多少 / exactly: "已超过2万" states a bound, not the figure
    if question.english:
        return True
    if kind is Kind.QUANTITY:
        return not question.counted or "第几" in question.text or _counted_filled(question, text, _clean(passage))
    if kind is Kind.TIME:
        if _YEAR_ASKED.search(question.text):
            return _A_YEAR.search(text) is not None
        return _DAY_ASKED.search(question.text) is None or _A_DAY.search(text) is not None
    if kind in (Kind.PERSON, Kind.NAME):
        heads = _heads(question)
        where = text + "\n" + _clean(passage)
        said = not heads or any(_said(h, where, question) for h in heads)
        # the name of a thing with names of its own (网站, 公司, 媒体): one the question does not hold — 叫什么
        # of 5家国家三类新闻网站 is not answered by a sentence that counts them
        named = kind is Kind.PERSON or not _NAMED_THING.search(_asked_parts(question.text, kind)[0])
        return said and (named or holds_kind(sentence, question))
    if kind is Kind.PLACE and _COUNTRY_ASKED.search(question.text):
        # 哪个国家: a place the question does not name (哪里 is answered in too many ways to check)
        return holds_kind(sentence, question)
    return True


def _counted_filled(question: Question, text: str, passage: str) -> bool:
    """A number beside the counted noun or a dictionary stand-in of it (多少活儿: 100条), or with the question's
    measure word (多少条信息: 1600余条); a noun the sentence never says is a paraphrase (多少人关注: 粉丝数量),
    unless it is a specific word (有效期, 编制) that the passage never says either, and no unit (厘米 is said cm)."""
    counted = question.counted
    stand_ins = [s for word, said in question.bridges.items() if word in counted or counted in word for s in said]
    if any(number_near_counted(text, noun) for noun in (counted, *(s for s in stand_ins if len(s) >= 2))):
        return True
    measures = {m[1] for m in _MEASURE_ASKED.finditer(normalize(question.text))}
    measures |= {s for s in stand_ins if len(s) == 1 and s in MEASURE_WORDS}
    if any(re.search(rf"\d\s*(?:[万亿千百]|余|多)*\s*{m}", text) for m in measures):
        return True
    pieces = {counted[i : i + 2] for i in range(max(1, len(counted) - 1))}
    if any(piece in text for piece in pieces):
        return False  # said, but not beside a number: the number counts something else
    if counted in passage or _A_UNIT.search(counted) or re.search(rf"\d\s*(?:{_UNITS_MEASURED})", text):
        return True  # said in the passage, or a measure said in its unit (体重: 约8公斤重; 多少厘米: 2cm)
    head = next(iter(content_words(counted)), counted)  # 几首歌进入…: 歌, the noun after the measure word
    return len(head) < 2 or not specific_phrases((head,))  # one character (歌) is no specific word


_A_UNIT = re.compile(r"[米克升吨亩元秒时分斤里度%％]$")
# units of measure (not counting words): a number in one of them measures what a 多大/多重/多少 asks
_UNITS_MEASURED = (
    "公斤|千克|克|吨|斤|公里|千米|厘米|毫米|米|英尺|英寸|平方|公顷|亩|升|元|美元|秒|分钟|小时|度|%|％|cm|km|kg|m"
)


_MEASURE_ASKED = re.compile(rf"(?:多少|(?<!哪)几)([{MEASURE_WORDS}])")


def _said(head: str, text: str, question: Question) -> bool:
    """`head` in `text`, or one of the dictionary stand-ins of the question word it is part of."""
    return head in text or any(
        s in text for word, stand_ins in question.bridges.items() if head in word or word in head for s in stand_ins
    )


@lru_cache(maxsize=1024)
def _asked_parts(text: str, kind: Kind) -> tuple[str, str]:
    """The question's last clause before and after its question word of `kind`."""
    asked = re.split(r"(?<=[？?])", normalize(text).rstrip("？? "))[-1]
    pattern = next((p for k, p in KIND_RULES if k is kind and p.search(asked)), None)
    m = pattern.search(asked) if pattern else None
    return (asked[: m.start()], asked[m.end() :]) if m else (asked, "")


def _heads(question: Question) -> tuple[str, ...]:
    """The head words the asked slot stands next to: the end of the phrase before the question word
    (洛阳市委网信办主任|叫什么 → 主任, 洛阳市委书记|是谁 → 书记); for 谁 also the phrase after it (谁|主持的 →
    主持; 谁是|市委书记 → 书记). Place names aside: they are constraints of their own."""
    before, after = _asked_parts(question.text, question.kind)
    heads: list[str] = []
    if question.kind is Kind.PERSON:
        # only "X是谁": the head noun of X (洛阳市委书记 → 书记); 谁主持的, 归谁所有 are said in too many ways
        closing = not after.strip("的呢啊呀？? ")  # 是谁主持的 asks who chaired, not who X is
        if closing and before.endswith(("是", "为")) and (run := phrases_of(before)) and len(run[-1]) >= _HEAD:
            word = run[-1].rstrip(_PERSON_SUFFIX) if len(run[-1]) > _HEAD else run[-1]
            # an agent noun (创造者, 赞助方) is said by its verb in many ways (由…所创作): one character of it will do
            heads += list(word[-_HEAD:]) if word != run[-1] else [word[-_HEAD:]]
    elif (run := phrases_of(before)) and len(run[-1]) >= _HEAD and not before.endswith(("什么", "的")):
        heads.append(run[-1][-_HEAD:])
    elif after.startswith("的") and (run := phrases_of(after)) and len(run[0]) >= _HEAD:
        heads.append(run[0][-_HEAD:])  # 什么名字的|创新创业大赛: the thing named comes after
    return tuple(h for h in dict.fromkeys(heads) if not is_proper_name(h) and not re.search(r"[\d\W]", h))
