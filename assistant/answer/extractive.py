"""From retrieved passages to an answer: does the corpus answer at all, and with which sentence.

The extractive answerer, in two explainable steps:

1. Candidates: the sentences of the best `SOURCES_READ` passages, each scored as its
   cosine similarity to the question + `OVERLAP_WEIGHT` × the share of the question's
   content words (weighted by rarity) in the sentence and its section path +
   `PASSAGE_WEIGHT` × its passage's fused retrieval score. Headings are not answers. A
   question that asks for a quantity (多少, 几…, how many) or a date (哪天, 何时…)
   only takes sentences that hold a number or a date.
2. `judge`: the corpus answers only when (a) every name, place, number or acronym
   of the question occurs somewhere in the corpus, (b) a sentence of the right kind
   exists, and (c) the chosen sentence is close enough to the question: support =
   (cosine + coverage of the question by its passage) / 2 ≥ `MIN_SUPPORT`, and
   cosine ≥ `MIN_DENSE`. Thresholds and their meaning: README, "When it says not found".

`answer()` is the replaceable stage: an LLM answerer (assistant/answer/llm.py) starts from
its result and rewrites only the text, keeping the sources.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

from assistant.cache import cached_json
from assistant.schema import Answer, Hit, Source, Span
from assistant.words import normalize, words

__all__ = ["Candidate", "Verdict", "answer", "judge", "choose", "coverage", "asked_kind",
           "MIN_DENSE", "MIN_SUPPORT", "ANSWER_CHARS", "SOURCES_READ", "OVERLAP_WEIGHT"]  # fmt: skip

MIN_DENSE = 0.80  # cosine similarity of the chosen sentence to the question (e5: unrelated Chinese ≈ 0.75–0.8)
MIN_SUPPORT = 0.55  # (cosine + coverage) / 2
MIN_DENSE_ENGLISH = 0.85  # English questions: coverage means little across languages, so cosine alone decides
OVERLAP_WEIGHT = 0.5
PASSAGE_WEIGHT = 0.1  # × the passage's fused retrieval score: a sentence of the best passage is preferred
BRIDGE_CREDIT = 0.7  # a question word the corpus never uses, met through a dictionary stand-in, counts this much
ANSWER_CHARS = 150  # a longer sentence is cut to its best clauses
LIST_CHARS = 180  # a sentence announcing a list brings the following ones, up to this length in all
SOURCES_READ = 3
TAGS_VERSION = 1
_ENTITY_TAGS = ("ns", "nr", "nt", "nz")  # jieba dictionary tags: place, person, organisation, other proper name
_QUANTITY = re.compile(r"多少|(?<!哪)几[个家起次条人年月项名位种件天期批所]?|how many|how much|what number", re.I)
_DATE = re.compile(
    r"哪天|哪一天|哪年|哪一年|几月|什么时候|什么时间|何时|日期|when|what date|which year|what year", re.I
)
# A quantity: digits, or Chinese numerals with a measure word (六个方面, 两块牌子), not ordinals (第一, 一是).
_HAS_NUMBER = re.compile(
    r"\d|(?<!第)[一二三四五六七八九十两百千万]+\s*[余多]?\s*[个家起次条人年月项名位种件万亿批所天周岁块类级]"
)
_LIST = re.compile(r"哪些|哪几|包括|内容|what are|which", re.I)
_HAS_DATE = re.compile(r"\d+\s*[年月日]|[今去明]年|近年|[一二三四五六七八九十]+月")

Rarity = Callable[[str], float]


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage, scored against the question."""

    hit_no: int  # index into the hits
    start: int  # offsets into the passage text
    end: int
    cosine: float


@dataclass(frozen=True)
class Verdict:
    found: bool
    missing: tuple[str, ...]  # names, places, numbers of the question that the corpus never mentions
    reason: str  # why not found, for the user ("" when found)
    evidence: dict[str, float]


def asked_kind(question: str) -> str:
    """ "date", "quantity" or "" — what the answer must contain."""
    if _DATE.search(question):
        return "date"
    if _QUANTITY.search(question):
        return "quantity"
    return ""


