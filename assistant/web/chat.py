"""OpenAI-compatible chat over the documents: `GET /v1/models`, `POST /v1/chat/completions`.

Existing clients (the `openai` package, chat front-ends, bots) talk to the knowledge base as to a model:
the last user message is the question, the earlier user messages are the conversation's history (as
`/api/ask`'s `history`), the reply's text carries its [n] citations and ends with a footnote list of the
cited sources; the sources come structured too, in the extra fields `sources` and `answer` (the
`/api/ask` JSON). A "not found" answer is an ordinary completion that says so.

The models are the answerers the server allows: `extractive` (quotes the report) and, when enabled,
`llm` (a language model writes from the same passages). With `"stream": true` the reply comes as
server-sent events in OpenAI's chunk format, ending with `data: [DONE]`: an extractive answer in one
chunk, an LLM's as it is generated; its checked final text may differ from what streamed (a sentence
cut, or the extractive answer instead), and is then sent after a line saying so.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse, Response, StreamingResponse

from assistant.config import Settings
from assistant.render.json import answer_to_dict, source_to_dict
from assistant.schema import Answer
from assistant.web.errors import ApiError, error_body
from assistant.web.service import API_TOP_K_MAX, Service, answerers

__all__ = ["ChatRequest", "completion_text", "model_ids", "router"]

STAFF = "市委网信办目前有多少在编人员？"
CHECKED = "（以上为生成中的文字；核对后的回答如下。）"
_MARKER = re.compile(r"\[(\d+)\]")


def model_ids(settings: Settings) -> list[str]:
    """The models a chat client may choose: the answerers this server allows, its default first."""
    return answerers(settings)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")  # name, tool calls…: accepted and not used

    role: str
    content: str | list[dict] | None = None


class ChatRequest(BaseModel):
    """OpenAI's chat request; parameters that steer a generative model (temperature, max_tokens…) are accepted
    and not used. `doc` and `top_k` are this server's own (the openai client sends them with `extra_body`)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={"examples": [{"model": "extractive", "messages": [{"role": "user", "content": STAFF}]},
                                        {"model": "extractive", "stream": True, "messages": [
                                            {"role": "user", "content": STAFF},
                                            {"role": "assistant", "content": "目前市委网信办仅有在编人员 11 人…"},
                                            {"role": "user", "content": "那县里呢？"}]}]},
    )  # fmt: skip

    model: str = Field(description="GET /v1/models 列出的模型：extractive（摘录原文）或 llm", examples=["extractive"])
    messages: list[ChatMessage] = Field(min_length=1, description="对话；最后一条 user 消息是问题")
    stream: bool = Field(False, description="true：以 server-sent events 逐段返回")
    doc: str | None = Field(None, description="只从这份文档回答（GET /api/documents 的 name）")
    top_k: int | None = Field(None, ge=1, le=API_TOP_K_MAX, description="来源数量")


def _text(message: ChatMessage) -> str:
    """A message's text: a string, or the text parts of a list of parts."""
    if isinstance(message.content, str):
        return message.content
    parts = message.content or []
    return "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict) and p.get("type") == "text")


def _conversation(messages: list[ChatMessage], settings: Settings) -> tuple[str, list[str]]:
    """(question, history): the last message, which must be the user's, and the user's earlier ones. A chat
    client sends the whole conversation: only the last `max_history_turns` earlier questions are kept, and
    one too long to have been asked is left out."""
    if messages[-1].role != "user":
        raise ApiError(400, "invalid_messages", "最后一条消息应是用户的问题（role 为 user）。")
    limit = 2 * settings.max_question_chars
    earlier = [q for q in (_text(m) for m in messages[:-1] if m.role == "user") if q.strip() and len(q) <= limit]
    keep = settings.max_history_turns
    return _text(messages[-1]), earlier[-keep:] if keep else []


def footnotes(answer: Answer, titles: dict[str, str]) -> str:
    """The cited sources as a list under the text, for clients that show text only."""
    by_rank = {s.rank: s for s in answer.sources}
    lines = []
    for rank in sorted({int(n) for n in _MARKER.findall(answer.text)}):
        if rank in by_rank:
            p = by_rank[rank].hit.passage
            title = titles.get(p.doc, p.doc)
            # A report's first heading is often its title again: not said twice.
            section = (
                p.section[1:] if p.section and "".join(p.section[0].split()) == "".join(title.split()) else p.section
            )
            lines.append(f"[{rank}] 《{title}》" + "".join(f" › {s}" for s in section))
    return "\n\n来源：\n" + "\n".join(lines) if lines else ""


def _tail(answer: Answer, titles: dict[str, str]) -> str:
    """What follows the answer's text: its note, then the footnotes."""
    return (f"\n\n{answer.note}" if answer.note else "") + footnotes(answer, titles)


