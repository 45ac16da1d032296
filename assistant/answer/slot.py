"""The asked slot: does a sentence give what the question asks for, beside what it asks it about?

A sentence can agree with every constraint of a question (`constraints.py`) and still not answer it:
the number it states counts something else, it names no one, its only time word is 近年来. What the
question asks for must be filled next to the words it asks it about — a number beside the counted
noun (多少在编人员: 11 beside 在编人员, not 1600 beside 舆情线索), a year for 哪一年, a day for 哪一天,
the head word of what is named for 叫什么 (主任叫什么名字: a sentence without 主任 names someone else),
a place for 哪个国家. Checked only where a rule can tell; each narrowing below was measured on the
CMRC trial set's false refusals (docs/trust.md).

`checked` says whether a rule vouches for an answer beyond the model — not free text (why, how, what X
is, whether), and the question's relation (入选 of 什么时候入选国家队) said in the sentence —; only such
an answer is said 把握：高 (`render.confidence_label`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import PurePath

from assistant.answer.constraints import _clean  # the same normalised text the constraints are read in
from assistant.answer.evidence import Reading, holds_kind, scope_text

# the counted noun's reader is the evidence feature's own (number_near_counted), kept in one place
from assistant.answer.evidence import _near_counted as number_near_counted
from assistant.question import (
    KIND_RULES,
    MEASURE_WORDS,
    ORG_NOUNS,
    Kind,
    Question,
    is_proper_name,
    phrases_of,
    specific_phrases,
)
from assistant.text.words import content_words, normalize

__all__ = ["FREE_FORM", "checked", "relation_said", "slot_filled"]

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
        if "第几" in question.text:
            return True
        measure = _MEASURE_KIND.search(question.text)
        if measure and not _ABSTRACT.search(question.text[: measure.start()]) and not _measured(text, measure[1]):
            return False  # 多高 is answered in metres, 多久 in a time: "属的一种" gives no height
        return not question.counted or _counted_filled(question, text, _clean(passage))
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
    if any(_number_in(text, m) for m in measures):
        return True
    if measures and len(counted) < _HEAD:
        return False  # 分为几类: one character before 几类 is no noun; the count is said with 类 or not at all
    if _pair_in(counted, text):
        return False  # said, but not beside a number: the number counts something else
    in_a_unit = re.search(rf"\d\s*(?:{_UNITS_MEASURED})", text)
    if _A_UNIT.search(counted):
        return bool(in_a_unit)  # 多少米 / 多少厘米: a number in a unit (2cm), not one without any
    if counted in passage or in_a_unit:
        return True  # said in the passage, or a measure said in its unit (体重: 约8公斤重)
    head = next(iter(content_words(counted)), counted)  # 几首歌进入…: 歌, the noun after the measure word
    return len(head) < 2 or not specific_phrases((head,))  # one character (歌) is no specific word


_A_UNIT = re.compile(r"[米克升吨亩元秒时分斤里度%％]$")
# units of measure (not counting words): a number in one of them measures what a 多大/多重/多少 asks
_UNITS_MEASURED = (
    "公斤|千克|克|吨|斤|公里|千米|厘米|毫米|米|英尺|英寸|平方|公顷|亩|升|元|美元|秒|分钟|小时|度|%|％|cm|km|kg|m"
)


_MEASURE_ASKED = re.compile(rf"(?:多少|(?<!哪)几)([{MEASURE_WORDS}])")
# 多高, 多长 … ask a measure, 多久 a length of time: a number in a unit of that kind answers them
# (多高兴, 多深刻 and 多重要 ask nothing measured)
_MEASURE_KIND = re.compile(r"多(?:么)?(长时间|久|[高长远宽深厚](?![兴级端效刻入])|重(?=[？?呢吗]|$))")
_TIME_UNITS = "年|个月|月|周|星期|天|日|小时|钟头|分钟|秒|世纪"
_ABSTRACT = re.compile(r"级别|等级|水平|地位|程度|规格|层次|评价|频率|比例|难度|要求|价值|效率")  # 级别有多高: no unit


def _measured(text: str, asked: str) -> bool:
    return _number_in(text, _TIME_UNITS if asked in ("久", "长时间") else _UNITS_MEASURED)


def _number_in(text: str, units: str) -> bool:
    """A number said in one of `units` (a regex alternation), past any 万/亿 or 余/多: 1600余条, 2万人."""
    return re.search(rf"\d\s*(?:[万亿千百]|余|多)*\s*(?:{units})", text) is not None


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
    return _heads_of(question.text, question.kind)  # once per question, not per candidate sentence


@lru_cache(maxsize=1024)
def _heads_of(text: str, kind: Kind) -> tuple[str, ...]:
    """The head words the asked slot stands next to: the end of the phrase before the question word
    (洛阳市委网信办主任|叫什么 → 主任, 洛阳市委书记|是谁 → 书记), or the thing named after it (什么名字的|大赛
    → 大赛); for 谁 only a closing "X是谁". Place names aside: they are constraints of their own."""
    before, after = _asked_parts(text, kind)
    heads: list[str] = []
    if kind is Kind.PERSON:
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


# --- what a rule can check of an answer (render: 高 needs it) ---------------------------------------

# Answers in free text — why, how, what X is, whether —: no rule checks what they say, only the model judges
# them, and on a domain it never saw it overrates them most (docs/trust.md, section 9).
FREE_FORM = (Kind.REASON, Kind.MANNER, Kind.DEFINITION, Kind.YES_NO)
# Words next to a question word that name the asked slot, not what is asked of the subject
_SLOT_WORDS = frozenset(
    ("时间", "时候", "日期", "年份", "年代", "时期", "地点", "地方", "位置", "地区", "地址", "所在地", "位于",
     "坐落", "地处", "哪一年", "哪里", "开始", "成为", "进行", "发生", "什么", "哪个", "国家", "城市", "主要",
     "哪些", "包括", "方面", "内容", "情况", "作用", "特点", "意思")
)  # fmt: skip


def checked(reading: Reading, i: int) -> bool:
    """Can a rule vouch for candidate `i` beyond the model: an answer that is not free text (FREE_FORM), in a
    sentence that says what the question asks of its subject (`relation_said`)."""
    question = reading.question
    if question.kind in FREE_FORM:
        return False
    passage = reading.hits[reading.candidates[i].hit_no].passage
    return relation_said(question, reading.sentence(i), f"{scope_text(passage)} {PurePath(passage.doc).stem}")


def relation_said(question: Question, sentence: str, topic: str) -> bool:
    """Is the question's relation — its content word next to the question word that is neither the subject
    nor the slot (入选 of 什么时候入选国家队, 兴建 of 兴建于哪一年) — said in `sentence`, itself, by a
    dictionary stand-in or (three characters or more) by two of its characters? True when the question has
    none. Words of the `topic` (headings, the document's name) are the subject: a document about 占旭刚
    names him in every sentence."""
    text = normalize(sentence)
    subject = normalize(topic)
    subject_words = [w for w in _content_of(subject) if len(w) >= 2]
    relation = [w for w in question.content if len(w) >= 2 and w not in _SLOT_WORDS and w not in question.key_terms
                and not re.search(r"[\d\W]", w) and not is_proper_name(w) and w not in subject
                and not any(t in w for t in subject_words)]  # fmt: skip
    before, after = _asked_parts(question.text, question.kind)
    head = next((w for w in relation if w in after), None) or next((w for w in reversed(relation) if w in before), None)
    if head is None:
        return True
    return _said(head, text, question) or len(head) >= 3 and _pair_in(head, text)


def _pair_in(word: str, text: str) -> bool:
    """Two characters of `word` in a row (all of it when shorter) said in `text`."""
    return any(word[i : i + 2] in text for i in range(max(1, len(word) - 1)))


@lru_cache(maxsize=4096)
def _content_of(text: str) -> tuple[str, ...]:
    return tuple(content_words(text))
