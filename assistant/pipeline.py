"""The one `ask()` that both faces call: resolve a follow-up, retrieve, answer.

An `Assistant` loads the model and the index once (building the index first if it
is missing or stale) and is then safe to share between threads and sessions.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from assistant import retrieve
from assistant.answer import evidence, extractive, shaped
from assistant.answer.evidence import Reading
from assistant.config import Settings
from assistant.conversation import Turn, resolve
from assistant.encode.embedder import Embedder
from assistant.question import Question, analyse
from assistant.schema import Answer, Hit
from assistant.store.local import Index, Progress, ensure
from assistant.text.words import is_stopword, normalize

if TYPE_CHECKING:
    from assistant.store.milvus import MilvusStore

__all__ = ["Assistant", "QuestionError", "Turn"]


class QuestionError(ValueError):
    """The question cannot be asked as it is (empty, too long); the message is for the user."""


class Assistant:
    def __init__(self, settings: Settings, progress: Progress | None = None, embedder: Embedder | None = None):
        self.settings = settings
        self.embedder = embedder or Embedder(settings)
        self.index: Index | MilvusStore
        self.index, self.rebuilt = ensure(settings, self.embedder, progress)
        if settings.store == "milvus":  # the local build embedded the documents; Milvus takes them from its shards
            from assistant.store import milvus

            local, self.index = self.index, milvus.open_store(settings, self.index)
            local.close()

    def current(self) -> Assistant:
        """This Assistant, or one over the documents as the store holds them now: a Milvus store that another
        process (a web worker, `assistant add`/`remove`) changed since it was loaded (one key lookup). The local
        store follows new builds through the web library (`web.library.Library.follow`)."""
        follow = getattr(self.index, "current", None)
        store = follow() if follow is not None else self.index
        if store is self.index:
            return self
        newer = copy.copy(self)  # the same model; a question under way keeps the Assistant it started with
        newer.index = store
        return newer

    def check(self, question: str) -> str:
        q = (question or "").strip()
        if not q:
            raise QuestionError("请输入问题。")
        if len(q) > self.settings.max_question_chars:
            raise QuestionError(f"问题太长（{len(q)} 字），请控制在 {self.settings.max_question_chars} 字以内。")
        return q

    def check_history(self, history: object) -> list[str]:
        """Earlier questions sent with a request (API, JSON lines), checked before any work: a list of at most
        `max_history_turns` texts, each at most twice `max_question_chars` long (a follow-up as understood)."""
        if history is None:
            return []
        if not isinstance(history, list) or not all(isinstance(turn, str) for turn in history):
            raise QuestionError("history 应为此前问题（文本）的列表。")
        if len(history) > self.settings.max_history_turns:
            raise QuestionError(f"history 最多 {self.settings.max_history_turns} 个问题，收到 {len(history)} 个。")
        limit = 2 * self.settings.max_question_chars
        for n, turn in enumerate(history, 1):
            if len(turn) > limit:
                raise QuestionError(f"history 第 {n} 个问题太长（{len(turn)} 字），每个最多 {limit} 字。")
        return history

    def question(self, text: str) -> Question:
        """The analysed question, prepared for retrieval (dictionary bridges, vector)."""
        return retrieve.prepare(self.index, analyse(text), lambda t: self.embedder.queries([t])[0])

    def retrieve(self, question: str, top_k: int | None = None) -> list[Hit]:
        return retrieve.search(self.index, self.question(self.check(question)), top_k or self.settings.top_k)

    def read(
        self, question: Question, focus: Sequence[str] = (), near: Sequence[str] = (), doc: str | None = None
    ) -> Reading:
        """Retrieve the passages to read (and the `near` ones, by id; from document `doc` only, when given)
        and gather the evidence on their sentences."""
        hits = retrieve.search(self.index, question, max(self.settings.top_k, extractive.SOURCES_READ), doc)
        have = {h.passage.id for h in hits}
        near_hits = (Hit(self.index.passages[self.index.passage_number(i)], 0.0) for i in near if i not in have)
        hits += [h for h in near_hits if doc is None or h.passage.doc == doc]
        return evidence.read(question, hits, self.index, focus)

    def ask(
        self, question: str, history: Sequence[Turn | str] = (), top_k: int | None = None, doc: str | None = None
    ) -> Answer:
        """Answer `question`; `history` holds the conversation so far, oldest first: its turns, or the
        earlier questions alone (then they are answered again, to know what each answer said). `doc` limits
        the answer to one document (its name as `assistant list` shows it)."""
        asked = self.check(question)
        if doc is not None and not self.index.document_passages(doc):
            raise QuestionError(f"没有名为“{doc}”的文档。")
        turns = self.turns(history, doc)
        previous = turns[-1].answer if turns else None
        resolution = resolve(
            asked,
            turns,
            self._following(previous) if previous else (),
            shaped.listed(previous, self.index) if previous else (),
        )
        if resolution.unclear:
            return Answer(asked, False, resolution.unclear, resolved_question=asked, note="请把问题说完整。")
        if resolution.item is not None:  # 第三点 / 最后一项 / 具体说说第二条: that item, as the document says it
            return shaped.expand(resolution.item, self.index, asked, resolution.text)
        reading = self.read(
            self.question(resolution.text), self._focus(resolution.focus), self._near(resolution.near), doc
        )
        fact = extractive.answer(reading, self.index, top_k or self.settings.top_k, asked=asked,
                                 low_confidence=self.settings.low_confidence)  # fmt: skip
        return shaped.answer(reading, self.index, fact)  # a list, the outline, a summary, a reason: in that shape

    def turns(self, history: Sequence[Turn | str], doc: str | None = None) -> list[Turn]:
        """The conversation as turns: earlier questions given as text are answered again, in order."""
        turns: list[Turn] = []
        for earlier in history:
            turns.append(earlier if isinstance(earlier, Turn) else Turn(earlier, self.ask(earlier, turns, doc=doc)))
        return turns

    def _near(self, ids: Sequence[str]) -> tuple[str, ...]:
        """The passages a previous answer quoted, and the one after each in the same document: where a
        follow-up's answer often is (the reason given next, the list's next item)."""
        near: list[str] = []
        for passage_id in ids:
            n = self.index.passage_number(passage_id)
            near.append(passage_id)
            after = self.index.passages[n + 1] if n + 1 < len(self.index.passages) else None
            if after is not None and after.doc == self.index.passages[n].doc:
                near.append(after.id)
        return tuple(dict.fromkeys(near))

    def _following(self, answer: Answer, passages: int = 10) -> list[str]:
        """The text after what `answer` quoted: the rest of its passage and the passages that follow it within its
        section (a list the answer began or announced goes on there: 一是…二是…, （一）…（二）…)."""
        out = []
        for source in answer.sources:
            if not source.used:
                continue
            cited = source.hit.passage
            out += [cited.text[span.end :] for span in source.used]
            n = self.index.passage_number(cited.id)
            for after in self.index.passages[n + 1 : n + 1 + passages]:
                if after.doc != cited.doc or after.section[: len(cited.section) - 1] != cited.section[:-1]:
                    break
                out.append(f"{after.section[-1] if after.section else ''}\n{after.text}")
        return out

    def _focus(self, terms: Sequence[str]) -> tuple[str, ...]:
        """What a follow-up asks about, as strings to find in an answer sentence: a word the corpus never uses
        (县里) by its characters (县), the way the report may write it (各县（市、区）)."""
        found: list[str] = []
        for term in terms:
            t = normalize(term)
            found += [t] if t in self.index.text else [c for c in t if "\u4e00" <= c <= "\u9fff" and not is_stopword(c)]
        return tuple(dict.fromkeys(found))

    def answers(
        self,
        question: str,
        history: Sequence[Turn | str] = (),
        top_k: int | None = None,
        answerer: str | None = None,
        doc: str | None = None,
    ) -> Iterator[Answer]:
        """The answer as it grows: one final Answer (extractive), or the LLM's text as it streams, then
        its grounded final version. Retrieval and the "not found" decision are the same for both."""
        extracted = self.ask(question, history, top_k, doc)
        if (answerer or self.settings.answerer) != "llm":
            yield extracted
            return
        from assistant.answer import llm

        yield from llm.generate(extracted, self.settings, encode=self.embedder.passages)

    def final_answer(
        self,
        question: str,
        history: Sequence[Turn | str] = (),
        top_k: int | None = None,
        answerer: str | None = None,
        doc: str | None = None,
    ) -> Answer:
        *_, last = self.answers(question, history, top_k, answerer, doc)
        return last
