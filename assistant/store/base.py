"""The `Store` protocol: the one place retrieval and answering reach stored passages (docs/stores.md).

Keys, not row numbers, cross the seam: a passage is named by its id (`Passage.id`, stable
across builds and stores). Two stores implement it: `local` (FAISS + bm25s files, embedded,
`assistant/store/local.py`) and `milvus` (pymilvus: Milvus Lite or a server,
`assistant/store/milvus.py`); both pass the same suite (tests/store/test_store_suite.py).

Fusion needs both scores for every candidate, whichever side proposed it: a store that
returns only its top k from a search must therefore also score given ids
(`dense_scores`, `sparse_scores`): the scores of a passage do not depend on which list found it.

`Catalogue` holds what both stores keep in process once opened: the passages in document
order, their sentence spans and the words' document frequencies (question analysis asks
"how rare is this word" for every word of every question, far too often for a round trip).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Protocol, runtime_checkable

import numpy as np

from assistant.schema import Passage
from assistant.text.words import normalize

__all__ = ["Store", "Catalogue", "Terms", "weighted_terms"]

# BM25 query: word → weight (a word's BM25 is summed with its weight; a word given twice counts twice).
Terms = Mapping[str, float]


def weighted_terms(*groups: tuple[Sequence[str], float]) -> dict[str, float]:
    """One BM25 query from groups of (words, weight): BM25 is a sum over the query's words, so
    `w1 × BM25(words) + w2 × BM25(stand-ins)` is BM25 of the words weighted so."""
    terms: dict[str, float] = {}
    for words, weight in groups:
        for word in words:
            terms[word] = terms.get(word, 0.0) + weight
    return terms


@runtime_checkable
class Store(Protocol):
    """What retrieval and answering ask of stored passages, keyed by passage id."""

    manifest: dict  # model, dimension, chunking, documents (title, pages…), counts
    glossary: dict[str, list[str]]  # dictionary glosses → corpus words (assistant/text/lexicon.py)

    @property
    def documents(self) -> list[str]: ...  # document names, in store order

    @property
    def count(self) -> int: ...  # passages

    def passage(self, passage_id: str) -> Passage: ...

    def document_passage_ids(self, doc: str) -> list[str]: ...  # in document order; [] for an unknown name

    def neighbours(self, passage_id: str) -> tuple[str | None, str | None]: ...  # previous, next in its document

    def dense_search(self, vector: np.ndarray, depth: int) -> list[tuple[str, float]]: ...

    def sparse_search(self, terms: Terms, depth: int) -> list[tuple[str, float]]: ...

    def dense_scores(self, ids: Sequence[str], vector: np.ndarray) -> np.ndarray: ...  # best sentence cosine

    def sparse_scores(self, ids: Sequence[str], terms: Terms) -> np.ndarray: ...  # BM25, as bm25s scores it

    def sentence_spans(self, passage_id: str, vector: np.ndarray) -> tuple[list[tuple[int, int]], np.ndarray]: ...

    def rarity(self, word: str) -> float: ...

    @property
    def vocabulary(self) -> set[str]: ...

    def document_text(self, doc: str) -> str: ...

    @property
    def text(self) -> str: ...

    def close(self) -> None: ...


class Catalogue:
    """The in-process part of a store: passages, sentence rows and word statistics.

    Subclasses set `passages` (document order), `sentences` (int32 rows passage number, start, end, in
    passage order) and `_document_frequency` (word → passages holding it).
    """

    passages: list[Passage]
    sentences: np.ndarray
    _document_frequency: dict[str, int]

    @property
    def count(self) -> int:
        return len(self.passages)

    @cached_property
    def _first_rows(self) -> np.ndarray:
        # Sentences are stored in passage order: passage i owns rows _first_rows[i] to _first_rows[i + 1].
        return np.searchsorted(self.sentences[:, 0], np.arange(len(self.passages) + 1))

    def sentence_rows(self, passage_no: int) -> range:
        """The rows of `sentences` that belong to one passage."""
        return range(int(self._first_rows[passage_no]), int(self._first_rows[passage_no + 1]))

    @cached_property
    def _numbers(self) -> dict[str, int]:
        return {p.id: n for n, p in enumerate(self.passages)}

    def passage_number(self, passage_id: str) -> int:
        return self._numbers[passage_id]

    def passage(self, passage_id: str) -> Passage:
        return self.passages[self._numbers[passage_id]]

    def neighbours(self, passage_id: str) -> tuple[str | None, str | None]:
        n = self._numbers[passage_id]
        doc = self.passages[n].doc
        before = self.passages[n - 1] if n > 0 else None
        after = self.passages[n + 1] if n + 1 < len(self.passages) else None
        return (before.id if before and before.doc == doc else None, after.id if after and after.doc == doc else None)

    @cached_property
    def vocabulary(self) -> set[str]:
        return set(self._document_frequency)

    def rarity(self, word: str) -> float:
        """Inverse document frequency of a word among passages (unknown words are the rarest)."""
        return math.log(1 + len(self.passages) / (self._document_frequency.get(word, 0) + 0.5))

    @cached_property
    def _documents(self) -> dict[str, str]:
        texts: dict[str, list[str]] = {}
        for p in self.passages:
            texts.setdefault(p.doc, []).append(normalize(p.indexed_text()))
        return {doc: "\n".join(parts) for doc, parts in texts.items()}

    @cached_property
    def _by_document(self) -> dict[str, list[int]]:
        numbers: dict[str, list[int]] = {}
        for n, p in enumerate(self.passages):
            numbers.setdefault(p.doc, []).append(n)
        return numbers

    @property
    def documents(self) -> list[str]:
        """The names of the stored documents, in store order."""
        return list(self._by_document)

    def document_passages(self, doc: str) -> list[int]:
        """The numbers of one document's passages (empty for a name the store does not hold)."""
        return self._by_document.get(doc, [])

    def document_passage_ids(self, doc: str) -> list[str]:
        return [self.passages[n].id for n in self._by_document.get(doc, [])]

    def document_text(self, doc: str) -> str:
        """A document's passages with their section paths, normalised (`words.normalize`)."""
        return self._documents.get(doc, "")

    @cached_property
    def text(self) -> str:
        """The whole corpus, normalised: to tell whether a name occurs anywhere at all."""
        return "\n".join(self._documents.values())

    def sentence_cosines(self, passage_no: int, vector: np.ndarray) -> tuple[range, np.ndarray]:
        """The rows of one passage's sentences, and each one's cosine similarity to `vector`."""
        rows = self.sentence_rows(passage_no)
        return rows, self.sentence_vectors(rows) @ vector

    def sentence_spans(self, passage_id: str, vector: np.ndarray) -> tuple[list[tuple[int, int]], np.ndarray]:
        """(start, end) of each sentence of a passage in its text, and each one's cosine similarity to `vector`."""
        rows, cosines = self.sentence_cosines(self._numbers[passage_id], vector)
        return [(int(self.sentences[r, 1]), int(self.sentences[r, 2])) for r in rows], cosines

    def sentence_vectors(self, rows: range) -> np.ndarray:
        raise NotImplementedError
