"""Do the two stores give the same answers? (`python -m benchmarks.stores`, docs/stores.md)

For each question set, one `Assistant` on the local store and one on Milvus Lite (filled from the
same local build, the same model loaded once) answer every question; an answer agrees when
found/refused, the answer text and the first source are the same. Writes
benchmarks/results/stores.md with the disagreements listed.

    python -m benchmarks.stores                                   # the report: eval/questions.jsonl and dev.jsonl
    python -m benchmarks.stores --corpus DIR --questions FILE [--limit N]   # any other corpus (a CMRC trial)
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import time
from pathlib import Path

from assistant.config import Settings
from assistant.encode.embedder import Embedder
from assistant.pipeline import Assistant
from benchmarks.common import DEV, OWN, ROOT

WORK = ROOT / ".work" / "stores"
RESULTS = ROOT / "benchmarks" / "results" / "stores.md"


def _questions(path: Path, limit: int | None) -> list[str]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["question"] for r in rows][:limit]


def compare(corpus: Path, questions: list[str], name: str, embedder: Embedder | None = None) -> dict:
    """Answer `questions` on both stores over `corpus`; the agreement and the disagreements."""
    folder = WORK / name
    shutil.rmtree(folder, ignore_errors=True)
    settings = Settings.load(corpus_dir=corpus, index_dir=folder / "index")
    local = Assistant(settings, embedder=embedder)
    milvus = Assistant(settings.with_(store="milvus"), embedder=local.embedder)
    rows, seconds = [], {"local": 0.0, "milvus": 0.0}
    for q in questions:
        answers = {}
        for label, assistant in (("local", local), ("milvus", milvus)):
            started = time.perf_counter()
            a = assistant.ask(q)
            seconds[label] += time.perf_counter() - started
            answers[label] = (a.found, a.text, a.sources[0].hit.passage.id if a.sources else None)
        rows.append((q, answers["local"], answers["milvus"]))
    local.index.close()
    milvus.index.close()
    differ = [r for r in rows if r[1] != r[2]]
    return {"name": name, "questions": len(rows), "agree": len(rows) - len(differ), "differ": differ,
            "ms_local": round(1000 * seconds["local"] / max(len(rows), 1), 1),
            "ms_milvus": round(1000 * seconds["milvus"] / max(len(rows), 1), 1)}  # fmt: skip


def _why(local: tuple, milvus: tuple) -> str:
    if local[0] != milvus[0]:
        return "found/refused differ"
    if local[2] != milvus[2]:
        return "first source differs"
    return "answer text differs"


def report(results: list[dict], command: str) -> str:
    lines = ["# Answers on the local store and on Milvus Lite", "",
             f"Command: `{command}`; {platform.processor() or platform.machine()}, {time.strftime('%Y-%m-%d')}. "
             "An answer agrees when found/refused, the answer text and the first source are the same. "
             "Times are per question, both stores in one process, taken while other jobs shared the 2 CPUs "
             "(a ratio, not a speed).", "",
             "| set | questions | agree | share | ms/question local | ms/question Milvus Lite |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for r in results:
        share = 100 * r["agree"] / max(r["questions"], 1)
        lines.append(f"| {r['name']} | {r['questions']} | {r['agree']} | {share:.1f}% | {r['ms_local']} | "
                     f"{r['ms_milvus']} |")  # fmt: skip
    lines += ["", "## Disagreements", ""]
    differ = [(r["name"], d) for r in results for d in r["differ"]]
    if not differ:
        lines.append("None.")
    for name, (q, a, b) in differ:
        lines.append(f"- {name}: {q} — {_why(a, b)}: local {a[0]} {a[1][:60]!r} ({a[2]}); "
                     f"Milvus {b[0]} {b[1][:60]!r} ({b[2]})")  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, help="another corpus folder (with --questions)")
    parser.add_argument("--questions", type=Path, help="JSON Lines with a `question` field")
    parser.add_argument("--limit", type=int, help="the first N questions only")
    args = parser.parse_args()
    if args.corpus:
        sets = [(args.corpus, _questions(args.questions, args.limit), args.corpus.name)]
    else:
        sets = [(ROOT / "corpus", _questions(OWN, args.limit), "report: eval/questions.jsonl"),
                (ROOT / "corpus", _questions(DEV, args.limit), "report: dev.jsonl")]  # fmt: skip
    embedder = None
    results = []
    for corpus, questions, name in sets:
        result = compare(corpus, questions, name.split(":")[0] + "-" + str(len(results)), embedder)
        result["name"] = name
        results.append(result)
        print(f"{name}: {result['agree']}/{result['questions']} agree")
    command = "python -m benchmarks.stores" + "".join(
        f" --{k} {v}" for k, v in (("corpus", args.corpus), ("questions", args.questions), ("limit", args.limit)) if v
    )
    RESULTS.write_text(report(results, command), encoding="utf-8")


if __name__ == "__main__":
    main()
