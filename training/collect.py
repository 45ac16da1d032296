"""Questions through the real pipeline, up to the evidence: what the answer models learn from.

Each question is analysed, retrieved and read by the same code that answers (`Assistant.read`);
its candidate sentences are labelled by the shared scorer's rule (a sentence is right when it
holds one alternative of every `answer_any` group, compared without white space).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import numpy as np

from assistant.answer.evidence import Reading
from assistant.config import Settings
from assistant.pipeline import Assistant
from training.sets import QuestionSet


@dataclass
class Record:
    set: str
    id: str
    group: str  # the document the question was written from: splits never separate its questions
    answerable: bool
    answers: list[list[str]]  # answer_any, normalised
    reading: Reading
    labels: np.ndarray  # int8 per candidate: the sentence holds a right answer

    def right(self, text: str, max_chars: int = 200) -> bool:
        """The scorer's `answer` for a found answer with this text."""
        t = norm(text)
        return self.answerable and len(t) <= max_chars and all(any(a in t for a in alts) for alts in self.answers)


def norm(text: str) -> str:
    return re.sub(r"\s+", "", text or "").replace("**", "")


def collect(qs: QuestionSet, assistant: Assistant | None = None) -> tuple[list[Record], Assistant]:
    """Records for every question of `qs` (an `Assistant` over the same corpus may be passed in to reuse)."""
    if assistant is None:
        assistant = Assistant(Settings.load(corpus_dir=qs.corpus, index_dir=qs.index))
    records = []
    for line in qs.questions.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        q = json.loads(line)
        reading = assistant.read(assistant.question(assistant.check(q["question"])))
        answers = [[norm(a) for a in alts] for alts in q.get("answer_any", [])]
        labels = np.array(
            [bool(answers) and all(any(a in norm(reading.sentence(i)) for a in alts) for alts in answers)
             for i in range(len(reading.candidates))],
            dtype=np.int8,
        )  # fmt: skip
        # Questions of one document stay together in every split; the report's own questions all share one
        # document, so each is its own group there.
        # A near miss and its control stay with the question they were made from.
        group = q.get("doc") or f"{qs.name.split('-')[0]}:{q.get('of') or q['id'].split('-')[0]}"
        records.append(Record(qs.name, q["id"], group, bool(q.get("answerable", True)), answers, reading, labels))
    return records, assistant


class Rarity:
    """An index's word rarities as a plain table (picklable, unlike the index)."""

    def __init__(self, index) -> None:
        self.table = {w: index.rarity(w) for w in index.vocabulary}
        self.unknown = index.rarity("\x00")

    def __call__(self, word: str) -> float:
        return self.table.get(word, self.unknown)
