"""The evidence for a candidate answer sentence: numbers a model can weigh, and a reader can check.

For every sentence of the passages read, `sentence_features` measures how it meets the
question (`assistant.question.Question`):

- meaning: e5 cosine to the question, and its gap to the best sentence;
- words: the question's content words (weighted by rarity) in the sentence, with its section
  path, in its passage;
- phrases, character by character: the question's phrases in the sentence, in the sentence and
  its section path, and — the part that is not already the document's subject — what the
  sentence adds beyond its section path; the weakest phrase's coverage by the whole document
  (a question about 长柄艾纳香 is not answered by a document about 狭叶艾纳香);
- key terms (《titles》, quoted and proper names, numbers) in the sentence, passage, document;
- the asked kind: does the sentence hold a number near the counted noun, a date, a name …;
- where it stands: its passage's rank and scores, its place in the passage, its neighbours.

`FEATURES` names the columns; the learned models (`assistant/answer/model.py`) read them by name.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

import numpy as np

from assistant.question import Kind, Question, covered_characters, is_proper_name
from assistant.schema import Hit
from assistant.text.words import normalize, words

__all__ = [
    "ANSWER_FEATURES", "BRIDGE_CREDIT", "FEATURES", "VERIFIER_FEATURE", "Candidate", "Reading",
    "answer_features", "coverage", "holds_kind", "names_another", "read", "scope_text", "sentence_features",
]  # fmt: skip

BRIDGE_CREDIT = 0.7  # a question word the corpus never uses, met through a dictionary stand-in, counts this much
NEAR = 10  # characters between a number and the noun it counts

Rarity = Callable[[str], float]


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved passage, with its cosine similarity to the question."""

    hit_no: int  # index into the hits
    start: int  # offsets into the passage text
    end: int
    cosine: float


@dataclass(frozen=True)
class Reading:
    """A question, the passages read for it, their sentences and the evidence on each (`FEATURES` columns)."""

    question: Question
    hits: tuple[Hit, ...]
    candidates: tuple[Candidate, ...]
    features: np.ndarray  # float32, one row per candidate
    focus: tuple[str, ...] = ()  # what a follow-up asks about (那X呢 → X): every candidate mentions it
    # The hits' documents (normalised text, by name): the widest scope a question's constraint may be stated in.
    documents: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def sentence(self, i: int) -> str:
        c = self.candidates[i]
        return self.hits[c.hit_no].passage.text[c.start : c.end]

    def column(self, name: str) -> np.ndarray:
        return self.features[:, FEATURES.index(name)]


class Corpus(Protocol):
    """What the evidence asks of the index beyond the retrieved passages (`assistant.store.local.Index`)."""

    def rarity(self, word: str) -> float: ...

    def document_text(self, doc: str) -> str: ...

    def passage_number(self, passage_id: str) -> int: ...

    def sentence_cosines(self, passage_no: int, vector: np.ndarray) -> tuple[range, np.ndarray]: ...

    sentences: np.ndarray


def read(question: Question, hits: Sequence[Hit], index: Corpus, focus: Sequence[str] = ()) -> Reading:
    """Every sentence of `hits` that could answer (not a heading; about the follow-up's `focus`, if any),
    with its evidence."""
    candidates = []
    for n, hit in enumerate(hits):
        rows, cosines = index.sentence_cosines(index.passage_number(hit.passage.id), question.vector)
        for row, cosine in zip(rows, cosines, strict=True):
            _, start, end = (int(v) for v in index.sentences[row])
            text = hit.passage.text[start:end]
            if _is_heading(text, hit.passage.section):
                continue  # headings name sections; they never answer
            if focus and not any(f in normalize(f"{_headings(hit.passage)}\n{text}") for f in focus):
                continue  # a follow-up about something else is answered about that (here or in its heading), or not
            candidates.append(Candidate(n, start, end, float(cosine)))
    features = sentence_features(question, hits, candidates, index)
    documents = {hit.passage.doc: index.document_text(hit.passage.doc) for hit in hits}
    return Reading(question, tuple(hits), tuple(candidates), features, tuple(focus), documents)


