"""The one `ask()` that both faces call: resolve a follow-up, retrieve, answer.

An `Assistant` loads the model and the index once (building the index first if it
is missing or stale) and is then safe to share between threads and sessions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import cached_property

import numpy as np

from assistant import answer as extractive
from assistant import retrieve
from assistant.config import Settings
from assistant.embedder import Embedder
from assistant.index import Index, Progress, ensure
from assistant.schema import Answer, Hit
from assistant.words import content_words, normalize

__all__ = ["Assistant", "QuestionError", "resolve_followup"]


class QuestionError(ValueError):
    """The question cannot be asked as it is (empty, too long); the message is for the user."""


class Assistant:
    def __init__(self, settings: Settings, progress: Progress | None = None, embedder: Embedder | None = None):
        self.settings = settings
        self.embedder = embedder or Embedder(settings)
        self.index: Index
        self.index, self.rebuilt = ensure(settings, self.embedder, progress)

    @cached_property
    def corpus_text(self) -> str:
        return "\n".join(normalize(p.indexed_text()) for p in self.index.passages)

    @cached_property
    def _document_frequency(self) -> dict[str, int]:
        # BM25's sparse matrix is stored by word: its column lengths are document frequencies.
        indptr = np.asarray(self.index.bm25.scores["indptr"])
        counts = np.diff(indptr)
        return {w: int(counts[i]) for w, i in self.index.bm25.vocab_dict.items() if i < len(counts)}

    def rarity(self, word: str) -> float:
        """Inverse document frequency of a word among passages (unknown words are the rarest)."""
        n = len(self.index.passages)
        return math.log(1 + n / (self._document_frequency.get(word, 0) + 0.5))

    def check(self, question: str) -> str:
        q = (question or "").strip()
        if not q:
            raise QuestionError("请输入问题。")
        if len(q) > self.settings.max_question_chars:
            raise QuestionError(f"问题太长（{len(q)} 字），请控制在 {self.settings.max_question_chars} 字以内。")
        return q

    def _query(self, question: str) -> retrieve.Query:
        return retrieve.prepare(self.index, question, lambda text: self.embedder.queries([text])[0])

    def retrieve(self, question: str, top_k: int | None = None) -> list[Hit]:
        query = self._query(self.check(question))
        return retrieve.search(self.index, query, top_k or self.settings.top_k)

    def ask(self, question: str, history: Sequence[str] = (), top_k: int | None = None) -> Answer:
        """Answer `question`; `history` holds the earlier questions of the conversation, oldest first."""
        asked = self.check(question)
        resolved = resolve_followup(asked, history)
        query = self._query(resolved)
        hits = retrieve.search(self.index, query, top_k or self.settings.top_k)
        return extractive.answer(
            resolved,
            hits,
            self._candidates(hits, query),
            content=query.content,
            bridges=query.bridges,
            corpus_text=self.corpus_text,
            rarity=self.rarity,
            english=query.english,
            asked=asked,
            focus=content_words(asked) if resolved != asked else (),
        )

    def _candidates(self, hits: Sequence[Hit], query: retrieve.Query) -> list[extractive.Candidate]:
        """Every sentence of the best passages, with its cosine similarity to the question."""
        found = []
        for n, hit in enumerate(hits[: extractive.SOURCES_READ]):
            rows = self.index.sentence_rows(self._number[hit.passage.id])
            cosines = retrieve.sentence_vectors(self.index, rows) @ query.vector
            for row, cosine in zip(rows, cosines, strict=True):
                _, start, end = self.index.sentences[row]
                found.append(extractive.Candidate(n, int(start), int(end), float(cosine)))
        return found

    @cached_property
    def _number(self) -> dict[str, int]:
        return {p.id: n for n, p in enumerate(self.index.passages)}


_FOLLOWUP_START = re.compile(
    r"^(那|那么|那个|还有|另外|此外|其中|它|他们|这|这个|这些|为什么|为何|怎么|如何|具体|and|what about|why)"
)


def resolve_followup(question: str, history: Sequence[str]) -> str:
    """A short follow-up (`那县里呢？`, `为什么？`) is read together with the previous question.

    A question that names enough of its own subject stands alone.
    """
    if not history:
        return question
    previous = history[-1]
    own = content_words(question)
    short = len(re.sub(r"\W", "", question)) <= 8 or len(own) <= 1
    if short and (_FOLLOWUP_START.match(question.strip().lower()) or question.rstrip("？?").endswith("呢") or not own):
        return f"{previous.rstrip('？?。')}？{question}"
    return question
