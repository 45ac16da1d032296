"""Retrieval: fusion as a pure function, dense search against brute force, hybrid results on the real index."""

from __future__ import annotations

import numpy as np
import pytest

from assistant import retrieve
from assistant.evaluate import norm


def test_fuse_scales_dense_by_min_max_and_bm25_by_its_floor():
    dense = np.array([0.9, 0.8, 0.85], dtype=np.float32)
    sparse = np.array([2.0, 0.0, 1.0], dtype=np.float32)
    fused = retrieve.fuse(dense, sparse)
    # dense → 1, 0, 0.5; bm25 best is 2 < floor 5 → 0.4, 0, 0.2
    expected = retrieve.DENSE_WEIGHT * np.array([1, 0, 0.5]) + (1 - retrieve.DENSE_WEIGHT) * np.array([0.4, 0, 0.2])
    np.testing.assert_allclose(fused, expected, rtol=1e-6)


def test_fuse_uses_the_best_bm25_when_above_the_floor():
    fused = retrieve.fuse(np.array([0.5, 0.5]), np.array([10.0, 5.0]))
    # equal dense scores carry no information: both get the full dense part
    np.testing.assert_allclose(fused, [retrieve.DENSE_WEIGHT + 0.5, retrieve.DENSE_WEIGHT + 0.25])


@pytest.mark.slow
def test_dense_search_matches_brute_force(assistant):
    index = assistant.index
    vectors = index.dense.reconstruct_n(0, index.dense.ntotal)
    query = assistant.embedder.queries(["省委网络安全和信息化领导小组第三次会议由谁主持？"])[0]
    _, ids = index.dense.search(query.reshape(1, -1), 10)
    brute = np.argsort(-(vectors @ query))[:10]
    assert list(ids[0]) == list(brute)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "evidence"),
    [
        ("市委网信办目前有多少在编人员？", "目前市委网信办仅有在编人员11人"),
        ("谢伏瞻书记主持了哪次会议？", "谢伏瞻书记主持会议并讲话"),
        # English: no shared words; the dictionary bridges staff → 人员, cyberspace → 网络空间 …
        ("How many people work in the municipal cyberspace office?", "仅有在编人员11人"),
        # everyday words the report does not use: 牢骚 → 怨言 / 怨气
        ("网民发牢骚该怎么办？", "对怨气怨言要及时化解"),
    ],
)
def test_the_passage_holding_the_answer_comes_first(assistant, question, evidence):
    hits = assistant.retrieve(question)
    assert evidence in norm(hits[0].passage.text)


@pytest.mark.slow
def test_hits_report_scores_and_matched_words(assistant):
    hits = assistant.retrieve("精彩洛阳是哪个平台的官方微博？", top_k=3)
    assert len(hits) == 3
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    best = hits[0]
    assert 0.0 <= best.score <= 1.0 and best.dense > 0.8 and best.sparse > 0
    assert "精彩" in best.matched and "洛阳" in best.matched


@pytest.mark.slow
def test_top_k_is_respected(assistant):
    assert len(assistant.retrieve("网络安全", top_k=7)) == 7