def completion_text(answer: Answer, titles: dict[str, str]) -> str:
    """The reply's text: the answer with its [n], its note, the footnote list."""
    return answer.text + _tail(answer, titles)


class _Reply:
    """One completion's fixed fields and its structured extras."""

    def __init__(self, model: str, titles: dict[str, str]) -> None:
        self.id, self.created, self.model, self.titles = f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), model, titles

    def head(self, kind: str) -> dict:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model}

    @staticmethod
    def extras(answer: Answer) -> dict:
        return {"sources": [source_to_dict(s) for s in answer.sources], "answer": answer_to_dict(answer)}

    def completion(self, answer: Answer) -> dict:
        message = {"role": "assistant", "content": completion_text(answer, self.titles)}
        choice = {"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}
        return {**self.head("chat.completion"), "choices": [choice], **self.extras(answer)}

    def chunk(self, delta: dict, finish: str | None = None, extras: dict | None = None) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        data = {**self.head("chat.completion.chunk"), "choices": [choice], **(extras or {})}
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    def events(self, first: Answer, rest: Iterator[Answer]) -> Iterator[str]:
        """The stream: the text as it grows; the final answer's text (the checked one, after a line saying so when
        it is not what streamed), note and footnotes in one chunk; a last chunk with the sources; [DONE]. An
        extractive answer, which comes whole, is one chunk of text."""
        sent, role = "", {"role": "assistant"}
        answer = first
        try:
            for following in rest:  # `answer` is not the last one: its text is a partial LLM answer
                if answer.text.startswith(sent) and len(answer.text) > len(sent):
                    yield self.chunk({**role, "content": answer.text[len(sent) :]})
                    sent, role = answer.text, {}
                answer = following
        except ApiError as exc:  # the status line has gone: the error is an event, as OpenAI's are
            yield f"data: {json.dumps(error_body(exc.status, exc.code, exc.message), ensure_ascii=False)}\n\n"
            yield "data: [DONE]\n\n"
            return
        # When the checked answer is not what streamed: a line saying so, then the answer whole.
        grows = answer.text.startswith(sent)
        rest_of_text = answer.text[len(sent) :] if grows else f"\n\n{CHECKED}\n{answer.text}"
        yield self.chunk({**role, "content": rest_of_text + _tail(answer, self.titles)})
        yield self.chunk({}, "stop", self.extras(answer))
        yield "data: [DONE]\n\n"


def router(service: Service) -> APIRouter:
    """The /v1 routes over `service`."""

    def reader(request: Request) -> None:
        service.access.check(request, "read")

    v1 = APIRouter(prefix="/v1", tags=["OpenAI 兼容"], dependencies=[Depends(reader)])

    @v1.get("/models", summary="模型列表")
    def models() -> dict:
        """可选的回答方式，作为模型：extractive（摘录原文），服务端启用时还有 llm。"""
        return {"object": "list", "data": [_model(m) for m in model_ids(service.settings)]}

    @v1.get("/models/{model}", summary="一个模型")
    def model(model: str) -> dict:
        if model not in model_ids(service.settings):
            raise ApiError(404, "model_not_found", _unknown_model(model, service.settings))
        return _model(model)

    @v1.post("/chat/completions", summary="对话（OpenAI 兼容）", response_model=None)
    def completions(body: ChatRequest) -> Response:
        """最后一条 user 消息是问题，之前的 user 消息是对话历史（用于追问）。回答文字带 [n] 引用和来源列表；
        `sources`、`answer` 字段给出结构化的来源（同 /api/ask）。
        `stream: true` 时以 SSE 返回，以 `data: [DONE]` 结束。"""
        if body.model not in model_ids(service.settings):
            raise ApiError(404, "model_not_found", _unknown_model(body.model, service.settings))
        question, history = _conversation(body.messages, service.settings)
        current, answers = service.answers(question, history, body.top_k, body.model, body.doc)
        reply = _Reply(body.model, service.titles(current))
        if not body.stream:
            *_, answer = answers
            return JSONResponse(reply.completion(answer))
        # The first piece is awaited here: a question refused, a busy server or a timeout before it
        # is an HTTP error with its status, not an event inside a 200 stream.
        first = next(answers)
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(reply.events(first, answers), media_type="text/event-stream", headers=headers)

    return v1


def _model(name: str) -> dict:
    return {"id": name, "object": "model", "created": 0, "owned_by": "assistant"}


def _unknown_model(name: str, settings: Settings) -> str:
    return f"没有模型“{name[:80]}”；可用：{'、'.join(model_ids(settings))}（GET /v1/models）。"
