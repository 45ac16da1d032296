"""What each step buys: the tables of the README's "Retrieval" and "Answers" sections.

    python -m benchmarks.ablation [--out benchmarks/results/ablation.md]

Retrieval: each variant ranks the same passages (300-character passages) of the report, for
the development questions and our own (eval/questions.jsonl), and of the CMRC 2018 trial
open corpus (training/sets.py), scored with the shared scorer's definitions
(assistant/evaluate.py). Answers: the same readings answered three ways — the sentence closest
in meaning, the learned ranker's choice, and the product (ranker and calibrated answerability)
— on the report's sets and both CMRC variants. Passage size: the whole pipeline at each size,
on the report.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from assistant import retrieve
from assistant.answer import extractive, model
from assistant.config import Settings
from assistant.evaluate import read_questions, score
from assistant.pipeline import Assistant
from assistant.question import Question, analyse
from assistant.render.json import answer_to_dict
from assistant.store.local import Index
from training.sets import cmrc_sets

ROOT = Path(__file__).resolve().parents[1]
SETS = {"dev": ROOT.parent / "shared" / "eval" / "dev.jsonl", "own": ROOT / "eval" / "questions.jsonl"}
SIZES = (150, 200, 300, 400)

Ranker = Callable[[Assistant, str], list[int]]  # passage numbers, best first


def _scaled(x: np.ndarray) -> np.ndarray:
    spread = x.max() - x.min()
    return (x - x.min()) / spread if spread > 1e-9 else np.zeros_like(x)


def _bm25(index: Index, terms: tuple[str, ...]) -> np.ndarray:
    known = [t for t in terms if t in index.bm25.vocab_dict]
    return index.bm25.get_scores(known) if known else np.zeros(len(index.passages), np.float32)


def _sentence_best(index: Index, vector: np.ndarray) -> np.ndarray:
    sims = index.dense.reconstruct_n(0, index.dense.ntotal) @ vector
    best = np.full(len(index.passages), -1.0)
    np.maximum.at(best, index.sentences[:, 0], sims)
    return best


def variants(passage_vectors: np.ndarray) -> dict[str, Ranker]:
    def plain(a: Assistant, q: str) -> Question:
        return replace(analyse(q), vector=a.embedder.queries([q])[0])  # no dictionary bridges

    def dense_passage(a: Assistant, q: str) -> list[int]:
        return list(np.argsort(-(passage_vectors @ plain(a, q).vector)))

    def dense_sentence(a: Assistant, q: str) -> list[int]:
        return list(np.argsort(-_sentence_best(a.index, plain(a, q).vector)))

    def bm25(a: Assistant, q: str) -> list[int]:
        return list(np.argsort(-_bm25(a.index, plain(a, q).words), kind="stable"))

    def fused(a: Assistant, q: str) -> list[int]:
        query = plain(a, q)
        s = _bm25(a.index, query.words)
        mix = retrieve.DENSE_WEIGHT * _scaled(_sentence_best(a.index, query.vector))
        mix += (1 - retrieve.DENSE_WEIGHT) * s / max(float(s.max()), retrieve.BM25_FLOOR)
        return list(np.argsort(-mix))

    def bridged(a: Assistant, q: str) -> list[int]:
        return [a.index.passage_number(h.passage.id) for h in a.retrieve(q, top_k=5)]

    def product(a: Assistant, q: str) -> list[int]:
        return [a.index.passage_number(s.hit.passage.id) for s in a.ask(q).sources]

    return {
        "dense, one vector per passage": dense_passage,
        "dense, best sentence of the passage": dense_sentence,
        "BM25 alone": bm25,
        "best sentence + BM25, fused": fused,
        "+ dictionary bridges": bridged,
        "+ sources ordered by the answer's sentence (this product)": product,
    }


def answer_variants(a: Assistant, questions: list[dict]) -> dict[str, dict]:
    """The same readings answered three ways, scored: what the ranker and the answerability model each bought."""
    rows: dict[str, list[dict]] = {"closest sentence in meaning, answered unless a name is missing": [],
                                   "learned ranker, answered unless a name is missing": [],
                                   "+ calibrated answerability (this product)": []}  # fmt: skip
    for q in questions:
        asked = q["question"]
        reading = a.read(a.question(asked))
        missing = extractive.missing_terms(reading.question, a.index.text)
        sources = [{"text": h.passage.text} for h in reading.hits[:5]]
        ranker = model.ranker().raw(reading.features) if reading.candidates else np.zeros(0)
        for label, scores in zip(rows, (reading.column("cosine"), ranker), strict=False):
            best = extractive.pick(reading, scores)
            found = best is not None and not missing
            text = ""
            if found:
                hit_no, start, end = extractive.quote(reading, best, a.index.rarity)
                text = reading.hits[hit_no].passage.text[start:end]
            rows[label].append({"question": asked, "found": found, "answer": text, "sources": sources})
        rows["+ calibrated answerability (this product)"].append(answer_to_dict(a.ask(asked)))
    return {label: score(questions, answers)[0] for label, answers in rows.items()}


def _retrieval_scores(a: Assistant, rank: Ranker, questions: list[dict]) -> dict:
    answers = [
        {"question": q["question"], "found": True, "answer": "",
         "sources": [{"text": a.index.passages[i].text} for i in rank(a, q["question"])[:5]]}
        for q in questions
    ]  # fmt: skip
    return score(questions, answers)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "ablation.md")
    args = parser.parse_args()
    questions = {name: read_questions(path) for name, path in SETS.items() if path.is_file()}
    cmrc = {qs.name: qs for qs in cmrc_sets()}
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        "# What each step buys: retrieval, answers, passage size",
        "",
        f"Written by `python -m benchmarks.ablation` on {started}. Top 5 sources; scorer definitions of "
        "`../shared/eval/score.py` (`assistant/evaluate.py`). The answer models learned from `own`, `cmrc` and "
        "`cmrc-na` (training/results.md gives their out-of-fold figures); `dev` was never learned from.",
        "",
    ]
    with tempfile.TemporaryDirectory() as work:
        base = Settings.load(corpus_dir=ROOT / "corpus")
        assistants = {n: Assistant(base.with_(index_dir=Path(work) / f"i{n}", chunk_chars=n)) for n in SIZES[:1]}
        embedder = assistants[SIZES[0]].embedder
        for n in SIZES[1:]:
            assistants[n] = Assistant(base.with_(index_dir=Path(work) / f"i{n}", chunk_chars=n), embedder=embedder)
        on = {name: assistants[300] for name in questions}
        for name, qs in cmrc.items():
            on[name] = Assistant(Settings.load(corpus_dir=qs.corpus, index_dir=qs.index), embedder=embedder)
            questions[name] = read_questions(qs.questions)

        retrieval_sets = [name for name in questions if name != "cmrc-na"]
        head = " | ".join(f"{s} hit@1 | {s} hit@5 | {s} MRR" for s in retrieval_sets)
        lines += ["## Retrieval (300-character passages)", "", f"| retrieval | {head} |",
                  "|---" * (1 + 3 * len(retrieval_sets)) + "|"]  # fmt: skip
        vectors = {name: embedder.passages([p.indexed_text() for p in on[name].index.passages]) for name in on}
        labels = list(variants(vectors["dev"]))
        for i, label in enumerate(labels):
            cells = []
            for name in retrieval_sets:
                rank = list(variants(vectors[name]).values())[i]
                s = _retrieval_scores(on[name], rank, questions[name])
                cells += [s["hit@1"], s["hit@5"], s["mrr@5"]]
            lines.append(f"| {label} | " + " | ".join(str(c) for c in cells) + " |")

        lines += ["", "## Answers (same retrieval, three answerers)", "",
                  "| answerer | set | answer | false_refusal | refused |", "|---|---|---|---|---|"]  # fmt: skip
        for name, qs in questions.items():
            for label, s in answer_variants(on[name], qs).items():
                refused = s["refused"] if s["unanswerable"] else "–"
                lines.append(f"| {label} | {name} | {s['answer']} | {s['false_refusal']} | {refused} |")

        lines += ["", "## Passage size (whole pipeline, the report)", "",
                  "| chunk_chars | set | hit@1 | hit@5 | chars@5 | answer | false_refusal | refused |",
                  "|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for n, assistant in assistants.items():
            for name in SETS:
                qs = questions[name]
                s, _ = score(qs, [answer_to_dict(assistant.ask(q["question"])) for q in qs])
                lines.append(f"| {n} | {name} | {s['hit@1']} | {s['hit@5']} | {s['chars@5']} | {s['answer']} | "
                             f"{s['false_refusal']} | {s['refused']} |")  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
