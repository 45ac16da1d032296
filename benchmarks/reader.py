"""Could the local model be the reader that tells "the fact is here" from "the topic is here"?

    make llm LLM_PORT=8093 &                       # the local model (or any OpenAI-compatible server)
    python -m benchmarks.reader --url http://127.0.0.1:8093/v1

The extractive answers that remain wrong on CMRC answer removed are sentences about the right
topic that do not hold the asked fact (docs/trust.md section 9). This asks the local model, for
each quoted answer, whether the sentence under its heading answers the question ("是" or "否"; the
probability of 是 read from the first token's log-probabilities), on:

- every answer given to a CMRC answer-removed near miss (each one should be refused),
- a seeded sample of the right answers and of the wrong answers on CMRC open,
- every answer given to our report questions (eval/questions.jsonl; right or not by the shared rule).

Then, for each threshold, what refusing below it would do, projected from the samples onto each
whole set: answer-removed refused, CMRC open answer and false refusal (issue 20's targets), the
report's answer and false refusal. Writes benchmarks/results/reader.md (rows: .work/reader-rows.jsonl).
Needs the CMRC sets under .work/ (`python -m training.sets`, `python -m training.nearmiss`).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import time
from pathlib import Path

import httpx

from benchmarks.common import ROOT, machine
from benchmarks.trust import SETS

RESULTS = Path(__file__).resolve().parent / "results"
ROWS = ROOT / ".work" / "reader-rows.jsonl"
SEED = 11
NEAR, RIGHT, WRONG = "removed near misses answered", "CMRC open right answers", "CMRC open wrong answers"
THRESHOLDS = (0.5, 0.6, 0.65, 0.7, 0.75, 0.8)
SYSTEM = "You are a strict reading-comprehension judge. Reply with one word: 是 or 否."
ASK = (
    "句子：{sentence}\n（出自：{heading}）\n\n问题：{question}\n\n只根据这个句子，能回答这个问题吗？"
    "如果句子说的是别的年份、别的人、别的事，或者没有说出问题问的那一点，回答“否”。回答“是”或“否”。"
)


def judge(client: httpx.Client, url: str, model: str, question: str, sentence: str, heading: str) -> float:
    """The model's probability that `sentence` answers `question` (是 against 否 among its first-token choices)."""
    prompt = ASK.format(sentence=sentence[:300], heading=heading, question=question)
    body = {
        "model": model, "max_tokens": 1, "temperature": 0, "logprobs": True, "top_logprobs": 10,
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}],
    }  # fmt: skip
    reply = client.post(f"{url}/chat/completions", json=body).raise_for_status().json()
    tops = reply["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
    yes = sum(math.exp(t["logprob"]) for t in tops if t["token"].strip() in ("是", "Yes", "yes"))
    no = sum(math.exp(t["logprob"]) for t in tops if t["token"].strip() in ("否", "不", "No", "no"))
    return yes / (yes + no) if yes + no else 0.5


def answers(name: str) -> list[dict]:
    """Every question of set `name` asked through the real pipeline: found, right (`answer_ok` of the shared
    scorer, `assistant.evaluate.score`), quote, heading. Conversations are left out."""
    from assistant.config import Settings
    from assistant.evaluate import read_questions, score
    from assistant.pipeline import Assistant
    from assistant.render.json import answer_to_dict

    corpus, path, index = SETS[name]
    assistant = Assistant(Settings.load(corpus_dir=corpus, index_dir=index))
    questions = [q for q in read_questions(path) if not q["history"]]
    answers = [assistant.ask(q["question"]) for q in questions]
    _, scored = score(questions, [answer_to_dict(a) for a in answers])
    rows = []
    for q, answer, row in zip(questions, answers, scored, strict=True):
        cited = re.search(r"\[(\d+)\]", answer.text)  # the heading of the passage the answer quotes first
        heading = next((s.hit.passage.section_path for s in answer.sources if cited and s.rank == int(cited[1])), "")
        rows.append({"set": name, "id": q["id"], "question": q["question"], "answerable": q["answerable"],
                     "found": answer.found, "right": row.get("answer_ok", False),
                     "quote": re.sub(r"\[\d+\]", "", answer.text).strip(), "heading": heading})  # fmt: skip
    return rows


def _groups(rows: list[dict]) -> dict[str, list[dict]]:
    given = [r for r in rows if r["found"]]
    return {
        NEAR: [r for r in given if r["set"] == "cmrc-removed" and not r["answerable"]],
        RIGHT: [r for r in given if r["set"] == "cmrc" and r["right"]],
        WRONG: [r for r in given if r["set"] == "cmrc" and not r["right"]],
        "report answers right": [r for r in given if r["set"] == "report" and r["right"]],
        "report answers not right": [r for r in given if r["set"] == "report" and not r["right"]],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reader", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8088/v1", help="an OpenAI-compatible server running")
    parser.add_argument("--model", default="local")
    parser.add_argument("--sample", type=int, default=150, help="right CMRC open answers judged (seeded)")
    parser.add_argument("--wrong", type=int, default=60, help="wrong CMRC open answers judged (seeded)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    rows = answers("cmrc-removed") + answers("cmrc") + answers("report")
    groups = _groups(rows)
    rng = random.Random(SEED)
    asked = {**groups, RIGHT: rng.sample(groups[RIGHT], args.sample), WRONG: rng.sample(groups[WRONG], args.wrong)}
    started, calls = time.perf_counter(), 0
    with httpx.Client(timeout=120) as client:
        for r in (r for group in asked.values() for r in group):
            r["yes"] = round(
                judge(client, args.url.rstrip("/"), args.model, r["question"], r["quote"], r["heading"]), 4
            )
            calls += 1
    seconds = (time.perf_counter() - started) / max(calls, 1)
    judged = [r for group in asked.values() for r in group]
    ROWS.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in judged), encoding="utf-8")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "reader.md").write_text(report(rows, asked, seconds), encoding="utf-8")
    print((args.out / "reader.md").read_text(encoding="utf-8"))


