"""One scale measurement in its own process (so its peak memory is its own).

python -m benchmarks.scale build CORPUS INDEX SIGMA     → JSON: build time, counts, sizes, peak memory
python -m benchmarks.scale serve CORPUS INDEX REPEAT LIMIT → JSON: query p50/p95 exact and approximate, recall@10
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from assistant.config import Settings
from benchmarks.common import ROOT, all_questions, peak_mb, percentile_ms

RECALL_K = 10


def _settings(corpus: Path, index: Path) -> Settings:
    return Settings.load(corpus_dir=corpus, index_dir=index, on_stale="refuse")


def build(corpus: Path, index: Path, sigma: float) -> dict:
    from assistant.embedder import Embedder
    from assistant.index import build as build_index
    from benchmarks.synth import PerturbedVectors

    settings = _settings(corpus, index)
    vectors = PerturbedVectors(Embedder(settings), ROOT / "corpus", sigma=sigma)
    started = time.perf_counter()
    report = build_index(settings, vectors)
    seconds = time.perf_counter() - started
    folder = next(p for p in index.iterdir() if p.is_dir() and p.name.startswith("build-"))
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return {
        "documents": report.documents,
        "passages": report.passages,
        "vectors": int(manifest["counts"].get("sentences", report.passages)),
        "dense_index": manifest["dense_index"],
        "build_s": round(seconds, 1),
        "index_mb": round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20, 1),
        "dense_mb": round((folder / "dense.faiss").stat().st_size / 2**20, 1),
        "unknown_texts": vectors.unknown,
        "build_peak_mb": round(peak_mb()),
    }


def serve(corpus: Path, index: Path, repeat: int, limit: int) -> dict:
    import faiss

    from assistant.index import _dense_index  # the same HNSW parameters as a real build
    from assistant.pipeline import Assistant

    started = time.perf_counter()
    assistant = Assistant(_settings(corpus, index))
    questions = all_questions()[: limit or None]
    for q in questions[:3]:
        assistant.ask(q)  # warm-up: lazy caches, first ORT runs
    load_s = time.perf_counter() - started

    default = assistant.index.dense
    kind = "hnsw" if isinstance(default, faiss.IndexHNSW) else "flat"
    result: dict = {"default_index": kind, "load_s": round(load_s, 2)}
    result[kind] = _latency(assistant, questions, repeat)
    result["serve_peak_mb"] = round(peak_mb())  # answering with the index a real build chooses

    vectors = default.reconstruct_n(0, default.ntotal)
    if kind == "hnsw":
        exact, approx = faiss.IndexFlatIP(vectors.shape[1]), default
        exact.add(vectors)
        other = "flat"
    else:
        t = time.perf_counter()
        exact, approx = default, _dense_index(vectors, 0)
        result["hnsw_build_s"] = round(time.perf_counter() - t, 1)
        other = "hnsw"
    faiss.write_index(approx if other == "hnsw" else exact, str(index / f"other.{other}"))
    result[f"{other}_mb"] = round((index / f"other.{other}").stat().st_size / 2**20, 1)
    assistant.index.dense = exact if other == "flat" else approx
    result[other] = _latency(assistant, questions, repeat)
    result["recall@10"] = _recall(assistant, questions, exact, approx)
    result["ef_search"] = _ef_sweep(assistant, questions, exact, approx)
    result["ivf"] = _ivf_sweep(assistant, questions, exact, vectors)
    assistant.index.dense = default
    return result


def _ivf_sweep(assistant, questions: list[str], exact, vectors: np.ndarray) -> list[dict]:
    """The alternative for near-duplicate-heavy corpora: IVF-Flat (4·√n lists), recall and time by nprobe.

    HNSW links each vector mostly to its near-duplicates, so a search can stay inside one cluster;
    IVF scans whole lists near the question instead.
    """
    import faiss

    n, dim = vectors.shape
    nlist = max(1, min(int(4 * np.sqrt(n)), n // 39))  # faiss wants ≥ 39 training points per list
    t = time.perf_counter()
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.train(vectors)
    ivf.add(vectors)
    build_s = time.perf_counter() - t
    queries = np.ascontiguousarray(assistant.embedder.queries(questions), dtype=np.float32)
    rows = []
    for nprobe in (4, 8, 16, 32, 64):
        if nprobe > nlist:
            break
        ivf.nprobe = nprobe
        times = []
        for q in queries:
            t = time.perf_counter()
            ivf.search(q.reshape(1, -1), RECALL_K)
            times.append(time.perf_counter() - t)
        rows.append({"nlist": nlist, "nprobe": nprobe, "build_s": round(build_s, 1),
                     "recall@10": _recall(assistant, questions, exact, ivf),
                     "search_p50_ms": percentile_ms(times, 50), "search_p95_ms": percentile_ms(times, 95)})  # fmt: skip
    return rows


def _ef_sweep(assistant, questions: list[str], exact, approx) -> list[dict]:
    """Recall@10 and dense-search time by HNSW efSearch (a search-time setting, stored with the index)."""
    queries = np.ascontiguousarray(assistant.embedder.queries(questions), dtype=np.float32)
    default, rows = approx.hnsw.efSearch, []
    for ef in sorted({default, 256, 512, 1024, 2048}):
        approx.hnsw.efSearch = ef
        times = []
        for q in queries:
            t = time.perf_counter()
            approx.search(q.reshape(1, -1), RECALL_K)
            times.append(time.perf_counter() - t)
        rows.append({"ef_search": ef, "recall@10": _recall(assistant, questions, exact, approx),
                     "search_p50_ms": percentile_ms(times, 50), "search_p95_ms": percentile_ms(times, 95)})  # fmt: skip
    approx.hnsw.efSearch = default
    return rows


def _latency(assistant, questions: list[str], repeat: int) -> dict:
    ask, retrieve = [], []
    for _ in range(repeat):
        for q in questions:
            t = time.perf_counter()
            assistant.retrieve(q)
            retrieve.append(time.perf_counter() - t)
            t = time.perf_counter()
            assistant.ask(q)
            ask.append(time.perf_counter() - t)
    return {
        "retrieve_p50": percentile_ms(retrieve, 50),
        "retrieve_p95": percentile_ms(retrieve, 95),
        "ask_p50": percentile_ms(ask, 50),
        "ask_p95": percentile_ms(ask, 95),
    }


def _recall(assistant, questions: list[str], exact, approx) -> float:
    """Share of the exact top-10 the approximate index finds; ties at the 10th score count as found."""
    queries = np.ascontiguousarray(assistant.embedder.queries(questions), dtype=np.float32)
    k = min(RECALL_K, exact.ntotal)
    exact_scores, exact_ids = exact.search(queries, k)
    _, approx_ids = approx.search(queries, k)
    found = 0
    for q, (ids, scores) in enumerate(zip(exact_ids, exact_scores, strict=True)):
        got = [i for i in approx_ids[q] if i >= 0]
        got_scores = exact.reconstruct_batch(np.asarray(got, np.int64)) @ queries[q] if got else np.zeros(0)
        found += min(
            k,
            len(set(got) & set(ids.tolist()))
            + int(
                np.sum(
                    [
                        (s >= scores[-1] - 1e-6) and (i not in set(ids.tolist()))
                        for i, s in zip(got, got_scores, strict=True)
                    ]
                )
            ),
        )
    return round(found / (k * len(questions)), 4)


def main(argv: list[str]) -> None:
    stage, corpus, index = argv[0], Path(argv[1]), Path(argv[2])
    if stage == "build":
        out = build(corpus, index, float(argv[3]))
    else:
        out = serve(corpus, index, int(argv[3]), int(argv[4]) if len(argv) > 4 else 0)
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
