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