def scope_text(passage) -> str:
    """The headings a passage stands under, as the verifier reads them before a sentence (answer/verifier.py)."""
    return _headings(passage)


def _headings(passage) -> str:
    """The headings a passage is under; a long document title (a report's) says nothing particular about it."""
    section = passage.section
    if section and len(section[0]) > TITLE_NAME_CHARS:
        section = section[1:]
    return " ".join(section)


def _is_heading(sentence: str, section: tuple[str, ...]) -> bool:
    s = normalize(sentence).rstrip("。：:")
    return any(s == normalize(h).rstrip("。：:") for h in section)


FEATURES = (
    "cosine", "cosine_gap", "words_sentence", "words_context", "words_passage",
    "phrases_sentence", "phrases_context", "phrases_beyond_section", "phrases_document", "weakest_phrase_document",
    "keys_sentence", "keys_passage", "keys_document", "has_keys",
    "kind", "holds_kind", "number_near_counted", "has_number", "has_date", "has_name",
    "length", "new_characters", "position", "first_of_document", "passage_rank", "passage_score",
    "passage_dense", "passage_sparse", "previous_beyond_section", "next_beyond_section", "common_run",
    "beyond_gap", "words_gap", "marker", "defines", "weakest_specific_context", "weakest_specific_passage",
    "phrases_heading", "names_another",
)  # fmt: skip
KIND_CODES = {kind: n for n, kind in enumerate(Kind)}

_NUMBER = re.compile(
    r"\d|[一二三四五六七八九十两百千万亿]+\s*[余多]?\s*[个家起次条人年月项名位种件批所天周岁块类级座本部篇首场届]"
)
# A time: a date or year, an age, a season or time of day, a period, or a time relative to an event (…后, …的时候).
_DATE = re.compile(
    r"\d+\s*(?:万|多|余)?\s*[年月日时点号岁]|[今去明前后同次翌当]年|近年|[一二三四五六七八九十]+[月岁]|[元初末]年|世纪|年代|"
    r"朝|时期|期间|时代|时候|之后|以后|之前|以前|[前后]期|早期|晚期|中期|年间|当日|当天|当时|早上|上午|中午|下午|晚上|"
    r"凌晨|傍晚|夜间|[春夏秋冬][季天]|至今|目前|现在|后来|此后|同年|随后|[\u4e00-\u9fff]{2}后[，。,]"
)
_ORDINAL = re.compile(r"第[一二三四五六七八九十\d]+")
_QUOTE = re.compile(r"《[^》]+》|“[^”]+”|「[^」]+」|『[^』]+』")
_REASON = re.compile(r"因为|由于|因此|所以|为了|原因|导致|以致|以便|因而|故|缘于|鉴于")
_MANNER = re.compile(r"通过|采用|利用|经过|以|用|方式|方法|办法|措施")
# A place named in the text: a name ending in a place word (河南省, 洛轴广场, 塞纳河), or a location phrase.
_PLACE_NAME = re.compile(
    r"[\u4e00-\u9fff]{1,8}?(?:省|市|县|区|州|国|岛|镇|乡|村|路|街|河|江|山|湖|港|湾|广场|大道|半岛)"
)
_NOT_IN_A_NAME = frozenset("的了在是和与及对把被将从向于以为有我你他她它其这那各每")
_PLACE_PHRASE = re.compile(r"位于|坐落|地处|境内|出生于|生于")
_NOT_A_PLACE = re.compile(r"^(?:我|本|全|各|该|此|境|外|中|国内|市委|县委|省委|市直)")
_ORG_MARK = re.compile(
    r"公司|大学|学院|学校|委员会|协会|政府|部门|网站|办公室|银行|集团|俱乐部|队|局|厅|院|社|台|所|党"
)
_LATIN_NAME = re.compile(r"[A-Z][a-zA-Z]+")
_NAME_MARK = re.compile(
    r"又称|又名|别名|别称|简称|全称|原名|旧称|称为|称作|叫做|得名|名为|命名|昵称|外号|绰号|艺名|笔名|字|号"
)
_NAMED = (Kind.PERSON, Kind.PLACE, Kind.ORGANISATION, Kind.NAME)  # kinds whose answer is a name
# Words that mark a sentence as giving what a kind of question asks for.
_MARKERS = {Kind.REASON: _REASON, Kind.MANNER: _MANNER, Kind.NAME: _NAME_MARK}


