"""From retrieved passages to an answer: does the corpus answer at all, and with which sentences.

Two steps, both explainable:

1. `judge`: the corpus answers a question only when (a) every name, place,
   organisation, number or foreign word in the question occurs somewhere in the
   corpus, and (b) the best passage is close enough to the question, by dense
   similarity and by how much of the question's content words it covers.
   Thresholds and their meaning are in the README ("When it says not found").
2. `extract`: the answer is the sentence (or the few clauses of it) within the
   best passages that scores highest on sentence-level similarity to the
   question plus weighted word overlap, cited as [n] to its numbered source.

`answer()` is the replaceable stage: an LLM answerer (assistant/llm.py) starts
from its result and rewrites only the text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from assistant.chunking import split_sentences
from assistant.schema import Answer, Hit, Source, Span
from assistant.words import content_words, normalize, words

__all__ = ["Verdict", "judge", "extract", "answer", "MIN_DENSE", "MIN_SUPPORT", "ANSWER_CHARS"]

# A question is answered only when the best passage's cosine similarity reaches MIN_DENSE
# and its support (below) reaches MIN_SUPPORT; calibrated on the development questions.
MIN_DENSE = 0.80
MIN_SUPPORT = 0.45
# Support = 0.5 × dense similarity + 0.5 × the share of the question's content words (weighted by
# rarity) found in the passage; both sides are needed: paraphrases score on the first, names on the second.
ANSWER_CHARS = 150  # longest answer before it is cut to its best clauses
_SOURCES_READ = 3  # sentences are taken from the best three passages
_ENTITY_TAGS = ("ns", "nr", "nt", "nz", "eng", "m")  # jieba tags: place, person, organisation, other name, foreign, number

Encode = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class Verdict:
    found: bool
    missing: tuple[str, ...]  # names/numbers of the question that the corpus never mentions
    evidence: dict[str, float]  # dense, coverage, support of the best passage


def judge(question: str, hits: Sequence[Hit], corpus_text: str, rarity: Callable[[str], float]) -> Verdict:
    """Does the corpus answer `question`? `corpus_text` is the normalised text of every passage."""
    missing = tuple(w for w in _entities(question) if w not in corpus_text)
    if not hits:
        return Verdict(False, missing, {"dense": 0.0, "coverage": 0.0, "support": 0.0})
    best = max(hits, key=lambda h: _support(question, h, rarity))
    dense = best.dense or 0.0
    coverage = _coverage(question, best.passage.indexed_text(), rarity)
    support = 0.5 * dense + 0.5 * coverage
    evidence = {"dense": round(dense, 4), "coverage": round(coverage, 4), "support": round(support, 4)}
    found = not missing and dense >= MIN_DENSE and support >= MIN_SUPPORT
    return Verdict(found, missing, evidence)


def _support(question: str, hit: Hit, rarity: Callable[[str], float]) -> float:
    return 0.5 * (hit.dense or 0.0) + 0.5 * _coverage(question, hit.passage.indexed_text(), rarity)


def _coverage(question: str, text: str, rarity: Callable[[str], float]) -> float:
    """Share of the question's content words (weighted by rarity) that occur in `text`."""
    q = content_words(question)
    if not q:
        return 0.0
    t = normalize(text)
    total = sum(rarity(w) for w in q)
    return sum(rarity(w) for w in q if w in t) / total if total else 0.0


@cache
def _tags() -> dict[str, str]:
    import jieba.posseg

    return jieba.posseg.dt.word_tag_tab


def _entities(question: str) -> list[str]:
    """Names, places, organisations, numbers and foreign words in the question (as jieba's dictionary tags them)."""
    tags = _tags()
    found = []
    for w in content_words(question):
        tag = tags.get(w, "")
        if re.fullmatch(r"[a-z][a-z0-9\-]*|\d+(\.\d+)?", w):
            if not _is_common_english(w):
                found.append(w)
        elif tag.startswith(_ENTITY_TAGS) and len(w) >= 2:
            found.append(w)
    return found


