"""Retrieval ablation and passage size: the tables of the README's "Retrieval" section.

    python -m benchmarks.ablation [--out benchmarks/results/ablation.md]

Each retrieval variant ranks the same passages (300-character passages of the real
corpus) for the development questions and for eval/questions.jsonl, and is scored with
the scorer's definitions (assistant/evaluate.py). The passage-size table runs the whole
pipeline (`Assistant.ask`) at each size.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from assistant import retrieve
from assistant.config import Settings
from assistant.evaluate import read_questions, score
from assistant.index import Index
from assistant.pipeline import Assistant
from assistant.serialize import answer_to_dict
from assistant.words import words

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
    def plain(a: Assistant, q: str) -> retrieve.Query:
        return retrieve.Query(q, tuple(words(q)), (), {}, a.embedder.queries([q])[0])

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

    def product(a: Assistant, q: str) -> list[int]:
        numbers = {p.id: n for n, p in enumerate(a.index.passages)}
        return [numbers[h.passage.id] for h in a.retrieve(q, top_k=5)]

    return {
        "dense, one vector per passage": dense_passage,
        "dense, best sentence of the passage": dense_sentence,
        "BM25 alone": bm25,
        "best sentence + BM25, fused": fused,
        "+ dictionary bridges (this product)": product,
    }


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
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        "# Retrieval ablation and passage size",
        "",
        f"Written by `python -m benchmarks.ablation` on {started}. Top 5 sources; scorer definitions of "
        "`../shared/eval/score.py` (`assistant/evaluate.py`).",
        "",
    ]
    with tempfile.TemporaryDirectory() as work:
        base = Settings.load(corpus_dir=ROOT / "corpus")
        assistants = {n: Assistant(base.with_(index_dir=Path(work) / f"i{n}", chunk_chars=n)) for n in SIZES[:1]}
        embedder = assistants[SIZES[0]].embedder
        for n in SIZES[1:]:
            assistants[n] = Assistant(base.with_(index_dir=Path(work) / f"i{n}", chunk_chars=n), embedder=embedder)

        a = assistants[300]
        passage_vectors = embedder.passages([p.indexed_text() for p in a.index.passages])
        names = list(questions)
        head = " | ".join(f"{s} hit@1 | {s} hit@5 | {s} MRR" for s in names)
        lines += ["## Retrieval (300-character passages)", "", f"| retrieval | {head} |",
                  "|---" * (1 + 3 * len(names)) + "|"]  # fmt: skip
        for label, rank in variants(passage_vectors).items():
            cells = []
            for name in names:
                s = _retrieval_scores(a, rank, questions[name])
                cells += [s["hit@1"], s["hit@5"], s["mrr@5"]]
            lines.append(f"| {label} | " + " | ".join(str(c) for c in cells) + " |")

        lines += ["", "## Passage size (whole pipeline)", "",
                  "| chunk_chars | set | hit@1 | hit@5 | chars@5 | answer | false_refusal | refused |",
                  "|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for n, assistant in assistants.items():
            for name, qs in questions.items():
                s, _ = score(qs, [answer_to_dict(assistant.ask(q["question"])) for q in qs])
                lines.append(f"| {n} | {name} | {s['hit@1']} | {s['hit@5']} | {s['chars@5']} | {s['answer']} | "
                             f"{s['false_refusal']} | {s['refused']} |")  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
