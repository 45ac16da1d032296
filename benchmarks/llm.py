"""Generated answers: time to the first words, total time and answer score, before and after, in one run.

    python -m benchmarks.llm                       # the dev questions, the local llama.cpp server started here
    python -m benchmarks.llm --url http://…/v1     # a server already running (model name: --model)
    python -m benchmarks.llm --questions Q.jsonl --corpus DIR
    python -m benchmarks.llm --nearmiss            # both answerers on the near-miss sets (issue 26)

Writes benchmarks/results/llm.md and llm.json (`--out` elsewhere). For every question that
retrieval judges answerable, each configuration is asked in turn, interleaved (alternating
which goes first), so that a shared machine's changing load falls on both alike:

- before: the prompt of the first version — the five passages whole — and 300 tokens of reply;
- after: `assistant.answer.llm.PLAN` — the best three passages trimmed to what can answer, 160 tokens.

Both share the fixed prompt start (rules and examples), which the server keeps evaluated. A
third pass asks a few questions right after a request with a different start, as the first
question after a restart would: that is what the prompt cache saves. The server's own log
(llama-cpp-python: "N prefix-match hit, remaining M prompt tokens to eval") gives the tokens
read per question.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from benchmarks.common import DEV, ROOT, machine

RESULTS = Path(__file__).resolve().parent / "results"
BEFORE = {"sources": 5, "trim": False, "max_tokens": 300}
COLD_QUESTIONS = 5  # asked with the prompt cache emptied first (each costs the whole prefix)
SAMPLE_SEED = 7  # --sample: the same questions every run


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.llm", description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=DEV)
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--url", help="an OpenAI-compatible server already running (default: start the local one)")
    parser.add_argument("--model", default="local", help="model name for --url")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--limit", type=int, help="only the first N questions")
    parser.add_argument("--threads", type=int, help="CPU threads of the local server (default: every CPU)")
    parser.add_argument(
        "--nearmiss",
        nargs="*",
        metavar="SET",
        help="instead: both answerers on near-miss sets (benchmarks/trust.py's names; default report-nearmiss "
        "cmrc-nearmiss) → llm-nearmiss.md",
    )
    shipped = "on" if _shipped_constraints() else "off"
    parser.add_argument("--constraints", choices=("off", "on", "both"), default=shipped,
                        help="--nearmiss: the prompt lists the question's constraints (Plan.constraints); both: "
                        "side by side (default: as shipped)")  # fmt: skip
    parser.add_argument("--reuse", type=Path, metavar="DIR",
                        help="--nearmiss: take the rows of questions stating no constraint from another run's --out "
                        "(the prompt is the same with or without the constraint list; greedy decoding)")  # fmt: skip
    parser.add_argument("--redo-checked", action="store_true",
                        help="--nearmiss, resuming: make again the rows whose reply grounding changed")  # fmt: skip
    parser.add_argument("--regrade", nargs="+", type=Path, metavar="ROWS",
                        help="instead: ground the shown answers of SET.rows.jsonl files again with today's code (no "
                        "model call; the extractive answer made again) into SET.regraded.jsonl")  # fmt: skip
    parser.add_argument("--sample", type=int, help="--nearmiss: a seeded sample of N questions of a larger set")
    parser.add_argument("--join", nargs="+", type=Path, metavar="FILE",
                        help="instead: one llm-nearmiss.md from several runs' llm-nearmiss.json or SET.rows.jsonl "
                        "(the rows of a run stopped before its end)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.regrade:
        return {str(path): regrade(path) for path in args.regrade}
    if args.join:
        runs = [_rows_run(path) if path.name.endswith("jsonl") else json.loads(path.read_text(encoding="utf-8"))
                for path in args.join]  # fmt: skip
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "llm-nearmiss.md").write_text(nearmiss_report(runs), encoding="utf-8")
        return {"runs": len(runs)}
    if args.nearmiss is not None:
        return nearmiss(args)
    if not args.questions.is_file():
        parser.error(f"{args.questions}: no such file (give --questions)")

    from assistant.answer import llm
    from assistant.config import Settings
    from assistant.evaluate import read_questions, score
    from assistant.pipeline import Assistant
    from assistant.render.json import answer_to_dict

    questions = read_questions(args.questions)[: args.limit]
    results: dict = {"machine": {**machine(), "command": " ".join(["python -m benchmarks.llm", *sys.argv[1:]])}}
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="assistant-llm-bench-")))
        url, log = (args.url, None) if args.url else _local_server(stack, work, args.threads)
        settings = Settings.load(corpus_dir=args.corpus, index_dir=work / "index", llm_url=url, llm_model=args.model,
                                 llm_timeout=300.0)  # fmt: skip
        _log(f"building the index of {args.corpus}")
        assistant = Assistant(settings)
        encode = assistant.embedder.passages
        encode(["预热"])
        plans = {"before": llm.Plan(**BEFORE), "after": llm.PLAN}
        runs: dict[str, list[dict]] = {name: [] for name in plans}
        answers: dict[str, list[dict]] = {name: [] for name in plans}
        for n, q in enumerate(questions):
            extracted = assistant.ask(q["question"])
            names = list(plans) if n % 2 == 0 else list(reversed(plans))
            for name in names:
                timing, final = _timed(llm.generate, extracted, settings, encode, plans[name], log)
                runs[name].append({"id": q["id"], **timing})
                answers[name].append(answer_to_dict(final))
            _log(f"{q['id']}: " + ", ".join(f"{k} {runs[k][-1]['first_s']}/{runs[k][-1]['total_s']} s" for k in plans))
        asked = [r for r in runs["after"] if r["asked"]]
        cold = []
        for q in [q for q, r in zip(questions, runs["after"], strict=True) if r["asked"]][:COLD_QUESTIONS]:
            _evict(settings)
            timing, _ = _timed(llm.generate, assistant.ask(q["question"]), settings, encode, llm.PLAN, log)
            cold.append({"id": q["id"], **timing})
        results["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    results["questions"] = {"file": str(args.questions), "count": len(questions), "asked the model": len(asked)}
    results["configs"] = {name: {"plan": vars(plans[name]), **_summary(runs[name], score(questions, answers[name])[0])}
                          for name in plans}  # fmt: skip
    results["cold cache"] = _summary(cold, None)
    results["runs"] = runs | {"cold cache": cold}
    results["answers"] = {name: [a["answer"] for a in answers[name]] for name in plans}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "llm.json").write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    (args.out / "llm.md").write_text(_report(results), encoding="utf-8")
    _log(f"wrote {args.out}/llm.md")
    return results


def shown_breaks(answer) -> int:
    """Sentences of a found answer that state a constraint (a year, number, body, level, ordinal …) that the
    source they cite does not hold — the checker run over every output, of either answerer."""
    from assistant.answer.grounding import breaks_constraint, split_sentences, strip_markers

    if not answer.found:
        return 0
    by_rank = {s.rank: s.hit.passage for s in answer.sources}
    broken = 0
    for sentence in split_sentences(answer.text):
        cited = [int(n) for n in re.findall(r"\[(\d+)\]", sentence) if int(n) in by_rank]
        if cited and all(breaks_constraint(strip_markers(sentence), by_rank[r]) for r in cited):
            broken += 1
    return broken


def nearmiss(args) -> dict:
    """Extractive and generated answers side by side on near-miss sets: answer, refused, false refusal, the
    shown sentences whose constraint the cited source lacks, and the generated answer's times.

    With `--constraints both` the generated answer is made twice per question, the prompt listing the
    question's constraints (`Plan.constraints`) off and on. A question with no constraint gets the same
    prompt either way, and the server decodes greedily (temperature 0): its answer is reused, not asked again.
    """
    from dataclasses import replace

    from assistant.answer import llm
    from assistant.config import Settings
    from assistant.evaluate import read_questions
    from assistant.pipeline import Assistant
    from assistant.question import analyse
    from benchmarks.trust import SETS

    names = args.nearmiss or ["report-nearmiss", "cmrc-nearmiss"]
    plans = {"llm": replace(llm.PLAN, constraints=args.constraints == "on")}
    if args.constraints == "both":
        plans = {
            "llm": replace(llm.PLAN, constraints=False),
            "llm, constraints listed": replace(llm.PLAN, constraints=True),
        }
    results: dict = {"machine": {**machine(), "command": " ".join(["python -m benchmarks.llm", *sys.argv[1:]])},
                     "sets": {}, "rows": {}}  # fmt: skip
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="assistant-llm-bench-")))
        url, log = (args.url, None) if args.url else _local_server(stack, work, args.threads)
        for name in names:
            corpus, questions_file, index = SETS[name]
            questions = _sample(read_questions(questions_file)[: args.limit], args.sample)
            settings = Settings.load(corpus_dir=corpus, index_dir=index, llm_url=url, llm_model=args.model,
                                     llm_timeout=300.0)  # fmt: skip
            assistant = Assistant(settings)
            encode = assistant.embedder.passages
            # Each question's row is kept as it is made: a run stopped half-way goes on from where it was.
            args.out.mkdir(parents=True, exist_ok=True)
            kept = args.out / f"{name}.rows.jsonl"
            done = {}
            if kept.is_file():
                done = {r["id"]: r for r in map(json.loads, kept.read_text(encoding="utf-8").splitlines())}
            if args.redo_checked:  # rows whose reply the grounding changed are made again, with today's code
                checked = (llm.NOTE_PREMISE, llm.NOTE_UNGROUNDED, llm.NOTE_TRIMMED, llm.NOTE_OFF_KIND)
                done = {k: r for k, r in done.items() if not any(r.get(w, {}).get("note") in checked for w in plans)}
                kept.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in done.values()), "utf-8")
            same = {}  # rows of a run with the other prompt: a question stating no constraint has the same prompt
            if args.reuse and (args.reuse / kept.name).is_file():
                same = {r["id"]: r for r in map(json.loads, (args.reuse / kept.name).read_text("utf-8").splitlines())}
            rows = []
            for n, q in enumerate(questions):
                if q["id"] in done:
                    rows.append(done[q["id"]])
                    continue
                if q["id"] in same and not analyse(q["question"]).constraints:
                    done[q["id"]] = {**same[q["id"]], "reused": True}
                    with kept.open("a", encoding="utf-8") as out:
                        out.write(json.dumps(done[q["id"]], ensure_ascii=False) + "\n")
                    rows.append(done[q["id"]])
                    continue
                extracted = assistant.ask(q["question"])
                row = {"id": q["id"], "type": q.get("type", ""), "answerable": q["answerable"],
                       "question": q["question"], "extractive": _row(q, extracted)}  # fmt: skip
                stated = bool(analyse(q["question"]).constraints)
                order = list(plans) if n % 2 == 0 else list(reversed(plans))
                made: dict[str, tuple[dict, object]] = {}
                for who in order:
                    if made and not stated:  # the same prompt: the greedy answer already made
                        made[who] = next(iter(made.values()))
                        continue
                    made[who] = _timed(llm.generate, extracted, settings, encode, plans[who], log)
                for who in plans:
                    timing, final = made[who]
                    row[who] = {**_row(q, final), "timing": {"id": q["id"], **timing}}
                rows.append(row)
                with kept.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
                said = ", ".join(
                    f"{who} {'found' if row[who]['found'] else 'refused'}" for who in ("extractive", *plans)
                )
                _log(f"{name} {n + 1}/{len(questions)} {q['id']}: {said}")
            results["sets"][name] = {
                "questions": len(questions),
                "extractive": _row_scores(rows, "extractive"),
                **{who: {**_summary([r[who]["timing"] for r in rows], None), **_row_scores(rows, who)}
                   for who in plans},
            }  # fmt: skip
            results["rows"][name] = rows
        results["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "llm-nearmiss.json").write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    (args.out / "llm-nearmiss.md").write_text(nearmiss_report([results]), encoding="utf-8")
    _log(f"wrote {args.out}/llm-nearmiss.md")
    return results


def regrade(path: Path) -> int:
    """Ground each shown generated answer of a run's rows again (and count broken sentences of both answerers)
    with today's code, after a change to grounding: the model's text as shown is judged again, so a sentence the
    run removed stays removed. Returns the number of rows whose generated answer changed."""
    from assistant.answer import llm
    from assistant.config import Settings
    from assistant.pipeline import Assistant
    from benchmarks.trust import SETS

    name = path.name.removesuffix(".rows.jsonl")
    corpus, questions_file, index = SETS[name]
    questions = {q["id"]: q for q in map(json.loads, questions_file.read_text(encoding="utf-8").splitlines())}
    assistant = Assistant(Settings.load(corpus_dir=corpus, index_dir=index))
    rows = list({r["id"]: r for r in map(json.loads, path.read_text(encoding="utf-8").splitlines())}.values())
    changed = 0
    for row in rows:
        if not row["extractive"]["found"]:
            continue  # the model was not asked; nothing shown to judge
        q = questions[row["id"]]
        extracted = assistant.ask(q["question"])
        row["extractive"] = _row(q, extracted)
        for who in [w for w in row if w.startswith("llm")]:
            if row[who]["found"] and row[who]["answerer"] == "llm":
                again = _row(q, llm.final(extracted, row[who]["answer"], assistant.embedder.passages))
                changed += again["found"] != row[who]["found"] or again["answer"] != row[who]["answer"]
                row[who] = {**again, "timing": row[who]["timing"]}
    out = path.with_name(f"{name}.regraded.jsonl")
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    _log(f"{out}: {changed} generated answers changed")
    return changed


def _rows_run(path: Path) -> dict:
    """A run's results from its kept rows (SET.rows.jsonl): the questions done so far, in file order."""
    # a question made again (--redo-checked) counts once, as last made
    rows = list({r["id"]: r for r in map(json.loads, path.read_text(encoding="utf-8").splitlines())}.values())
    name = path.name.removesuffix(".rows.jsonl").removesuffix(".regraded.jsonl")
    plans = [who for who in rows[0] if who.startswith("llm")] if rows else []
    stamp = time.strftime("%Y-%m-%d %H:%M", time.gmtime(path.stat().st_mtime))
    return {
        "machine": {"command": f"{path} ({len(rows)} questions done, last {stamp} UTC)", "load average at start": "–"},
        "load average at end": "–",
        "sets": {name: {"questions": len(rows), "extractive": _row_scores(rows, "extractive"),
                        **{who: {**_summary([r[who]["timing"] for r in rows], None), **_row_scores(rows, who)}
                           for who in plans}}},
    }  # fmt: skip


