"""What a real Milvus engine adds, proved on a real server: the Milvus 2.3.5 standalone server of the `milvus`
package, started once for the session by tests/conftest.py (`milvus_server`). A 2.3 server holds the dense-only
store (docs/stores.md#servers); these tests go through its gRPC path:

- data kept across a server restart (stopped with SIGTERM, started again on the same data folder);
- two processes on one collection: `assistant add`/`remove` in a subprocess while this process's store answers;
- several web workers on one collection (`assistant web --workers 2`), a document uploaded through the API.

Rankings and answers are compared, never raw scores or what `delete` returns. Marked `milvus_server`: `make test`
runs them, `make test-fast` leaves them out.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPORT

from assistant.config import Settings

pytest.importorskip("pymilvus")
pytestmark = [pytest.mark.slow, pytest.mark.milvus_server]

SECOND = "第二份.txt"
SECOND_TEXT = (
    "洛阳市网信工作补充说明\n\n今年新招录网信干部二十名，充实到网络安全岗位。\n\n全年开展网络安全检查十二次。\n"
)
NEW = "今年新招录了多少网信干部？"  # answered by the second document only
QUESTIONS = ["中央网络安全和信息化工作座谈会是谁主持的？", "我市如何贯彻落实会议精神？", NEW, "天气怎么样"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, assistant) -> Path:
    """The report's local build, embedded once for the module; each test copies it (nothing embedded again)."""
    from assistant.store.local import build

    root = tmp_path_factory.mktemp("built")
    (root / "corpus").mkdir()
    shutil.copy2(REPORT, root / "corpus" / REPORT.name)
    build(Settings.load(corpus_dir=root / "corpus", index_dir=root / "index"), assistant.embedder)
    return root