def coverage(content: Sequence[str], bridges: dict[str, list[str]], text: str, rarity: Rarity) -> float:
    """Share of the question's content words (weighted by rarity) that `text` contains."""
    if not content:
        return 0.0
    t = normalize(text)
    text_words: set[str] | None = None

    def has(w: str) -> bool:
        nonlocal text_words
        if len(w) > 1:
            return w in t
        # Single characters must be words of the text: 办 (office) is not in 申办 (apply).
        if text_words is None:
            text_words = set(words(text))  # segmented only when needed: jieba is the slow part
        return w in text_words

    total = got = 0.0
    for w in content:
        weight = rarity(w)
        total += weight
        if has(w):
            got += weight
        elif any(has(b) for b in bridges.get(w, ())):
            got += BRIDGE_CREDIT * weight
    return got / total if total else 0.0


def choose(
    candidates: Sequence[Candidate],
    hits: Sequence[Hit],
    content: Sequence[str],
    bridges: dict[str, list[str]],
    rarity: Rarity,
    kind: str = "",
    focus: Sequence[str] = (),
) -> tuple[Candidate | None, float]:
    """The best candidate sentence of the right kind, and its score.

    `focus`: what a follow-up asks about (那县里呢？ → 县); only sentences that mention it qualify.
    """
    best, best_score = None, -math.inf
    for c in candidates:
        passage = hits[c.hit_no].passage
        text = passage.text[c.start : c.end]
        if _is_heading(text, passage.section) or (kind and not _fits(text, kind)):
            continue
        if focus and not any(f in normalize(text) for f in focus):
            continue  # a follow-up about something else is answered about that, or not at all
        # The section path is the sentence's context: under "(二) 省委…第三次会议精神", the sentence
        # "谢伏瞻书记主持会议并讲话" answers "第三次会议由谁主持".
        context = f"{passage.section_path}\n{text}"
        score = (
            c.cosine
            + OVERLAP_WEIGHT * coverage(content, bridges, context, rarity)
            + PASSAGE_WEIGHT * hits[c.hit_no].score
        )
        if score > best_score:
            best, best_score = c, score
    return best, best_score


def judge(
    best: Candidate | None,
    hits: Sequence[Hit],
    content: Sequence[str],
    bridges: dict[str, list[str]],
    corpus_text: str,
    rarity: Rarity,
    kind: str = "",
    english: bool = False,
) -> Verdict:
    missing = tuple(w for w in _entities(content, english) if w not in corpus_text)
    if missing:
        return Verdict(False, missing, "missing", {})
    if best is None:
        return Verdict(False, (), "no sentence of the right kind" if kind else "nothing retrieved", {})
    passage = hits[best.hit_no].passage
    cover = coverage(content, bridges, passage.indexed_text(), rarity)
    support = (best.cosine + cover) / 2
    evidence = {"dense": round(best.cosine, 4), "coverage": round(cover, 4), "support": round(support, 4)}
    # In English, coverage means little across languages: cosine alone decides.
    found = best.cosine >= MIN_DENSE_ENGLISH if english else best.cosine >= MIN_DENSE and support >= MIN_SUPPORT
    return Verdict(found, (), "" if found else "too far", evidence)


def answer(
    question: str,
    hits: Sequence[Hit],
    candidates: Sequence[Candidate],
    *,
    content: Sequence[str],
    bridges: dict[str, list[str]],
    corpus_text: str,
    rarity: Rarity,
    english: bool = False,
    asked: str | None = None,
    focus: Sequence[str] = (),
) -> Answer:
    """The extractive answer to `question` (already resolved from any follow-up) from `hits`."""
    kind = asked_kind(question)
    best, _ = choose(candidates, hits, content, bridges, rarity, kind, focus)
    verdict = judge(best, hits, content, bridges, corpus_text, rarity, kind, english)
    asked = question if asked is None else asked
    sources = [Source(rank=n + 1, hit=h) for n, h in enumerate(hits)]
    if not verdict.found or best is None:
        return Answer(asked, False, _not_found(verdict, kind), tuple(sources), question, verdict.missing,
                      evidence=verdict.evidence)  # fmt: skip
    passage = hits[best.hit_no].passage
    start, end = _best_clauses(passage.text, best.start, best.end, content, bridges, rarity)
    if _introduces_more(passage.text[start:end], question):
        end = _extend(passage.text, start, end, [c for c in candidates if c.hit_no == best.hit_no])
    sources[best.hit_no] = Source(rank=best.hit_no + 1, hit=hits[best.hit_no], used=(Span(start, end),))
    text = f"{passage.text[start:end].strip()}[{best.hit_no + 1}]"
    return Answer(asked, True, text, tuple(sources), question, evidence=verdict.evidence)


