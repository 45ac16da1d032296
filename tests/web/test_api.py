"""The HTTP API, for real: a uvicorn server on a free local port over the real index, called with `curl`, httpx
and the real `openai` client; the CLI's `assistant ask --json` run as a process to compare with.

Keys, the loopback rule (judged from a real connection's address), uploads through multipart, the limits and
the JSON errors are all exercised over HTTP. The LLM's streamed answer runs against the real llama.cpp server
(marked llm; skipped with the reason when llama-cpp-python is not installed).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import httpx
import openai
import pytest
from test_app import STAFF, UNANSWERABLE, StalledServer

from assistant.config import Settings
from assistant.pipeline import Assistant
from assistant.web import app as web
from assistant.web.keys import load_keyring
from assistant.web.library import is_local

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

ROOT = Path(__file__).resolve().parents[2]
REPORT = next((ROOT / "corpus").glob("*.txt"))
READ_KEY = "read-key-" + "r" * 24
WRITE_KEY = "write-key-" + "w" * 24
NOTE = "网信工作补充说明\n\n今年新招录网信干部二十名，充实到网络安全岗位。\n"
FOLLOW_UP = "那县里呢？"


@contextlib.contextmanager
def serving(assistant: Assistant, **changes) -> Iterator[tuple[str, object]]:
    """A real app server on a free port (any interface when `host` says so), with `changes` to the settings."""
    settings = assistant.settings.with_(**{"host": "127.0.0.1", **changes, "port": 0})
    if any(name.startswith("llm_") for name in changes):  # the answerer reads its own settings
        assistant = Assistant(settings, embedder=assistant.embedder)
    demo = web.build_app(assistant, settings)
    _, url, _ = web.launch(demo, settings, prevent_thread_lock=True, quiet=True)
    try:
        yield url, demo
    finally:
        demo.close(verbose=False)


def _curl(*args: str) -> tuple[int, str]:
    """`curl -s` with `args`: (HTTP status, body)."""
    done = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    body, _, status = done.stdout.rpartition("\n")
    return int(status), body


def _error(response: httpx.Response, status: int, code: str) -> str:
    """The JSON error of `response`, checked: its status, its code, one line, no traceback. Its message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"] and "\n" not in error["message"] and "Traceback" not in response.text
    return error["message"]


@pytest.fixture(scope="module")
def url(assistant) -> Iterator[str]:
    """The API with no keys: this machine's callers only."""
    with serving(assistant) as (url, _):
        yield url.rstrip("/")


@pytest.fixture(scope="module")
def keyed(assistant) -> Iterator[str]:
    with serving(assistant, api_keys=(READ_KEY, WRITE_KEY + ":write")) as (url, _):
        yield url.rstrip("/")


# --- /api/ask ------------------------------------------------------------------------------------


def test_curl_ask_gives_what_assistant_ask_json_gives(url: str, assistant) -> None:
    """The issue's "done when", as typed there (on this server's port)."""
    status, body = _curl(f"{url}/api/ask", "-d", json.dumps({"question": STAFF}, ensure_ascii=False),
                         "-H", "content-type: application/json")  # fmt: skip
    assert status == 200
    api = json.loads(body)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ASSISTANT_INDEX_DIR": str(assistant.settings.index_dir),
           "ASSISTANT_CORPUS_DIR": str(assistant.settings.corpus_dir)}  # fmt: skip
    cli = subprocess.run([sys.executable, "-m", "assistant", "ask", "--json", STAFF], capture_output=True, text=True,
                         env=env, timeout=300)  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    assert api == json.loads(cli.stdout)
    assert api["found"] and "11" in api["answer"] and "[1]" in api["answer"] and api["sources"]


def test_ask_takes_history_doc_and_top_k(url: str, assistant) -> None:
    follow_up = httpx.post(f"{url}/api/ask", json={"question": FOLLOW_UP, "history": [STAFF]}, timeout=120).json()
    assert follow_up["resolved_question"] != FOLLOW_UP
    from assistant.render.json import answer_to_dict

    assert follow_up == answer_to_dict(assistant.final_answer(FOLLOW_UP, [STAFF]))
    two = httpx.post(f"{url}/api/ask", json={"question": STAFF, "top_k": 2, "doc": REPORT.name}, timeout=120).json()
    assert len(two["sources"]) == 2 and {s["doc"] for s in two["sources"]} == {REPORT.name}