@lru_cache(maxsize=1 << 16)
def _words(text: str) -> frozenset[str]:
    """A sentence's words, segmented once: the same passages come back for many questions."""
    return frozenset(words(text))


def holds_kind(sentence: str, question: Question) -> bool:
    """Whether `sentence` holds something of the asked kind (a number for 多少, a date for 何时 …).

    Kinds said in words (reasons, manners, definitions, attributes) are held by any sentence.
    """
    kind = question.kind
    if kind is Kind.QUANTITY:
        if "第几" in question.text:  # asks for a rank: 第三 answers it
            return bool(_ORDINAL.search(sentence) or _NUMBER.search(sentence))
        return bool(_NUMBER.search(_quantities(sentence, question)))
    if kind is Kind.TIME:
        return bool(_DATE.search(sentence))
    if kind is Kind.PERSON:
        return _has_name(sentence, question, "nr")
    if kind is Kind.PLACE:
        return _has_place(sentence, question) or _has_name(sentence, question, "ns")
    if kind is Kind.ORGANISATION:
        return bool(_ORG_MARK.search(sentence)) or _has_name(sentence, question, "nt")
    if kind is Kind.NAME:
        return _has_name(sentence, question, "") or bool(_QUOTE.search(sentence))
    return True


def _has_place(sentence: str, question: Question) -> bool:
    """A place the question does not already name (我市, 全省 and 各县 name none)."""
    if _PLACE_PHRASE.search(sentence):
        return True
    asked = normalize(question.text)
    for m in _PLACE_NAME.finditer(normalize(sentence)):
        name = m.group(0)
        if not _NOT_A_PLACE.match(name) and not _NOT_IN_A_NAME.intersection(name) and name not in asked:
            return True
    return False


TITLE_NAME_CHARS = 12  # a title this short names one thing (an article's subject), not a whole report


def names_another(question: Question, title: str, document: str) -> bool:
    """Whether the question names another thing of the same kind as the one the document is named after.

    Chinese names put the head noun last: a question about 长柄艾纳香, put to a document titled
    狭叶艾纳香 that never names 长柄艾纳香, shares only the head 艾纳香 — that document describes
    another plant. A question naming the title whole, or only less specific (艾纳香属), is about it.
    """
    title = normalize(title)
    if not 3 <= len(title) <= TITLE_NAME_CHARS:
        return False
    for phrase in question.phrases:
        if title in phrase or phrase in title or phrase in document:
            continue
        shared = next((title[i:] for i in range(1, len(title) - 1) if phrase.endswith(title[i:])), "")
        if len(shared) >= 2 and len(phrase) > len(shared):
            return True
    return False


def _quantities(sentence: str, question: Question) -> str:
    """The sentence as a quantity question reads it: ordinals (第一) are not quantities, unless it asks 第几."""
    return sentence if "第几" in question.text else _ORDINAL.sub("", sentence)


def _has_name(sentence: str, question: Question, tag: str) -> bool:
    """A proper name (of jieba's `tag` class, or any) in the sentence that the question does not already say."""
    from assistant.question import proper_names

    tags = proper_names()
    asked = normalize(question.text)
    for w in _words(sentence):
        if w in asked:
            continue
        t = tags.get(w, "")
        if (t.startswith(tag) if tag else is_proper_name(w)) and len(w) >= 2:
            return True
    # Names jieba does not know: a Latin name, or a 《title》/quoted name the question does not hold.
    return any(m.group(0) not in question.text for m in _LATIN_NAME.finditer(sentence)) or any(
        normalize(m.group(0)[1:-1]) not in asked for m in _QUOTE.finditer(sentence)
    )


