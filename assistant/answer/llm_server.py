"""Talking to an OpenAI-compatible chat-completions server, within a deadline and a size limit.

Any server that speaks `/v1/chat/completions` will do (llama.cpp, Ollama, vLLM, hosted
Qwen/DeepSeek APIs). A failure of any kind becomes an `LLMError` whose `note` is one line
for the user: it never shows the server's address or its error text, which go to the log
for the operator instead (logger `assistant.answer.llm_server`).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx

from assistant.config import Settings

__all__ = ["MAX_REPLY_BYTES", "LLMError", "check_server", "stream_chat"]

log = logging.getLogger(__name__)

# A streamed answer of a few hundred tokens is tens of kilobytes of server-sent events;
# a reply past this is not an answer but a misbehaving (or hostile) server.
MAX_REPLY_BYTES = 1 << 20
FALLBACK = "，以下为摘录式回答。"
_CONNECT_S = 10.0  # connecting should be quick even when answering is slow


class LLMError(Exception):
    """The model server failed; `note` is the one-line Chinese explanation for the user."""

    def __init__(self, note: str) -> None:
        super().__init__(note)
        self.note = note


def stream_chat(messages: list[dict[str, str]], settings: Settings, max_tokens: int) -> Iterator[str]:
    """Yield the reply's text pieces from a streaming chat completion; failures raise LLMError.

    The whole reply must arrive within `settings.llm_timeout` seconds, counted from the call:
    the request runs in a worker thread and this generator stops waiting at the deadline, so a
    server that stalls or trickles cannot hold the caller longer. Closing the generator early
    (the caller has enough text) tells the worker to drop the connection.
    """
    body = {"model": settings.llm_model, "messages": messages, "temperature": 0, "max_tokens": max_tokens,
            "stream": True}  # fmt: skip
    deadline = time.monotonic() + settings.llm_timeout
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    stop = threading.Event()
    worker = threading.Thread(target=_receive, args=(body, settings, events, stop), daemon=True, name="llm-stream")
    worker.start()
    try:
        while True:
            try:
                kind, value = events.get(timeout=max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                log.warning("LLM server %s: no complete reply within %g s", settings.llm_url, settings.llm_timeout)
                raise LLMError(f"语言模型服务超时（{settings.llm_timeout:g} 秒）{FALLBACK}") from None
            if kind == "piece":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()


def _receive(body: dict, settings: Settings, events: queue.Queue, stop: threading.Event) -> None:
    """The worker: post, read the event stream, put ("piece", text) … then ("end" | "error", …)."""
    url = settings.llm_url.rstrip("/") + "/chat/completions"
    timeout = httpx.Timeout(settings.llm_timeout, connect=min(settings.llm_timeout, _CONNECT_S))
    try:
        with (
            httpx.Client(timeout=timeout, headers=_headers(settings)) as client,
            client.stream("POST", url, json=body) as response,
        ):
            if response.status_code >= 400:
                log.warning("LLM server %s: HTTP %d %s", url, response.status_code, _detail(_read(response)))
                raise LLMError(f"语言模型服务出错（HTTP {response.status_code}）{FALLBACK}")
            if "application/json" in response.headers.get("content-type", ""):
                # A server that ignores "stream" sends one complete reply.
                events.put(("piece", _parse_sse("data: " + _read(response).decode("utf-8", "replace")) or ""))
            else:
                for line in _lines(response):
                    if stop.is_set():
                        return
                    piece = _parse_sse(line)
                    if piece is None:  # [DONE]; a stream that just ends is accepted too
                        break
                    if piece:
                        events.put(("piece", piece))
        events.put(("end", None))
    except LLMError as exc:
        events.put(("error", exc))
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        events.put(("error", LLMError(_transport_note(exc, settings))))
    except Exception as exc:  # a bug in a thread would otherwise only print; the caller must hear of it
        log.exception("LLM client failed on %s", url)
        events.put(("error", LLMError(f"语言模型连接中断（{type(exc).__name__}）{FALLBACK}")))


def _lines(response: httpx.Response) -> Iterator[str]:
    """The response's lines (a line without a break is still capped by `_chunks`)."""
    pending = b""
    for chunk in _chunks(response):
        *complete, pending = (pending + chunk).split(b"\n")
        for line in complete:
            yield line.decode("utf-8", "replace")
    if pending:
        yield pending.decode("utf-8", "replace")


