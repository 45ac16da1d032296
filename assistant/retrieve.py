"""Hybrid retrieval: dense (sentence vectors, e5 `query:`) and sparse (BM25 over jieba words), through the `Store`
protocol (assistant/store/base.py): FAISS + bm25s locally, or Milvus.

1. The question's words, plus dictionary stand-ins for the words the corpus never
   uses (assistant/text/lexicon.py: `staff` → 人员, 牢骚 → 怨言), form the query.
2. Dense: a passage scores as its best sentence's cosine similarity to the question.
   Sparse: BM25 of the question's words, plus `EXPANSION_WEIGHT` × BM25 of the stand-ins.
3. Each side proposes candidates; every candidate gets both scores, and they are
   fused as `DENSE_WEIGHT` × dense (min-max scaled over the candidates) + the rest ×
   BM25 scaled by max(best BM25, `BM25_FLOOR`): the floor keeps a weak lexical match
   from looking perfect when no passage shares much with the question.
Weights were chosen by measurement on the development questions (README, "Retrieval").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from assistant.question import Question
from assistant.schema import Hit
from assistant.store.base import Store, weighted_terms
from assistant.text import lexicon
from assistant.text.words import normalize

__all__ = ["prepare", "search", "fuse", "DENSE_WEIGHT", "EXPANSION_WEIGHT", "BM25_FLOOR"]

DENSE_WEIGHT = 0.5
EXPANSION_WEIGHT = 0.3
BM25_FLOOR = 5.0
_CANDIDATES = 50  # passages per side, before fusion


def prepare(index: Store, question: Question, encode: Callable[[str], np.ndarray]) -> Question:
    """The question with what retrieval adds: dictionary bridges for words the corpus never uses
    (content word → corpus words standing in for it) and its normalised e5 vector (with the stand-ins)."""
    bridges = lexicon.bridges(question.content, index.vocabulary, index.glossary)
    stand_ins = lexicon.stand_ins(bridges)
    dense_text = f"{question.text}（{' '.join(stand_ins)}）" if stand_ins else question.text
    return replace(question, bridges=bridges, vector=encode(dense_text))


def fuse(dense: np.ndarray, sparse: np.ndarray) -> np.ndarray:
    """Weighted sum of min-max scaled dense scores and floor-scaled BM25 scores (arrays over candidates)."""
    spread = float(dense.max() - dense.min()) if len(dense) else 0.0
    d = (dense - dense.min()) / spread if spread > 1e-9 else np.ones_like(dense)
    s = sparse / max(float(sparse.max()) if len(sparse) else 0.0, BM25_FLOOR)
    return DENSE_WEIGHT * d + (1 - DENSE_WEIGHT) * s


def search(store: Store, question: Question, top_k: int = 5, doc: str | None = None) -> list[Hit]:
    """The `top_k` passages for a prepared `question`, best first; only from document `doc` when given.

    Each side proposes its best `depth` passages; every candidate is then scored by both sides through
    the store (`dense_scores`, `sparse_scores`), so a store whose searches return only their top lists
    fuses exactly as one that scores the whole corpus at once."""
    n = store.count
    if n == 0:
        return []
    if question.vector is None:
        raise ValueError("search() needs a prepared question (retrieve.prepare)")
    expansions = tuple(lexicon.stand_ins(question.bridges))
    terms = weighted_terms((question.words, 1.0), (expansions, EXPANSION_WEIGHT))
    depth = min(n, max(_CANDIDATES, top_k * 4))
    if doc is not None:
        candidates = store.document_passage_ids(doc)  # one document: every passage of it is a candidate
    else:
        sparse_ids = [i for i, score in store.sparse_search(terms, depth) if score > 0]
        candidates = list(dict.fromkeys([i for i, _ in store.dense_search(question.vector, depth)] + sparse_ids))
    if not candidates:
        return []

    dense = store.dense_scores(candidates, question.vector)
    sparse = store.sparse_scores(candidates, terms)
    fused = fuse(dense, sparse)
    order = sorted(range(len(candidates)), key=lambda j: (-fused[j], -dense[j]))[:top_k]

    wanted = dict.fromkeys(question.words + expansions)
    hits = []
    for j in order:
        passage = store.passage(candidates[j])
        text = normalize(passage.indexed_text())
        matched = tuple(w for w in wanted if w in text)
        hits.append(Hit(passage, round(float(fused[j]), 4), round(float(dense[j]), 4), round(float(sparse[j]), 4),
                        matched))  # fmt: skip
    return hits
