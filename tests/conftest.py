"""Shared fixtures: one real index of the real corpus and one `Assistant` per test session."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
REPORT_NAME = "洛阳-关于中央、省委相关会议精神及我市贯彻落实意见的汇报-2016-11-21.txt"
REPORT = CORPUS / REPORT_NAME
TITLE = "关于中央、省委相关会议精神 及我市贯彻落实意见的汇报"  # its first line, the document's title
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the session's shared index (built by the `assistant` fixture)."""
    return tmp_path_factory.mktemp("index")


@pytest.fixture(scope="session")
def settings(index_dir: Path):
    """Settings of the shared index: the real corpus, the default model from the cache."""
    from assistant.config import Settings

    return Settings.load(corpus_dir=CORPUS, index_dir=index_dir)


@pytest.fixture(scope="session")
def assistant(settings):
    """A real `Assistant` over an index built once, in a temporary folder, from the real corpus.

    Building it here (not in ./index) keeps the tests independent of whatever index the
    working copy holds. The model is the default one from the cache, loaded once.
    """
    from assistant.pipeline import Assistant

    return Assistant(settings)


def kill_midway(proc: subprocess.Popen, started: Callable[[], bool], timeout: float, settle: float) -> None:
    """Wait until `started()`, let the process run `settle` seconds more, then SIGKILL it (it must still run)."""
    try:
        deadline = time.monotonic() + timeout
        while not started() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert started(), "the process never reached the point to kill it at"
        time.sleep(settle)
        assert proc.poll() is None, "the process finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium, driven by Playwright (its own browser downloads fail here)."""
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: install Debian's chromium (make browser) to run the browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def report():
    """The report as the corpus reader gives it."""
    from assistant.ingest import read_document

    return read_document(REPORT, CORPUS)


class MilvusTestServer:
    """A real standalone Milvus 2.3.5 (the `milvus` package's binary), on free ports, in a temporary data folder.

    A 2.3 server holds the dense-only store (docs/stores.md); what the tests marked `milvus_server` prove on it is
    what an engine adds: the gRPC path, data kept across a server restart, several processes on one collection."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = _free_port()
        self.process: subprocess.Popen | None = None
        self.seconds: list[float] = []  # each start and stop, for the report of the tests' wall time

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        from milvus import MilvusServer, MilvusServerConfig

        class Config(MilvusServerConfig):
            def try_bind_port(self, port: int):  # noqa: ANN202
                # The package probes ports without SO_REUSEADDR: after a restart the proxy port, in TIME_WAIT for
                # a minute, would look taken (Milvus itself listens with SO_REUSEADDR, as Go does).
                import socket

                sock = socket.socket()
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind(("127.0.0.1", port))
                    sock.listen()
                except OSError:
                    sock.close()
                    return None
                return sock

        began = time.monotonic()
        # The same data folder and port at every start: a restart finds what the last run wrote.
        server = MilvusServer(Config(data_dir=str(self.data_dir), proxy_port=self.port))
        server.start()  # waits for /healthz
        self.process, server.server_proc = server.server_proc, None  # stopped here, gracefully, not by its __del__
        for f in server.proc_fds.values():
            f.close()
        server.proc_fds.clear()
        self.seconds.append(time.monotonic() - began)

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds: once it holds collections, the 2.3.5 server did not exit
        within 20 s of SIGTERM (measured), so a restart here is in effect a crash, which its data must survive."""
        if self.process is None:
            return
        began = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None
        self.seconds.append(time.monotonic() - began)

    def restart(self) -> None:
        self.stop()
        self.start()

    def clear(self) -> None:
        """Drop the store's collections: each test starts from an empty server."""
        from pymilvus import MilvusClient

        client = MilvusClient(self.uri, timeout=30)
        try:
            for name in client.list_collections():
                if name.startswith("assistant_"):
                    client.drop_collection(name)
        finally:
            client.close()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory):
    """One real Milvus server for the session (started at the first test that asks for it, stopped at the end);
    each test gets it emptied of the store's collections. Skipped, with the reason, where it cannot start."""
    try:
        import milvus  # noqa: F401
    except ImportError:
        pytest.skip("the milvus package (a Milvus 2.3.5 server) is not installed: pip install milvus==2.3.5")
    server = MilvusTestServer(tmp_path_factory.mktemp("milvus-server"))
    try:
        server.start()
    except Exception as exc:  # noqa: BLE001  (a machine where its binary cannot run)
        server.stop()
        pytest.skip(f"the Milvus 2.3.5 server of the milvus package does not start here: {exc}")
    yield server
    server.stop(grace=3)  # its data folder is thrown away (with the 390 MB binary it unpacks there)
    import shutil

    shutil.rmtree(server.data_dir, ignore_errors=True)


@pytest.fixture
def milvus_uri(milvus_server: MilvusTestServer) -> str:
    """The URI of the session's Milvus server, its store collections dropped."""
    milvus_server.clear()
    return milvus_server.uri
