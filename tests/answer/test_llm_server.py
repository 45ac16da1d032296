"""The chat-completions client against real servers that misbehave on purpose.

Each server is a stdlib HTTP server on a free port, answering the client's POST with a
scripted reply: slow, trickling, endless, malformed, or an error page. Whatever it does,
`stream_chat` must end within the deadline with an `LLMError` whose note names no address.
"""

from __future__ import annotations

import http.server
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from assistant.answer import llm_local
from assistant.answer.llm_server import MAX_REPLY_BYTES, LLMError, check_server, stream_chat
from assistant.config import Settings

MESSAGES = [{"role": "user", "content": "你好"}]
Script = Callable[[http.server.BaseHTTPRequestHandler], None]


def _event(text: str) -> bytes:
    return f"data: {json.dumps({'choices': [{'delta': {'content': text}}]}, ensure_ascii=False)}\n\n".encode()


class _Scripted(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.server.script(self)  # type: ignore[attr-defined]

    do_GET = do_POST  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


def _headers(handler: http.server.BaseHTTPRequestHandler, status: int = 200, kind: str = "text/event-stream") -> None:
    handler.send_response(status)
    handler.send_header("content-type", kind)
    handler.end_headers()


@pytest.fixture
def serve() -> Iterator[Callable[[Script], Settings]]:
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(script: Script, timeout: float = 3.0) -> Settings:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Scripted)
        server.script = script  # type: ignore[attr-defined]
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return Settings(llm_url=f"http://127.0.0.1:{server.server_address[1]}/v1", llm_timeout=timeout)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _failure(settings: Settings) -> tuple[str, float]:
    started = time.monotonic()
    with pytest.raises(LLMError) as caught:
        "".join(stream_chat(MESSAGES, settings, max_tokens=50))
    note = caught.value.note
    assert "127.0.0.1" not in note and "http" not in note  # the address is for the log only
    return note, time.monotonic() - started


def test_a_streamed_reply_arrives_in_pieces(serve) -> None:
    def reply(h) -> None:
        _headers(h)
        for piece in ("市委", "网信办", "有11人[1]。"):
            h.wfile.write(_event(piece))
        h.wfile.write(b"data: [DONE]\n\n")

    assert list(stream_chat(MESSAGES, serve(reply), max_tokens=50)) == ["市委", "网信办", "有11人[1]。"]


def test_a_trickling_server_is_cut_at_the_total_deadline(serve) -> None:
    def trickle(h) -> None:  # a piece every 0.2 s for a minute: no single read ever times out
        _headers(h)
        for _ in range(300):
            h.wfile.write(_event("啊"))
            h.wfile.flush()
            time.sleep(0.2)

    note, seconds = _failure(serve(trickle, timeout=1.0))
    assert note == "语言模型服务超时（1 秒），以下为摘录式回答。"
    assert seconds < 10  # the deadline is 1 s; the trickle would last 60 s


def test_a_silent_server_is_cut_at_the_deadline(serve) -> None:
    note, seconds = _failure(serve(lambda h: time.sleep(30), timeout=1.0))
    assert note == "语言模型服务超时（1 秒），以下为摘录式回答。"
    assert seconds < 10


def test_an_endless_reply_is_refused_past_the_size_cap(serve) -> None:
    def flood(h) -> None:  # one line that never ends
        _headers(h)
        block = b"x" * 65536
        for _ in range(2 * MAX_REPLY_BYTES // len(block)):
            h.wfile.write(block)

    note, _ = _failure(serve(flood, timeout=30.0))
    assert note == "语言模型的回复过长，以下为摘录式回答。"


def test_a_malformed_event_is_a_failure(serve) -> None:
    def malformed(h) -> None:
        _headers(h)
        h.wfile.write(b"data: {not json\n\n")

    note, _ = _failure(serve(malformed))
    assert note == "语言模型回复格式异常，以下为摘录式回答。"


def test_an_http_error_shows_its_status_and_logs_its_body(serve, caplog: pytest.LogCaptureFixture) -> None:
    def error(h) -> None:
        _headers(h, 500, "application/json")
        h.wfile.write(json.dumps({"error": {"message": "backend at http://10.0.0.7:9000 is down"}}).encode())

    settings = serve(error)
    with caplog.at_level(logging.WARNING, logger="assistant.answer.llm_server"):
        note, _ = _failure(settings)
    assert note == "语言模型服务出错（HTTP 500），以下为摘录式回答。"
    assert "10.0.0.7" not in note
    assert settings.llm_url in caplog.text and "backend at http://10.0.0.7:9000 is down" in caplog.text


def test_an_unreachable_server_is_named_without_its_address(caplog: pytest.LogCaptureFixture) -> None:
    url = f"http://127.0.0.1:{llm_local.free_port()}/v1"
    with caplog.at_level(logging.WARNING, logger="assistant.answer.llm_server"):
        note, _ = _failure(Settings(llm_url=url, llm_timeout=5))
    assert note == "语言模型服务不可用（连接被拒绝），以下为摘录式回答。"
    assert url in caplog.text
    assert check_server(Settings(llm_url=url)) == "语言模型服务不可用（连接被拒绝）"


def test_a_server_ignoring_stream_sends_one_reply(serve) -> None:
    def whole(h) -> None:
        _headers(h, 200, "application/json")
        h.wfile.write(json.dumps({"choices": [{"message": {"content": "有11人[1]。"}}]}).encode())

    assert "".join(stream_chat(MESSAGES, serve(whole), max_tokens=50)) == "有11人[1]。"


def test_check_server_reads_the_model_list(serve) -> None:
    def models(h) -> None:
        _headers(h, 200, "application/json")
        h.wfile.write(json.dumps({"data": [{"id": "local"}]}).encode())

    settings = serve(models)
    assert check_server(settings) is None
    assert check_server(settings.with_(llm_model="other")) == "语言模型服务没有模型 other（可用：local）"


def test_a_runaway_answer_is_cut_at_the_answer_size_cap(serve) -> None:
    from assistant.answer.llm import MAX_ANSWER_CHARS, generate
    from assistant.schema import Answer, Hit, Passage, Source

    def endless(h) -> None:  # a model that never stops (a server ignoring max_tokens)
        _headers(h)
        for _ in range(100_000):
            h.wfile.write(_event("在编人员11人[1]。"))

    text = "目前市委网信办仅有在编人员 11 人。"
    source = Source(1, Hit(Passage("p", "r.txt", (), text, 0, len(text)), 1.0))
    answer = Answer("市委网信办有多少在编人员？", True, text + "[1]", (source,))
    steps = list(generate(answer, serve(endless, timeout=30.0)))
    assert all(len(s.text) <= MAX_ANSWER_CHARS + 20 for s in steps)
    assert steps[-1].found and steps[-1].text.endswith("[1]。")