def coverage(content: Sequence[str], bridges: dict[str, list[str]], text: str, rarity: Rarity) -> float:
    """Share of the question's content words (weighted by rarity) that `text` contains."""
    if not content:
        return 0.0
    t = normalize(text)
    text_words: frozenset[str] | None = None

    def has(w: str) -> bool:
        nonlocal text_words
        if len(w) > 1:
            return w in t
        # Single characters must be words of the text: 办 (office) is not in 申办 (apply).
        if w not in t:
            return False
        if text_words is None:
            text_words = _words(text)  # segmented only when needed: jieba is the slow part
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


Bridges = dict[str, list[str]]


def _share(phrase: str, text: str, bridges: Bridges) -> float:
    flags = _covered(phrase, text, bridges)
    return sum(flags) / len(flags) if flags else 0.0


def _phrases_in(phrases: Sequence[str], text: str, bridges: Bridges) -> float:
    """Length-weighted phrase coverage of `text` (1.0 when the question has no phrases)."""
    total = sum(len(p) for p in phrases)
    return sum(len(p) * _share(p, text, bridges) for p in phrases) / total if total else 1.0


def _beyond(phrases: Sequence[str], section: str, text: str, bridges: Bridges) -> float:
    """Of the phrase characters the section path does not already cover, the share `text` covers.

    The document title and headings say what a passage is about; the answering sentence is the one
    that holds the rest of the question (`下部叶` of 长柄艾纳香的下部叶).
    """
    got = total = 0
    for p in phrases:
        for s, t in zip(_covered(p, section, bridges), _covered(p, text, bridges), strict=True):
            if not s:
                total += 1
                got += t
    return got / total if total else 1.0


def _covered(phrase: str, text: str, bridges: Bridges) -> list[bool]:
    """`question.covered_characters`, where a word of the question that the corpus never uses also counts as
    covered when `text` holds one of its dictionary stand-ins (牢骚 → 怨言: a paraphrase covers what it stands for)."""
    covered = covered_characters(phrase, text)
    for word, stand_ins in bridges.items():
        at = phrase.find(word)
        if at >= 0 and any(t in text for t in stand_ins):
            covered[at : at + len(word)] = [True] * len(word)
    return covered


def _weakest(phrases: Sequence[str], text: str, bridges: Bridges) -> float:
    """The coverage of the least covered phrase (1.0 when there are none)."""
    return min((_share(p, text, bridges) for p in phrases), default=1.0)


def _keys_in(keys: Sequence[str], text: str) -> float:
    return sum(k in text for k in keys) / len(keys) if keys else 1.0


def _common_run(a: str, b: str) -> int:
    """Length of the longest run of characters of `a` that occurs in `b`."""
    best = 0
    for i in range(len(a)):
        length = best + 1
        while i + length <= len(a) and a[i : i + length] in b:
            best = length
            length += 1
    return best


def _near_counted(sentence: str, counted: str) -> bool:
    """A number within NEAR characters of a two-character piece of the counted noun (or of the noun itself)."""
    if not counted:
        return False
    pieces = {counted[i : i + 2] for i in range(max(1, len(counted) - 1))}
    clean = _ORDINAL.sub("", sentence)  # 第一 counts nothing
    for m in _NUMBER.finditer(clean):
        window = clean[max(0, m.start() - NEAR) : m.end() + NEAR]
        if any(p in window for p in pieces):
            return True
    return False


