"""Indexing a CMRC-dev-size corpus: our build beside the usual recipe, and one added document.

    python -m benchmarks.indexing            # 848 documents (several minutes on 2 cores)
    python -m benchmarks.indexing --quick    # 12 documents: the smoke run

The corpus: issue 13 measured the CMRC 2018 dev set (848 documents, ~430,000 characters, 11,526
sentences), of which only the 256-paragraph trial set is on disk. `make_corpus` makes 848 documents
from it: document i is trial paragraph i mod 256, copy k = i div 256 (so each paragraph appears 3
or 4 times), written as its article title with "（k+1）", a blank line, and the paragraph with its
sentences rotated left by k (copy 0 is the paragraph as published). Every document differs in its
bytes and in the order of its sentences, but the sentences themselves repeat across copies; nothing
in the build caches or skips a sentence seen in another document, so each copy costs in full.

Everything is a whole process, timed by benchmarks/peak.py, one after the other in this run:
`assistant index` into an empty folder; the recipe (benchmarks/recipe_build.py); then `assistant add`
of one more document; and the raw ONNX encoder alone on 2,000 of the sentences the build embeds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import ROOT, machine, run_process

# shared/ lies beside the clone (CI, /work/main) or further up (a worktree in /work/wt/NAME).
CMRC = next(
    (p / "shared" / "external" / "cmrc2018" / "cmrc2018_trial.json" for p in ROOT.parents
     if (p / "shared" / "external" / "cmrc2018" / "cmrc2018_trial.json").is_file()),
    ROOT.parent / "shared" / "external" / "cmrc2018" / "cmrc2018_trial.json",
)  # fmt: skip
RESULTS = Path(__file__).resolve().parent / "results"
_SENTENCE = re.compile(r"[^。！？]+[。！？]?")


def make_corpus(folder: Path, documents: int = 848, source: Path = CMRC) -> dict:
    """Write `documents` files made from the CMRC trial set (see the module docstring)."""
    articles = json.loads(source.read_text(encoding="utf-8"))["data"]
    paragraphs = [(a["title"], p["context"], p["id"]) for a in articles for p in a["paragraphs"]]
    folder.mkdir(parents=True, exist_ok=True)
    characters = 0
    for i in range(documents):
        copy, k = divmod(i, len(paragraphs))
        title, context, pid = paragraphs[k]
        sentences = _SENTENCE.findall(context)
        r = copy % max(1, len(sentences))
        text = f"{title}（{copy + 1}）\n\n{''.join(sentences[r:] + sentences[:r])}\n"
        (folder / f"{pid}-{copy}.txt").write_text(text, encoding="utf-8")
        characters += len(text)
    return {"documents": documents, "characters": characters}


def _env(corpus: Path, index: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(ASSISTANT_CORPUS_DIR=str(corpus), ASSISTANT_INDEX_DIR=str(index), PYTHONUNBUFFERED="1")
    if "ASSISTANT_CACHE_DIR" in os.environ:
        env["ASSISTANT_CACHE_DIR"] = os.environ["ASSISTANT_CACHE_DIR"]
    return env


def _figures(stdout: str) -> dict:
    """texts/s and tokens/s from `assistant index`/`add` output."""
    found = re.search(r"embedded (\d+) sentences of (\d+) documents? at (\d+) texts/s, (\d+) tokens/s", stdout)
    if not found:
        return {}
    sentences, documents, texts, tokens = map(int, found.groups())
    return {"sentences_embedded": sentences, "documents_embedded": documents, "texts_per_s": texts,
            "tokens_per_s": tokens}  # fmt: skip


def _embedding(index: Path) -> dict:
    """The build's own record of its embedding: texts per CPU-second, to set beside the raw encoder's."""
    from assistant.store.build import current_manifest

    e = current_manifest(index).get("embedded", {})
    if not e.get("cpu_seconds"):
        return {}
    return {"embedding_s": e["seconds"], "embedding_texts_per_cpu_s": round(e["sentences"] / e["cpu_seconds"], 1)}


def _verify(index: Path) -> dict:
    from assistant.store import builds

    folder, digest = builds.current(index)
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    started, cpu = time.perf_counter(), time.process_time()
    builds.verify(folder, digest)
    return {"seconds": round(time.perf_counter() - started, 3), "cpu_seconds": round(time.process_time() - cpu, 3),
            "megabytes": round(size / 1e6, 1)}  # fmt: skip


def _timing(run) -> dict:
    return {"seconds": round(run.seconds, 2), "cpu_seconds": round(run.cpu_seconds, 2), "peak_mb": round(run.peak_mb)}


def _sentences(corpus: Path) -> list[str]:
    from assistant.ingest import read_corpus
    from assistant.ingest.chunking import chunk_document, split_sentences
    from assistant.store.build import sentence_text

    documents, _ = read_corpus(corpus)
    return [sentence_text(p, a, b) for d in documents for p in chunk_document(d) for a, b in split_sentences(p.text)]


def run(work: Path, quick: bool) -> dict:
    from assistant.config import Settings
    from assistant.encode.convert import model_path

    documents = 12 if quick else 848
    corpus, extra = work / "cmrc-corpus", work / "cmrc-extra"
    sizes = make_corpus(corpus, documents + 1)
    extra.mkdir()
    newest = sorted(corpus.glob("*.txt"), key=lambda p: p.stat().st_mtime_ns)[-1]
    shutil.move(newest, extra / newest.name)  # the document added afterwards
    assistant = str(Path(sys.executable).with_name("assistant"))
    result: dict = {"load average before": " ".join(f"{x:.2f}" for x in os.getloadavg())}

    full = run_process([assistant, "index"], _env(corpus, work / "cmrc-index"))
    result["assistant index (empty index folder)"] = {**_timing(full), **_figures(full.stdout),
                                                      **_embedding(work / "cmrc-index")}  # fmt: skip
    result["checking the built index at load (SHA-256 of every file, once per process)"] = _verify(work / "cmrc-index")
    model = model_path(Settings.load())
    recipe = run_process([sys.executable, "-m", "benchmarks.recipe_build", model, str(corpus), str(work / "recipe")])
    inside = json.loads(recipe.stdout)  # its own clock starts after the imports: kept apart from the process's
    inside["seconds_after_imports"] = inside.pop("seconds", None)
    result["recipe (sentence-transformers fp32, 500-char chunks, FAISS flat)"] = {**_timing(recipe), **inside}
    added = run_process([assistant, "add", str(extra / newest.name)], _env(corpus, work / "cmrc-index"))
    result["assistant add (one more document)"] = {**_timing(added), **_figures(added.stdout)}
    texts = _sentences(corpus)
    sample = random.Random(13).sample(texts, min(len(texts), 2000))  # two runs of all would take minutes
    texts_file = work / "cmrc-texts.json"
    texts_file.write_text(json.dumps(sample, ensure_ascii=False), encoding="utf-8")
    raw = json.loads(run_process([sys.executable, "-m", "benchmarks.encode", "onnx", str(texts_file)]).stdout)
    result["raw ONNX encoder, a sample of the same sentences (best of 2, after warm-up)"] = {
        "texts": raw["texts"], "seconds": round(raw["seconds"], 2),
        "texts_per_s": round(raw["texts"] / raw["seconds"], 1),
        "texts_per_cpu_s": round(raw["texts"] / raw["cpu_seconds"], 1),
    }  # fmt: skip
    result["corpus"] = {**sizes, "documents": documents, "sentences": len(texts)}
    result["ratio build / recipe"] = round(full.seconds / recipe.seconds, 3)
    result["ratio add one / full build"] = round(added.seconds / full.seconds, 3)
    if recipe.cpu_seconds and full.cpu_seconds:  # the same ratios in CPU time: less sensitive to a busy machine
        result["CPU ratio build / recipe"] = round(full.cpu_seconds / recipe.cpu_seconds, 3)
        result["CPU ratio add one / full build"] = round(added.cpu_seconds / full.cpu_seconds, 3)
    result["load average after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return result


def write(result: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "indexing.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    lines = ["# Indexing: our build, the usual recipe, one added document", "",
             f"`{result['machine']['command']}` on {result['machine']['date']}, {result['machine']['cpu']}, "
             f"{result['machine']['cores']} cores; load average {result['load average before']} before, "
             f"{result['load average after']} after.", "",
             f"Corpus: {result['corpus']['documents']} documents, {result['corpus']['characters']:,} characters, "
             f"{result['corpus']['sentences']:,} sentences (made from the CMRC 2018 trial set, "
             "benchmarks/indexing.py).",
             "", "| what | seconds | figures |", "|---|---|---|"]  # fmt: skip
    for name, row in result.items():
        if isinstance(row, dict) and "seconds" in row:
            rest = ", ".join(f"{k} {v}" for k, v in row.items() if k != "seconds")
            lines.append(f"| {name} | {row['seconds']} | {rest} |")
    lines += ["", f"Build / recipe: **{result['ratio build / recipe']}**; one added document / full build: "
              f"**{result['ratio add one / full build']}** (wall time)."]  # fmt: skip
    if "CPU ratio build / recipe" in result:
        lines += [f"In CPU time: build / recipe {result['CPU ratio build / recipe']}; one added document / full "
                  f"build {result['CPU ratio add one / full build']}."]  # fmt: skip
    lines.append("")
    (out / "indexing.md").write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.indexing", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="12 documents (seconds, not minutes)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="assistant-indexing-"))
    try:
        started = time.perf_counter()
        result = {"machine": {**machine(), "command": " ".join(["python -m benchmarks.indexing", *(argv or [])])},
                  **run(work, args.quick)}  # fmt: skip
        result["benchmark_seconds"] = round(time.perf_counter() - started, 1)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write(result, args.out)
    return result


if __name__ == "__main__":
    main()
