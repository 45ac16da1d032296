"""Serving the web chat: Gradio mounted on FastAPI with a Host check and request limits, run by uvicorn.

`create_app` answers only the configured Host names (a page elsewhere that rebinds its own name
to this address cannot read the answers: DNS rebinding), refuses request bodies over 1 MiB
(uploads are checked by Gradio against `max_upload_mb`), and leaves /monitoring off. `launch`
serves it on a socket it opens itself, so that a busy port is one clear error.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
import threading
import time

import gradio as gr
import uvicorn
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import JSONResponse
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant import __version__
from assistant.config import Settings
from assistant.render.html import CSS
from assistant.web import api, pages
from assistant.web.errors import error_body, is_api_path

__all__ = ["allowed_hosts", "create_app", "launch", "launch_workers", "WORKER_HEADER"]

WORKER_HEADER = "X-Assistant-Worker"  # with several workers: the process id of the one that answered
MAX_BODY_BYTES = 1 << 20  # a request other than an upload; the largest valid /ask call is about 0.15 MB
MAX_CONNECTIONS = 500  # open HTTP connections (each open page holds one for its heartbeat)
UPLOAD_PATH = "/gradio_api/upload"
TOO_LARGE = "请求太大，已拒绝。"
WRONG_HOST = "本服务不接受这个主机名（Host）；管理员可在 ASSISTANT_ALLOWED_HOSTS 中加入它。"
HOST_OK = "assistant.host_ok"  # set in a request's scope once its Host header passed the check
API_DESCRIPTION = (
    "问答与文档库的 HTTP 接口：`POST /api/ask` 返回与 `assistant ask --json` 相同的 JSON；"
    "`/v1/chat/completions` 与 OpenAI 的接口兼容（可流式）。设置了 API 密钥时，请求头需带 "
    '`Authorization: Bearer <密钥>`。错误均为 `{"error": {"code", "message"}}`。详见 docs/api.md。'
)
THEME_FONTS = {  # system fonts: the page loads nothing from font services
    "font": ["Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "system-ui", "sans-serif"],
    "font_mono": ["Noto Sans Mono CJK SC", "ui-monospace", "monospace"],
}


def allowed_hosts(settings: Settings) -> list[str]:
    """Host names served: localhost, the bound address (all of this machine's names when bound to every
    interface), and `allowed_hosts`. Any other Host header gets 400: a page elsewhere that rebinds its
    own name to this address cannot read the answers."""
    if "*" in settings.allowed_hosts:
        return ["*"]
    hosts = {"127.0.0.1", "localhost", "::1"}
    bound = settings.host.strip("[]")
    if bound in ("", "0.0.0.0", "::"):
        name = socket.gethostname()
        hosts |= {name, socket.getfqdn()}
        with contextlib.suppress(OSError):
            hosts |= {str(info[4][0]) for info in socket.getaddrinfo(name, None)}
    else:
        hosts.add(bound)
    hosts |= {h.strip("[]") for h in settings.allowed_hosts}
    # Starlette compares IPv6 literals with their brackets, as they appear in a Host header.
    return sorted(f"[{h}]" if ":" in h else h.lower() for h in hosts if h)


class _BodyLimit:
    """Refuses a request body over `limit` bytes with 413 before anything reads it. Gradio's uploads pass:
    Gradio checks each file against `max_file_size` while it streams in. An upload to the HTTP API may
    carry `upload_limit` bytes (its files together)."""

    def __init__(self, app: ASGIApp, limit: int, upload_limit: int | None = None) -> None:
        self.app, self.limit, self.upload_limit = app, limit, upload_limit or limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].endswith(UPLOAD_PATH):
            await self.app(scope, receive, send)
            return
        limit = self.upload_limit if scope["path"].rstrip("/") == api.UPLOAD_PATH else self.limit
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > limit:
                await self._refuse(scope, receive, send, limit)
            else:
                await self.app(scope, receive, send)
            return
        # No length given (chunked): read up to the limit, then hand the body on.
        buffered: list[Message] = []
        size = 0
        while True:
            message = await receive()
            buffered.append(message)
            size += len(message.get("body", b""))
            if size > limit:
                await self._refuse(scope, receive, send, limit)
                return
            if message["type"] != "http.request" or not message.get("more_body"):
                break

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        detail = f"{TOO_LARGE}（上限 {limit // 1024} KB）"
        body = error_body(413, "too_large", detail) if is_api_path(scope["path"]) else {"detail": detail}
        await JSONResponse(body, status_code=413)(scope, receive, send)


class _HostCheck(TrustedHostMiddleware):
    """Starlette's Host check, whose refusal on the API's paths is the API's JSON error."""

    def __init__(self, app: ASGIApp, allowed_hosts: list[str]) -> None:
        async def passed(scope: Scope, receive: Receive, send: Send) -> None:
            scope[HOST_OK] = True  # the same scope comes back to __call__ below
            await app(scope, receive, send)

        super().__init__(passed, allowed_hosts=allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_api_path(scope["path"]):
            await super().__call__(scope, receive, send)
            return

        async def relay(message: Message) -> None:
            if scope.get(HOST_OK):
                await send(message)  # refused, Starlette's plain-text answer is dropped; ours follows

        await super().__call__(scope, receive, relay)
        if not scope.get(HOST_OK):
            await JSONResponse(error_body(400, "invalid_host", WRONG_HOST), status_code=400)(scope, receive, send)


class _ApiCors:
    """CORS for the API's paths only, for the origins the operator named (`api_cors_origins`): a portal's page
    may then call the API from its visitors' browsers. The chat page itself never answers other origins."""

    def __init__(self, app: ASGIApp, origins: tuple[str, ...]) -> None:
        self.app = app
        self.cors = CORSMiddleware(app, allow_origins=list(origins), allow_methods=["GET", "POST", "DELETE"],
                                   allow_headers=["Authorization", "Content-Type"], max_age=600)  # fmt: skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        inner = self.cors if scope["type"] == "http" and is_api_path(scope["path"]) else self.app
        await inner(scope, receive, send)


def create_app(demo: gr.Blocks, settings: Settings) -> FastAPI:
    """`demo` mounted on a FastAPI app with the Host check and the request limits, and the HTTP API
    (assistant/web/api.py) beside it when `demo` is the web chat (`build_app` gives it its `service`)."""
    service = getattr(demo, "service", None)
    app = FastAPI(
        title="报告问答助手 API",
        version=__version__,
        description=API_DESCRIPTION,
        openapi_url="/api/openapi.json" if service is not None else None,
        docs_url=None,
        redoc_url=None,
    )
    if service is not None:
        api.install(app, service)  # before the page is mounted at /, which would answer every path
    auth = (settings.username, settings.password) if settings.username and settings.password else None
    pages.mount(app, settings)  # a PDF source's page with its quote marked (before Gradio takes every path)
    app = gr.mount_gradio_app(
        app,
        demo,
        path="/",
        server_name=settings.host,
        server_port=settings.port,
        footer_links=["api"],
        auth=auth,
        show_error=False,  # unexpected errors are shown as a polite message, not a traceback
        max_file_size=int(settings.max_upload_mb * 2**20),
        enable_monitoring=False,  # /monitoring would show every user's traffic to anyone
        mcp_server=False,
        ssr_mode=False,  # no Node server
        pwa=False,
        css=CSS,
        theme=gr.themes.Soft(**THEME_FONTS),  # type: ignore[arg-type]
    )
    # Gradio's launch() keeps the serving app here; close() and the heartbeats look for it.
    demo.app = next(r.app for r in app.routes if isinstance(r, Mount) and r.path == "")  # type: ignore[assignment]
    upload_limit = int(settings.max_upload_mb * 2**20) + MAX_BODY_BYTES  # the files, and the form around them
    app.add_middleware(_BodyLimit, limit=MAX_BODY_BYTES, upload_limit=upload_limit)
    if service is not None and settings.api_cors_origins:
        app.add_middleware(_ApiCors, origins=settings.api_cors_origins)
    app.add_middleware(_HostCheck, allowed_hosts=allowed_hosts(settings))  # outermost: checked first
    return app


class _Server(uvicorn.Server):
    """uvicorn on a socket we opened, in the foreground or in a thread that `gr.Blocks.close()` stops."""

    thread: threading.Thread | None = None

    def install_signal_handlers(self) -> None:
        if self.thread is None:  # in the foreground, Ctrl+C stops the server as usual
            super().install_signal_handlers()

    def start(self, sock: socket.socket, timeout: float = 60.0) -> None:
        self.thread = threading.Thread(target=self.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.close()
                raise OSError("the web server did not start")
            time.sleep(0.01)

    def close(self) -> None:
        self.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=10)


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, opened here so that a busy port is one clear error (port 0: any free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot serve on {host}:{port}: {exc.strerror or exc} (choose another with --port)") from None
    sock.listen(2048)
    return sock


class _WorkerHeader:
    """Names the worker process that answered (`X-Assistant-Worker: pid`): with several workers behind one port,
    the operator can tell which one gave an answer (a stale one, an error in its log)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app, self.pid = app, str(os.getpid()).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def named(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (WORKER_HEADER.lower().encode(), self.pid)]
            await send(message)

        await self.app(scope, receive, named)


def worker_app(settings: Settings) -> ASGIApp:
    """One worker of `launch_workers`, made in its own process: its own `Assistant` over the shared Milvus server
    (each question first checks whether another process changed the documents), its own page and API."""
    from assistant.pipeline import Assistant
    from assistant.web.app import build_app

    return _WorkerHeader(create_app(build_app(Assistant(settings), settings), settings))


def launch_workers(settings: Settings, *, quiet: bool = False) -> None:
    """Serve the web chat and API from `settings.workers` processes on one port (uvicorn's supervisor: the socket
    is opened here, each worker accepts from it) until Ctrl+C. Each worker loads the model and the store."""
    from uvicorn.supervisors import Multiprocess

    sock = _listen(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        functools.partial(worker_app, settings),  # made in each worker (spawned), not here
        factory=True,
        host=host,
        port=port,
        workers=settings.workers,
        log_level="warning" if quiet else "info",
        access_log=False,
        limit_concurrency=MAX_CONNECTIONS,
        timeout_graceful_shutdown=3,
        lifespan="on",
    )
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else f"[{host}]" if ":" in host else host
    logging.getLogger("uvicorn.error").info(
        "Web chat and API on http://%s:%s/ from %d worker processes, one Milvus store at %s (Ctrl+C to stop)",
        shown, port, settings.workers, settings.milvus_uri,
    )  # fmt: skip
    try:
        Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()


def launch(
    demo: gr.Blocks, settings: Settings, *, prevent_thread_lock: bool = False, quiet: bool = False
) -> tuple[FastAPI, str, None]:
    """Serve `demo` on settings.host:settings.port, with login when both username and password are set.

    With `prevent_thread_lock` the server runs in a thread and `demo.close()` stops it; otherwise
    this returns when the server is stopped (Ctrl+C). Returns (app, local URL, None), as Gradio's
    `launch` does.
    """
    app = create_app(demo, settings)
    sock = _listen(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        app,
        host=host,  # for uvicorn's "running on" line; it serves the socket opened above
        port=port,
        log_level="warning" if quiet else "info",
        access_log=False,
        limit_concurrency=MAX_CONNECTIONS,
        timeout_graceful_shutdown=3,  # open pages hold event streams; do not wait for them forever
        lifespan="on",
    )
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    # uvicorn's logger, set up by its Config: the operator sees which names are answered.
    logging.getLogger("uvicorn.error").info(
        "Answering requests for hosts %s; others get 400 (add more with ASSISTANT_ALLOWED_HOSTS)",
        ", ".join(allowed_hosts(settings)),
    )
    server = _Server(config)
    if not quiet:
        logging.getLogger("uvicorn.error").info("Web chat on %s (Ctrl+C to stop)", url)
        service = getattr(demo, "service", None)
        if service is not None:  # how many keys, never which
            keys = len(service.access.keyring.keys)
            who = f"{keys} API key(s)" if keys else "no API keys: callers on this machine only"
            who = "no API keys: the web login, by HTTP Basic" if not keys and settings.username else who
            logging.getLogger("uvicorn.error").info("HTTP API on %sapi/ and %sv1/, described at %sapi/docs (%s)",
                                                    url, url, url, who)  # fmt: skip
    if prevent_thread_lock:
        server.start(sock)
        demo.server, demo.is_running = server, True  # so that demo.close() stops it, as after Gradio's launch
        return app, url, None
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        gate = getattr(demo, "gate", None)
        if gate is not None:
            gate.close()
    return app, url, None