def report(rows: list[dict], asked: dict[str, list[dict]], seconds: float) -> str:
    def below(group: str, t: float) -> float:
        g = asked[group]
        return sum(r["yes"] < t for r in g) / len(g) if g else 0.0

    def of(name: str) -> tuple[list[dict], list[dict]]:
        mine = [r for r in rows if r["set"] == name]
        return [r for r in mine if r["answerable"]], [r for r in mine if not r["answerable"]]

    lines = [
        "# The local model as the reader: does the quoted sentence answer the question?",
        "",
        f"Written by `python -m benchmarks.reader` ({machine()['date']}); model: the local Qwen2.5-Coder-1.5B "
        f"(`make llm`), {seconds:.2f} s a judgement on this 2-core machine (p of 是 from one token). "
        "A threshold refuses every extractive answer the model gives less than it; figures are projected from "
        "the judged answers onto each whole set.",
        "",
        "| judged | n | " + " | ".join(f"below {t}" for t in THRESHOLDS) + " |",
        "|---|---|" + "---|" * len(THRESHOLDS),
    ]
    for group, g in asked.items():
        lines.append(f"| {group} | {len(g)} | " + " | ".join(f"{below(group, t):.2f}" for t in THRESHOLDS) + " |")
    open_ok, _ = of("cmrc")
    _, removed = of("cmrc-removed")
    report_ok, _ = of("report")
    lines += ["", "| threshold | answer removed refused | CMRC open answer | CMRC open false refusal | "
              "report answer | report false refusal |", "|---|---|---|---|---|---|"]  # fmt: skip
    for t in (0.0, *THRESHOLDS):  # at 0.0 nothing is below: the shipped figures
        refused = sum(not r["found"] for r in removed) + len(asked[NEAR]) * below(NEAR, t)
        right, wrong = sum(r["right"] for r in open_ok), sum(r["found"] and not r["right"] for r in open_ok)
        open_refused = sum(not r["found"] for r in open_ok) + right * below(RIGHT, t) + wrong * below(WRONG, t)
        rep_right = sum(r["right"] for r in report_ok) * (1 - below("report answers right", t))
        rep_refused = sum(not r["found"] for r in report_ok) + sum(
            r["yes"] < t
            for g in ("report answers right", "report answers not right")
            for r in asked[g]
            if r["answerable"]
        )
        label = f"{t}" if t else "shipped (no reader)"
        lines.append(f"| {label} | {refused / len(removed):.3f} | {right * (1 - below(RIGHT, t)) / len(open_ok):.3f} | "
                     f"{open_refused / len(open_ok):.3f} | {rep_right / len(report_ok):.3f} | "
                     f"{rep_refused / len(report_ok):.3f} |")  # fmt: skip
    lines += ["", "Issue 20 asks, together: answer removed refused ≥ 0.80, CMRC open answer ≥ 0.85 and false "
              "refusal ≤ 0.04, report set refused ≥ 0.90 (unchanged by a reader that only refuses more)."]  # fmt: skip
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