def test_not_found_is_an_answer_not_an_error(url: str) -> None:
    response = httpx.post(f"{url}/api/ask", json={"question": UNANSWERABLE}, timeout=120)
    assert response.status_code == 200
    assert response.json()["found"] is False and response.json()["answer"].startswith("报告中没有找到")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"question": "长" * 501}, "question_too_long"),
        ({"question": "   "}, "empty_question"),
        ({"question": 5}, "invalid_field"),
        ({}, "missing_field"),
        ({"question": STAFF, "top_k": 0}, "invalid_field"),
        ({"question": STAFF, "top_k": 51}, "invalid_field"),
        ({"question": STAFF, "answerer": "llm"}, "invalid_answerer"),  # not enabled on this server
        ({"question": STAFF, "answerer": "gpt"}, "invalid_field"),
        ({"question": STAFF, "doc": "没有这份.txt"}, "unknown_document"),
        ({"question": STAFF, "history": "不是列表"}, "invalid_field"),
        ({"question": STAFF, "history": ["问题"] * 21}, "invalid_history"),
        ({"question": STAFF, "extra": 1}, "invalid_field"),
    ],
)
def test_bad_questions_are_400_json(url: str, body: dict, code: str) -> None:
    _error(httpx.post(f"{url}/api/ask", json=body, timeout=60), 400, code)


def test_too_long_question_through_curl(url: str) -> None:
    status, body = _curl(f"{url}/api/ask", "-H", "content-type: application/json",
                         "-d", json.dumps({"question": "长" * 600}))  # fmt: skip
    assert status == 400 and json.loads(body)["error"]["code"] == "question_too_long"
    assert "600" in json.loads(body)["error"]["message"]


def test_a_body_that_is_not_json_is_400(url: str) -> None:
    _error(httpx.post(f"{url}/api/ask", content=b"{bad", headers={"content-type": "application/json"}), 400,
           "invalid_json")  # fmt: skip
    # curl -d without a content type sends a form: told what to add.
    message = _error(httpx.post(f"{url}/api/ask", content="question=x", headers={
        "content-type": "application/x-www-form-urlencoded"}), 400, "invalid_json")  # fmt: skip
    assert "application/json" in message


