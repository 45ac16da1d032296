"""What the web chat's faces share: the current `Assistant`, the gate, the checks, answers as users may see them.

`Service.answers` is the one way the HTTP API (`api.py`, `chat.py`) gets an answer: every input checked
before any work (`ApiError` 400 naming what was wrong), then the answer through the same `Gate` as the
page (429 when busy, 503 past the deadline), with the model server's address taken out of its note.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from assistant.config import Settings
from assistant.pipeline import Assistant, QuestionError
from assistant.schema import Answer
from assistant.web.errors import ApiError
from assistant.web.gate import Busy, Gate, TimedOut
from assistant.web.keys import Access
from assistant.web.library import Library

__all__ = ["API_TOP_K_MAX", "BUSY", "FAILED", "TIMED_OUT", "Service", "answerers", "public_answer"]

log = logging.getLogger(__name__)

API_TOP_K_MAX = 50  # same bound as the CLI's --top-k
FAILED = "抱歉，处理这个问题时出了点问题，请稍后再试或换个问法。"
BUSY = "现在提问的人较多，服务繁忙，请稍后再试。"
TIMED_OUT = "抱歉，这个问题在规定时间内没有答完，请稍后再试或换个问法。"
SERVER = "语言模型服务"  # said instead of its address or key
RETRY_AFTER = "5"  # seconds a client told "busy" should wait before asking again


def answerers(settings: Settings) -> list[str]:
    """What web users may choose, the default first: `web_answerers`, and `answerer`, which the operator chose."""
    allowed = [a for a in ("extractive", "llm") if a in settings.web_answerers or a == settings.answerer]
    return sorted(allowed, key=lambda a: a != settings.answerer)


def public_answer(answer: Answer, settings: Settings) -> Answer:
    """The answer as users may see it: no model server address or key in its note."""
    if not answer.note:
        return answer
    parts = urlsplit(settings.llm_url)
    secrets = [settings.llm_url, settings.llm_url.rstrip("/"), parts.netloc, parts.hostname, settings.llm_api_key]
    note = answer.note
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        note = note.replace(secret, SERVER)
    return replace(answer, note=note)


@dataclass(frozen=True)
class Service:
    """The state the API's routes share with the page: built once per server by `build_app`."""

    shelf: Library
    gate: Gate
    settings: Settings
    access: Access
    titles: Callable[[Assistant], dict[str, str]]  # document name -> title, for the chat's footnotes

    def answers(
        self,
        question: str,
        history: list[str] | None = None,
        top_k: int | None = None,
        answerer: str | None = None,
        doc: str | None = None,
    ) -> tuple[Assistant, Iterator[Answer]]:
        """The `Assistant` that answers (the current one, taken once) and its answers as they come: one for the
        extractive answerer; the growing text, then the final answer, for the LLM. Bad input raises ApiError here,
        before any work; the iterator raises ApiError for busy (429), too slow (503) and failures (500)."""
        current = self.shelf.follow()
        try:
            asked = current.check(question)
        except QuestionError as exc:
            code = "question_too_long" if len(question.strip()) > self.settings.max_question_chars else "empty_question"
            raise ApiError(400, code, str(exc)) from None
        try:
            earlier = current.check_history(history)
        except QuestionError as exc:
            raise ApiError(400, "invalid_history", str(exc)) from None
        choices = answerers(self.settings)
        chosen = answerer or choices[0]
        if chosen not in choices:
            raise ApiError(400, "invalid_answerer", f"answerer 应为 {' 或 '.join(choices)}。")
        if doc and doc not in current.index.documents:
            raise ApiError(400, "unknown_document", f"没有名为“{doc}”的文档（GET /api/documents 列出文档）。")
        k = top_k or self.settings.top_k
        work = self.gate.stream(
            lambda: current.answers(asked, earlier, top_k=k, answerer=chosen, doc=doc or None),
            self.settings.request_timeout,
        )
        return current, self._guarded(work, asked)

    def _guarded(self, work: Iterator[Answer], question: str) -> Iterator[Answer]:
        try:
            for answer in work:
                yield public_answer(answer, self.settings)
        except Busy:
            raise ApiError(429, "busy", BUSY, {"Retry-After": RETRY_AFTER}) from None
        except TimedOut:
            raise ApiError(503, "timed_out", TIMED_OUT) from None
        except QuestionError as exc:
            raise ApiError(400, "invalid_question", str(exc)) from None
        except Exception:
            log.exception("API answering %r failed", question[:200])
            raise ApiError(500, "internal_error", FAILED) from None
        finally:
            close = getattr(work, "close", None)
            if close is not None:
                close()  # the gate's worker is told to stop now, not at garbage collection

    def final(self, question: str, **options: object) -> tuple[Assistant, Answer]:
        """The final answer (an LLM's grounded text, not its partial ones)."""
        current, answers = self.answers(question, **options)  # type: ignore[arg-type]
        answer = None
        for answer in answers:  # noqa: B007  (the last one is the answer)
            pass
        assert answer is not None  # noqa: S101  (Assistant.answers yields at least once)
        return current, answer