def _read(response: httpx.Response) -> bytes:
    return b"".join(_chunks(response))


def _chunks(response: httpx.Response) -> Iterator[bytes]:
    """The body as it arrives, refusing more than MAX_REPLY_BYTES in all."""
    received = 0
    for chunk in response.iter_bytes():
        received += len(chunk)
        if received > MAX_REPLY_BYTES:
            log.warning("LLM server %s: reply longer than %d bytes, dropped", response.url, MAX_REPLY_BYTES)
            raise LLMError("语言模型的回复过长" + FALLBACK)
        yield chunk


def _parse_sse(line: str) -> str | None:
    """The text in one SSE line: "" for lines without any, None at the end of the stream."""
    line = line.strip()
    if not line.startswith("data:"):
        return ""  # blank separators, comments (": ping"), "event:" lines
    payload = line[5:].strip()
    if payload == "[DONE]":
        return None
    try:
        data = json.loads(payload)
        if "error" in data:
            log.warning("LLM server error in the stream: %s", _one_line(str(data["error"]))[:300])
            raise LLMError("语言模型服务出错" + FALLBACK)
        choice = data["choices"][0] if data["choices"] else {}
        content = (choice.get("delta") or choice.get("message") or {}).get("content")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        log.warning("LLM server sent a malformed event: %r", payload[:300])
        raise LLMError("语言模型回复格式异常" + FALLBACK) from None
    if content is not None and not isinstance(content, str):
        raise LLMError("语言模型回复格式异常" + FALLBACK)
    return content or ""


def check_server(settings: Settings) -> str | None:
    """None when the server answers and offers `settings.llm_model`, else what is wrong (one line).

    The line is for the user: it names no address (the log has it).
    """
    url = settings.llm_url.rstrip("/") + "/models"
    try:
        with httpx.stream("GET", url, timeout=min(settings.llm_timeout, 5.0), headers=_headers(settings)) as response:
            status, body = response.status_code, _read(response)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return _transport_note(exc, settings).removesuffix(FALLBACK)
    except LLMError as exc:
        return exc.note.removesuffix(FALLBACK)
    if status == 404:
        return None  # reachable; some servers simply do not list their models
    if status >= 400:
        log.warning("LLM server %s: HTTP %d %s", url, status, _detail(body))
        return f"语言模型服务出错（HTTP {status}）"
    try:
        names = [m["id"] for m in json.loads(body)["data"]]
    except (ValueError, KeyError, TypeError):
        log.warning("LLM server %s: not an OpenAI-compatible model list: %r", url, body[:300])
        return "语言模型服务的回复不是 OpenAI 兼容的模型列表"
    if names and settings.llm_model not in names:
        return f"语言模型服务没有模型 {settings.llm_model}（可用：{', '.join(names[:5])}）"
    return None


def _headers(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {settings.llm_api_key}"} if settings.llm_api_key else {}


def _transport_note(exc: Exception, settings: Settings) -> str:
    """The user's line for a transport failure; the operator's details (address, error) go to the log."""
    log.warning("LLM server %s: %s: %s", settings.llm_url, type(exc).__name__, _one_line(str(exc)))
    if isinstance(exc, httpx.TimeoutException):
        return f"语言模型服务超时（{settings.llm_timeout:g} 秒）{FALLBACK}"
    if isinstance(exc, httpx.ConnectError):
        reason = "连接被拒绝" if "refused" in str(exc).lower() else "无法连接"
        return f"语言模型服务不可用（{reason}）{FALLBACK}"
    if isinstance(exc, (httpx.InvalidURL, httpx.UnsupportedProtocol)):
        return f"语言模型服务地址无效，请检查设置{FALLBACK}"
    return f"语言模型连接中断（{type(exc).__name__}）{FALLBACK}"


def _detail(body: bytes) -> str:
    """A short reason from an error body (e.g. llama.cpp's context-length message), for the log."""
    try:
        error = json.loads(body).get("error")
        message = error.get("message") if isinstance(error, dict) else error
    except (ValueError, AttributeError):
        return repr(body[:300])
    return _one_line(str(message))[:300] if message else ""


def _one_line(text: str) -> str:
    return " ".join(text.split())
