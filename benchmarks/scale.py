"""Scale, measured: 10k → 100k → 1M passages on the local store and on Milvus Lite (issue 22, item 7).

    python -m benchmarks.scale                                     # the ladder: 10k,100k,1M × local,milvus-lite
    python -m benchmarks.scale --sizes 10k,100k --stores local,milvus-lite [--budget 900] [--rounds 2]

Writes benchmarks/results/scale.md and scale.json (`--out` elsewhere). Corpora are synthetic, made at
run time from real sentences (the report's and the CMRC 2018 trial paragraphs', benchmarks/synth.py);
their sentence vectors are the real e5 vectors of the source sentences plus calibrated noise
(`PerturbedVectors`): embedding 10⁶ passages (≈ 5·10⁶ sentences) with e5 on 2 CPUs would take weeks.
Questions are embedded for real.

Every measurement runs in a process of its own (its peak memory is its own), launched by
benchmarks/peak.py; the stores take turns at each size (build local, sync Milvus Lite, then serve
local and Milvus Lite alternately), with the load average recorded beside each figure. A build that
would pass the time budget (extrapolated from the size below) or the free memory is not started, and
one that runs past the budget is stopped: the row says which.

Worker stages (one process each; each prints one JSON object):
    python -m benchmarks.scale build-local CORPUS INDEX CACHE SIGMA
    python -m benchmarks.scale build-milvus CORPUS INDEX URI
    python -m benchmarks.scale truth CORPUS INDEX QUESTIONS OUT
    python -m benchmarks.scale serve STORE CORPUS INDEX URI QUESTIONS TRUTH
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from assistant.config import Settings
from benchmarks.common import OWN, ROOT, machine, peak_mb, percentile_ms, questions

RESULTS = Path(__file__).resolve().parent / "results"
CMRC = ROOT.parent / "shared" / "external" / "cmrc2018" / "cmrc2018_trial.json"
StoreName = Literal["local", "milvus-lite"]
STORES: tuple[StoreName, ...] = ("local", "milvus-lite")
SIZES = ("10k", "100k", "1M")
BUDGET_S = 1200  # a build (or a sync) longer than this is not started, or stopped: 20 minutes on 2 shared cores
RECALL_K = 10
QUESTIONS = 30  # the fixed sample: half the repository's own report questions, half CMRC trial questions
SOURCE_CACHE = "scale-sources-{model}.npz"  # real vectors of the source sentences, in the cache folder


def parse_size(text: str) -> int:
    """`10k`, `1M` or a plain number of passages."""
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


def size_label(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)


def _settings(corpus: Path, index: Path, store: StoreName = "local", uri: str = "") -> Settings:
    settings = Settings.load(corpus_dir=corpus, index_dir=index, on_stale="refuse")
    return settings.with_(store="milvus", store_uri=uri) if store == "milvus-lite" else settings


def _cmrc_sentences() -> list[str]:
    from benchmarks.synth import cmrc_sentences

    return cmrc_sentences(CMRC) if CMRC.is_file() else []


def _vectors(settings: Settings, sigma: float | None = None, sample: int = 200):
    from assistant.encode.embedder import Embedder
    from benchmarks.synth import PerturbedVectors

    cache = settings.cache_dir / SOURCE_CACHE.format(model=settings.model.replace("/", "--"))
    cache.parent.mkdir(parents=True, exist_ok=True)
    return PerturbedVectors(Embedder(settings), ROOT / "corpus", sigma=sigma, sample=sample, extra=_cmrc_sentences(),
                            cache=cache)  # fmt: skip


def _folder_mb(path: Path) -> float:
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20, 1) if path.exists() else 0.0


def _rss_mb() -> float:
    """The memory the process holds now (peak_mb is the most it ever held)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024)
    return 0.0


# --- worker stages -------------------------------------------------------------------------------


def build_local(corpus: Path, index: Path, sigma: float) -> dict:
    """The local store's whole build (chunking, stand-in vectors, BM25 words, shards, FAISS, bm25s)."""
    from assistant.store.local import build

    settings = _settings(corpus, index)
    vectors = _vectors(settings, sigma)
    report = build(settings, vectors)
    manifest = json.loads(next(index.glob("build-*/manifest.json")).read_text(encoding="utf-8"))
    return {
        "documents": report.documents,
        "passages": report.passages,
        "sentences": int(manifest["counts"]["sentences"]),
        "dense_index": manifest["dense_index"],
        "build_s": round(report.seconds, 1),
        "vectors_s": round(report.embedding_seconds, 1),  # the stand-in for embedding, inside build_s
        "disk_mb": _folder_mb(next(index.glob("build-*"))),
        "staging_mb": _folder_mb(index / "shards"),
        "build_peak_mb": round(peak_mb()),
    }


