"""The extractive answerer: the sentence of the report that answers, or an honest "not found".

From a `Reading` (the question, the passages read and the evidence on each of their sentences,
see `evidence.py`), in four explainable steps:

1. **Choose.** The learned ranker (`model.ranker()`) scores every sentence; the best one that
   can answer is the answer candidate: it holds the asked kind when that can be checked (a
   quantity question needs a number, a time question a time), and its document is not named
   after another thing of the kind the question names (狭叶艾纳香 for a question about
   长柄艾纳香). The sources are reordered by their best sentence's score, so the cited passage
   comes first.
2. **Check.** A name, place, organisation, 《title》, number or acronym of the question that the
   corpus never mentions means the corpus cannot answer (郑州, GDP). Otherwise the
   answerability model (`model.answerability()`) turns the evidence on the chosen sentence and
   its rivals into the probability that it answers — `confidence` — and the answer is given only
   from the threshold chosen on data kept out of training.
3. **Cut.** A sentence over `ANSWER_CHARS` is cut to the clauses that cover the question best.
4. **Complete.** A sentence announcing a list (`…以下几点：`), or answering a question that
   asks for a list with a short sentence or the first item (`…：一是…`), brings the following
   sentences of its paragraph up to `LIST_CHARS`; an answer to a question asked in words (why,
   how, what is it like) brings them up to `MORE_CHARS`.

`answer()` is the replaceable stage: the LLM answerer (`assistant/answer/llm.py`) starts from its
result and rewrites only the text, keeping the sources.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Literal, Protocol

import numpy as np

from assistant.answer import model, verifier
from assistant.answer.constraints import scope_of, unmet
from assistant.answer.evidence import VERIFIER_FEATURE, Reading, answer_features, coverage, holds_kind
from assistant.answer.slot import checked, slot_filled
from assistant.question import Kind, Question, is_proper_name
from assistant.schema import Answer, Source, Span

__all__ = [
    "ANSWER_CHARS", "LIST_CHARS", "MORE_CHARS", "SOURCES_READ", "Choice", "LowConfidence",
    "answer", "can_answer", "choose",
    "missing_terms", "not_found_text", "pick", "quote",
]  # fmt: skip

ANSWER_CHARS = 150  # a longer sentence is cut to its best clauses
LIST_CHARS = 180  # a sentence announcing a list brings the following ones, up to this length in all
MORE_CHARS = 100  # an answer in words (why, how, what is it like) brings the next sentences up to this
SOURCES_READ = 5  # passages whose sentences are read (and ranked) for the answer
STRICT = (Kind.QUANTITY, Kind.TIME)  # kinds a sentence must hold to be chosen (see can_answer)
_WORDY = (Kind.REASON, Kind.MANNER, Kind.LIST, Kind.DEFINITION, Kind.OTHER)
_LIST = re.compile(r"哪些|哪几|包括|内容|what are|which", re.I)
_FIRST_ITEM = re.compile(r"[：:]\s*(?:一是|第一|首先|[（(]一[）)]|1[.、．])")  # a list that starts inside the sentence
# Acronyms a question may use for things a report might (not) mention; kept short and general.
_ACRONYMS = frozenset(["GDP", "CPI", "PPI", "GNP", "AI", "IT", "5G", "4G", "APP", "VR", "AR", "GPS", "PM", "IPO"])


class Choice:
    """The chosen sentence of a reading, with the scores behind it."""

    def __init__(self, reading: Reading, scores: np.ndarray, best: int | None) -> None:
        self.reading = reading
        self.scores = scores  # the ranker's score of every candidate
        self.best = best  # index of the chosen candidate, None when no sentence can answer
        self.confidence = 0.0
        self.verified: float | None = None  # the answer verifier's probability, when the model reads it
        if best is not None:
            trees = model.answerability()
            if VERIFIER_FEATURE in trees.features:
                self.verified = verifier.for_candidate(reading, best)
            features = answer_features(reading, scores, best, self.verified)
            self.confidence = float(trees.probability(features)[0])

    @property
    def found(self) -> bool:
        return self.best is not None and self.confidence >= model.answerability().threshold_found


def choose(reading: Reading) -> Choice:
    """Score every sentence and pick the best one that holds the asked kind (see the module docstring)."""
    scores = model.ranker().raw(reading.features) if reading.candidates else np.zeros(0)
    return Choice(reading, scores, pick(reading, scores))


def pick(reading: Reading, scores: np.ndarray) -> int | None:
    """The best-scored candidate that can answer, or None."""
    usable = np.array([can_answer(reading.sentence(i), reading.question) for i in range(len(scores))], dtype=bool)
    usable &= reading.column("names_another") == 0  # a document about another thing of the kind cannot answer
    if reading.question.english and reading.question.kind not in STRICT:
        # An English question reaches Chinese text through the dictionary bridges: a sentence none of its
        # words reach is about something else, however close its vector (a kind checked by rule aside).
        usable &= reading.column("words_sentence") > 0
    if reading.question.constraints:  # 2016年 asked, 2015年 said: not an answer (answer/constraints.py)
        usable &= np.array([bool(usable[i]) and not unmet(reading.question.constraints, reading.sentence(i),
                                                           _scope(reading, c.hit_no))
                            for i, c in enumerate(reading.candidates)], dtype=bool)  # fmt: skip
    # the asked slot filled beside what it is asked about: 11 beside 在编人员, a year for 哪一年, 主任 for 主任叫什么
    usable &= np.array([bool(usable[i]) and slot_filled(reading.question, reading.sentence(i),
                                                        reading.hits[c.hit_no].passage.text)
                        for i, c in enumerate(reading.candidates)], dtype=bool)  # fmt: skip
    if reading.focus and reading.question.kind is Kind.QUANTITY and reading.question.counted:
        # 那信息化办呢 after a count: the same count, of the other thing — not any number near its name.
        usable &= reading.column("number_near_counted") == 1
    return int(np.argmax(np.where(usable, scores, -np.inf))) if usable.any() else None


def _scope(reading: Reading, hit_no: int):
    passage = reading.hits[hit_no].passage
    return scope_of(passage, reading.documents.get(passage.doc, ""))


def can_answer(sentence: str, question: Question) -> bool:
    """Does `sentence` hold what `question` asks for, where that is checked by rule (any answerer's text)?

    Quantities and times are checked strictly; names are not: jieba knows too few names for 谁 to be
    checked by rule (measured: 79% of the sentences answering 谁 in the CMRC trial hold a name jieba knows).
    """
    return question.kind not in STRICT or holds_kind(sentence, question)


def missing_terms(question: Question, corpus_text: str) -> tuple[str, ...]:
    """Names, places, organisations, 《titles》, numbers and acronyms of the question that the corpus never mentions."""
    from assistant.text.words import normalize

    terms = [w for w in question.content if _is_checked_term(w, question.english)]
    terms += [t for t in question.key_terms if f"《{t}》" in normalize(question.text)]
    return tuple(t for t in dict.fromkeys(terms) if t not in corpus_text)


def _is_checked_term(word: str, english: bool) -> bool:
    if re.fullmatch(r"\d+(\.\d+)?", word) or re.fullmatch(r"[a-z0-9]{2,5}", word) and word.upper() in _ACRONYMS:
        return True
    # Places and organisations only: jieba tags many common nouns as person or other names (黑客 nr, 汇报 nz).
    return not english and is_proper_name(word, ("ns", "nt"))


class Corpus(Protocol):
    """What the answerer asks of the index (`assistant.store.local.Index`)."""

    text: str  # the whole corpus, normalised

    def rarity(self, word: str) -> float: ...


LowConfidence = Literal["refuse", "answer"]


def answer(
    reading: Reading, corpus: Corpus, top_k: int = 5, asked: str | None = None, low_confidence: LowConfidence = "refuse"
) -> Answer:
    """The extractive answer to `reading.question` (already resolved from any follow-up).

    A chosen sentence below the refusal threshold (把握：低) is given only with `low_confidence="answer"`;
    by default the answer is "not found" with the candidates as related passages."""
    question = reading.question
    asked = question.text if asked is None else asked
    missing = missing_terms(question, corpus.text)
    choice = choose(reading)
    order = _source_order(choice)
    shown = order[:top_k]
    sources = [Source(rank=n + 1, hit=reading.hits[h]) for n, h in enumerate(shown)]
    evidence = _evidence(choice)
    if missing or choice.best is None or not (choice.found or low_confidence == "answer"):
        reason = "missing" if missing else ("no sentence of the asked kind" if choice.best is None else "unlikely")
        text = not_found_text(reason, question, missing)
        if choice.best is None and not missing and (broken := _broken_constraints(choice)):
            names = "、".join(f"“{c.text}”" for c in broken)
            text = f"报告中没有找到这个问题的答案：相关段落没有说到{names}。下面的段落相关，但不是答案。"
            missing = tuple(c.text for c in broken)  # what the passages lack: no later stage answers without it
        return Answer(asked, False, text, tuple(sources), question.text,
                      missing, evidence=evidence, confidence=round(choice.confidence, 4))  # fmt: skip
    hit_no, start, end = quote(reading, choice.best, corpus.rarity)
    passage = reading.hits[hit_no].passage
    rank = shown.index(hit_no) + 1
    sources[rank - 1] = replace(sources[rank - 1], used=(Span(start, end),))
    text = f"{passage.text[start:end].strip()}[{rank}]"
    return Answer(asked, True, text, tuple(sources), question.text, evidence=evidence,
                  confidence=round(choice.confidence, 4))  # fmt: skip


def _broken_constraints(choice: Choice) -> tuple:
    """The question's constraints that the best-scored sentence of the asked kind breaks (why none answers)."""
    reading = choice.reading
    question = reading.question
    usable = [i for i in range(len(choice.scores)) if can_answer(reading.sentence(i), question)]
    if not question.constraints or not usable:
        return ()
    top = max(usable, key=lambda i: choice.scores[i])
    return unmet(question.constraints, reading.sentence(top), _scope(reading, reading.candidates[top].hit_no))


def _source_order(choice: Choice) -> list[int]:
    """Hits ordered by their best sentence's score (the chosen sentence's passage first), then the rest."""
    reading = choice.reading
    best_of: dict[int, float] = {}
    for c, score in zip(reading.candidates, choice.scores, strict=True):
        best_of[c.hit_no] = max(best_of.get(c.hit_no, -math.inf), float(score))
    if choice.best is not None:
        best_of[reading.candidates[choice.best].hit_no] = math.inf
    ranked = sorted(best_of, key=lambda h: -best_of[h])
    return ranked + [h for h in range(len(reading.hits)) if h not in best_of]


def _evidence(choice: Choice) -> dict[str, float]:
    if choice.best is None:
        return {"confidence": 0.0}
    x = choice.reading.features[choice.best]
    from assistant.answer.evidence import FEATURES

    return {
        "confidence": round(choice.confidence, 4),
        "threshold": round(model.answerability().threshold_found, 4),
        "ranker": round(float(choice.scores[choice.best]), 4),
        "cosine": round(float(x[FEATURES.index("cosine")]), 4),
        "words": round(float(x[FEATURES.index("words_context")]), 4),
        "phrases": round(float(x[FEATURES.index("phrases_context")]), 4),
        "document": round(float(x[FEATURES.index("weakest_phrase_document")]), 4),
        "checked": float(checked(choice.reading, choice.best)),  # what 高 also needs (render.confidence_label)
    }


def quote(reading: Reading, best: int, rarity: Callable[[str], float]) -> tuple[int, int, int]:
    """What the answer quotes for candidate `best`: (hit number, start, end) in that passage (steps 3 and 4)."""
    c = reading.candidates[best]
    text = reading.hits[c.hit_no].passage.text
    start, end = _best_clauses(text, c.start, c.end, reading.question, rarity)
    return c.hit_no, start, _complete(reading, c.hit_no, start, end)


def not_found_text(reason: str, question: Question, missing: Sequence[str] = ()) -> str:
    if missing:
        names = "、".join(f"“{w}”" for w in missing)
        return f"报告中没有找到这个问题的答案：报告没有提到{names}。"
    if reason == "no sentence of the asked kind":
        what = "数字" if question.kind is Kind.QUANTITY else "答案"
        return f"报告中没有找到这个问题的答案：相关段落里没有给出{what}。下面的段落相关，但不是答案。"
    return "报告中没有找到这个问题的答案。下面的段落与问题相关，但不是答案。"


def _complete(reading: Reading, hit_no: int, start: int, end: int) -> int:
    """The end of the answer once it brings what it announces (a list) or what its kind asks for (see step 4)."""
    question = reading.question
    text = reading.hits[hit_no].passage.text
    sentence = text[start:end].strip()
    asks_list = bool(_LIST.search(question.text))
    if sentence.endswith(("：", ":")) or (asks_list and (len(sentence) <= 40 or _FIRST_ITEM.search(sentence))):
        limit = LIST_CHARS
    elif question.kind in _WORDY:
        limit = MORE_CHARS
    else:
        return end
    following = sorted((c for c in reading.candidates if c.hit_no == hit_no and c.start >= end), key=lambda c: c.start)
    for c in following:
        if c.end - start > limit or "\n" in text[end : c.start]:
            break
        end = c.end
    return end


def _best_clauses(
    text: str, start: int, end: int, question: Question, rarity: Callable[[str], float]
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
            piece = sentence[cuts[i] : cuts[j]]
            score = coverage(question.content, question.bridges, piece, rarity) - 0.001 * (cuts[j] - cuts[i])
            if score > best_score:
                best, best_score = (cuts[i], cuts[j]), score
    return start + best[0], start + best[1]
