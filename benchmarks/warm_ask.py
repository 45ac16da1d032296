"""Open and warm answer times of the default (local) store on the report, in one process: to compare two
checkouts side by side (run alternately, ≥ 3 times each, with PYTHONPATH pointing at each checkout):

    PYTHONPATH=<checkout> python -m benchmarks.warm_ask <index folder>

Prints one JSON line: which code ran, seconds to open the `Assistant` (the index already built, the model
cached) and p50/p95 of `ask` and `retrieve` over eval/questions.jsonl after one untimed answer.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import assistant
from assistant.config import Settings
from assistant.pipeline import Assistant

ROOT = Path(__file__).resolve().parent.parent


def _ms(values: list[float], share: float) -> float:
    values = sorted(values)
    return round(1000 * values[min(len(values) - 1, int(len(values) * share))], 1)


def main() -> None:
    index = Path(sys.argv[1])
    lines = (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()]
    started = time.perf_counter()
    a = Assistant(Settings.load(corpus_dir=ROOT / "corpus", index_dir=index))
    opened = time.perf_counter() - started
    a.ask(questions[0])
    ask, retrieve = [], []
    for q in questions:
        started = time.perf_counter()
        a.ask(q)
        ask.append(time.perf_counter() - started)
        started = time.perf_counter()
        a.retrieve(q)
        retrieve.append(time.perf_counter() - started)
    print(json.dumps({"code": str(Path(assistant.__file__).parent.parent), "open_s": round(opened, 2),
                      "ask_p50_ms": _ms(ask, 0.5), "ask_p95_ms": _ms(ask, 0.95),
                      "retrieve_p50_ms": _ms(retrieve, 0.5), "retrieve_p95_ms": _ms(retrieve, 0.95)}))  # fmt: skip


if __name__ == "__main__":
    main()