def sentence_features(
    question: Question, hits: Sequence[Hit], candidates: Sequence[Candidate], corpus: Corpus
) -> np.ndarray:
    """One row of `FEATURES` per candidate (float32)."""
    if not candidates:
        return np.zeros((0, len(FEATURES)), np.float32)
    best_cosine = max(c.cosine for c in candidates)
    asked = re.sub(r"[\W_]+", "", normalize(question.text))
    phrases = question.phrases
    bridges = question.bridges
    keys = question.key_terms
    max_sparse = max((h.sparse or 0.0) for h in hits) or 1.0
    by_hit: dict[int, list[Candidate]] = {}
    for c in candidates:
        by_hit.setdefault(c.hit_no, []).append(c)
    doc_cache: dict[str, tuple[float, float, float]] = {}
    passage_cache: dict[int, tuple[float, float, str, str]] = {}
    beyond_cache: dict[tuple[int, int], float] = {}

    def beyond(hit_no: int, c: Candidate | None) -> float:
        if c is None:
            return 0.0
        key = (hit_no, c.start)
        if key not in beyond_cache:
            section = passage_cache[hit_no][2]
            text = normalize(hits[hit_no].passage.text[c.start : c.end])
            beyond_cache[key] = _beyond(phrases, section, text, bridges)
        return beyond_cache[key]

    subject = question.phrases[0] if question.phrases else ""
    marker = _MARKERS.get(question.kind)
    rows = []
    for c in candidates:
        hit = hits[c.hit_no]
        passage = hit.passage
        if c.hit_no not in passage_cache:
            section = normalize(passage.section_path)
            whole = normalize(passage.indexed_text())
            # The sentence's own heading (not the document title): 4.正确处理安全和发展关系 names what follows it.
            heading = normalize(passage.section[-1]) if len(passage.section) > 1 else ""
            passage_cache[c.hit_no] = (
                coverage(question.content, question.bridges, whole, corpus.rarity),
                _keys_in(keys, whole),
                section,
                _weakest(question.specific, whole, bridges),
                _phrases_in(phrases, heading, bridges) if heading else 0.0,
            )
        words_passage, keys_passage, section, specific_passage, phrases_heading = passage_cache[c.hit_no]
        if passage.doc not in doc_cache:
            document = corpus.document_text(passage.doc)
            per_phrase = [_share(p, document, bridges) for p in phrases]
            title = passage.section[0] if passage.section else ""
            doc_cache[passage.doc] = (
                _phrases_in(phrases, document, bridges),
                min(per_phrase, default=1.0),
                _keys_in(keys, document),
                float(names_another(question, title, document)),
            )
        phrases_document, weakest_document, keys_document, another = doc_cache[passage.doc]
        raw = passage.text[c.start : c.end]
        sentence = normalize(raw)
        context = f"{section}\n{sentence}"
        siblings = by_hit[c.hit_no]
        i = siblings.index(c)
        stripped = re.sub(r"[\W_]+", "", sentence)
        rows.append(
            (
                c.cosine,
                c.cosine - best_cosine,
                coverage(question.content, question.bridges, sentence, corpus.rarity),
                coverage(question.content, question.bridges, context, corpus.rarity),
                words_passage,
                _phrases_in(phrases, sentence, bridges),
                _phrases_in(phrases, context, bridges),
                beyond(c.hit_no, c),
                phrases_document,
                weakest_document,
                _keys_in(keys, sentence),
                keys_passage,
                keys_document,
                float(bool(keys)),
                KIND_CODES[question.kind],
                float(holds_kind(raw, question)),
                float(_near_counted(sentence, question.counted)),
                float(bool(_NUMBER.search(_quantities(raw, question)))),
                float(bool(_DATE.search(raw))),
                float(question.kind in _NAMED and _has_name(raw, question, "")),
                math.log1p(len(stripped)),
                sum(ch not in asked for ch in stripped) / max(len(stripped), 1),
                i,
                float(passage.start < 8),  # the document's first passage: its opening sentences define it
                c.hit_no,
                hit.score,
                hit.dense if hit.dense is not None else 0.0,
                (hit.sparse or 0.0) / max_sparse,
                beyond(c.hit_no, siblings[i - 1] if i > 0 else None),
                beyond(c.hit_no, siblings[i + 1] if i + 1 < len(siblings) else None),
                _common_run(asked, stripped) / max(len(asked), 1),
                0.0,  # beyond_gap and words_gap: filled in below, once every row is known
                0.0,
                float(bool(marker.search(sentence))) if marker else 0.0,
                float(_defines(sentence, subject, section)),
                _weakest(question.specific, context, bridges),
                specific_passage,
                phrases_heading,
                another,
            )
        )
    x = np.asarray(rows, dtype=np.float32)
    if question.english:
        # An English question has no Chinese phrases to find: its words, met through dictionary
        # bridges, stand in for them.
        for phrase_column, word_column in (("phrases_sentence", "words_sentence"), ("phrases_context", "words_context"),
                                           ("phrases_beyond_section", "words_sentence"),
                                           ("phrases_document", "words_passage")):  # fmt: skip
            x[:, FEATURES.index(phrase_column)] = x[:, FEATURES.index(word_column)]
    for gap, column in (("beyond_gap", "phrases_beyond_section"), ("words_gap", "words_sentence")):
        values = x[:, FEATURES.index(column)]
        x[:, FEATURES.index(gap)] = values - values.max()
    return x