def _not_found(verdict: Verdict, kind: str) -> str:
    if verdict.missing:
        names = "、".join(f"“{w}”" for w in verdict.missing)
        return f"报告中没有找到这个问题的答案：报告没有提到{names}。"
    if verdict.reason == "no sentence of the right kind":
        what = "日期" if kind == "date" else "数字"
        return f"报告中没有找到这个问题的答案：相关段落里没有给出{what}。下面的段落相关，但不是答案。"
    return "报告中没有找到这个问题的答案。下面的段落与问题相关，但不是答案。"


def _introduces_more(sentence: str, question: str) -> bool:
    """A sentence that announces a list ("主要有以下几点："), or a short one answering a question asking for one."""
    s = sentence.strip()
    return s.endswith(("：", ":")) or (len(s) <= 40 and bool(_LIST.search(question)))


def _extend(text: str, start: int, end: int, sentences: Sequence[Candidate]) -> int:
    """Take the following sentences of the same paragraph too, while the answer stays under LIST_CHARS."""
    for c in sorted(sentences, key=lambda c: c.start):
        if c.start < end:
            continue
        if c.end - start > LIST_CHARS or "\n" in text[end : c.start]:
            break
        end = c.end
    return end


def _fits(text: str, kind: str) -> bool:
    return bool((_HAS_DATE if kind == "date" else _HAS_NUMBER).search(text))


def _is_heading(sentence: str, section: tuple[str, ...]) -> bool:
    s = normalize(sentence).rstrip("。：:")
    return any(s == normalize(h).rstrip("。：:") for h in section)


@cache
def _tags() -> dict[str, str]:
    """jieba's dictionary tags of proper names (ns/nr/nt/nz), cached: `jieba.posseg` re-reads its whole
    dictionary on import, a quarter of a cold start."""

    def proper_names() -> dict[str, str]:
        import jieba.posseg

        return {w: t for w, t in jieba.posseg.dt.word_tag_tab.items() if t.startswith(_ENTITY_TAGS)}

    return cached_json(f"jieba-proper-names-v{TAGS_VERSION}.json", proper_names)


def _entities(content: Sequence[str], english: bool) -> list[str]:
    """Names, places, organisations, numbers and acronyms of the question (by jieba's dictionary tags)."""
    tags = _tags()
    return [w for w in content if _is_entity(w, english, tags)]


def _is_entity(word: str, english: bool, tags: dict[str, str]) -> bool:
    if re.fullmatch(r"\d+(\.\d+)?", word) or re.fullmatch(r"[a-z]{2,5}", word) and word.upper() in _ACRONYMS:
        return True
    named = tags.get(word, "").startswith(_ENTITY_TAGS) or _is_place(word, tags)
    return not english and len(word) >= 2 and named and not _ADMINISTRATIVE.fullmatch(word)


# Acronyms a question may use for things a report might (not) mention; kept short and general.
_ACRONYMS = frozenset(["GDP", "CPI", "PPI", "GNP", "AI", "IT", "5G", "4G", "APP", "VR", "AR", "GPS", "PM", "IPO"])


# Words made only of administrative levels (县区, 各县市) name no particular place.
_ADMINISTRATIVE = re.compile(r"[各本全]?[省市县区乡镇村州]+")


def _is_place(word: str, tags: dict[str, str]) -> bool:
    # jieba tags some city names by another sense (开封 "to unseal"); their 市/县/省 forms are places.
    return any(tags.get(word + suffix, "").startswith("ns") for suffix in ("市", "县", "省", "区"))


def _best_clauses(
    text: str, start: int, end: int, content: Sequence[str], bridges: dict[str, list[str]], rarity: Rarity
) -> tuple[int, int]:
    """The sentence, or when it is too long, the window of clauses covering most of the question."""
    sentence = text[start:end]
    if len(sentence) <= ANSWER_CHARS:
        return start, end
    cuts = sorted({0, len(sentence), *(m.end() for m in re.finditer(r"[，,；;：:]", sentence))})
    best, best_score = (0, ANSWER_CHARS), -math.inf
    for i in range(len(cuts) - 1):
        for j in range(i + 1, len(cuts)):
            if cuts[j] - cuts[i] > ANSWER_CHARS:
                break
            score = coverage(content, bridges, sentence[cuts[i] : cuts[j]], rarity) - 0.001 * (cuts[j] - cuts[i])
            if score > best_score:
                best, best_score = (cuts[i], cuts[j]), score
    return start + best[0], start + best[1]
