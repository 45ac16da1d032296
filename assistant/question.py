"""Question analysis: what is asked, about what, in which language — one `Question` for every later stage.

`analyse()` reads a question without looking at any corpus:

- its **kind** (`Kind`): the kind of thing a right answer contains — a person's name for 谁, a
  number for 多少, a date for 何时, a reason for 为什么 …;
- for a quantity, the **counted noun** (`多少网民` counts 网民; `人数约是多少` counts 人数), since a
  number answers only when it counts that;
- its **key terms**: 《titles》, quoted names, proper names (jieba's dictionary tags), Latin words,
  numbers — what the answer must be about;
- its **phrases**: the runs of content words between function and question words
  (`长柄艾纳香的下部叶有什么特点` → 长柄艾纳香, 下部叶, 特点), compared with candidate text
  character by character so that segmentation cannot hide a mismatch;
- its words for retrieval (jieba search mode) and its language.

Retrieval adds what needs the index and the model (`retrieve.prepare`: dictionary bridges and
the question's vector); both answerers take the same value.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from typing import Literal

import numpy as np

from assistant.cache import cached_json
from assistant.schema import Shape
from assistant.text.numbers import chinese_number
from assistant.text.words import content_words, is_stopword, normalize, words

__all__ = [
    "Kind",
    "Constraint",
    "Question",
    "analyse",
    "constraints",
    "covered_characters",
    "proper_names",
    "is_english",
    "phrase_coverage",
    "QUESTION_WORDS",
    "KIND_RULES",
    "MEASURE_WORDS",
    "ORG_NOUNS",
    "phrases_of",
    "specific_phrases",
    "shape",
    "asks_count",
]


class Kind(str, Enum):
    """What a right answer contains."""

    PERSON = "person"
    PLACE = "place"
    ORGANISATION = "organisation"
    TIME = "time"
    QUANTITY = "quantity"
    REASON = "reason"
    MANNER = "manner"
    LIST = "list"
    NAME = "name"  # 叫什么 / 又称 / 简称: a name of something
    DEFINITION = "definition"
    YES_NO = "yes_no"
    OTHER = "other"  # 什么颜色, 有什么特点: an attribute, said in words


ConstraintKind = Literal["time", "number", "entity", "level", "ordinal", "qualifier"]


@dataclass(frozen=True)
class Constraint:
    """Something the question states that a right answer must agree with: 2016年, 30%, 市委, 县级, 第三次, 全国."""

    kind: ConstraintKind
    text: str  # as the question states it, normalised: Chinese numerals as digits (第二批 → 第2批, 二〇一六年 → 2016年)


@dataclass(frozen=True)
class Question:
    text: str  # as it is answered (a follow-up already resolved)
    kind: Kind
    counted: str  # the noun a quantity counts ("" when none is named)
    key_terms: tuple[str, ...]  # 《titles》, quoted names, proper names, Latin words, numbers
    phrases: tuple[str, ...]  # runs of content words, normalised
    specific: tuple[str, ...]  # the phrases holding a rare word (by jieba's dictionary): what must be found
    words: tuple[str, ...]  # jieba search-mode words, stop words removed (BM25)
    content: tuple[str, ...]  # distinct content words, longest segmentation
    english: bool
    shape: Shape = "fact"  # what the answer must look like (list, outline, summary, …)
    constraints: tuple[Constraint, ...] = ()  # what the answer must agree with
    bridges: dict[str, list[str]] = field(default_factory=dict)  # set by retrieve.prepare
    vector: np.ndarray | None = field(default=None, repr=False, compare=False)  # set by retrieve.prepare


def is_english(text: str) -> bool:
    return re.search(r"[\u4e00-\u9fff]", text) is None


# --- kinds ---------------------------------------------------------------------------------------

MEASURE_WORDS = "个家起次条人年月项名位种件天期批所座本部篇首场届只匹头张岁块类级栋层辆艘门份间处支队"
_MEASURE = MEASURE_WORDS
_PLACE_NOUN = "国家|国|城市|城|省|市|县|区|地区|地方|州|洲|岛|村|镇|乡|山|河|湖|海|街|路|港|站"
ORG_NOUNS = (
    "单位|部门|机构|公司|企业|网站|组织|学校|大学|学院|中学|政党|党|球队|队|俱乐部|媒体|报纸|报社|电视台|"
    "出版社|银行|医院|乐队|品牌|集团|协会|委员会|政府|机关|军队|部队|厂"
)
# 为什么 asks why, unless its 为 ends a verb: 被评为|什么 and 称为|什么 ask what it was named
_WHY = r"(?<![评称作成改选视认列定名分译誉封立升命拜])为什么"
KIND_RULES: tuple[tuple[Kind, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, re.I))
    for kind, pattern in (
        (Kind.REASON, rf"{_WHY}|为何|何故|原因|缘故|怎么会|\bwhy\b"),
        (
            Kind.TIME,
            r"何时|什么时候|什么时间|哪一?年|哪一?天|哪个月|(?<!哪)几月|几号|(?<!哪)几点钟?|哪个朝代|哪个年代|日期|年份|"
            r"\bwhen\b|what (?:date|year|time)|which (?:year|day|month)",
        ),  # fmt: skip
        (
            Kind.QUANTITY,
            rf"多少|(?<!哪)几[{_MEASURE}]?(?![乎])|多[大长高重远久宽深厚]|比例|百分之几|"
            r"how (?:many|much|long|old|far|big|high|large)|what (?:number|percentage|share)",
        ),  # fmt: skip
        (Kind.PERSON, r"谁|哪位|哪一位|何人|什么人(?!员)|哪个人|\bwho(?:m|se)?\b"),
        (Kind.LIST, r"哪些|哪几|包括什么|包括哪|有什么不同|\bwhat are\b|\bwhich\b"),
        (Kind.PLACE, rf"哪里|哪儿|在哪(?![些几])|何处|何地|什么地方|哪[个一座]?(?:{_PLACE_NOUN})|\bwhere\b"),
        (Kind.ORGANISATION, rf"哪家|哪[个一所]?(?:{ORG_NOUNS})|什么(?:{ORG_NOUNS})|which (?:company|organi[sz]ation)"),
        (Kind.DEFINITION, r"是什么意思|指的是什么|是指什么|什么叫|含义|定义"),  # before NAME: 名称…是什么意思
        (
            Kind.NAME,
            r"叫什么|叫做什么|名字|名称|称为什么|称作什么|又称|别名|别称|简称|全称|艺名|笔名|原名|"
            r"前称|旧称|外号|绰号|称号|是什么名|\bcalled\b|\bname\b",
        ),  # fmt: skip
        (Kind.MANNER, r"怎么(?!样)|怎样|如何|什么方式|什么方法|\bhow\b"),
        (Kind.DEFINITION, r"^什么是|^what(?: is|'s)\b(?!.*\bof\b)"),
        (
            Kind.YES_NO,
            r"是否|是不是|有没有|能不能|可不可以|会不会|吗[？?]?\s*$|"
            r"^(?:is|are|does|do|did|was|were|can|has|have)\b",
        ),  # fmt: skip
    )
)
_DEFINITION_TAIL = re.compile(r"^(?P<subject>[^，,。？?]{1,20}?)(?:是什么|是啥)[？?]?$")


def _kind(text: str) -> Kind:
    for kind, pattern in KIND_RULES:
        if pattern.search(text):
            return kind
    # "X是什么？" with nothing else asked: what X is. "X的颜色是什么？" asks an attribute (OTHER).
    if (m := _DEFINITION_TAIL.match(text.strip())) and "的" not in m["subject"]:
        return Kind.DEFINITION
    return Kind.OTHER


_AFTER_QUANTITY = re.compile(rf"(?:多少|(?<!哪)几)[{_MEASURE}]?(?P<rest>[^，,。？?！!]*)")
_BEFORE_QUANTITY = re.compile(
    rf"(?P<before>[^，,。？?！!]*?)(?:约|大约|一共|共|总共|总计|合计)?(?:是|有|为|达|在)?(?:多少|(?<!哪)几[{_MEASURE}]?$)"
)


def _counted(text: str) -> str:
    """The noun a quantity question counts: the phrase after 多少/几个 (its head, after the last 的),
    else the last content word before `是多少` or a closing `是几年` (有效期是几年 counts 有效期)."""
    m = _AFTER_QUANTITY.search(text)
    if m:
        rest = m["rest"].rsplit("的", 1)[-1]
        after = phrases_of(rest)
        if after:
            return after[0][:6]  # the head of 企业获评2015年河南省…: what is near the number
    m = _BEFORE_QUANTITY.search(text)
    if m:
        before = [w for w in content_words(m["before"]) if not re.fullmatch(r"[\d.]+", w)]
        if before:
            return before[-1]
    return ""


# --- shapes --------------------------------------------------------------------------------------

# What the answer must look like (schema.Shape), tried in this order: the document's parts and what it
# says as a whole are asked in words of their own; a reason or a comparison before a list (为什么有这些
# 不足 asks a reason); measures (采取了哪些措施) before the plain list.
_SHAPE_RULES: tuple[tuple[Shape, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.I))
    for name, pattern in (
        (
            "outline",
            r"(?:分|分成|分为|包括|包含|由)(?:哪)?几(?:个|大)?部分|哪几(?:个|大)?部分|几大块|(?:结构|框架|提纲|目录)(?:是|怎样|如何|什么)|"
            r"(?:哪些|哪几个?)(?:部分|板块|章节)组成",
        ),
        (
            "summary",
            r"主要(?:讲|说|写|谈|介绍|汇报|报告|涉及)(?:了|的)?(?:什么|哪些|些什么|啥)|主要内容|(?:概括|概述|总结|归纳)一下|"
            r"(?:讲|说|写)的是什么|大意|要点是什么|核心内容|\bsummar",
        ),
        (
            "comparison",
            r"(?:和|与|跟|同|比).{1,30}?(?:有)?(?:什么|哪些|何)?(?:不同|区别|差别|差异|异同)|相比.{0,20}(?:如何|怎样|哪个)",
        ),
        ("reason", rf"{_WHY}|为何|何故|原因|缘故|怎么会|\bwhy\b"),
        (
            "manner",
            r"(?:采取|采用|推出|实施|落实)了?(?:哪些|什么|哪几项?)(?:措施|举措|办法|做法)|(?:有|用)?(?:哪些|什么)(?:措施|举措|办法|做法)|"
            r"怎么(?!样|会)|怎样(?!的)|如何(?!评价)",
        ),
        (
            "list",
            r"哪些|哪几|几(?:个|大)?方面|几点|几项|几条|几类|几种|几个(?:问题|要求|任务|措施)|包括什么|包括哪|"
            r"有什么(?:要求|措施|举措|做法|不足|问题|成绩|成效|任务|工作|建议|困难)|列举|\bwhat are\b",
        ),
    )
)
# A count asked with a list's noun (几个方面, 几点, 几项): the answer says the number and gives the items.
_COUNTED_LIST = re.compile(
    r"几(?:个|大)?(?:方面|部分|点|项|条|类|种|个问题|个要求|个任务|个措施)|多少(?:个方面|项|条|点)"
)


def shape(text: str) -> Shape:
    """What the answer to `text` must look like: one fact, or a list, the outline, a summary, a reason,
    a manner (measures), a comparison (see `_SHAPE_RULES`)."""
    for name, pattern in _SHAPE_RULES:
        if pattern.search(text):
            return name
    return "fact"


def asks_count(text: str) -> bool:
    """Does the question ask how many items there are (几个方面, 几点)? Then the answer says the number too."""
    return _COUNTED_LIST.search(text) is not None


# --- key terms and phrases -----------------------------------------------------------------------

TAGS_VERSION = 1
_ENTITY_TAGS = ("ns", "nr", "nt", "nz")  # jieba dictionary tags: place, person, organisation, other proper name
_QUOTED = re.compile(r"《([^》]{1,40})》|“([^”]{1,40})”|「([^」]{1,40})」|『([^』]{1,40})』|\"([^\"]{1,40})\"")
_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9.+\-]*[A-Za-z0-9+]|[A-Za-z]")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
# Words made only of administrative levels (县区, 各县市) name no particular place.
_ADMINISTRATIVE = re.compile(r"[各本全]?[省市县区乡镇村州]+")
# Question and function words that end a phrase (besides stop words): 有 in 叶有 is not content.
QUESTION_WORDS = re.compile(
    rf"什么|哪一?[里儿些个位家天年种]?|谁|第?(?:多少|几)[{_MEASURE}]?|怎么样?|怎样|如何|为什么|为何|何[时地处人]?|吗|呢|"
    r"是否|是不是|有没有"
)
# Function characters that end a phrase besides the stop words: 下部叶|有, 人数|约, 主任|叫.
_EDGE = frozenset("有约叫各每那这该其")


@cache
def proper_names() -> dict[str, str]:
    """jieba's dictionary tags of proper names (ns/nr/nt/nz), cached: `jieba.posseg` re-reads its whole
    dictionary on import, a quarter of a cold start."""

    def compute() -> dict[str, str]:
        import jieba.posseg

        return {w: t for w, t in jieba.posseg.dt.word_tag_tab.items() if t.startswith(_ENTITY_TAGS)}

    return cached_json(f"jieba-proper-names-v{TAGS_VERSION}.json", compute)


def is_proper_name(word: str, tags: tuple[str, ...] = _ENTITY_TAGS) -> bool:
    """A name of one of jieba's `tags` classes (by default any: person, place, organisation, other).

    开封 is tagged by another sense (to unseal): a word whose 市/县/省/区 form is a place is a place.
    """
    if len(word) < 2 or _ADMINISTRATIVE.fullmatch(word):
        return False
    known = proper_names()
    return known.get(word, "").startswith(tags) or (
        "ns" in tags and any(known.get(word + suffix, "").startswith("ns") for suffix in ("市", "县", "省", "区"))
    )


def _key_terms(text: str, content: list[str]) -> tuple[str, ...]:
    terms: list[str] = []
    for m in _QUOTED.finditer(text):
        terms.append(normalize(next(g for g in m.groups() if g)))
    terms += [normalize(w) for w in _LATIN.findall(text) if not is_stopword(w.lower())] if not is_english(text) else []
    terms += _NUMBER.findall(normalize(text))
    terms += [w for w in content if is_proper_name(w)]
    return tuple(t for t in dict.fromkeys(terms) if t.strip())


def phrases_of(text: str) -> tuple[str, ...]:
    """Runs of content words: split at punctuation, question words and stop words (jieba's accurate mode)."""
    from assistant.text.words import _jieba  # the shared, initialised segmenter

    runs: list[str] = []
    for piece in QUESTION_WORDS.split(normalize(text)):
        current = ""
        # Without HMM, words jieba does not know fall apart into characters, which the run joins again;
        # with it, jieba glues function characters to names (叶有, 人数约).
        for word in _jieba().cut(piece, HMM=False):
            if is_stopword(word) or not word.strip() or word in _EDGE:
                runs.append(current)
                current = ""
            else:
                current += word
        runs.append(current)
    # One character can be a whole phrase: 县 in 各县（市、区）.
    return tuple(dict.fromkeys(run for run in runs if run and not re.fullmatch(r"[\W\d_]+", run)))


# log(total / frequency) in jieba's dictionary: 特点 8.8, 名字 9.3 are generic; 职务 9.6, 有效期 12.9 are not.
SPECIFIC = 9.5


def specific_phrases(phrases: tuple[str, ...]) -> tuple[str, ...]:
    """Phrases with a word rarer than SPECIFIC in general Chinese (unknown words are rare): a question's
    `有效期` must be found in its answer, its `特点` need not be."""
    from assistant.text.words import _jieba

    dictionary = _jieba().dt
    total = dictionary.total

    def rare(word: str) -> bool:
        frequency = dictionary.FREQ.get(word, 0)
        return frequency == 0 or math.log(total / frequency) >= SPECIFIC

    return tuple(p for p in phrases if any(rare(w) for w in dictionary.cut(p, HMM=False)))


def covered_characters(phrase: str, text: str, shortest: int = 2) -> list[bool]:
    """Which characters of `phrase` lie in a run of at least `shortest` of its characters that `text` holds too.

    Character runs, not words: `长柄艾纳香` is not covered by a text about 狭叶艾纳香 (艾纳香 is,
    长柄 is not), whatever jieba makes of either. A phrase shorter than `shortest` is found whole or not.
    """
    n = len(phrase)
    if n < shortest:
        return [phrase in text] * n
    covered = [False] * n
    for i in range(n - shortest + 1):
        length = 0
        while i + length < n and phrase[i : i + length + 1] in text:
            length += 1
        if length >= shortest:
            covered[i : i + length] = [True] * length
    return covered


def phrase_coverage(phrase: str, text: str, shortest: int = 2) -> float:
    """Share of the phrase's characters that `covered_characters` finds in `text`."""
    covered = covered_characters(phrase, text, shortest)
    return sum(covered) / len(covered) if covered else 0.0


# --- constraints ---------------------------------------------------------------------------------

# Only what a question states explicitly and a sentence can be checked against by rule: a year, a
# month/day, a number with its unit, an ordinal with its measure word, a level of government or of a
# body (省委 vs 市委), a contrastive qualifier (女单/男单, 上半年/全年), a proper name. Chinese numerals
# are read as digits (二〇一六年 = 2016年, 第三次 = 第3次) both here and in `answer/constraints.py`.
_CN_DIGIT = "〇零一二两三四五六七八九"
_CN_NUMERAL = f"[{_CN_DIGIT}十百千]+"
_YEAR = re.compile(r"(?<![\d.])(1[5-9]\d\d|20\d\d)(?:年(?!代)|(?=[-/.]\d{1,2}[-/.]\d))")
_MONTH_DAY = re.compile(r"(?<![\d.])(1[0-2]|0?[1-9])月(?:(3[01]|[12]\d|0?[1-9])[日号])?")
_ORDINAL_C = re.compile(rf"第(\d+|{_CN_NUMERAL})([批届次期轮号个项条款章节位名季部张首本场任代集])")
# A number that counts or measures something (a year and an ordinal are other constraints).
UNITS = (
    "%％万亿千百个家起次条人年月日项名位种件天期批所座本部篇首场届只匹头张岁块类级栋层辆艘门份间处支队元米公里吨亩户台"
)
_NUMBER_C = re.compile(rf"(?<![\d.第])(\d+(?:\.\d+)?)\s*([{UNITS}])")
# A level: of government (省/市/县/区 + a body or 级) or of reach (全国/全省/全市, 中央, 国家级).
LEVEL_PREFIXES = ("中央", "国家", "省", "市", "县", "区", "乡", "镇", "村")
LEVEL_BODIES = ("委", "政府", "级", "网信办", "人大", "政协", "纪委", "领导小组", "委员会", "党委", "财政", "公安")
_LEVEL_C = re.compile(
    r"(?:全(?:国|省|市|县|区)|中央|国家级|国务院)|(?<![城都])(?:省|市|县|区)委?(?:"
    + "|".join(sorted(LEVEL_BODIES, key=len, reverse=True))
    + ")"
)
# Qualifiers that exclude each other: a sentence stating another member of the group does not answer.
QUALIFIER_GROUPS: tuple[tuple[str, ...], ...] = (
    ("上半年", "下半年", "全年", "首日", "第一季度", "第二季度", "第三季度", "第四季度",
     "一季度", "二季度", "三季度", "四季度"),
    ("男子", "女子"),
    ("男单", "女单", "男双", "女双", "混双"),
    ("最高", "最低"),
    ("最大", "最小"),
    ("最早", "最晚", "最后"),
    ("首次", "第二次", "最后一次"),
    ("同比", "环比"),
    ("增长", "下降", "减少"),
    ("城镇", "农村"),
    ("微博", "微信"),  # the platform: a figure of the WeChat account does not answer one of the Weibo account
    ("腾讯", "新浪", "百度", "网易", "搜狐", "人民网", "新华网"),  # whose platform: 腾讯官方微博 is not 百度's
)  # fmt: skip


_CN_RUN = re.compile(rf"(第)?([〇零一二两三四五六七八九十百千]+)(?=[{UNITS}])|(第)([〇零一二两三四五六七八九十百千]+)")


def chinese_digits(text: str) -> str:
    """`text` with Chinese numerals as digits where they are numbers (二〇一六年 → 2016年, 二十三岁 → 23岁,
    第三次 → 第3次); other text unchanged. A numeral is read before a measure word or after 第; a lone
    一 before one is not (一是, 一个方面 stay words)."""

    def repl(m: re.Match[str]) -> str:
        ordinal, run = (m[1], m[2]) if m[2] else (m[3], m[4])
        if not ordinal and run in ("一", "两"):
            return m[0]
        return (ordinal or "") + str(chinese_number(run))

    return _CN_RUN.sub(repl, text)


def constraints(text: str) -> tuple[Constraint, ...]:
    """What `text` (a question) states that a right answer must agree with, in the order found.

    A year (`2016年`), a month/day, a number with its unit (`6家`, `30%`), an ordinal (`第二批`), a level
    (`省委`, `全国`), a contrastive qualifier (`女单`, `上半年`) and the proper names of places,
    organisations and people (`河南省`). Nothing is inferred: 今年 or 去年 name no year here.
    """
    clean = chinese_digits(normalize(" ".join(text.split())))
    found: list[Constraint] = []
    for m in _YEAR.finditer(clean):
        found.append(Constraint("time", m[1] + "年"))
    for m in _MONTH_DAY.finditer(clean):
        found.append(Constraint("time", m[0]))
    for m in _ORDINAL_C.finditer(clean):
        found.append(Constraint("ordinal", m[0]))
    # A number inside a year, a date or an ordinal is not a number of its own.
    taken = {i for p in (_YEAR, _MONTH_DAY, _ORDINAL_C) for m in p.finditer(clean) for i in range(*m.span())}
    for m in _NUMBER_C.finditer(clean):
        if m.start(1) not in taken:
            found.append(Constraint("number", m[1] + m[2]))
    for m in _LEVEL_C.finditer(clean):
        found.append(Constraint("level", m[0]))
    for group in QUALIFIER_GROUPS:
        for q in group:
            if q in clean and not any(q != other and q in other and other in clean for other in group):
                found.append(Constraint("qualifier", q))
    if not is_english(clean):
        for word in content_words(clean):
            # Places and organisations (jieba tags many common nouns as person names: 黑客 nr).
            if is_proper_name(word, ("ns", "nt")):
                found.append(Constraint("entity", word))
        for m in _QUOTED.finditer(clean):
            found.append(Constraint("entity", next(g for g in m.groups() if g)))
    return tuple(dict.fromkeys(found))


def analyse(text: str) -> Question:
    """What `text` asks (no corpus needed)."""
    clean = " ".join(text.split())
    content = content_words(clean)
    english = is_english(clean)
    # A follow-up read with the question before it ("…有多少件舆情？其中有哪些重大舆情事件？") asks its last part.
    asked = re.split(r"(?<=[？?])", clean.rstrip("？? "))[-1] or clean
    kind = _kind(asked)
    phrases = () if english else phrases_of(clean)
    return Question(
        text=clean,
        kind=kind,
        counted=_counted(asked) if kind is Kind.QUANTITY and not english else "",
        key_terms=_key_terms(clean, content),
        phrases=phrases,
        specific=specific_phrases(phrases),
        words=tuple(words(clean)),
        content=tuple(content),
        english=english,
        shape=shape(asked),
        constraints=constraints(clean),
    )