def nearmiss_report(runs: list[dict]) -> str:
    """The near-miss table of one or more runs' results (sets run apart, against one server, joined here)."""
    lines = [
        "# Near misses: both answerers side by side",
        "",
        "Sets: `benchmarks/trust.py` (made by `python -m training.nearmiss`). Broken: shown sentences stating a "
        "year, number, body, level, ordinal or qualifier that the source they cite does not hold "
        '(`benchmarks.llm.shown_breaks`). llm: `--answerer llm` (`assistant.answer.llm.PLAN`); "constraints '
        "listed\": the same with `Plan.constraints` on (the question's constraints listed in the prompt). "
        "Times are of a shared, busy machine: `make benchmark-llm` measures them.",
        "",
    ]
    for results in runs:
        lines.append(f"- `{results['machine']['command']}`: load average {results['machine']['load average at start']}"
                     f" at the start, {results['load average at end']} at the end")  # fmt: skip
    lines += [
        "",
        "| set | answerer | answer | refused | false refusal | broken | first words p50 (s) | total p50 (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for results in runs:
        for name, r in results["sets"].items():
            for who, c in r.items():
                if who == "questions":
                    continue
                lines.append(f"| {name} ({r['questions']}) | {who} | {c['answer']} | {c['refused']} | "
                             f"{c['false_refusal']} | {c['shown sentences breaking a constraint']} | "
                             f"{c.get('first p50 s', '')} | {c.get('total p50 s', '')} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def _sample(questions: list[dict], size: int | None) -> list[dict]:
    """A seeded sample of `size` questions (in file order), or all when there are no more."""
    import random

    if size is None or len(questions) <= size:
        return questions
    keep = set(random.Random(SAMPLE_SEED).sample(range(len(questions)), size))
    return [q for n, q in enumerate(questions) if n in keep]


def _row(question: dict, answer) -> dict:
    """What one answerer did with one question: found, right (the shared scorer's rule), broken sentences."""
    from assistant.evaluate import score
    from assistant.render.json import answer_to_dict

    right = score([question], [answer_to_dict(answer)])[1][0].get("answer_ok", False)
    return {"found": answer.found, "right": right, "answerer": answer.answerer, "note": answer.note,
            "answer": answer.text[:300], "broken": shown_breaks(answer)}  # fmt: skip


def _row_scores(rows: list[dict], who: str) -> dict:
    """Answer, refused, false refusal (as `assistant.evaluate.score`) and broken sentences of one answerer."""
    answerable = [r[who] for r in rows if r["answerable"]]
    other = [r[who] for r in rows if not r["answerable"]]
    n = max(len(answerable), 1)
    return {
        "answer": round(sum(a["right"] for a in answerable) / n, 3),
        "refused": round(sum(not a["found"] for a in other) / max(len(other), 1), 3),
        "false_refusal": round(sum(not a["found"] for a in answerable) / n, 3),
        "shown sentences breaking a constraint": sum(r[who]["broken"] for r in rows),
    }


def _shipped_constraints() -> bool:
    from assistant.answer.llm import PLAN

    return PLAN.constraints


def _local_server(stack: ExitStack, work: Path, threads: int | None) -> tuple[str, Path]:
    from assistant.answer import llm_local
    from assistant.config import Settings

    model = llm_local.assemble_model(Settings.load().cache_dir)
    port = llm_local.free_port()
    log = work / "server.log"
    with log.open("wb") as out:
        proc = llm_local.start_server(model, port, threads=threads, log=out)
    stack.callback(_stop, proc)
    url = f"http://127.0.0.1:{port}/v1"
    llm_local.warm_up(url)
    return url, log


def _stop(proc) -> None:
    proc.terminate()
    proc.wait(30)


def _timed(generate, extracted, settings, encode, plan, log: Path | None) -> tuple[dict, object]:
    """Seconds to the first answer shown (a partial one, or the final when nothing streams) and to the final."""
    mark = log.stat().st_size if log else 0
    started = time.perf_counter()
    first = answer = None
    for answer in generate(extracted, settings, encode, plan):  # noqa: B007 (the last one is the final answer)
        first = first or time.perf_counter() - started
    total = time.perf_counter() - started
    timing = {"asked": extracted.found, "first_s": round(first, 3), "total_s": round(total, 3),
              "found": answer.found, "answerer": answer.answerer, "note": answer.note}  # fmt: skip
    if log and extracted.found:
        hits = re.findall(rb"(\d+) prefix-match hit, remaining (\d+) prompt tokens", log.read_bytes()[mark:])
        if hits:
            timing["tokens_reused"], timing["tokens_read"] = map(int, hits[-1])
    return timing, answer


def _evict(settings) -> None:
    """A request whose prompt starts differently: the server's kept prefix is lost."""
    from assistant.answer.llm_server import stream_chat

    messages = [{"role": "system", "content": "清空缓存。"}, {"role": "user", "content": "你好"}]
    "".join(stream_chat(messages, settings, max_tokens=1))


def _summary(runs: list[dict], scores: dict | None) -> dict:
    asked = [r for r in runs if r["asked"]]

    def p50(key: str) -> float | None:
        values = [r[key] for r in asked if key in r]
        return round(statistics.median(values), 2) if values else None

    out = {"asked": len(asked), "first p50 s": p50("first_s"), "total p50 s": p50("total_s"),
           "first max s": max((r["first_s"] for r in asked), default=None),
           "total max s": max((r["total_s"] for r in asked), default=None),
           "prompt tokens read p50": p50("tokens_read"), "prompt tokens reused p50": p50("tokens_reused"),
           "generated answers": sum(r["answerer"] == "llm" and r["found"] for r in asked),
           "model said not found": sum(r["answerer"] == "llm" and not r["found"] for r in asked),
           "extractive fallbacks": sum(r["answerer"] == "extractive" for r in asked)}  # fmt: skip
    if scores:
        out.update({k: scores[k] for k in ("answer", "refused", "false_refusal")})
    return out


def _report(results: dict) -> str:
    m = results["machine"]
    lines = [
        "# Generated answers: speed and score",
        "",
        f"Written by `{m['command']}`; every figure below comes from one run of it.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram']}; {m['date']}; load average "
        f"{m['load average at start']} at the start, {results['load average at end']} at the end.",
        f"Questions: `{results['questions']['file']}`, {results['questions']['count']}, of which "
        f"{results['questions']['asked the model']} judged answerable by retrieval and so asked to the model "
        "(each configuration in turn, alternating which goes first).",
        "",
        "| configuration | first words p50 (s) | total p50 (s) | first / total max (s) | prompt tokens read p50 "
        "| answer | refused | false refusal | generated / model's not-found / extractive fallback |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    described = {
        "before": "before: five whole passages, 300 tokens",
        "after": "after: best three, trimmed, 160 tokens",
    }
    for name, c in results["configs"].items():
        lines.append(
            f"| {described.get(name, name)} | {c['first p50 s']} | {c['total p50 s']} | {c['first max s']} / "
            f"{c['total max s']} | {c['prompt tokens read p50']} | {c['answer']} | {c['refused']} | "
            f"{c['false_refusal']} | {c['generated answers']} / {c['model said not found']} / "
            f"{c['extractive fallbacks']} |"
        )
    cold = results["cold cache"]
    lines += [
        f"| after, prompt cache emptied first ({cold['asked']} questions) | {cold['first p50 s']} | "
        f"{cold['total p50 s']} | {cold['first max s']} / {cold['total max s']} | {cold['prompt tokens read p50']} "
        "| | | | |",
        "",
        "First words: the first partial answer `assistant.answer.llm.generate` yields (what a terminal or the web "
        "chat shows first), or its final answer when nothing streams (a refusal, a fallback). Total: its final, "
        "grounded answer. Both from the call, the extractive answer already made (11.7 ms p50 in "
        "`benchmarks/results/README.md`). Prompt tokens read: tokens the server evaluated for the question, "
        f"after reusing {results['configs']['after']['prompt tokens reused p50']} (p50) it kept from the previous "
        "request.",
        "",
        "## Answers",
        "",
        "| id | before | after |",
        "|---|---|---|",
    ]
    for n, run in enumerate(results["runs"]["after"]):
        if run["asked"]:
            before, after = results["answers"]["before"][n], results["answers"]["after"][n]
            lines.append(f"| {run['id']} | {_cell(before)} | {_cell(after)} |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
