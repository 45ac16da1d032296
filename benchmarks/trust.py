"""Trust of the extractive answer, per domain: refusals of near misses, false refusals, and what 把握 means.

    python -m benchmarks.trust                  # every set below that is present
    python -m benchmarks.trust --sets report report-nearmiss

Sets (made by `training/sets.py` and `training/nearmiss.py` under `.work/`, the report's in `eval/`):
report (eval/questions.jsonl), report-nearmiss (eval/nearmiss-report.jsonl), report-nearmiss-2
(eval/nearmiss-report-2.jsonl, written by hand after the rules), dev
(../shared/eval/dev.jsonl: measured, never tuned to), cmrc (CMRC 2018 trial, open corpus), cmrc-na
(its no-answer variant), cmrc-nearmiss (constraint changed), cmrc-removed (answer sentences removed,
the rest of each document kept).

For every question the real pipeline reads the passages and the extractive answerer chooses its
sentence (`extractive.choose`); the row keeps whether a sentence was chosen, the corpus lacked a
name of the question, the probability, and whether the quoted answer is right (the shared scorer's
rule). From the rows, with the shipped threshold: answer, false refusal and refused per set, and for
each 把握 band (`render.confidence_bands`) the share of the answers it labels that are right.
Writes benchmarks/results/trust.md (the rows to .work/trust-rows.jsonl).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from benchmarks.common import ROOT

RESULTS = Path(__file__).resolve().parent / "results"
WORK = ROOT / ".work"
SETS = {
    "report": (ROOT / "corpus", ROOT / "eval" / "questions.jsonl", WORK / "report-index"),
    "report-nearmiss": (ROOT / "corpus", ROOT / "eval" / "nearmiss-report.jsonl", WORK / "report-index"),
    "report-nearmiss-2": (ROOT / "corpus", ROOT / "eval" / "nearmiss-report-2.jsonl", WORK / "report-index"),
    "dev": (ROOT / "corpus", ROOT.parent / "shared" / "eval" / "dev.jsonl", WORK / "report-index"),
    "cmrc": (WORK / "cmrc" / "corpus", WORK / "cmrc" / "questions.jsonl", WORK / "cmrc" / "index"),
    "cmrc-na": (WORK / "cmrc-na" / "corpus", WORK / "cmrc-na" / "questions.jsonl", WORK / "cmrc-na" / "index"),
    "cmrc-nearmiss": (WORK / "cmrc" / "corpus", WORK / "cmrc-nearmiss" / "questions.jsonl", WORK / "cmrc" / "index"),
    "cmrc-removed": (WORK / "cmrc-removed" / "corpus", WORK / "cmrc-removed" / "questions.jsonl",
                     WORK / "cmrc-removed" / "index"),
}  # fmt: skip


def _norm(text: str) -> str:
    import re

    return re.sub(r"\s+", "", text or "").replace("**", "")


def rows_of(name: str, limit: int | None = None) -> list[dict]:
    """One row per question of set `name`: what the extractive answerer would do at any threshold."""
    from assistant.answer import extractive
    from assistant.answer.slot import checked
    from assistant.config import Settings
    from assistant.pipeline import Assistant

    corpus, questions, index = SETS[name]
    assistant = Assistant(Settings.load(corpus_dir=corpus, index_dir=index))
    rows = []
    lines = [json.loads(line) for line in questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    for q in lines[:limit]:
        if "turns" in q:
            continue
        started = time.perf_counter()
        reading = assistant.read(assistant.question(assistant.check(q["question"])))
        choice = extractive.choose(reading)
        missing = bool(extractive.missing_terms(reading.question, assistant.index.text))
        right, text, found, vouched = False, "", 0.0, False
        if choice.best is not None:
            found = float(reading.column("phrases_context")[choice.best])  # what 高 also asks (render.HIGH_FOUND)
            vouched = checked(reading, choice.best)  # and this (slot.checked)
            hit_no, start, end = extractive.quote(reading, choice.best, assistant.index.rarity)
            text = reading.hits[hit_no].passage.text[start:end]
            t = _norm(text)
            right = (
                bool(q.get("answerable", True))
                and len(t) <= 200
                and all(any(_norm(a) in t for a in alts) for alts in q.get("answer_any", []))
            )
        rows.append({
            "set": name, "id": q["id"], "type": q.get("type", ""), "answerable": bool(q.get("answerable", True)),
            "chosen": choice.best is not None, "missing": missing, "p": round(choice.confidence, 4),
            "found": round(found, 4), "checked": vouched, "right": right,
            "ms": round(1000 * (time.perf_counter() - started), 1),
            "answer": text[:80],
        })  # fmt: skip
    return rows


def summary(rows: list[dict], threshold: float) -> dict:
    """Answer, false refusal and refused of `rows` when answers below `threshold` are refused."""
    answerable = [r for r in rows if r["answerable"]]
    other = [r for r in rows if not r["answerable"]]

    def given(r: dict) -> bool:
        return r["chosen"] and not r["missing"] and r["p"] >= threshold

    n = max(len(answerable), 1)
    return {
        "questions": len(rows),
        "answer": round(sum(given(r) and r["right"] for r in answerable) / n, 3),
        "false_refusal": round(sum(not given(r) for r in answerable) / n, 3),
        "refused": round(sum(not given(r) for r in other) / len(other), 3) if other else None,
        "wrong": sum(given(r) and not r["right"] for r in rows),
    }


def bands(rows: list[dict], edges: tuple[tuple[float, str], ...]) -> dict[str, tuple[int, float | None]]:
    """For each band (`render.confidence_label`, labels of `edges` highest first): answers given in it and the
    share right."""
    from assistant.render import confidence_label

    out: dict[str, tuple[int, float | None]] = {}
    for _, label in edges:
        inside = [
            r
            for r in rows
            if r["chosen"]
            and not r["missing"]
            and confidence_label(r["p"], r.get("found", 1.0), checked=r.get("checked", True)) == label
        ]
        out[label] = (len(inside), round(sum(r["right"] for r in inside) / len(inside), 3) if inside else None)
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.trust", description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="*", default=list(SETS), choices=list(SETS))
    parser.add_argument("--limit", type=int, help="only the first N questions of each set")
    parser.add_argument("--reuse", action="store_true", help="read the rows of the last run (trust.jsonl)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    from assistant.answer import model
    from assistant.render import confidence_bands

    args.out.mkdir(parents=True, exist_ok=True)
    cache = WORK / "trust-rows.jsonl"  # the rows (large, not committed): --reuse reads them
    rows: list[dict] = []
    if args.reuse and cache.is_file():
        rows = [json.loads(line) for line in cache.read_text(encoding="utf-8").splitlines()]
        rows = [r for r in rows if r["set"] in args.sets]
    else:
        for name in args.sets:
            if SETS[name][1].is_file() and SETS[name][0].is_dir():
                rows += rows_of(name, args.limit)
                print(f"{name}: {sum(r['set'] == name for r in rows)} questions", flush=True)
        cache.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    threshold = model.answerability().threshold_found
    edges = confidence_bands()
    figures = {}
    for name in dict.fromkeys(r["set"] for r in rows):
        mine = [r for r in rows if r["set"] == name]
        times = sorted(r["ms"] for r in mine)
        figures[name] = {**summary(mine, threshold), "bands": bands(mine, edges),
                         "read_and_choose_ms_p50": times[len(times) // 2] if times else None}  # fmt: skip
    _write(figures, threshold, edges, args.out / "trust.md")
    print(json.dumps(figures, ensure_ascii=False, indent=1))
    return figures


def _write(figures: dict, threshold: float, edges, path: Path) -> None:
    from assistant.render import HIGH_FOUND

    labels = [label for _, label in edges]
    lines = [
        "# Trust per domain (extractive answer)",
        "",
        f"Written by `python -m benchmarks.trust`; threshold {threshold:.4f} (the shipped answerability model); "
        f"把握 bands: {', '.join(f'{label} ≥ {lower:.3g}' for lower, label in edges)}, 高 only with "
        f"{HIGH_FOUND} of the question said around the answer and an answer a rule can check (slot.checked: not "
        "why/how/what-is/whether, the question's relation said), else 中. "
        "A band's cell: answers given in it, share right.",
        "",
        "| set | questions | answer | false refusal | refused | wrong answers | "
        + " | ".join(f"把握 {label}" for label in labels)
        + " |",
        "|---|---|---|---|---|---|" + "---|" * len(labels),
    ]
    for name, f in figures.items():
        cells = [f"{n}, {share}" if n else "0" for n, share in (f["bands"][label] for label in labels)]
        refused = f["refused"] if f["refused"] is not None else "–"
        lines.append(f"| {name} | {f['questions']} | {f['answer']} | {f['false_refusal']} | {refused} | "
                     f"{f['wrong']} | " + " | ".join(cells) + " |")  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