def _settings(built: Path, tmp_path: Path, uri: str) -> Settings:
    """A copy of the report's corpus and build, on the Milvus server at `uri`."""
    for folder in ("corpus", "index"):
        shutil.copytree(built / folder, tmp_path / folder)
    return Settings.load(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", store="milvus", store_uri=uri)


def _following(assistant, timeout: float = 5.0):
    """The Assistant `assistant.current()` gives once it sees the documents changed: another process's write
    reaches this one's check within a time tick or two of the server (0.2-0.5 s measured on 2.3.5, docs/stores.md)."""
    deadline = time.monotonic() + timeout
    while (newer := assistant.current()) is assistant:
        assert time.monotonic() < deadline, "the change made by the other process was not seen"
        time.sleep(0.05)
    return newer


def _env(settings: Settings) -> dict[str, str]:
    return {**os.environ, "ASSISTANT_CORPUS_DIR": str(settings.corpus_dir), "ASSISTANT_INDEX_DIR":
            str(settings.index_dir), "ASSISTANT_STORE": "milvus", "ASSISTANT_STORE_URI": settings.store_uri,
            "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(sys.path)}  # fmt: skip


def _run(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "assistant", *args], env=_env(settings), capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr[-1500:]
    return done


def _seen(assistant) -> dict[str, tuple]:
    """What each question gets: found, the answer, the sources' passages in order, and the retrieval ranking."""
    out = {}
    for q in QUESTIONS:
        a = assistant.ask(q)
        out[q] = (a.found, a.text, [s.hit.passage.id for s in a.sources],
                  [h.passage.id for h in assistant.retrieve(q, 8)])  # fmt: skip
    return out


def test_a_server_before_2_5_holds_the_dense_only_store(
    milvus_uri: str, tmp_path: Path, built: Path, assistant
) -> None:
    """The version is checked at connect; `assistant index` says once which store the server holds."""
    from click.testing import CliRunner

    from assistant.cli import cli
    from assistant.store import milvus

    settings = _settings(built, tmp_path, milvus_uri)
    client = milvus.connect(settings)
    assert milvus.mode(client) == "dense-only" and str(client.get_server_version()).startswith("v2.3")
    client.close()
    env = {"ASSISTANT_CORPUS_DIR": str(settings.corpus_dir), "ASSISTANT_INDEX_DIR": str(settings.index_dir),
           "ASSISTANT_STORE": "milvus", "ASSISTANT_STORE_URI": milvus_uri}  # fmt: skip
    result = CliRunner().invoke(cli, ["index"], env=env)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "milvus: 1 documents added, 0 removed → " + milvus_uri in lines
    assert [line for line in lines if "dense-only mode" in line] == [
        f"milvus v2.3.5-lite at {milvus_uri}: dense-only mode (a server before 2.5 has no BM25; each process keeps "
        "it beside Milvus: docs/stores.md)"]  # fmt: skip


def test_data_kept_across_a_server_restart(
    milvus_server, milvus_uri: str, tmp_path: Path, built: Path, assistant
) -> None:
    from assistant.pipeline import Assistant
    from assistant.store import milvus

    settings = _settings(built, tmp_path, milvus_uri)
    (settings.corpus_dir / SECOND).write_text(SECOND_TEXT, encoding="utf-8")
    before = Assistant(settings, embedder=assistant.embedder)
    seen = _seen(before)
    assert seen[NEW][0] and "二十名" in seen[NEW][1]
    milvus_server.restart()
    # The store opened before the restart answers after it (pymilvus reconnects), from the server's data.
    assert _seen(before) == seen
    before.index.close()
    assert milvus.update(settings) == ([], [])  # the documents are still there: nothing inserted again
    after = Assistant(settings, embedder=assistant.embedder)
    assert sorted(after.index.documents) == sorted([REPORT.name, SECOND])
    assert _seen(after) == seen
    after.index.close()


def test_two_processes_on_one_collection(milvus_uri: str, tmp_path: Path, built: Path, assistant) -> None:
    """`assistant add` and `remove` in another process while this one's store answers: at its next question this
    process answers from the documents as they are now (Milvus's generation token, no local reload)."""
    from assistant.pipeline import Assistant

    settings = _settings(built, tmp_path, milvus_uri)
    here = Assistant(settings, embedder=assistant.embedder)
    alone = _seen(here)
    assert not alone[NEW][0]
    note = tmp_path / SECOND
    note.write_text(SECOND_TEXT, encoding="utf-8")
    _run(settings, "add", str(note))
    here = _following(here)  # the token moved: the next question reads the documents again
    assert sorted(here.index.documents) == sorted([REPORT.name, SECOND])
    answer = here.ask(NEW)
    assert answer.found and "二十名" in answer.text and answer.sources[0].hit.passage.doc == SECOND
    assert here.retrieve(NEW, 3)[0].passage.doc == SECOND
    assert here.current() is here  # nothing changed since: the same store answers

    _run(settings, "remove", SECOND)
    here = _following(here)
    assert here.index.documents == [REPORT.name]
    assert _seen(here) == alone  # deleted from the server: the same answers and rankings as before the add
    here.index.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_workers_need_a_server(tmp_path: Path) -> None:
    """`--workers 2` with the local store or Milvus Lite: one line saying why and what to use, before any work."""
    from click.testing import CliRunner

    from assistant.cli import cli

    env = {"ASSISTANT_CORPUS_DIR": str(tmp_path / "none"), "ASSISTANT_INDEX_DIR": str(tmp_path / "index")}
    for store, why in (["local"], "the local store is files"), (["milvus"], "Milvus Lite"):
        result = CliRunner().invoke(cli, ["--store", *store, "web", "--workers", "2"], env=env)
        assert result.exit_code == 2 and "Traceback" not in result.output
        last = result.output.strip().splitlines()[-1]
        assert last.startswith("Error: --workers 2 needs a Milvus server that every worker reads: " + why), last
        assert "--store milvus --store-uri http://HOST:19530" in last


def test_two_web_workers_answer_from_one_collection(milvus_uri: str, tmp_path: Path, built: Path, assistant) -> None:
    """`assistant web --workers 2` on the server: both worker processes answer (`X-Assistant-Worker` names the
    one that did); a document uploaded through one worker's API is answered by both."""
    import httpx

    from assistant.web.server import WORKER_HEADER

    settings = _settings(built, tmp_path, milvus_uri)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "web.log").open("w")
    web = subprocess.Popen([sys.executable, "-m", "assistant", "web", "--workers", "2", "--port", str(port)],
                           env=_env(settings), stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        pids: set[str] = set()
        deadline = time.monotonic() + 300
        while len(pids) < 2:  # until both workers are up: each answers once it has loaded the model and the store
            assert web.poll() is None and time.monotonic() < deadline, (tmp_path / "web.log").read_text()[-3000:]
            try:
                r = httpx.post(f"{url}/api/ask", json={"question": NEW}, timeout=60)
            except httpx.TransportError:
                time.sleep(0.5)
                continue
            assert r.status_code == 200 and not r.json()["found"], r.text  # not in the library yet
            pids.add(r.headers[WORKER_HEADER])
        assert str(web.pid) not in pids  # the supervisor only watches; workers answer
        up = httpx.post(f"{url}/api/documents", files=[("files", (SECOND, SECOND_TEXT.encode(), "text/plain"))],
                        timeout=300)  # fmt: skip
        assert up.status_code == 200, up.text
        uploaded_by = up.headers[WORKER_HEADER]
        answered: dict[str, dict] = {}
        for _ in range(60):  # connections go to whichever worker accepts first: ask until both have answered
            r = httpx.post(f"{url}/api/ask", json={"question": NEW}, timeout=60)
            assert r.status_code == 200, r.text
            answered.setdefault(r.headers[WORKER_HEADER], r.json())
            if len(answered) == 2:
                break
        assert set(answered) == pids and uploaded_by in pids
        for body in answered.values():  # the worker that took the upload and the one that did not
            assert body["found"] and "二十名" in body["answer"], body
            assert body["sources"][0]["doc"] == SECOND
    finally:
        web.terminate()
        web.wait(timeout=60)
        log.close()
