"""Serving the web chat, for real: a uvicorn server on a free local port, called over HTTP.

Who may call it (Host names), how much one request may carry (body, upload), what is not
served (/monitoring), and the entry points (`python app.py` with Gradio's own variables).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant.config import Settings
from assistant.web import app as web
from assistant.web import server as serving

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def url(assistant) -> Iterator[str]:
    settings = assistant.settings.with_(host="127.0.0.1", port=0, allowed_hosts=("chat.example.org",), max_upload_mb=1)
    demo = web.build_app(assistant, settings)
    _, url, _ = web.launch(demo, settings, prevent_thread_lock=True, quiet=True)
    try:
        yield url
    finally:
        demo.close(verbose=False)


def _port(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1])


def test_foreign_host_headers_get_400(url: str):
    port = _port(url)
    for host in ("evil.test", f"evil.test:{port}", "127.0.0.1.evil.test", "", "[::2]"):
        response = httpx.get(url, headers={"Host": host})
        assert response.status_code == 400, host
        assert response.text == "Invalid host header"
    config = httpx.get(url + "config", headers={"Host": "rebound.attacker.test"})
    assert config.status_code == 400


def test_configured_host_names_are_served(url: str):
    port = _port(url)
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "LOCALHOST", "chat.example.org", f"[::1]:{port}"):
        assert httpx.get(url, headers={"Host": host}).status_code == 200, host


def test_allowed_hosts_default_to_localhost_and_the_bound_address():
    assert serving.allowed_hosts(Settings(host="127.0.0.1")) == ["127.0.0.1", "[::1]", "localhost"]
    assert "10.0.0.5" in serving.allowed_hosts(Settings(host="10.0.0.5"))
    everywhere = serving.allowed_hosts(Settings(host="0.0.0.0"))
    assert socket.gethostname().lower() in everywhere and "0.0.0.0" not in everywhere
    assert serving.allowed_hosts(Settings(allowed_hosts=("*",))) == ["*"]


def test_monitoring_is_not_served(url: str):
    for path in ("monitoring", "monitoring/summary", "monitoring/some-key", "gradio_api/monitoring"):
        response = httpx.get(url + path)
        assert response.status_code in (403, 404), path


def test_over_size_upload_is_refused(url: str):
    upload = url + "gradio_api/upload"
    small = httpx.post(upload, files={"files": ("small.txt", b"x" * 100_000, "text/plain")})
    assert small.status_code == 200
    big = httpx.post(upload, files={"files": ("big.pdf", b"x" * (2 << 20), "application/pdf")}, timeout=30)
    assert big.status_code == 413


def test_over_size_request_bodies_are_refused_before_they_are_read(url: str):
    body = b'{"data": ["' + b"a" * (2 << 20) + b'"], "fn_index": 0, "session_hash": "x"}'
    t0 = time.monotonic()
    response = httpx.post(url + "gradio_api/queue/join", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and "请求太大" in response.json()["detail"]
    assert time.monotonic() - t0 < 2

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(40):
            yield b"a" * 65536

    response = httpx.post(url + "gradio_api/queue/join", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def test_a_busy_port_is_one_clear_error(assistant):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = assistant.settings.with_(host="127.0.0.1", port=taken.getsockname()[1])
        demo = web.build_app(assistant, settings)
        with pytest.raises(OSError, match=r"cannot serve on 127\.0\.0\.1:\d+: .*--port"):
            web.launch(demo, settings, prevent_thread_lock=True, quiet=True)


def test_settings_read_gradio_variables_after_our_own():
    env = {"GRADIO_SERVER_NAME": "0.0.0.0", "GRADIO_SERVER_PORT": "8000"}
    assert (Settings.load(env=env).host, Settings.load(env=env).port) == ("0.0.0.0", 8000)
    assert Settings.load(env={**env, "ASSISTANT_PORT": "9000"}).port == 9000
    assert Settings.load(env={**env, "ASSISTANT_PORT": "9000"}, port=7000).port == 7000  # the flag
    with pytest.raises(ValueError, match="GRADIO_SERVER_PORT must be a number"):
        Settings.load(env={"GRADIO_SERVER_PORT": "eighty"})


def test_python_app_py_honours_gradio_server_port(settings, index_dir: Path, assistant):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "ASSISTANT_INDEX_DIR": str(index_dir),  # built by the session's `assistant` fixture
        "ASSISTANT_CORPUS_DIR": str(settings.corpus_dir),
    }
    env.pop("ASSISTANT_PORT", None)
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail(f"app.py did not serve on {port}: {proc.stdout.read() if proc.poll() is not None else ''}")
        assert httpx.get(f"http://127.0.0.1:{port}/", headers={"Host": "evil.test"}).status_code == 400
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in out and "Traceback" not in out
