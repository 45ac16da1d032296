"""The gate that bounds the web chat's work, with real threads and real waiting."""

from __future__ import annotations

import threading
import time

import pytest

from assistant.web.gate import Busy, Gate, TimedOut


def _blocked(release: threading.Event, started: threading.Semaphore):
    def produce():
        started.release()
        release.wait(10)
        yield "done"

    return produce


def test_stream_passes_items_on_as_they_come():
    gate = Gate(workers=1, waiting=0)
    seen = []
    for item in gate.stream(lambda: iter(["a", "b", "c"]), timeout=5):
        seen.append(item)
    assert seen == ["a", "b", "c"] and gate.pending == 0
    assert gate.run(lambda: 6 * 7, timeout=5) == 42


def test_errors_of_the_work_reach_the_caller():
    gate = Gate(workers=1, waiting=0)

    def fail():
        raise ValueError("bad question")

    with pytest.raises(ValueError, match="bad question"):
        gate.run(fail, timeout=5)
    assert gate.pending == 0


def test_full_gate_says_busy_at_once_and_admits_again_when_work_ends():
    gate = Gate(workers=2, waiting=1)
    release, started = threading.Event(), threading.Semaphore(0)
    results: list[object] = []

    def call():
        try:
            results.append(gate.run(lambda: next(_blocked(release, started)()), timeout=10))
        except Busy:
            results.append("busy")

    threads = [threading.Thread(target=call) for _ in range(3)]
    for t in threads:
        t.start()
    for _ in range(2):
        assert started.acquire(timeout=5)  # two running, the third waiting for a worker
    while gate.pending < 3:
        time.sleep(0.01)
    t0 = time.monotonic()
    with pytest.raises(Busy):
        gate.run(lambda: "x", timeout=10)
    assert time.monotonic() - t0 < 0.5
    release.set()
    for t in threads:
        t.join(10)
    assert results == ["done"] * 3
    assert gate.run(lambda: "again", timeout=5) == "again"


def test_deadline_is_kept_and_late_work_keeps_its_place_until_it_ends():
    gate = Gate(workers=1, waiting=0)
    release, started = threading.Event(), threading.Semaphore(0)
    t0 = time.monotonic()
    with pytest.raises(TimedOut):
        gate.run(lambda: next(_blocked(release, started)()), timeout=0.3)
    assert 0.3 <= time.monotonic() - t0 < 2
    with pytest.raises(Busy):  # the late work still holds the only worker
        gate.run(lambda: "x", timeout=5)
    release.set()
    deadline = time.monotonic() + 5
    while gate.pending and time.monotonic() < deadline:
        time.sleep(0.01)
    assert gate.run(lambda: "free", timeout=5) == "free"


def test_a_stream_past_its_deadline_is_stopped_at_its_next_item():
    gate = Gate(workers=1, waiting=0)
    produced, closed = [], threading.Event()

    def slow():
        try:
            for n in range(100):
                produced.append(n)
                time.sleep(0.05)
                yield n
        finally:
            closed.set()

    with pytest.raises(TimedOut):
        for _ in gate.stream(slow, timeout=0.3):
            pass
    assert closed.wait(2), "the generator was not closed"
    assert len(produced) < 20


def test_settings_are_checked():
    with pytest.raises(ValueError, match="at least one worker"):
        Gate(workers=0, waiting=1)
