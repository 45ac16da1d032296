"""Bounded work for the web chat: a few answers computed at once, a few more waiting, each with a deadline.

A request that finds every worker busy and the waiting line full is told so at once (`Busy`)
instead of piling up; one that passes its deadline gets `TimedOut` when the time is up, whatever
the work is doing. Python cannot stop a thread, so work past its deadline runs on in the
background, is asked to stop at its next step (the LLM's next streamed piece), and keeps its
place in the count until it ends: overload turns into "busy" answers, never into unbounded CPU.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["Busy", "Gate", "TimedOut"]

T = TypeVar("T")


class Busy(Exception):
    """Every worker is busy and the waiting line is full."""


class TimedOut(Exception):
    """The work did not finish before its deadline."""


class Gate:
    def __init__(self, workers: int, waiting: int) -> None:
        if workers < 1 or waiting < 0:
            raise ValueError(f"need at least one worker and no negative waiting line, got {workers}, {waiting}")
        self.workers, self.waiting = workers, waiting
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="answer")
        self._lock = threading.Lock()
        self._pending = 0  # admitted and not yet finished: running, waiting, or running past its deadline

    @property
    def pending(self) -> int:
        return self._pending

    def stream(self, produce: Callable[[], Iterator[T]], timeout: float) -> Iterator[T]:
        """The items of `produce()`, computed by a worker and passed on as they come.

        Raises `Busy` before anything runs when the gate is full, and `TimedOut` once `timeout`
        seconds (waiting for a worker included) have passed.
        """
        with self._lock:
            if self._pending >= self.workers + self.waiting:
                raise Busy
            self._pending += 1
        deadline = time.monotonic() + timeout
        items: queue.Queue[tuple[str, object]] = queue.Queue()
        stop = threading.Event()
        try:
            self._pool.submit(self._work, produce, items, stop)
        except RuntimeError:  # the pool is shut down
            self._finished()
            raise Busy from None
        try:
            while True:
                try:
                    kind, value = items.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    raise TimedOut from None
                if kind == "item":
                    yield value  # type: ignore[misc]
                elif kind == "error":
                    raise value  # type: ignore[misc]
                else:
                    return
        finally:
            stop.set()  # finished, timed out, or the consumer went away: the worker stops at its next step

    def run(self, fn: Callable[[], T], timeout: float) -> T:
        """`fn()` computed by a worker, under the same rules as `stream`."""
        for value in self.stream(lambda: iter((fn(),)), timeout):
            return value
        raise AssertionError("unreachable: the stream yields one value")  # pragma: no cover

    def close(self) -> None:
        """Refuse new work; work already admitted runs to its end in the background."""
        self._pool.shutdown(wait=False, cancel_futures=False)

    def _work(self, produce: Callable[[], Iterator[T]], items: queue.Queue, stop: threading.Event) -> None:
        try:
            if stop.is_set():  # given up while it was waiting for a worker
                return
            iterator = produce()
            try:
                for item in iterator:
                    items.put(("item", item))
                    if stop.is_set():
                        break
            finally:
                close = getattr(iterator, "close", None)
                if close is not None:
                    close()  # a generator's clean-up (an open HTTP stream) runs now, not at garbage collection
            items.put(("done", None))
        except BaseException as exc:  # handed to the waiting request, which re-raises it
            items.put(("error", exc))
        finally:
            self._finished()

    def _finished(self) -> None:
        with self._lock:
            self._pending -= 1
