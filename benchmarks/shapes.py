"""Warm answer time with shaped answers, on the report: `Assistant.ask` (retrieval, the extractive answer, then
`shaped.answer`) against the same reading answered by `extractive.answer` alone, side by side in one process;
and the cost of reading a document's lists and outline (`shaped.structure`, once per document and index).

    python -m benchmarks.shapes [--repeat 3]    # writes benchmarks/results/shapes.md

Questions: eval/shapes.jsonl's report questions and eval/questions.jsonl (fact questions), each asked `repeat`
times after one warm-up pass.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "shapes.md"


def _questions() -> tuple[list[str], list[str]]:
    shapes = [json.loads(line) for line in (ROOT / "eval" / "shapes.jsonl").read_text(encoding="utf-8").splitlines()]
    facts = [json.loads(line) for line in (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    return [q["question"] for q in shapes if q["id"].startswith("r")], [q["question"] for q in facts]


def run(repeat: int = 3) -> dict:
    from assistant.answer import extractive, shaped
    from assistant.config import Settings
    from assistant.pipeline import Assistant

    with tempfile.TemporaryDirectory() as tmp:
        a = Assistant(Settings.load(corpus_dir=ROOT / "corpus", index_dir=Path(tmp) / "index"))
        doc = a.index.documents[0]
        start = time.perf_counter()
        shaped.structure(a.index, doc)
        structure_ms = (time.perf_counter() - start) * 1000
        listed, facts = _questions()
        out = {"structure_ms (first question of a document)": round(structure_ms, 2), "repeat": repeat}
        for name, questions in (("list/outline/summary/reason", listed), ("fact (eval/questions.jsonl)", facts)):
            for q in questions:  # warm-up
                a.ask(q)
            full, alone, shaping = [], [], []
            for _ in range(repeat):
                for q in questions:
                    t0 = time.perf_counter()
                    a.ask(q)
                    full.append((time.perf_counter() - t0) * 1000)
                    question = a.question(q)
                    reading = a.read(question)
                    t1 = time.perf_counter()
                    fact = extractive.answer(reading, a.index)
                    t2 = time.perf_counter()
                    shaped.answer(reading, a.index, fact)
                    t3 = time.perf_counter()
                    alone.append((t2 - t1) * 1000)
                    shaping.append((t3 - t2) * 1000)
            out[name] = {
                "questions": len(questions),
                "ask p50 ms": round(statistics.median(full), 1),
                "ask p95 ms": round(statistics.quantiles(full, n=20)[-1], 1),
                "extractive.answer p50 ms": round(statistics.median(alone), 2),
                "shaped.answer p50 ms": round(statistics.median(shaping), 2),
                "shaped.answer max ms": round(max(shaping), 2),
            }
        a.index.close()
    return out


def write(results: dict, path: Path = OUT) -> None:
    lines = [
        "# Shaped answers: warm answer time on the report",
        "",
        "`python -m benchmarks.shapes` (one process; the machine shared with other jobs, so absolute times are",
        "noisy: compare the columns of one run).",
        "",
        f"Reading the report's lists and outline (once per document and index): {results[next(iter(results))]} ms.",
        "",
        "| questions | n | ask p50 (ms) | ask p95 (ms) | extractive.answer p50 (ms) | shaped.answer p50 / max (ms) |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        if isinstance(r, dict):
            lines.append(
                f"| {name} | {r['questions']} | {r['ask p50 ms']} | {r['ask p95 ms']} | "
                f"{r['extractive.answer p50 ms']} | {r['shaped.answer p50 ms']} / {r['shaped.answer max ms']} |"
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    results = run(parser.parse_args().repeat)
    write(results)
    print(json.dumps(results, ensure_ascii=False, indent=2))
