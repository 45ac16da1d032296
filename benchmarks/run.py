"""Run every benchmark and write benchmarks/results/README.md, results.json and plots.

    python -m benchmarks.run            # full run (scale section at 10k passages; about 15 minutes on 2 cores)
    python -m benchmarks.run --quick    # 1× only, one repetition: the smoke run of tests/test_benchmarks.py

The scale ladder up to a million passages on both stores is `python -m benchmarks.scale` (scale.md).

Everything is measured side by side in this one run: the fast path (ONNX Runtime
encoder) and sentence-transformers' torch path, the cold `assistant ask` and the
usual recipe, with the development-set scores beside every figure that depends
on a model or an index choice.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import COLD_QUESTION, DEV, OWN, ROOT, all_questions, machine, percentile_ms, run_process

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1× only, one repetition (seconds, not minutes)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where README.md, results.json and plots go")
    parser.add_argument("--sizes", help="passages of the scale section, e.g. 10k (default; quick: 300)")
    parser.add_argument("--repeat", type=int, help="cold-start repetitions (default 3, quick 1)")
    args = parser.parse_args(argv)
    repeat = args.repeat or (1 if args.quick else 3)
    limit = 6 if args.quick else None  # questions per set in the quick run
    from benchmarks.scale import parse_size

    sizes = [parse_size(x) for x in (args.sizes or ("300" if args.quick else "10k")).split(",")]

    work = Path(tempfile.mkdtemp(prefix="assistant-bench-"))
    results: dict = {"machine": machine(), "quick": args.quick}
    try:
        _log(f"work folder {work}")
        results["build"], results["quality"], results["warm_in_process"] = _build_and_quality(work, args.quick, limit)
        results["cold"] = _cold(work, repeat)
        results["warm_batch"] = _warm_batch(work, ("onnx",) if args.quick else ("onnx", "torch"), limit)
        results["scale"] = _scale(work, sizes, args.quick)
        from benchmarks import indexing  # the CMRC-size build, the recipe and one added document

        if indexing.CMRC.is_file():
            results["indexing"] = indexing.run(work, args.quick)
        else:  # a clone without ../shared beside it
            _log(f"indexing benchmark skipped: no CMRC 2018 trial set at {indexing.CMRC}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    from benchmarks.report import write

    write(results, args.out)
    from benchmarks import indexing

    if "indexing" in results:
        indexing.write({"machine": results["machine"], **results["indexing"]}, args.out)
    _log(f"wrote {args.out}/README.md" + (" and indexing.md" if "indexing" in results else ""))
    return results


def _log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def _env(work: Path, encoder: str, index: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(
        ASSISTANT_CORPUS_DIR=str(ROOT / "corpus"),
        ASSISTANT_INDEX_DIR=str(work / index),
        ASSISTANT_ENCODER=encoder,
        ASSISTANT_ON_STALE="refuse",
        PYTHONUNBUFFERED="1",
    )
    if "ASSISTANT_CACHE_DIR" in os.environ:
        env["ASSISTANT_CACHE_DIR"] = os.environ["ASSISTANT_CACHE_DIR"]
    return env


# --- index build, raw encoders, quality ------------------------------------------------------------


class _Recording:
    """Wraps an Embedder: remembers the texts and vectors index.build asks for, to replay them."""

    def __init__(self, embedder, replay: dict | None = None) -> None:
        self.embedder, self.name = embedder, embedder.name
        self.texts: list[str] = []
        self.seconds = 0.0
        self.replay = replay

    def queries(self, texts):
        return self.embedder.queries(texts)

    def passages(self, texts, batch_size: int = 32, progress=None):
        import numpy as np

        if self.replay is not None:
            return np.stack([self.replay[t] for t in texts]) if texts else np.zeros((0, 384), np.float32)
        started = time.perf_counter()
        vectors = self.embedder.passages(texts, batch_size, progress)
        self.seconds += time.perf_counter() - started
        self.texts += list(texts)
        self.vectors = vectors
        return vectors


def _build_and_quality(work: Path, quick: bool, limit: int | None) -> tuple[dict, dict, dict]:
    """Index builds with both encoders, raw encoder throughput, and the quality of every choice.

    Everything in this process that uses ONNX Runtime runs before torch is first loaded here,
    so that torch's idle thread pool cannot bias the ONNX figures.
    """
    import numpy as np

    from assistant.config import Settings
    from assistant.encode.embedder import Embedder
    from assistant.store.local import build

    build_results, quality, warm, answers, recorded = {}, {}, {}, {}, {}
    for encoder in ("onnx", "torch"):
        settings = Settings.load(corpus_dir=ROOT / "corpus", index_dir=work / f"index-{encoder}", encoder=encoder)
        embedder = Embedder(settings)
        embedder.queries(["预热"])  # load (and export once) outside the timed build
        recording = _Recording(embedder)
        report = build(settings, recording)
        recorded[encoder] = recording
        build_results[encoder] = {
            "backend": embedder.backend,
            "passages": report.passages,
            "texts_embedded": len(recording.texts),
            "build_s": round(report.seconds, 2),
            "passages_per_s": round(report.passages / report.seconds, 1),
            "embedding_s": round(recording.seconds, 2),
            "texts_per_s_pipeline": round(len(recording.texts) / recording.seconds, 1),
        }
        _log(f"index built with {encoder}: {build_results[encoder]}")
        runs = [(f"{encoder}, exact (flat)", f"index-{encoder}", None)]
        if encoder == "onnx":  # the approximate index on the very same vectors
            replay = dict(zip(recording.texts, recording.vectors, strict=True))
            ivf = Settings.load(corpus_dir=ROOT / "corpus", index_dir=work / "index-onnx-ivf", approx_threshold=0)
            build(ivf, _Recording(Embedder(ivf), replay))
            runs.append(("onnx, approximate (IVF-Flat)", "index-onnx-ivf", 0))
        for label, index, threshold in runs:
            quality[label], answers[label], timings = _quality(work / index, encoder, threshold, limit)
            if label == "onnx, exact (flat)":
                warm.update(timings)

    a, b = answers["onnx, exact (flat)"], answers["torch, exact (flat)"]
    quality["same answers onnx vs torch"] = f"{sum(x == y for x, y in zip(a, b, strict=True))}/{len(a)}"
    same_top = sum(x[1][:1] == y[1][:1] for x, y in zip(a, b, strict=True))
    quality["same top source onnx vs torch"] = f"{same_top}/{len(a)}"
    cos = np.sum(recorded["onnx"].vectors * recorded["torch"].vectors, axis=1)
    build_results["cosine_onnx_vs_torch"] = {"min": round(float(cos.min()), 5), "mean": round(float(cos.mean()), 5)}

    # Raw encoders on exactly the texts the index embeds: the pipeline's overhead is the difference.
    # Each in a process of its own, interleaved, best of the runs (the machine may be shared).
    texts_file = work / "texts.json"
    texts_file.write_text(json.dumps(recorded["onnx"].texts, ensure_ascii=False), encoding="utf-8")
    names = {"torch": "torch fp32 (sentence-transformers default)", "onnx": "onnx int8 (assistant/encode/onnx.py)"}
    best: dict[str, tuple[float, float]] = {}
    for _ in range(1 if quick else 3):
        for backend in names:
            cmd = [sys.executable, "-m", "benchmarks.encode", backend, str(texts_file)]
            run = json.loads(run_process(cmd, _env(work, backend, "x")).stdout)
            best[backend] = min(best.get(backend, (float("inf"), 0.0)), (run["seconds"], run["cpu_seconds"]))
    n = len(recorded["onnx"].texts)
    build_results["raw"] = {
        names[b]: {
            "texts": n,
            "seconds": round(s, 2),
            "texts_per_s": round(n / s, 1),
            "cpu_seconds": round(c, 2),
            "texts_per_cpu_s": round(n / c, 1),
        }
        for b, (s, c) in best.items()
    }
    _log(f"raw encoders: {build_results['raw']}")
    return build_results, quality, warm


def _model_folder() -> Path:
    from assistant.config import Settings
    from assistant.encode.convert import model_path

    return Path(model_path(Settings.load()))


def _quality(index: Path, encoder: str, approx_threshold: int | None, limit: int | None) -> tuple[dict, list, dict]:
    from assistant.config import Settings
    from assistant.evaluate import read_questions, score
    from assistant.pipeline import Assistant
    from assistant.render.json import answer_to_dict

    settings = Settings.load(corpus_dir=ROOT / "corpus", index_dir=index, encoder=encoder, on_stale="refuse",
                             approx_threshold=approx_threshold)  # fmt: skip
    assistant = Assistant(settings)
    scores, answers, ask_s, retrieve_s = {}, [], [], []
    for name, path in (("dev", DEV), ("eval/questions", OWN)):
        if not path.is_file():
            continue
        qs = read_questions(path)[:limit]
        dicts = []
        for q in qs:
            started = time.perf_counter()
            dicts.append(answer_to_dict(assistant.ask(q["question"])))
            ask_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            assistant.retrieve(q["question"])
            retrieve_s.append(time.perf_counter() - started)
        summary, _ = score(qs, dicts)
        scores[name] = {
            k: summary[k] for k in ("questions", "hit@1", "hit@5", "mrr@5", "answer", "refused") if k in summary
        }
        answers += [
            (d.get("answer"), [s.get("id") or s.get("text", "")[:40] for s in d.get("sources", [])]) for d in dicts
        ]
    warm = {
        "retrieve_p50_ms": percentile_ms(retrieve_s, 50),
        "retrieve_p95_ms": percentile_ms(retrieve_s, 95),
        "ask_p50_ms": percentile_ms(ask_s, 50),
        "ask_p95_ms": percentile_ms(ask_s, 95),
        "questions": len(ask_s),
    }
    _log(f"quality {encoder} {index.name}: {scores}")
    return scores, answers, warm


# --- cold start ------------------------------------------------------------------------------------


def _cold(work: Path, repeat: int) -> dict:
    assistant = str(Path(sys.executable).with_name("assistant"))
    commands = {
        "assistant ask (onnx)": ([assistant, "ask", COLD_QUESTION], _env(work, "onnx", "index-onnx")),
        "assistant ask (torch)": ([assistant, "ask", COLD_QUESTION], _env(work, "torch", "index-torch")),
        "recipe: import sentence-transformers, load e5, embed the question": (
            [sys.executable, "-m", "benchmarks.recipe", str(_model_folder()), COLD_QUESTION],
            _env(work, "torch", "index-torch"),
        ),
    }
    runs: dict[str, list] = {name: [] for name in commands}
    for _ in range(repeat):  # interleaved, so that a busy moment of the machine hits every command alike
        for name, (cmd, env) in commands.items():
            runs[name].append(run_process(cmd, env))
    cold = {}
    for name, rs in runs.items():
        cold[name] = {
            "wall_s_median": round(statistics.median(r.seconds for r in rs), 2),
            "wall_s_all": [round(r.seconds, 2) for r in rs],
            "peak_mb_median": round(statistics.median(r.peak_mb for r in rs)),
        }
        _log(f"cold {name}: {cold[name]}")
    recipe = cold[next(n for n in cold if n.startswith("recipe"))]["wall_s_median"]
    cold["ratio onnx ask / recipe"] = round(cold["assistant ask (onnx)"]["wall_s_median"] / recipe, 3)
    cold["ratio torch ask / recipe"] = round(cold["assistant ask (torch)"]["wall_s_median"] / recipe, 3)
    # The printed answer and sources, with the scores masked (they differ in the 3rd-4th decimal).
    answers = [
        re.sub(r"\d+\.\d+", "#", runs[n][0].stdout.strip()) for n in ("assistant ask (onnx)", "assistant ask (torch)")
    ]
    cold["same printed answer onnx vs torch"] = answers[0] == answers[1]
    return cold


# --- warm batch mode -------------------------------------------------------------------------------


def _warm_batch(work: Path, encoders: tuple[str, ...], limit: int | None) -> dict:
    """Per-question latency of `assistant ask --json` reading standard input, from the output's arrival times."""
    import subprocess

    questions = all_questions()[: limit and 2 * limit]
    assistant = str(Path(sys.executable).with_name("assistant"))
    results = {}
    for encoder in encoders:
        proc = subprocess.Popen(
            [assistant, "ask", "--json"],
            env=_env(work, encoder, f"index-{encoder}"),
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        started = time.perf_counter()
        proc.stdin.write("\n".join(questions) + "\n")
        proc.stdin.close()
        stamps = [time.perf_counter() for _line in proc.stdout]
        proc.wait()
        gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]  # the first answer also pays start-up
        results[encoder] = {
            "questions": len(stamps),
            "first_answer_s": round(stamps[0] - started, 2),
            "p50_ms": percentile_ms(gaps, 50),
            "p95_ms": percentile_ms(gaps, 95),
        }
        _log(f"batch {encoder}: {results[encoder]}")
    return results


# --- scale ---------------------------------------------------------------------------------------


def _scale(work: Path, sizes: list[int], quick: bool) -> dict:
    """The scale ladder of benchmarks/scale.py (`python -m benchmarks.scale` runs it up to 1M passages) at the
    sizes given, on the local store and, when pymilvus is installed, on Milvus Lite."""
    from benchmarks import scale

    try:
        import pymilvus  # noqa: F401

        stores = scale.STORES
    except ImportError:
        stores = ("local",)
    result = scale.run(work / "scale", sizes, stores, count=6 if quick else scale.QUESTIONS,
                       calibration_sample=20 if quick else 200)  # fmt: skip
    for row in result["rows"]:
        _log(f"scale {row['size']} {row['store']}: {row}")
    return result


if __name__ == "__main__":
    main()
