"""Hybrid retrieval: dense (FAISS, e5 `query:`) and sparse (BM25 over jieba words), fused.

Each side proposes candidates; every candidate then gets both exact scores (its
cosine similarity to the question and its BM25 score), and the two rankings are
fused with reciprocal rank fusion. The dense side is the stronger on paraphrases
and English questions, BM25 on names and numbers; RRF needs no score calibration
between them (weights and constant measured in the README).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from assistant.index import Index
from assistant.schema import Hit
from assistant.words import words

__all__ = ["search", "rrf", "RRF_K", "DENSE_WEIGHT", "SPARSE_WEIGHT"]

RRF_K = 60
DENSE_WEIGHT = 1.0
SPARSE_WEIGHT = 1.0
_CANDIDATES = 50  # per side, before fusion


def rrf(rankings: Sequence[Sequence[int]], weights: Sequence[float], k: int = RRF_K) -> dict[int, float]:
    """Reciprocal rank fusion: sum of weight / (k + rank) over the rankings (rank 1 is best)."""
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (k + rank)
    return fused


def search(index: Index, question: str, query_vector: np.ndarray, top_k: int = 5) -> list[Hit]:
    """The `top_k` passages for `question`, best first; `query_vector` is its normalised embedding."""
    n = len(index.passages)
    if n == 0:
        return []
    depth = min(n, max(_CANDIDATES, top_k * 4))
    query = np.ascontiguousarray(query_vector.reshape(1, -1), dtype=np.float32)
    _, dense_ids = index.dense.search(query, depth)
    dense_ids = [int(i) for i in dense_ids[0] if i >= 0]

    q_words = words(question)
    bm25_all = index.bm25.get_scores(q_words) if q_words else np.zeros(n, np.float32)
    sparse_ids = [int(i) for i in np.argsort(-bm25_all, kind="stable")[:depth] if bm25_all[i] > 0]

    candidates = list(dict.fromkeys(dense_ids + sparse_ids))
    cosine = dict(zip(candidates, _cosines(index, candidates, query[0]), strict=True))
    by_dense = sorted(candidates, key=lambda i: -cosine[i])
    by_sparse = sorted((i for i in candidates if bm25_all[i] > 0), key=lambda i: -bm25_all[i])
    fused = rrf([by_dense, by_sparse], [DENSE_WEIGHT, SPARSE_WEIGHT])

    best = sorted(candidates, key=lambda i: (-fused[i], -cosine[i]))[:top_k]
    q_set = set(q_words)
    hits = []
    for i in best:
        passage = index.passages[i]
        p_words = set(words(passage.indexed_text()))
        matched = tuple(w for w in dict.fromkeys(q_words) if w in p_words and w in q_set)
        hits.append(Hit(passage, round(fused[i], 6), round(cosine[i], 4), round(float(bm25_all[i]), 4), matched))
    return hits


def _cosines(index: Index, ids: list[int], query: np.ndarray) -> list[float]:
    # Exact similarity for every candidate, also those only BM25 proposed (HNSW stores full vectors).
    vectors = index.dense.reconstruct_batch(np.asarray(ids, dtype=np.int64))
    return [float(v) for v in vectors @ query]
