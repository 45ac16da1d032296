"""Scores for a question set, with the same definitions as the shared scorer (eval/score.py).

Text is compared after removing all white space and `**`. For answerable questions:
hit@k (a source among the first k holds ≥60% of an evidence excerpt as one unbroken
run), hit@Nc (the same within a reading budget of N characters), MRR@k, answer (found,
at most `max_answer` characters, one alternative of every `answer_any` group) and
false_refusal; for unanswerable ones: refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from difflib import SequenceMatcher
from pathlib import Path

__all__ = ["read_questions", "score", "QuestionsError"]


class QuestionsError(Exception):
    """The question file cannot be used; one line."""


def norm(text: str) -> str:
    return re.sub(r"\s+", "", text or "").replace("**", "")


def _covers(source_text: str, evidence: str) -> bool:
    s, e = norm(source_text), norm(evidence)
    if e in s:
        return True
    match = SequenceMatcher(None, e, s, autojunk=False).find_longest_match(0, len(e), 0, len(s))
    return match.size >= 0.6 * len(e)


def read_questions(path: Path) -> list[dict]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise QuestionsError(f"{path}: {exc.strerror or exc}") from None
    questions = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            q = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QuestionsError(f"{path}:{n}: not JSON ({exc.msg})") from None
        if isinstance(q, dict) and "question" not in q and isinstance(q.get("turns"), list) and q["turns"]:
            # A conversation: its last turn is the question scored, the turns before it its history.
            q = {**q, "question": q["turns"][-1], "history": q["turns"][:-1]}
        if not isinstance(q, dict) or not isinstance(q.get("question"), str):
            raise QuestionsError(f'{path}:{n}: each line needs a "question" string (or "turns", a conversation)')
        if not all(isinstance(t, str) for t in q.setdefault("history", [])):
            raise QuestionsError(f'{path}:{n}: "turns" must all be strings')
        q.setdefault("id", f"line{n}")
        q.setdefault("answerable", True)
        q.setdefault("evidence", [])
        q.setdefault("answer_any", [])
        questions.append(q)
    if not questions:
        raise QuestionsError(f"{path}: no questions")
    return questions


def score(
    questions: list[dict], answers: Iterable[dict], k: int = 5, budget: int = 800, max_answer: int = 200
) -> tuple[dict, list[dict]]:
    """The summary and per-question rows, as eval/score.py defines them."""
    rows = []
    for q, a in zip(questions, answers, strict=True):
        all_sources = [s.get("text", "") for s in (a.get("sources") or [])]
        budgeted, used = [], 0
        for s in all_sources:
            if used >= budget:
                break
            budgeted.append(s)
            used += len(norm(s))
        found = bool(a.get("found"))
        row = {"id": q["id"], "type": q.get("type", ""), "answerable": q["answerable"], "found": found,
               "chars": sum(len(norm(s)) for s in all_sources[:k]), "question": q["question"],
               "answer": a.get("answer", "")}  # fmt: skip
        if q["answerable"]:
            hits = [any(_covers(s, e) for e in q["evidence"]) for s in all_sources]
            rank = next((i + 1 for i, h in enumerate(hits[:k]) if h), 0)
            ans = norm(a.get("answer", ""))
            ok = found and len(ans) <= max_answer and all(any(norm(alt) in ans for alt in g) for g in q["answer_any"])
            row.update(rank=rank, in_budget=any(hits[: len(budgeted)]), answer_ok=ok)
        rows.append(row)
    ans_rows = [r for r in rows if r["answerable"]]
    un_rows = [r for r in rows if not r["answerable"]]
    n = max(len(ans_rows), 1)
    summary = {
        "questions": len(rows),
        "answerable": len(ans_rows),
        "unanswerable": len(un_rows),
        f"hit@{k}": round(sum(r["rank"] > 0 for r in ans_rows) / n, 3),
        "hit@1": round(sum(r["rank"] == 1 for r in ans_rows) / n, 3),
        f"hit@{budget}c": round(sum(r["in_budget"] for r in ans_rows) / n, 3),
        f"mrr@{k}": round(sum(1 / r["rank"] for r in ans_rows if r["rank"]) / n, 3),
        f"chars@{k}": round(sum(r["chars"] for r in rows) / max(len(rows), 1)),
        "answer": round(sum(r["answer_ok"] for r in ans_rows) / n, 3),
        "false_refusal": round(sum(not r["found"] for r in ans_rows) / n, 3),
        "refused": round(sum(not r["found"] for r in un_rows) / max(len(un_rows), 1), 3),
    }
    return summary, rows
