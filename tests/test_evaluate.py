"""assistant/evaluate.py is a port of the shared scorer (../shared/eval/score.py): on the real
assistant's answers, and on generated ones, both must give exactly the same numbers.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant import evaluate
from assistant.pipeline import Assistant
from assistant.render.json import answer_to_dict

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "eval"  # beside the checkout, here and in CI
SHARED_SCORER = SHARED / "score.py"
QUESTION_SETS = {"dev": SHARED / "dev.jsonl", "questions": ROOT / "eval" / "questions.jsonl"}
ROW_KEYS = ("id", "type", "answerable", "found", "chars", "rank", "in_budget", "answer_ok")


@pytest.fixture(scope="module")
def shared() -> ModuleType:
    if not SHARED_SCORER.is_file():
        pytest.skip(f"the shared scorer {SHARED_SCORER} is not here")
    spec = importlib.util.spec_from_file_location("shared_score", SHARED_SCORER)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def answered(assistant: Assistant) -> dict[str, tuple[list[dict], list[dict]]]:
    """Each question set with the real assistant's answers, as `assistant ask --json` prints them."""
    out = {}
    for name, path in QUESTION_SETS.items():
        if not path.is_file():
            continue
        questions = evaluate.read_questions(path)
        answers = [json.loads(json.dumps(answer_to_dict(assistant.ask(q["question"])))) for q in questions]
        out[name] = (questions, answers)
    return out


def _common(rows: list[dict]) -> list[dict]:
    return [{k: r[k] for k in ROW_KEYS if k in r} for r in rows]


@pytest.mark.slow
@pytest.mark.parametrize("name", QUESTION_SETS)
@pytest.mark.parametrize(("k", "budget"), [(5, 800), (1, 300), (3, 150)])
def test_score_matches_the_shared_scorer_on_real_answers(shared, answered, name: str, k: int, budget: int) -> None:
    if name not in answered:
        pytest.skip(f"{QUESTION_SETS[name]} is not here")
    questions, answers = answered[name]
    ours, our_rows = evaluate.score(questions, answers, k=k, budget=budget)
    theirs, their_rows = shared.score(questions, answers, k, budget)
    assert ours == theirs
    assert _common(our_rows) == _common(their_rows)
    assert ours["questions"] == len(questions) > 0


@pytest.mark.slow
def test_real_answers_are_not_a_trivial_case(answered) -> None:
    """The comparison above is worth something only if it covers hits, right answers and unanswerable questions
    (the generated answers below cover every branch on purpose)."""
    rows = [r for questions, answers in answered.values() for r in evaluate.score(questions, answers)[1]]
    assert len(rows) == sum(len(questions) for questions, _ in answered.values())
    assert any(r["answerable"] and r["rank"] == 1 and r["answer_ok"] for r in rows)
    assert any(r["answerable"] and r["in_budget"] for r in rows)
    assert any(not r["answerable"] for r in rows)


# --- the same definitions on generated answers ---------------------------------------------------

# A small alphabet makes partial overlaps, white space and `**` markers common.
text = st.text(alphabet="网信办人员11 \n*。", max_size=30)


@settings(max_examples=400, deadline=None)
@given(source=text, evidence=text)
def test_covers_matches_the_shared_scorer(shared, source: str, evidence: str) -> None:
    assert evaluate._covers(source, evidence) == shared.covers(source, evidence)
    assert evaluate.norm(source) == shared.norm(source)


def _question_sets():
    question = st.fixed_dictionaries(
        {
            "answerable": st.booleans(),
            "evidence": st.lists(text.filter(str.strip), max_size=2),
            "answer_any": st.lists(st.lists(st.sampled_from(["11", "网信", "人员", "**"]), min_size=1), max_size=2),
            "type": st.sampled_from(["fact", "list", ""]),
        }
    )
    answer = st.fixed_dictionaries(
        {"found": st.booleans(), "answer": text},
        optional={"sources": st.one_of(st.none(), st.lists(st.fixed_dictionaries({"text": text}), max_size=6))},
    )
    return st.lists(st.tuples(question, answer), min_size=1, max_size=6)


@settings(max_examples=200, deadline=None)
@given(pairs=_question_sets(), k=st.integers(1, 6), budget=st.integers(0, 60), max_answer=st.integers(0, 20))
def test_score_matches_the_shared_scorer_on_generated_answers(shared, pairs, k, budget, max_answer) -> None:
    questions = [{"id": f"g{n}", "question": f"问题{n}", **q} for n, (q, _) in enumerate(pairs)]
    answers = [{"question": f"问题{n}", **a} for n, (_, a) in enumerate(pairs)]
    ours, our_rows = evaluate.score(questions, answers, k=k, budget=budget, max_answer=max_answer)
    theirs, their_rows = shared.score(questions, answers, k, budget, max_answer)
    assert ours == theirs
    assert _common(our_rows) == _common(their_rows)


# --- reading question files ----------------------------------------------------------------------


def test_read_questions_fills_in_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    lines = ["", '{"question": "这份汇报是哪天的？"}', '{"id": "x", "question": "谁？", "answerable": false}']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert evaluate.read_questions(path) == [
        {
            "question": "这份汇报是哪天的？",
            "id": "line2",
            "answerable": True,
            "evidence": [],
            "answer_any": [],
            "history": [],
        },
        {"id": "x", "question": "谁？", "answerable": False, "evidence": [], "answer_any": [], "history": []},
    ]


def test_a_conversation_is_scored_on_its_last_turn(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(
        '{"id": "d", "turns": ["市委网信办有多少在编人员？", "那县里呢？"], "answerable": false}\n', encoding="utf-8"
    )
    (q,) = evaluate.read_questions(path)
    assert (q["question"], q["history"]) == ("那县里呢？", ["市委网信办有多少在编人员？"])


def test_questions_file_with_bad_line_names_it(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"question": "谁？"}\n{"question": 3}\n', encoding="utf-8")
    needs = r'each line needs a "question" string \(or "turns", a conversation\)'
    with pytest.raises(evaluate.QuestionsError, match=f"^{path}:2: {needs}$"):
        evaluate.read_questions(path)