def _defines(sentence: str, subject: str, section: str) -> bool:
    """A sentence that says what its subject is: `羊水栓塞是一种…`, `它是…` under a heading naming it."""
    head = re.match(r"^(.{1,30}?)(?:（[^）]*）|\([^)]*\))?(?:是|为|指|乃|系)", sentence)
    if not head:
        return False
    named = head.group(1)
    pronoun = named in ("它", "其", "该", "此", "他", "她")
    return bool(subject) and (subject in named or named in subject or pronoun or named in section)


ANSWER_FEATURES = (
    "best_score", "margin", "share", "candidates",
    "cosine", "best_cosine", "words_sentence", "words_context", "words_passage",
    "phrases_sentence", "phrases_context", "phrases_beyond_section", "phrases_document", "weakest_phrase_document",
    "best_weakest_phrase_document", "keys_sentence", "keys_passage", "keys_document", "has_keys",
    "kind", "holds_kind", "number_near_counted", "any_holds_kind", "new_characters",
    "passage_score", "top_dense", "english", "question_length", "weakest_specific_context",
    "weakest_specific_passage", "marker", "defines",
)  # fmt: skip
_COPIED = ("cosine", "words_sentence", "words_context", "words_passage", "phrases_sentence", "phrases_context",
           "phrases_beyond_section", "phrases_document", "weakest_phrase_document", "keys_sentence", "keys_passage",
           "keys_document", "has_keys", "kind", "holds_kind", "number_near_counted", "new_characters",
           "passage_score", "weakest_specific_context", "weakest_specific_passage", "marker", "defines")  # fmt: skip


VERIFIER_FEATURE = "verifier"  # the answer verifier's probability for the chosen sentence (answer/verifier.py)


def answer_features(reading: Reading, scores: np.ndarray, best: int, verifier: float | None = None) -> np.ndarray:
    """One row of `ANSWER_FEATURES`: how well the chosen sentence (`best`) and its rivals meet the question;
    with the verifier's probability for it as one more column (`VERIFIER_FEATURE`) when given."""
    row = dict.fromkeys(ANSWER_FEATURES, 0.0)
    x = reading.features
    for name in _COPIED:
        row[name] = float(x[best, FEATURES.index(name)])
    ordered = np.sort(scores)[::-1]
    row["best_score"] = float(ordered[0])
    row["margin"] = float(ordered[0] - ordered[1]) if len(ordered) > 1 else 10.0
    weights = np.exp(scores - ordered[0])
    row["share"] = float(weights[best] / weights.sum())
    row["candidates"] = float(len(scores))
    row["best_cosine"] = float(x[:, FEATURES.index("cosine")].max())
    row["best_weakest_phrase_document"] = float(x[:, FEATURES.index("weakest_phrase_document")].max())
    row["any_holds_kind"] = float(x[:, FEATURES.index("holds_kind")].max())
    row["top_dense"] = float(reading.hits[0].dense or 0.0)
    row["english"] = float(reading.question.english)
    row["question_length"] = float(len(reading.question.text))
    extra = [] if verifier is None else [float(verifier)]
    return np.asarray([[row[name] for name in ANSWER_FEATURES] + extra], dtype=np.float32)
