"""The one `ask()` that both faces call: resolve a follow-up, retrieve, answer.

An `Assistant` loads the model and the index once (building the index first if it
is missing or stale) and is then safe to share between threads and sessions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from assistant import retrieve
from assistant.answer import evidence, extractive
from assistant.answer.evidence import Reading
from assistant.config import Settings
from assistant.embedder import Embedder
from assistant.index import Index, Progress, ensure
from assistant.question import Question, analyse
from assistant.schema import Answer, Hit
from assistant.words import content_words, is_stopword

__all__ = ["Assistant", "QuestionError", "resolve_followup"]


class QuestionError(ValueError):
    """The question cannot be asked as it is (empty, too long); the message is for the user."""


class Assistant:
    def __init__(self, settings: Settings, progress: Progress | None = None, embedder: Embedder | None = None):
        self.settings = settings
        self.embedder = embedder or Embedder(settings)
        self.index: Index
        self.index, self.rebuilt = ensure(settings, self.embedder, progress)

    def check(self, question: str) -> str:
        q = (question or "").strip()
        if not q:
            raise QuestionError("请输入问题。")
        if len(q) > self.settings.max_question_chars:
            raise QuestionError(f"问题太长（{len(q)} 字），请控制在 {self.settings.max_question_chars} 字以内。")
        return q

    def question(self, text: str) -> Question:
        """The analysed question, prepared for retrieval (dictionary bridges, vector)."""
        return retrieve.prepare(self.index, analyse(text), lambda t: self.embedder.queries([t])[0])

    def retrieve(self, question: str, top_k: int | None = None) -> list[Hit]:
        return retrieve.search(self.index, self.question(self.check(question)), top_k or self.settings.top_k)

    def read(self, question: Question, focus: Sequence[str] = ()) -> Reading:
        """Retrieve the passages to read and gather the evidence on each of their sentences."""
        hits = retrieve.search(self.index, question, max(self.settings.top_k, extractive.SOURCES_READ))
        return evidence.read(question, hits, self.index, focus)

    def ask(self, question: str, history: Sequence[str] = (), top_k: int | None = None) -> Answer:
        """Answer `question`; `history` holds the earlier questions of the conversation, oldest first."""
        asked = self.check(question)
        resolved = resolve_followup(asked, history)
        focus = _focus(asked, self.index.text) if resolved != asked else ()
        reading = self.read(self.question(resolved), focus)
        return extractive.answer(reading, self.index, top_k or self.settings.top_k, asked=asked)

    def answers(
        self, question: str, history: Sequence[str] = (), top_k: int | None = None, answerer: str | None = None
    ) -> Iterator[Answer]:
        """The answer as it grows: one final Answer (extractive), or the LLM's text as it streams, then
        its grounded final version. Retrieval and the "not found" decision are the same for both."""
        extracted = self.ask(question, history, top_k)
        if (answerer or self.settings.answerer) != "llm":
            yield extracted
            return
        from assistant.answer import llm

        yield from llm.generate(extracted, self.settings, encode=self.embedder.passages)

    def final_answer(
        self, question: str, history: Sequence[str] = (), top_k: int | None = None, answerer: str | None = None
    ) -> Answer:
        *_, last = self.answers(question, history, top_k, answerer)
        return last


_FOLLOWUP_START = re.compile(
    r"^(那|那么|那个|还有|另外|此外|其中|它|他们|这|这个|这些|为什么|为何|怎么|如何|具体|and|what about|why)"
)
# "那县里呢？", "那么腾讯呢", "what about the counties?": the same question, about something else.
_ABOUT_ELSE = re.compile(r"^(?:那么?|还有|what about|and)\s*(?P<other>.+?)\s*(?:呢|怎么样|如何)?\s*[？?]?$", re.I)


def resolve_followup(question: str, history: Sequence[str]) -> str:
    """A short follow-up is read in the light of the previous question.

    `那县里呢？` after `市委网信办目前有多少在编人员？` asks the same about something else: its
    subject replaces the previous question's first content word (Chinese questions lead
    with their subject) → `县里网信办目前有多少在编人员？`. Other short follow-ups
    (`为什么？`) are appended to the previous question. A question that names enough of
    its own subject stands alone.
    """
    if not history:
        return question
    previous = history[-1]
    own = content_words(question)
    short = len(re.sub(r"\W", "", question)) <= 8 or len(own) <= 1
    if not short:
        return question
    about = _ABOUT_ELSE.match(question.strip())
    if about and own and question.rstrip("？? ").endswith(("呢", "怎么样", "如何")):
        first = next(iter(content_words(previous)), "")
        if first:
            return previous.replace(first, about.group("other").strip(), 1)
    if _FOLLOWUP_START.match(question.strip().lower()) or question.rstrip("？?").endswith("呢") or not own:
        return f"{previous.rstrip('？?。')}？{question}"
    return question


def _focus(followup: str, corpus_text: str) -> tuple[str, ...]:
    """What a follow-up asks about, as strings to find in an answer sentence.

    A word the corpus never uses (县里) is looked for by its characters (县), the way
    the report may write it (各县（市、区）).
    """
    terms: list[str] = []
    for w in content_words(followup):
        terms += [w] if w in corpus_text else [c for c in w if "\u4e00" <= c <= "\u9fff" and not is_stopword(c)]
    return tuple(dict.fromkeys(terms))