def test_oversized_bodies_are_413_json(url: str) -> None:
    big = json.dumps({"question": "a" * (2 << 20)})
    _error(httpx.post(f"{url}/api/ask", content=big, headers={"content-type": "application/json"}), 413, "too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(40):
            yield b"a" * 65536

    _error(httpx.post(f"{url}/v1/chat/completions", content=chunks()), 413, "too_large")


def test_unknown_paths_and_methods_are_json(url: str) -> None:
    for path in ("/api/nothing", "/api", "/v1/embeddings", "/api/documents-x"):
        _error(httpx.get(url + path), 404, "not_found")
    response = httpx.get(f"{url}/api/ask")
    _error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"
    assert httpx.get(url + "/").status_code == 200  # the page is still served beside the API


def test_foreign_host_is_refused_before_the_api(url: str) -> None:
    _error(httpx.post(f"{url}/api/ask", json={"question": STAFF}, headers={"Host": "evil.test"}), 400, "invalid_host")
    _error(httpx.get(f"{url}/v1/models", headers={"Host": ""}), 400, "invalid_host")


def test_a_full_queue_is_429_and_a_slow_answer_503(assistant) -> None:
    """The page's gate bounds the API too: every worker held by a hung model server, no waiting line."""
    stalled = StalledServer()
    limits = {"web_answerers": ("extractive", "llm"), "llm_url": stalled.url, "queue_size": 0, "request_timeout": 3}
    workers = web.CONCURRENCY
    try:
        with serving(assistant, **limits) as (url, demo), ThreadPoolExecutor(max_workers=workers) as pool:
            base = url.rstrip("/")
            ask = {"question": STAFF, "answerer": "llm"}
            chat = {"model": "llm", "stream": True, "messages": [{"role": "user", "content": STAFF}]}
            hung = [pool.submit(httpx.post, f"{base}/api/ask", json=ask, timeout=60) for _ in range(workers // 2)]
            hung += [pool.submit(httpx.post, f"{base}/v1/chat/completions", json=chat, timeout=60)
                     for _ in range(workers - workers // 2)]  # fmt: skip
            deadline = time.monotonic() + 30
            while len(stalled.connections) < workers and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(stalled.connections) == workers  # every worker waits for the hung server
            busy = httpx.post(f"{base}/api/ask", json={"question": STAFF}, timeout=60)
            _error(busy, 429, "busy")
            assert busy.headers["retry-after"].isdigit()
            with pytest.raises(openai.RateLimitError):
                _client(base).chat.completions.create(model="extractive", messages=chat["messages"])
            for future in hung:  # the streamed ones too: nothing came before the deadline, so a status says it
                _error(future.result(timeout=60), 503, "timed_out")
            stalled.close()  # the late work ends; the workers are free again
            deadline = time.monotonic() + 30
            while demo.gate.pending and time.monotonic() < deadline:
                time.sleep(0.05)
            assert httpx.post(f"{base}/api/ask", json={"question": STAFF}, timeout=60).status_code == 200
    finally:
        stalled.close()


def test_cors_only_on_the_api_and_only_for_the_named_origins(url: str, assistant) -> None:
    portal = "https://portal.example.org"
    preflight = {"Origin": portal, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type"}  # fmt: skip
    assert "access-control-allow-origin" not in httpx.options(f"{url}/api/ask", headers=preflight).headers
    with serving(assistant, api_cors_origins=(portal,), api_keys=(READ_KEY,)) as (served, _):
        allowed = httpx.options(f"{served}api/ask", headers=preflight)
        assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == portal
        asked = httpx.post(
            f"{served}api/ask", json={"question": STAFF}, headers={**READ, "Origin": portal}, timeout=120
        )
        assert asked.status_code == 200 and asked.headers["access-control-allow-origin"] == portal
        other = httpx.options(f"{served}api/ask", headers={**preflight, "Origin": "https://evil.test"})
        assert other.status_code == 400 and "access-control-allow-origin" not in other.headers
        assert "access-control-allow-origin" not in httpx.get(served, headers={"Origin": portal}).headers


# --- documents, health, description ---------------------------------------------------------------


def test_documents_list_and_one(url: str) -> None:
    listed = httpx.get(f"{url}/api/documents").json()["documents"]
    assert [d["name"] for d in listed] == [REPORT.name] and listed[0]["status"] == "indexed"
    one = httpx.get(f"{url}/api/documents/{quote(REPORT.name)}")
    assert one.status_code == 200 and one.json() == listed[0]
    _error(httpx.get(f"{url}/api/documents/{quote('没有.txt')}"), 404, "document_not_found")


def test_health_says_build_documents_and_model(url: str, assistant) -> None:
    health = httpx.get(f"{url}/api/health").json()
    assert health["status"] == "ok" and health["index"]["documents"] == 1
    assert health["index"]["build"] == assistant.index.folder.name
    assert health["model"] == assistant.settings.model and health["answerers"] == ["extractive"]


def test_openapi_schema_and_docs_page(url: str) -> None:
    schema = httpx.get(f"{url}/api/openapi.json").json()
    paths = set(schema["paths"])
    assert {"/api/ask", "/api/documents", "/api/documents/{name}", "/api/health", "/v1/chat/completions",
            "/v1/models"} <= paths  # fmt: skip
    assert not any(p.startswith("/gradio_api") for p in paths)
    assert schema["components"]["securitySchemes"]["key"]["scheme"] == "bearer"
    assert schema["paths"]["/api/health"]["get"]["security"] == []  # monitoring needs no key
    page = httpx.get(f"{url}/api/docs")
    assert page.status_code == 200 and STAFF in page.text and "/v1/chat/completions" in page.text
    assert "<script" not in page.text and "http" not in page.text.replace("http://", "").split("<body>")[0]


# --- OpenAI-compatible chat -----------------------------------------------------------------------


def _client(url: str, key: str = "unused", timeout: float = 120) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=timeout)


def test_openai_client_gets_the_same_answer_streamed_and_not(url: str) -> None:
    asked = httpx.post(f"{url}/api/ask", json={"question": STAFF}, timeout=120).json()
    client = _client(url)
    assert [m.id for m in client.models.list()] == ["extractive"]
    messages = [{"role": "user", "content": STAFF}]
    done = client.chat.completions.create(model="extractive", messages=messages)
    text = done.choices[0].message.content
    assert done.choices[0].finish_reason == "stop" and text.startswith(asked["answer"])
    assert "来源：\n[1] 《" in text
    assert done.sources == asked["sources"] and done.answer == asked

    chunks = list(client.chat.completions.create(model="extractive", messages=messages, stream=True))
    pieces = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert pieces == [text]  # an extractive answer comes whole, in one chunk
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop" and chunks[-1].sources == asked["sources"]


def test_chat_stream_is_server_sent_events_ending_with_done(url: str) -> None:
    body = {"model": "extractive", "stream": True, "messages": [{"role": "user", "content": STAFF}]}
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=120) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line]
    assert all(e.startswith("data: ") for e in events) and events[-1] == "data: [DONE]"
    first = json.loads(events[0][6:])
    assert first["object"] == "chat.completion.chunk" and first["id"].startswith("chatcmpl-")


def test_chat_history_is_the_earlier_user_messages(url: str) -> None:
    asked = httpx.post(f"{url}/api/ask", json={"question": FOLLOW_UP, "history": [STAFF]}, timeout=120).json()
    messages = [
        {"role": "system", "content": "你是助手"},
        {"role": "user", "content": STAFF},
        {"role": "assistant", "content": "……"},
        {"role": "user", "content": [{"type": "text", "text": FOLLOW_UP}]},  # content as parts, as some clients send
    ]
    done = _client(url).chat.completions.create(model="extractive", messages=messages)
    assert done.answer == asked


def test_chat_not_found_is_a_normal_completion(url: str) -> None:
    done = _client(url).chat.completions.create(
        model="extractive", messages=[{"role": "user", "content": UNANSWERABLE}]
    )
    assert done.choices[0].finish_reason == "stop" and done.choices[0].message.content.startswith("报告中没有找到")
    assert done.answer["found"] is False


def test_chat_errors_reach_the_openai_client(url: str) -> None:
    client = _client(url)
    with pytest.raises(openai.NotFoundError, match="extractive"):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": STAFF}])
    for stream in (False, True):
        with pytest.raises(openai.BadRequestError, match="问题太长"):
            client.chat.completions.create(model="extractive", messages=[{"role": "user", "content": "长" * 600}],
                                           stream=stream)  # fmt: skip
    with pytest.raises(openai.BadRequestError, match="user"):
        client.chat.completions.create(model="extractive", messages=[{"role": "assistant", "content": STAFF}])


# --- keys ----------------------------------------------------------------------------------------


def test_with_keys_a_call_without_one_or_with_a_wrong_one_is_401(keyed: str) -> None:
    response = httpx.post(f"{keyed}/api/ask", json={"question": STAFF})
    _error(response, 401, "missing_key")
    assert response.headers["www-authenticate"] == "Bearer"
    wrong = "wrong-key-" + "x" * 24
    response = httpx.post(f"{keyed}/api/ask", json={"question": STAFF}, headers={"Authorization": f"Bearer {wrong}"})
    _error(response, 401, "invalid_key")
    assert wrong not in response.text
    _error(httpx.get(f"{keyed}/api/documents", headers={"Authorization": f"Basic {READ_KEY}"}), 401, "invalid_key")
    with pytest.raises(openai.AuthenticationError):
        _client(keyed, wrong).chat.completions.create(model="extractive", messages=[{"role": "user", "content": STAFF}])
    assert httpx.get(f"{keyed}/api/health").status_code == 200  # monitoring needs no key


def test_with_keys_the_right_key_answers(keyed: str) -> None:
    ok = httpx.post(f"{keyed}/api/ask", json={"question": STAFF}, headers={"Authorization": f"Bearer {READ_KEY}"},
                    timeout=120)  # fmt: skip
    assert ok.status_code == 200 and ok.json()["found"]
    done = _client(keyed, READ_KEY).chat.completions.create(model="extractive",
                                                           messages=[{"role": "user", "content": STAFF}])  # fmt: skip
    assert done.answer == ok.json()
    status, body = _curl(f"{keyed}/api/documents", "-H", f"Authorization: Bearer {WRITE_KEY}")
    assert status == 200 and json.loads(body)["documents"]


def test_keys_file_holds_hashes_with_rights(tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    digest = hashlib.sha256(WRITE_KEY.encode()).hexdigest()
    keys.write_text(f"# office portal\n{hashlib.sha256(READ_KEY.encode()).hexdigest()}\n\nsha256:{digest} write\n")
    ring = load_keyring(Settings(api_keys_file=str(keys), api_keys=("env-key-" + "e" * 20 + ":write",)))
    assert ring.rights(READ_KEY) == "read" and ring.rights(WRITE_KEY) == "write"
    assert ring.rights("env-key-" + "e" * 20) == "write" and ring.rights("x") is None and ring.rights("") is None
    keys.write_text(f"{digest} admin\n")
    with pytest.raises(ValueError, match=r"line 1: expected a SHA-256 hash") as raised:
        load_keyring(Settings(api_keys_file=str(keys)))
    assert digest not in str(raised.value)
    with pytest.raises(ValueError, match="cannot read the API keys file"):
        load_keyring(Settings(api_keys_file=str(tmp_path / "missing.txt")))
    with pytest.raises(ValueError, match="at least 16 characters") as raised:
        Settings.load(env={"ASSISTANT_API_KEYS": "short:write"})
    assert "short" not in str(raised.value)


def test_a_web_login_is_accepted_as_http_basic(assistant) -> None:
    with serving(assistant, username="office", password="s3cret-pass") as (url, _):
        _error(httpx.get(f"{url}api/documents"), 401, "missing_key")
        _error(httpx.get(f"{url}api/documents", auth=("office", "wrong")), 401, "invalid_key")
        assert httpx.get(f"{url}api/documents", auth=("office", "s3cret-pass")).status_code == 200


# --- the library: who may change it, uploads, removal ------------------------------------------------


@pytest.fixture(scope="module")
def library(assistant, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A library of its own (the report and a brief), served with keys; uploads up to 1 MB a file."""
    corpus = tmp_path_factory.mktemp("api-corpus")
    shutil.copy2(REPORT, corpus / REPORT.name)
    (corpus / "brief.md").write_text(
        "# 信息化建设简报\n\n## 一、政务云\n全市已有 42 个部门的业务系统迁移上云。\n", "utf-8"
    )
    changes = {"corpus_dir": corpus, "index_dir": tmp_path_factory.mktemp("api-index"), "max_upload_mb": 1}
    current = Assistant(assistant.settings.with_(**changes), embedder=assistant.embedder)
    with serving(current, **changes, api_keys=(READ_KEY, WRITE_KEY + ":write")) as (url, _):
        yield url.rstrip("/")


WRITE = {"Authorization": f"Bearer {WRITE_KEY}"}
READ = {"Authorization": f"Bearer {READ_KEY}"}


def test_a_read_only_key_cannot_upload_or_remove(library: str) -> None:
    files = {"files": ("说明.txt", NOTE.encode(), "text/plain")}
    _error(httpx.post(f"{library}/api/documents", files=files, headers=READ), 403, "read_only_key")
    _error(httpx.delete(f"{library}/api/documents/brief.md", headers=READ), 403, "read_only_key")
    _error(httpx.post(f"{library}/api/documents", files=files), 401, "missing_key")


def test_upload_ask_and_remove_with_a_write_key(library: str, tmp_path: Path) -> None:
    note = tmp_path / "网信补充说明.txt"
    note.write_text(NOTE, encoding="utf-8")
    forms = ["-F", f"files=@{note};filename=../../{note.name}", "-F", "files=@/dev/null;filename=photo.exe"]
    status, body = _curl(f"{library}/api/documents", "-H", f"Authorization: Bearer {WRITE_KEY}", *forms)
    assert status == 200, body
    results = json.loads(body)["results"]
    # The name a client sends is a name, never a path: the file lands in the library under its last part.
    assert [(r["status"], r["name"]) for r in results] == [("done", note.name), ("refused", None)]
    assert "photo.exe" in results[1]["message"]
    assert note.name in [d["name"] for d in json.loads(body)["documents"]]
    asked = httpx.post(f"{library}/api/ask", json={"question": "今年新招录了多少网信干部？", "doc": note.name},
                       headers=READ, timeout=120).json()  # fmt: skip
    assert asked["found"] and "二十" in asked["answer"]
    again = httpx.post(f"{library}/api/documents", files={"files": (note.name, NOTE.encode())}, headers=WRITE,
                       timeout=300)  # fmt: skip
    assert again.status_code == 200 and again.json()["results"][0]["status"] == "same"
    removed = httpx.delete(f"{library}/api/documents/{quote(note.name)}", headers=WRITE, timeout=300)
    assert removed.status_code == 200 and removed.json()["removed"] == note.name
    _error(httpx.delete(f"{library}/api/documents/{quote(note.name)}", headers=WRITE), 404, "document_not_found")


def test_uploads_refused_file_by_file_and_by_size(library: str) -> None:
    message = _error(httpx.post(f"{library}/api/documents", files={"files": ("扫描.exe", b"MZ")}, headers=WRITE,
                                timeout=120), 400, "upload_refused")  # fmt: skip
    assert "扫描.exe" in message
    big = {"files": ("big.txt", b"a" * (3 << 20), "text/plain")}  # over 1 MB a file and the request's limit
    _error(httpx.post(f"{library}/api/documents", files=big, headers=WRITE, timeout=60), 413, "too_large")
    _error(httpx.post(f"{library}/api/documents", headers=WRITE), 400, "missing_field")


# --- another machine: without keys, refused ---------------------------------------------------------


def _outside_address() -> str | None:
    """One of this machine's addresses that is not loopback (connecting to it, the server sees that address)."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("192.0.2.1", 9))  # no packet is sent: this only chooses the route's source address
        address = s.getsockname()[0]
        if not is_local(address) and address != "0.0.0.0":
            return address
    return None


def test_without_keys_only_this_machine_is_answered(assistant) -> None:
    outside = _outside_address()
    if outside is None:
        pytest.skip("this machine has no address but loopback: no other client address to test with")
    with serving(assistant, host="0.0.0.0", allowed_hosts=(outside,)) as (url, _):
        there = url.replace("127.0.0.1", outside)
        message = _error(httpx.post(f"{there}api/ask", json={"question": STAFF}), 403, "local_only")
        assert "ASSISTANT_API_KEYS" in message
        assert httpx.post(f"{url}api/ask", json={"question": STAFF}, timeout=120).status_code == 200
    with serving(assistant, host="0.0.0.0", allowed_hosts=(outside,), api_keys=(READ_KEY,)) as (url, _):
        there = url.replace("127.0.0.1", outside)
        ok = httpx.post(f"{there}api/ask", json={"question": STAFF}, headers=READ, timeout=120)
        assert ok.status_code == 200 and ok.json()["found"]


# --- the LLM answerer, streamed as generated (the real llama.cpp server) ------------------------------


@pytest.fixture(scope="module")
def llm_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The local model server (`make llm-install`), as tests/answer/test_llm.py starts it."""
    from assistant.answer import llm_local

    if not llm_local.llama_cpp_installed():
        pytest.skip("llama-cpp-python is not installed (make llm-install)")
    try:
        llm_local.part_paths()
    except llm_local.LocalModelError as exc:
        pytest.skip(str(exc))
    model = llm_local.assemble_model(Settings.load().cache_dir)
    port = llm_local.free_port()
    with (tmp_path_factory.mktemp("llm") / "server.log").open("wb") as log:
        proc = llm_local.start_server(model, port, log=log)
    try:
        llm_local.warm_up(f"http://127.0.0.1:{port}/v1")
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.mark.llm
def test_llm_answer_streams_as_generated_then_ends_with_the_checked_answer(assistant, llm_url: str) -> None:
    limits = {
        "web_answerers": ("extractive", "llm"),
        "llm_url": llm_url,
        "llm_timeout": 180.0,
        "request_timeout": 300.0,
    }
    with serving(assistant, **limits) as (url, _):
        client = _client(url.rstrip("/"), timeout=300)
        assert [m.id for m in client.models.list()] == ["extractive", "llm"]
        messages = [{"role": "user", "content": STAFF}]
        chunks = list(client.chat.completions.create(model="llm", messages=messages, stream=True))
        pieces = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
        assert len(pieces) > 2  # the text as the model writes it, then the tail
        final = chunks[-1].answer
        text = "".join(pieces)
        assert final["answer"] in text and "来源：" in text and chunks[-1].choices[0].finish_reason == "stop"
        assert final["answerer"] == "llm" and final["found"] and "11" in final["answer"]
        done = client.chat.completions.create(model="llm", messages=messages)
        assert done.answer["answerer"] == "llm" and done.choices[0].message.content.startswith(done.answer["answer"])
