"""The index under an unlucky machine and a busy one (issue 12's proofs):

- 200 SIGKILLs at random points of real builds: every following `ask` sees the old or the new build;
- 200 random byte flips and truncations over every index file: all detected, the answer right after repair;
- 32 threads × 200 questions through one `Assistant`: no exception, the serial run's answers;
- two builds at once while a reader loads: both finish, the reader never loses its build.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.pipeline import Assistant
from assistant.render.json import answer_to_dict
from assistant.store.local import IndexProblem, build, load

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
REPORT = next((ROOT / "corpus").glob("*.txt"))
STAFF = "市委网信办目前有多少在编人员？"


def _corpus(folder: Path, extra: str | None = None) -> Path:
    folder.mkdir(parents=True)
    shutil.copy2(REPORT, folder / REPORT.name)
    if extra is not None:
        (folder / "补充.txt").write_text(extra, encoding="utf-8")
    return folder


def _answers_right(settings: Settings, embedder) -> Path:
    """Load whatever build is current, refuse nothing stale about it, answer; returns its corpus folder."""
    index = load(settings)
    corpus = Path(index.manifest["corpus"]["folder"])
    index.close()
    assistant = Assistant(settings.with_(corpus_dir=corpus, on_stale="refuse"), embedder=embedder)
    assert "11" in assistant.ask(STAFF).text
    assistant.index.close()
    return corpus


# --- 200 SIGKILLs -----------------------------------------------------------------------------------

# A fork server: imports everything once, then forks a child per build, so that a build starts in
# milliseconds. Nothing in it touches ONNX Runtime or FAISS's threads before the fork.
_SERVER = r"""
import os, sys
from pathlib import Path
import bm25s, faiss, numpy, onnxruntime  # noqa: F401  imported, not started
from assistant.config import Settings
from assistant.encode.embedder import Embedder
from assistant.store.local import build
from assistant.text.words import words
words("预热")  # jieba's dictionary, loaded before the fork
index_dir = Path(sys.argv[1])
for line in sys.stdin:
    if line == "reap\n":  # only when told: an unreaped child's pid cannot go to another process
        _, status = os.waitpid(pid, 0)
        os.write(1, f"exit {status}\n".encode())
        continue
    pid = os.fork()
    if pid == 0:
        settings = Settings.load(corpus_dir=Path(line.strip()), index_dir=index_dir)
        os.write(1, b"ready\n")
        build(settings, Embedder(settings))
        os.write(1, b"done\n")
        os._exit(0)
    os.write(1, f"pid {pid}\n".encode())
