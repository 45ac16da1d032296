"""How fast the web chat refuses what it must not work on, beside a normal answer, in one run.

    python -m benchmarks.web_limits [--repeat 5]

A real server on a free local port (the real model and index of ./corpus, built in a temporary
folder), called through gradio_client as an API user would: a normal question, a history turn of
2,000,000 characters (once it kept a CPU busy for more than ten minutes), a history turn just over
the per-turn limit, and a foreign Host header. Prints one line per case: median and worst seconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import COLD_QUESTION, ROOT


def _timed(call: Callable[[], object], repeat: int) -> tuple[list[float], str]:
    seconds, outcome = [], ""
    for _ in range(repeat):
        t0 = time.perf_counter()
        try:
            result = call()
            outcome = "answered" if isinstance(result, dict) else str(result)
        except Exception as exc:  # the refusals are the point: record what was said
            outcome = f"refused: {type(exc).__name__}: {str(exc).splitlines()[0][:70]}"
        seconds.append(time.perf_counter() - t0)
    return seconds, outcome


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.web_limits", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    import httpx
    from gradio_client import Client

    from assistant.config import Settings
    from assistant.pipeline import Assistant
    from assistant.web import app as web

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.load(corpus_dir=ROOT / "corpus", index_dir=Path(tmp), host="127.0.0.1", port=0)
        assistant = Assistant(settings)
        demo = web.build_app(assistant, settings)
        _, url, _ = web.launch(demo, settings, prevent_thread_lock=True, quiet=True)
        try:
            client = Client(url, verbose=False)
            long_turn = "问" * (2 * settings.max_question_chars + 1)
            cases = {
                "normal question": lambda: client.predict(COLD_QUESTION, 5, [], api_name="/ask"),
                "history turn of 2,000,000 x 问": lambda: client.predict(
                    COLD_QUESTION, 5, ["问" * 2_000_000], api_name="/ask"
                ),
                "history turn of 2,000,000 x a": lambda: client.predict(
                    COLD_QUESTION, 5, ["a" * 2_000_000], api_name="/ask"
                ),
                f"history turn of {len(long_turn):,} characters": lambda: client.predict(
                    COLD_QUESTION, 5, [long_turn], api_name="/ask"
                ),
                "foreign Host header": lambda: httpx.get(url, headers={"Host": "evil.test"}).status_code,
            }
            print(f"load average at the start: {os.getloadavg()[0]:.2f}; {args.repeat} calls each")
            for name, call in cases.items():
                seconds, outcome = _timed(call, args.repeat)
                print(f"{name:<38} median {statistics.median(seconds):6.3f} s  worst {max(seconds):6.3f} s  {outcome}")
        finally:
            demo.close(verbose=False)


if __name__ == "__main__":
    main()