def build_milvus(corpus: Path, index: Path, uri: str) -> dict:
    """Fill Milvus Lite from the local build's shards, as `assistant index --store milvus` does after the build
    (the local build is its staging area: documents are chunked and embedded once). Only the manifest is read
    from the local build, so the memory is Milvus Lite's and the sync's."""
    from assistant.store import milvus
    from assistant.store.build import current_manifest

    settings = _settings(corpus, index, "milvus-lite", uri)
    manifest = current_manifest(index)
    started = time.perf_counter()
    client = milvus.connect(settings)
    milvus._prepare(client, uri, milvus._meta(manifest["model"], int(manifest["dimension"])))
    added, _ = milvus.sync(client, index, manifest)
    client.close()
    return {"build_s": round(time.perf_counter() - started, 1), "documents": len(added),
            "disk_mb": _folder_mb(Path(uri)), "build_peak_mb": round(peak_mb())}  # fmt: skip


def truth(corpus: Path, index: Path, questions_file: Path, out: Path) -> dict:
    """Exact dense scores of every passage (its best sentence's cosine) for every question, by brute force over
    the stored vectors in slices: what recall@10 is measured against."""
    from assistant.encode.embedder import Embedder
    from assistant.store.local import load

    settings = _settings(corpus, index)
    store = load(settings)
    embedder = Embedder(settings)
    asked = json.loads(questions_file.read_text(encoding="utf-8"))
    queries = np.stack([embedder.queries([q])[0] for q in asked]).astype(np.float32)  # one by one, as served
    first = np.asarray(store._first_rows)
    scores = np.empty((store.count, len(asked)), np.float32)
    step = max(1, 200_000 // max(1, int(np.mean(np.diff(first))) if store.count else 1))  # ~200k sentences a slice
    for a in range(0, store.count, step):
        b = min(store.count, a + step)
        rows = store.dense.reconstruct_n(int(first[a]), int(first[b] - first[a])) @ queries.T
        scores[a:b] = np.maximum.reduceat(rows, first[a:b] - first[a], axis=0)
    np.savez(out, ids=np.array([p.id for p in store.passages]), scores=scores)
    store.close()
    return {"questions": len(asked), "passages": store.count}


def serve(store_name: StoreName, corpus: Path, index: Path, uri: str, questions_file: Path, truth_file: Path) -> dict:
    """Open the store as the product does, answer the question sample: whole `ask` and the dense search alone
    (p50/p95), recall@10 of the dense search against the exact scores, memory."""
    from assistant import retrieve
    from assistant.pipeline import Assistant

    started = time.perf_counter()
    assistant = Assistant(_settings(corpus, index, store_name, uri))
    open_s = time.perf_counter() - started
    store = assistant.index
    asked = json.loads(questions_file.read_text(encoding="utf-8"))
    vectors = [assistant.embedder.queries([q])[0] for q in asked]
    for q in asked[:3]:
        assistant.ask(q)  # warm-up: lazy caches, first ORT runs
    dense, ask = [], []
    for q, v in zip(asked, vectors, strict=True):
        t = time.perf_counter()
        store.dense_search(v, retrieve._CANDIDATES)  # the depth retrieval asks for
        dense.append(time.perf_counter() - t)
        t = time.perf_counter()
        assistant.ask(q)
        ask.append(time.perf_counter() - t)
    exact = np.load(truth_file, allow_pickle=False)
    result = {
        "open_s": round(open_s, 2),
        "ask_p50": percentile_ms(ask, 50), "ask_p95": percentile_ms(ask, 95),
        "dense_p50": percentile_ms(dense, 50), "dense_p95": percentile_ms(dense, 95),
        "recall@10": _recall(store, vectors, exact["ids"].tolist(), exact["scores"]),
    }  # fmt: skip
    import faiss

    dense_index = getattr(store, "dense", None)
    if isinstance(dense_index, faiss.IndexIVF):  # recall by lists searched (a search-time setting)
        default, sweep = dense_index.nprobe, []
        for nprobe in (8, 16, 32, 64):
            dense_index.nprobe = nprobe
            sweep.append({"nlist": dense_index.nlist, "nprobe": nprobe,
                          "recall@10": _recall(store, vectors, exact["ids"].tolist(), exact["scores"])})  # fmt: skip
        dense_index.nprobe = default
        result["nprobe"], result["nprobe_sweep"] = default, sweep
    result.update(rss_mb=_rss_mb(), serve_peak_mb=round(peak_mb()))
    store.close()
    return result


def _recall(store, vectors: list[np.ndarray], ids: list[str], scores: np.ndarray) -> float:
    """Share of the exact top 10 passages the store's dense search returns; a passage whose exact score ties
    the 10th counts as found."""
    number = {i: n for n, i in enumerate(ids)}
    k = min(RECALL_K, len(ids))
    found = 0
    for q, v in enumerate(vectors):
        kth = np.partition(scores[:, q], -k)[-k]
        got = [number[i] for i, _ in store.dense_search(v, k)]
        found += min(k, int(np.sum(scores[got, q] >= kth - 1e-5)))
    return round(found / (k * len(vectors)), 4)


# --- the ladder ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Worker:
    """One worker process's outcome: its JSON (None when it failed or was stopped) and what it cost."""

    out: dict | None
    seconds: float
    peak_mb: float
    load: tuple[float, float]  # 1-minute load average before and after
    problem: str = ""


def _worker(args: list[str], env: dict[str, str], timeout: float) -> Worker:
    """Run a worker stage under benchmarks/peak.py (its own peak memory), stopped at `timeout` seconds or when
    its memory passes 85% of what was free at its start (the machine is shared: better a row that says where
    a store stopped than the kernel killing some process)."""
    before = os.getloadavg()[0]
    limit_mb = 0.85 * _available_mb()
    with tempfile.TemporaryDirectory() as tmp:
        stats, out, err = Path(tmp) / "stats.json", Path(tmp) / "out", Path(tmp) / "err"
        cmd = [sys.executable, "-m", "benchmarks.peak", str(stats), sys.executable, "-m", "benchmarks.scale", *args]
        started = time.perf_counter()
        with out.open("w") as stdout, err.open("w") as stderr:
            proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=stdout, stderr=stderr, start_new_session=True)
            problem = ""
            while proc.poll() is None:
                time.sleep(0.5)
                if time.perf_counter() - started > timeout:
                    problem = f"stopped at the budget of {timeout / 60:.0f} min"
                elif (held := _tree_rss_mb(proc.pid)) > limit_mb:
                    problem = f"stopped at {held / 1024:.1f} GB held (85% of the {limit_mb / 0.85 / 1024:.1f} GB free)"
                if problem:
                    os.killpg(proc.pid, signal.SIGKILL)  # the launcher and the stage it started: their own session
                    proc.wait()
                    return Worker(None, time.perf_counter() - started, 0.0, (before, os.getloadavg()[0]), problem)
        load = (before, os.getloadavg()[0])
        if proc.returncode != 0:
            last = (err.read_text(encoding="utf-8").strip().splitlines() or ["no output"])[-1][:200]
            return Worker(None, time.perf_counter() - started, 0.0, load, f"failed: {last}")
        measured = json.loads(stats.read_text(encoding="utf-8"))
        result = json.loads(out.read_text(encoding="utf-8").strip().splitlines()[-1])
    return Worker(result, measured["seconds"], measured["peak_mb"], load)


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants (Linux /proc), in MB."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
            todo += [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_") or k == "ASSISTANT_CACHE_DIR"}
    return {**env, "PYTHONUNBUFFERED": "1"}


def _available_mb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return float("inf")


def _question_sample(count: int) -> list[str]:
    """A fixed sample: every k-th question of eval/questions.jsonl and of the CMRC trial set."""
    own = [q["question"] for q in questions(OWN)] if OWN.is_file() else []
    cmrc: list[str] = []
    if CMRC.is_file():
        data = json.loads(CMRC.read_text(encoding="utf-8"))["data"]
        cmrc = [qa["question"] for a in data for p in a["paragraphs"] for qa in p["qas"]]
    half = count // 2 if cmrc else count
    pick = (lambda qs, n: qs[:: max(1, len(qs) // n)][:n]) if count else (lambda qs, n: [])
    return pick(own, count - half) + pick(cmrc, half)


def _log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def _skip(previous: dict | None, target: int, budget: float) -> str:
    """Why a build of `target` passages is not started, extrapolated linearly from the size below."""
    if not previous or previous.get("build_s") is None:
        return ""
    ratio, free = target / previous["passages"], _available_mb()
    seconds, memory = previous["build_s"] * ratio, previous["build_peak_mb"] * ratio
    reasons = []
    if memory > 0.9 * free:
        reasons.append(f"{memory / 1024:.1f} GB predicted peak > {free / 1024:.1f} GB free")
    if seconds > budget:
        reasons.append(f"{seconds / 60:.0f} min predicted build > budget {budget / 60:.0f} min")
    return f"not run: {' and '.join(reasons)} (linear from {previous['size']})" if reasons else ""


def run(work: Path, sizes: list[int], stores: tuple[StoreName, ...], budget: float = BUDGET_S, rounds: int = 1,
        count: int = QUESTIONS, calibration_sample: int = 200, earlier: Sequence[dict] = ()) -> dict:  # fmt: skip
    """The ladder: every size on every store, interleaved; returns the rows (see `markdown`). `earlier` rows (of
    a previous part of the ladder) count as the sizes below when deciding whether a size can run."""
    from assistant.ingest.chunking import chunk_document
    from assistant.ingest.files import read_document
    from benchmarks.synth import write_corpus

    work.mkdir(parents=True, exist_ok=True)
    env = _env()
    settings = Settings.load()
    started = time.perf_counter()
    sources = _vectors(settings, sample=calibration_sample)  # the sources' real vectors (cached), the noise's size
    seconds = round(time.perf_counter() - started)
    calibration = {**sources.calibration, "sources": len(sources.table), "seconds": seconds}
    _log(f"perturbation calibrated on real vectors: {calibration}")
    extra = _cmrc_sentences()
    # Passages per unit of `write_corpus`'s factor, from a probe corpus chunked as the build chunks it.
    probe = work / "probe"
    write_corpus(ROOT / "corpus", probe, 20, extra=extra)
    per_factor = sum(len(chunk_document(read_document(p, probe), settings.chunk_chars))
                     for p in sorted(probe.iterdir())) / 20  # fmt: skip
    shutil.rmtree(probe)
    asked = _question_sample(count)
    questions_file = work / "questions.json"
    questions_file.write_text(json.dumps(asked, ensure_ascii=False), encoding="utf-8")

    rows: list[dict] = []
    last: dict[str, dict] = {}
    for row in sorted(earlier, key=lambda r: r["target"]):
        if row.get("status") == "ok" and row["target"] < min(sizes):
            last[row["store"]] = row
    for target in sizes:
        label = size_label(target)
        corpus, index, uri = work / f"corpus-{label}", work / f"index-{label}", str(work / f"milvus-{label}.db")
        base = {"size": label, "target": target}
        local_skip = _skip(last.get("local"), target, budget) if "local" in stores or "milvus-lite" in stores else ""
        made: dict[str, dict] = {}
        if local_skip:
            for name in stores:
                staged = f"not run: needs the local build (its staging area), {local_skip.split(': ', 1)[1]}"
                why = local_skip if name == "local" else staged
                rows.append({**base, "store": name, "status": why})
                _log(f"{label} {name}: {why}")
            continue
        t = time.perf_counter()
        counts = write_corpus(ROOT / "corpus", corpus, target / per_factor, extra=extra)
        _log(f"{label}: synthetic corpus {counts} in {time.perf_counter() - t:.0f} s")
        w = _worker(["build-local", str(corpus), str(index), str(calibration["sigma"])], env, budget)
        local = {**base, "store": "local", "build_load": w.load}
        if w.out is None:
            local["status"] = w.problem
            rows += [local] + [{**base, "store": n, "status": f"not run: the local build {w.problem}"}
                               for n in stores if n != "local"]  # fmt: skip
            _log(f"{label} local build: {w.problem}")
            shutil.rmtree(corpus, ignore_errors=True)
            shutil.rmtree(index, ignore_errors=True)
            continue
        local.update(w.out, status="ok", build_wall_s=round(w.seconds, 1), build_peak_mb=round(w.peak_mb))
        _log(f"{label} local build: {w.out} (process {w.seconds:.0f} s, {w.peak_mb:.0f} MB)")
        truth_file = work / f"truth-{label}.npz"
        tw = _worker(["truth", str(corpus), str(index), str(questions_file), str(truth_file)], env, 4 * budget)
        if tw.out is None:
            raise RuntimeError(f"exact search at {label} {tw.problem}")
        if "local" in stores:
            made["local"] = local
        if "milvus-lite" in stores:
            mw_skip = _skip(last.get("milvus-lite"), target, budget)
            milvus = {**base, "store": "milvus-lite", "passages": local["passages"], "sentences": local["sentences"],
                      "dense_index": "FLAT (Milvus Lite: NumPy brute force per segment)",
                      "staging_s": local["build_s"]}  # fmt: skip
            if mw_skip:
                milvus["status"] = mw_skip
            else:
                mw = _worker(["build-milvus", str(corpus), str(index), uri], env, budget)
                milvus["build_load"] = mw.load
                if mw.out is None:
                    milvus["status"] = mw.problem
                else:
                    milvus.update(mw.out, status="ok", build_peak_mb=round(mw.peak_mb))
                    milvus["documents"] = local["documents"]
                _log(f"{label} milvus-lite sync: {mw.out or mw.problem} (process {mw.seconds:.0f} s)")
            made["milvus-lite"] = milvus
        serving = [n for n in stores if made.get(n, {}).get("status") == "ok"]
        runs: dict[str, list[tuple[dict, tuple]]] = {n: [] for n in serving}
        for _ in range(rounds):  # the stores take turns: a busy moment of the machine hits both alike
            for name in serving:
                sw = _worker(["serve", name, str(corpus), str(index), uri, str(questions_file), str(truth_file)],
                             env, budget)  # fmt: skip
                if sw.out is None:
                    made[name]["status"] = f"serving {sw.problem}"
                    _log(f"{label} {name} serve: {sw.problem}")
                    continue
                runs[name].append((sw.out, sw.load))
                _log(f"{label} {name} serve: {sw.out}")
        for name, done in runs.items():
            if not done:
                continue
            row = made[name]
            for key in ("ask_p50", "ask_p95", "dense_p50", "dense_p95", "open_s"):
                row[key] = round(statistics.median(d[key] for d, _ in done), 1 if key != "open_s" else 2)
            row["rounds"] = [{k: d[k] for k in ("ask_p50", "ask_p95", "dense_p50", "dense_p95")} | {"load": load}
                             for d, load in done]  # fmt: skip
            for key in ("recall@10", "rss_mb", "serve_peak_mb", "nprobe", "nprobe_sweep"):
                if key in done[0][0]:
                    row[key] = done[0][0][key]  # exact (the same in every round)
        for name in stores:
            if name in made:
                rows.append(made[name])
                if made[name].get("status") == "ok":
                    last[name] = made[name]
        shutil.rmtree(corpus, ignore_errors=True)
        shutil.rmtree(index, ignore_errors=True)
        shutil.rmtree(uri, ignore_errors=True)
        truth_file.unlink(missing_ok=True)
    return {"machine": machine(), "calibration": calibration, "questions": len(asked), "budget_s": budget,
            "rounds": rounds, "omp_threads": os.environ.get("OMP_NUM_THREADS", ""), "rows": rows}  # fmt: skip


# --- the report ----------------------------------------------------------------------------------


def _cell(row: dict, key: str, unit: str = "") -> str:
    value = row.get(key)
    return "–" if value is None else f"{value}{unit}"


def _pair(row: dict, a: str, b: str) -> str:
    return "–" if row.get(a) is None else f"{row[a]} / {row[b]}"


def _load(row: dict, key: str) -> str:
    load = row.get(key)
    return "–" if not load else f"{load[0]:.1f}→{load[1]:.1f}"


def table(result: dict) -> list[str]:
    """The ladder as Markdown table lines (scale.md and benchmarks/results/README.md)."""
    lines = [
        "| passages | store | sentences | dense index | build (s) | build peak (MB) | on disk (MB) | open (s) | "
        "answering: peak / held (MB) | ask p50 / p95 (ms) | dense search p50 / p95 (ms) | recall@10 | "
        "load avg build · serve |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        if r.get("status") != "ok":
            lines.append(f"| {r['size']} | {r['store']} | {r.get('sentences', '–')} | {r['status']} |" + " |" * 9)
            continue
        build = f"{r['build_s']}" if r["store"] == "local" else f"{r['staging_s']} + {r['build_s']}"
        serve_load = " ".join(_load(x, "load") for x in r.get("rounds", [])) or "–"
        lines.append(
            f"| {r['size']} ({r['passages']}) | {r['store']} | {r['sentences']} | {r['dense_index']} | {build} | "
            f"{r['build_peak_mb']} | {r['disk_mb']} | {_cell(r, 'open_s')} | {_pair(r, 'serve_peak_mb', 'rss_mb')} | "
            f"{_pair(r, 'ask_p50', 'ask_p95')} | {_pair(r, 'dense_p50', 'dense_p95')} | {_cell(r, 'recall@10')} | "
            f"{_load(r, 'build_load')} · {serve_load} |"
        )
    return lines


def ratios(result: dict) -> list[str]:
    """Milvus Lite over local at each size, from the same run."""
    by = {(r["size"], r["store"]): r for r in result["rows"] if r.get("status") == "ok"}
    lines = ["| passages | build (with staging) | build peak | answering peak | ask p50 | dense search p50 |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for size in dict.fromkeys(r["size"] for r in result["rows"]):
        a, b = by.get((size, "local")), by.get((size, "milvus-lite"))
        if not a or not b:
            continue

        def ratio(x: float | None, y: float | None) -> str:
            return "–" if not x or y is None else f"{y / x:.2f}×"

        lines.append(f"| {size} | {ratio(a['build_s'], b['staging_s'] + b['build_s'])} | "
                     f"{ratio(a['build_peak_mb'], b['build_peak_mb'])} | "
                     f"{ratio(a.get('serve_peak_mb'), b.get('serve_peak_mb'))} | "
                     f"{ratio(a.get('ask_p50'), b.get('ask_p50'))} | "
                     f"{ratio(a.get('dense_p50'), b.get('dense_p50'))} |")  # fmt: skip
    return lines if len(lines) > 2 else []


def markdown(result: dict) -> str:
    m, cal = result["machine"], result["calibration"]
    commands = "; then ".join(f"`{c}`" for c in result.get("commands", ["python -m benchmarks.scale"]))
    loads = ", ".join(x["load average at start"] for x in result.get("machines", [m]))
    lines = [
        "# Scale: local store and Milvus Lite, 10k → 1M passages",
        "",
        f"Command: {commands} (with `--add`, a later command's sizes are added to the earlier rows). Machine: "
        f"{m['cpu']}, {m['cores']} cores, {m['ram']}, {m['date']}; load average at start {loads}. "
        "**Taken on a busy machine** (2 cores shared with other jobs): "
        "times are noisy, read the ratios of the same run; memory, sizes and recall are exact. "
        f"OMP_NUM_THREADS={result.get('omp_threads') or 'unset'} (FAISS's threads).",
        "",
        "Corpora: synthetic, made at run time from real sentences (the report's and the CMRC 2018 trial "
        "paragraphs', numbers and place names varied: benchmarks/synth.py). Sentence vectors are the real e5 "
        f"vectors of the {cal['sources']} source sentences plus Gaussian noise calibrated on {cal['sample']} "
        f"variants embedded for real (mean cosine {cal['mean_cosine']}, σ = {cal['sigma']}): embedding a million "
        "passages with e5 on 2 CPUs is out of reach, so build times leave real embedding out (the column "
        "`build` includes the stand-in vectors). Questions: a fixed sample of "
        f"{result['questions']} (half eval/questions.jsonl, half CMRC trial), embedded for real.",
        "",
        *table(result),
        "",
        "- *build*: local, the whole `assistant index` (chunking, BM25 words, shards, FAISS, bm25s); Milvus Lite, "
        "the local build it is filled from (its staging area) + the sync into Milvus Lite. Peak memory: of the "
        "build's own process (benchmarks/peak.py); *on disk*: the build folder (local, shards not counted) or "
        "the Milvus Lite folder.",
        "- *answering*: the serving process's peak memory (Milvus opens the local build first, as the product "
        "does) / what it holds after answering. *ask*: the whole `Assistant.ask` of each question, warm; *dense "
        f"search*: `store.dense_search` alone (depth 50, vector given). Medians over {result['rounds']} "
        "round(s), the stores taking turns.",
        "- *recall@10*: share of the exact top 10 passages (best-sentence cosine by brute force over every "
        "stored vector) that the store's dense search returns; a tie at the 10th score counts as found.",
        "- *load avg*: 1-minute load average before→after each process (2 cores: above 2 the CPUs were shared).",
        f"- Builds past {result['budget_s'] / 60:.0f} minutes, or predicted (linearly from the size below) to "
        "pass that or the free memory, are not run: the row says which.",
    ]
    r = ratios(result)
    if r:
        lines += ["", "## Milvus Lite ÷ local, same run", "", *r]
    sweep = [(row, e) for row in result["rows"] for e in row.get("nprobe_sweep", [])]
    if sweep:
        lines += ["", "## Local IVF-Flat: recall@10 by lists searched (nprobe, a search-time setting)", "",
                  "| passages | lists | nprobe | recall@10 |", "|---|---|---|---|"]  # fmt: skip
        for row, e in sweep:
            default = " (default)" if e["nprobe"] == row["nprobe"] else ""
            lines.append(f"| {row['size']} | {e['nlist']} | {e['nprobe']}{default} | {e['recall@10']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict | None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("build-local", "build-milvus", "truth", "serve"):
        print(json.dumps(_stage(argv)))
        return None
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(SIZES), help="passages, e.g. 10k,100k,1M (default)")
    parser.add_argument("--stores", default=",".join(STORES), help="local,milvus-lite (default)")
    parser.add_argument("--budget", type=float, default=BUDGET_S, help="seconds a build may take (default 1200)")
    parser.add_argument("--rounds", type=int, default=1, help="serving rounds per store, taking turns")
    parser.add_argument("--questions", type=int, default=QUESTIONS, help="size of the fixed question sample")
    parser.add_argument("--calibrate", type=int, default=200, help="variants embedded for real to size the noise")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where scale.md and scale.json go")
    parser.add_argument("--add", action="store_true", help="keep OUT/scale.json's rows of other sizes (runs in parts)")
    args = parser.parse_args(argv)
    try:
        sizes = [parse_size(s) for s in args.sizes.split(",")]
    except ValueError:
        parser.error(f"--sizes: {args.sizes!r} is not a list like 10k,100k,1M")
    stores = tuple(s.strip() for s in args.stores.split(","))
    if unknown := [s for s in stores if s not in STORES]:
        parser.error(f"--stores: {', '.join(unknown)} is not one of {', '.join(STORES)}")
    if "milvus-lite" in stores:
        try:
            import pymilvus  # noqa: F401
        except ImportError:
            parser.error('--stores milvus-lite needs pymilvus: pip install "luoyang-report-assistant[milvus]"')
    earlier = args.out / "scale.json"
    old = json.loads(earlier.read_text(encoding="utf-8")) if args.add and earlier.is_file() else None
    work = Path(tempfile.mkdtemp(prefix="assistant-scale-"))
    try:
        result = run(work, sizes, stores, args.budget, args.rounds, args.questions, args.calibrate,
                     old["rows"] if old else [])  # type: ignore[arg-type]  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    command = "python -m benchmarks.scale" + "".join(f" {a}" for a in argv)
    result["commands"] = [command]
    if old:  # rows of other sizes (and stores) stay; the same size and store are replaced
        done = {(r["size"], r["store"]) for r in result["rows"]}
        kept = [r for r in old["rows"] if (r["size"], r["store"]) not in done]
        order = {name: n for n, name in enumerate(STORES)}
        result["rows"] = sorted(kept + result["rows"], key=lambda r: (r["target"], order.get(r["store"], 9)))
        result["commands"] = old.get("commands", []) + [command]
        result["machines"] = old.get("machines", [old["machine"]]) + [result["machine"]]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scale.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    (args.out / "scale.md").write_text(markdown(result), encoding="utf-8")
    _log(f"wrote {args.out}/scale.md")
    return result


def _stage(argv: list[str]) -> dict:
    stage, corpus, index = argv[0], Path(argv[1]), Path(argv[2])
    if stage == "build-local":
        return build_local(corpus, index, float(argv[3]))
    if stage == "build-milvus":
        return build_milvus(corpus, index, argv[3])
    if stage == "truth":
        return truth(corpus, index, Path(argv[3]), Path(argv[4]))
    return serve(argv[1], Path(argv[2]), Path(argv[3]), argv[4], Path(argv[5]), Path(argv[6]))  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
