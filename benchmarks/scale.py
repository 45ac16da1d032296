"""One scale measurement in its own process (so its peak memory is its own).

python -m benchmarks.scale build CORPUS INDEX SIGMA     → JSON: build time, counts, sizes, peak memory
python -m benchmarks.scale serve CORPUS INDEX REPEAT LIMIT → JSON: query p50/p95 exact and IVF, recall@10 by nprobe
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
    from assistant.encode.embedder import Embedder
    from assistant.store.local import build as build_index
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

    from assistant.pipeline import Assistant
    from assistant.store.build import IVF_PROBES, _dense_index  # the same IVF parameters as a real build

    started = time.perf_counter()
    assistant = Assistant(_settings(corpus, index))
    questions = all_questions()[: limit or None]
    for q in questions[:3]:
        assistant.ask(q)  # warm-up: lazy caches, first ORT runs
    load_s = time.perf_counter() - started

    default = assistant.index.dense
    kind = "ivf" if isinstance(default, faiss.IndexIVF) else "flat"
    result: dict = {"default_index": kind, "load_s": round(load_s, 2)}
    result[kind] = _latency(assistant, questions, repeat)
    result["serve_peak_mb"] = round(peak_mb())  # answering with the index a real build chooses

    vectors = default.reconstruct_n(0, default.ntotal)
    if kind == "ivf":
        exact, approx = faiss.IndexFlatIP(vectors.shape[1]), default
        exact.add(vectors)
        other = "flat"
    else:
        t = time.perf_counter()
        exact, approx = default, _dense_index(vectors, 0)  # IVF-Flat, as a build past the threshold makes it
        result["ivf_build_s"] = round(time.perf_counter() - t, 1)
        other = "ivf"
    faiss.write_index(exact if other == "flat" else approx, str(index / f"other.{other}"))
    result[f"{other}_mb"] = round((index / f"other.{other}").stat().st_size / 2**20, 1)
    assistant.index.dense = exact if other == "flat" else approx
    result[other] = _latency(assistant, questions, repeat)
    result["recall@10"] = _recall(assistant, questions, exact, approx)
    result["nprobe_default"] = approx.nprobe
    assert approx.nprobe == min(IVF_PROBES, approx.nlist)
    result["nprobe_sweep"] = _nprobe_sweep(assistant, questions, exact, approx)
    assistant.index.dense = default
    return result


def _nprobe_sweep(assistant, questions: list[str], exact, approx) -> list[dict]:
    """Recall@10 and dense-search time (one query) of the IVF-Flat index by nprobe (a search-time setting)."""
    queries = np.ascontiguousarray(assistant.embedder.queries(questions), dtype=np.float32)
    default, rows = approx.nprobe, []
    for nprobe in sorted({4, 8, 16, 32, 64, default}):
        if nprobe > approx.nlist:
            break
        approx.nprobe = nprobe
        times = []
        for q in queries:
            t = time.perf_counter()
            approx.search(q.reshape(1, -1), RECALL_K)
            times.append(time.perf_counter() - t)
        rows.append({"nlist": approx.nlist, "nprobe": nprobe, "recall@10": _recall(assistant, questions, exact, approx),
                     "search_p50_ms": percentile_ms(times, 50), "search_p95_ms": percentile_ms(times, 95)})  # fmt: skip
    approx.nprobe = default
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