def _is_common_english(word: str) -> bool:
    # An English question is about the report in other words: only acronyms and numbers must match.
    return word.isalpha() and len(word) > 4 or word.isalpha() and not word.isupper() and len(word) > 3


# --- extraction ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sentence:
    hit_no: int  # index into hits
    start: int  # offsets into the passage text
    end: int
    text: str


def extract(
    question: str, hits: Sequence[Hit], query_vector: np.ndarray, encode: Encode, rarity: Callable[[str], float]
) -> tuple[str, tuple[Source, ...]]:
    """The answer text with [n] markers, and the numbered sources with the sentences used."""
    sentences = [
        _Sentence(n, s, e, hit.passage.text[s:e])
        for n, hit in enumerate(hits[:_SOURCES_READ])
        for s, e in split_sentences(hit.passage.text)
    ]
    sources = [Source(rank=n + 1, hit=hit) for n, hit in enumerate(hits)]
    if not sentences:
        return "", tuple(sources)
    vectors = encode([s.text for s in sentences])
    scores = [
        float(vectors[i] @ query_vector) + 0.5 * _coverage(question, s.text, rarity) + 0.03 * (s.hit_no == 0)
        for i, s in enumerate(sentences)
    ]
    best = sentences[int(np.argmax(scores))]
    start, end = _best_clauses(question, best, rarity)
    text = hits[best.hit_no].passage.text[start:end].strip()
    sources[best.hit_no] = Source(rank=best.hit_no + 1, hit=hits[best.hit_no], used=(Span(start, end),))
    return f"{text}[{best.hit_no + 1}]", tuple(sources)


def _best_clauses(question: str, sentence: _Sentence, rarity: Callable[[str], float]) -> tuple[int, int]:
    """The sentence itself, or when it is too long, the window of clauses that covers most of the question."""
    if len(sentence.text) <= ANSWER_CHARS:
        return sentence.start, sentence.end
    cuts = [0] + [m.end() for m in re.finditer(r"[，,；;：:]", sentence.text)] + [len(sentence.text)]
    cuts = sorted(set(cuts))
    best, best_score = (0, len(sentence.text)), -math.inf
    for i in range(len(cuts) - 1):
        for j in range(i + 1, len(cuts)):
            if cuts[j] - cuts[i] > ANSWER_CHARS:
                break
            piece = sentence.text[cuts[i] : cuts[j]]
            score = _coverage(question, piece, rarity) - 0.001 * len(piece)
            if score > best_score:
                best, best_score = (cuts[i], cuts[j]), score
    if best == (0, len(sentence.text)):
        best = (0, ANSWER_CHARS)
    return sentence.start + best[0], sentence.start + best[1]


# --- the stage ----------------------------------------------------------------------------------


def answer(
    question: str,
    hits: Sequence[Hit],
    *,
    query_vector: np.ndarray,
    encode: Encode,
    corpus_text: str,
    rarity: Callable[[str], float],
    asked: str | None = None,
) -> Answer:
    """The extractive answer to `question` (already resolved from any follow-up) from `hits`."""
    verdict = judge(question, hits, corpus_text, rarity)
    asked = question if asked is None else asked
    if not verdict.found:
        return Answer(
            question=asked,
            found=False,
            text=_not_found(verdict),
            sources=tuple(Source(rank=n + 1, hit=h) for n, h in enumerate(hits)),
            resolved_question=question,
            missing=verdict.missing,
            evidence=verdict.evidence,
        )
    text, sources = extract(question, hits, query_vector, encode, rarity)
    return Answer(asked, True, text, sources, question, evidence=verdict.evidence)


def _not_found(verdict: Verdict) -> str:
    if verdict.missing:
        names = "、".join(f"“{w}”" for w in verdict.missing)
        return f"报告中没有找到这个问题的答案：报告没有提到{names}。"
    return "报告中没有找到这个问题的答案。下面列出的段落与问题相关，但不是答案。"


def word_overlap(question: str, text: str) -> list[str]:
    """Question words that also occur in `text` (for showing why a sentence was chosen)."""
    t = set(words(text))
    return [w for w in dict.fromkeys(words(question)) if w in t]