"""


def test_200_builds_killed_at_random_points_leave_an_index_that_answers(tmp_path: Path, settings, assistant) -> None:
    index_dir = tmp_path / "index"
    server = subprocess.Popen([sys.executable, "-c", _SERVER, str(index_dir)], cwd=ROOT, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # fmt: skip
    rng = random.Random(12)

    def run(corpus: Path, kill_after: float | None) -> bool:
        """One build in a forked child, SIGKILLed `kill_after` seconds after it starts; True if it was killed."""
        server.stdin.write(f"{corpus}\n")
        server.stdin.flush()
        first, second = server.stdout.readline(), server.stdout.readline()  # the child may speak first
        assert sorted([first.split()[0], second.split()[0]]) == ["pid", "ready"], (first, second)
        pid = int((first if first.startswith("pid") else second).split()[1])
        if kill_after is not None:
            time.sleep(kill_after)
            os.kill(pid, signal.SIGKILL)  # our own child, not reaped yet (perhaps finished: then a no-op)
        server.stdin.write("reap\n")
        server.stdin.flush()
        lines = [server.stdout.readline()]
        if lines[0] == "done\n":
            lines.append(server.stdout.readline())
        status = int(lines[-1].split()[1])
        return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL

    try:
        ours = settings.with_(index_dir=index_dir)

        def timed(corpus: Path) -> float:
            started = time.perf_counter()
            run(corpus, None)
            return time.perf_counter() - started

        # How long the two kinds of build take here and now: one embedding a changed document, one not.
        with_embedding = min(
            timed(_corpus(tmp_path / f"c-e{n}", f"校准{n}：今年新增网信干部二十名。\n")) for n in range(2)
        )
        without = min(timed(_corpus(tmp_path / f"c-p{n}", "校准1：今年新增网信干部二十名。\n")) for n in range(2))
        current = _answers_right(ours, assistant.embedder)

        killed = 0
        for i in range(200):
            # every fourth build embeds a changed document; the others put the same shards together anew
            extra = f"第{i // 4}份补充说明。今年新增网信干部{i // 4 + 2}名。\n"
            corpus = _corpus(tmp_path / f"c{i}", extra)
            killed += run(corpus, rng.uniform(0, 0.95 * (with_embedding if i % 4 == 0 else without)))
            seen = _answers_right(ours, assistant.embedder)
            assert seen in (current, corpus), f"build {i}: an index of neither the old nor the new corpus"
            current = seen
        assert killed >= 100, f"only {killed} of 200 builds were killed midway: the test proves too little"
        run(_corpus(tmp_path / "c-last"), None)
        assert _answers_right(ours, assistant.embedder) == tmp_path / "c-last"
        assert len(list(index_dir.glob("build-*"))) == 1, "a complete build cleans up after the killed ones"
        assert not [p for p in (index_dir / "shards").iterdir() if p.suffix != ".shard"]
    finally:
        server.stdin.close()
        server.wait(timeout=60)


# --- 200 flips and truncations -------------------------------------------------------------------


def test_200_byte_flips_and_truncations_are_all_detected_and_repaired(tmp_path: Path, settings, assistant) -> None:
    pristine = settings.with_(corpus_dir=_corpus(tmp_path / "corpus"), index_dir=tmp_path / "pristine")
    build(pristine, assistant.embedder)
    files = sorted(p.relative_to(pristine.index_dir) for p in pristine.index_dir.rglob("*") if p.is_file())
    files = [f for f in files if (pristine.index_dir / f).stat().st_size > 0]  # the lock and the lease are empty
    assert {"CURRENT", "shards"} <= {f.parts[0] for f in files} and len(files) >= 10
    rng = random.Random(5)
    seen: dict[str, int] = {}
    for i in range(200):
        work = pristine.with_(index_dir=tmp_path / f"damaged-{i}")
        shutil.copytree(pristine.index_dir, work.index_dir)
        name = rng.choice(files)
        path = work.index_dir / name
        data = bytearray(path.read_bytes())
        if rng.random() < 0.5:
            data[rng.randrange(len(data))] ^= rng.randrange(1, 256)
        else:
            del data[rng.randrange(len(data)) :]
        path.write_bytes(bytes(data))
        seen[name.parts[0]] = seen.get(name.parts[0], 0) + 1

        if name.parts[0] == "shards":  # read by builds only: the next build finds it and embeds again
            assert load(work).folder.is_dir()
            report = build(work, assistant.embedder)
            assert report.repaired and name.name in report.repaired[0], (i, name)
            assert report.embedded == 1
        else:
            with pytest.raises(IndexProblem) as info:
                load(work)
            assert "\n" not in str(info.value)
            repaired = Assistant(work, embedder=assistant.embedder)
            assert repaired.rebuilt == str(info.value)
            assert "11" in repaired.ask(STAFF).text
            repaired.index.close()
        shutil.rmtree(work.index_dir)
    assert len(seen) == 3 and {"CURRENT", "shards"} < seen.keys(), seen  # and the build folder


# --- 32 threads ------------------------------------------------------------------------------------


def test_32_threads_asking_64_questions_each_get_the_serial_answers(assistant) -> None:
    """2,048 answers given side by side on one store (64 questions each: enough to interleave every stage
    of 32 threads; 200 each took 100 s of CI for no more interleaving)."""
    questions = []
    for path in (ROOT.parent / "shared" / "eval" / "dev.jsonl", ROOT / "eval" / "questions.jsonl"):
        if path.is_file():
            questions += [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines()]
    questions = questions[:64]
    assert len(questions) == 64
    serial = {q: answer_to_dict(assistant.ask(q)) for q in questions}

    def ask_all(seed: int) -> list[tuple[str, dict]]:
        order = random.Random(seed).sample(questions, len(questions))
        return [(q, answer_to_dict(assistant.ask(q))) for q in order]

    with ThreadPoolExecutor(32) as pool:
        runs = list(pool.map(ask_all, range(32)))
    assert sum(len(r) for r in runs) == 32 * 64
    for run in runs:
        for question, answer in run:
            assert answer == serial[question], question


# --- two builds and a reader ---------------------------------------------------------------------


def test_two_builds_at_once_while_a_reader_loads(tmp_path: Path, settings, assistant) -> None:
    corpus = _corpus(tmp_path / "corpus", "补充说明。今年新增网信干部二十名。\n")
    ours = settings.with_(corpus_dir=corpus, index_dir=tmp_path / "index")
    build(ours, assistant.embedder)
    held = load(ours)  # a process that keeps answering from the first build
    (corpus / "新增.txt").write_text("网信办新设舆情科。\n", encoding="utf-8")

    problems: list[str] = []
    loads = 0
    stop = threading.Event()

    def reader() -> None:
        nonlocal loads
        while not stop.is_set():
            try:
                index = load(ours)
                assert index.dense.ntotal == len(index.sentences)
                index.close()
                loads += 1
            except Exception as exc:  # noqa: BLE001  any failure is the finding
                problems.append(f"{type(exc).__name__}: {exc}")

    env = {**os.environ, "ASSISTANT_CORPUS_DIR": str(corpus), "ASSISTANT_INDEX_DIR": str(ours.index_dir)}
    thread = threading.Thread(target=reader)
    thread.start()
    try:
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "assistant", "index"],
                cwd=tmp_path,
                env=env,
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )  # fmt: skip
            for _ in range(2)
        ]
        outputs = [p.communicate(timeout=600) for p in procs]
    finally:
        stop.set()
        thread.join()
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert problems == [] and loads > 0
    assert held.folder.is_dir() and "11" in (held.folder / "passages.jsonl").read_text(encoding="utf-8")
    index = load(ours)
    assert {p.doc for p in index.passages} == {REPORT.name, "补充.txt", "新增.txt"}
    # the current one and the one still held (and perhaps one the reader held at that moment)
    assert 2 <= len(list(ours.index_dir.glob("build-*"))) <= 3
    held.close()
    index.close()
    build(ours, assistant.embedder)
    assert len(list(ours.index_dir.glob("build-*"))) == 1
