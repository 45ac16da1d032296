"""What the terminal layout costs: the import time of the layout options, and cold `assistant ask` side by side.

    python -m benchmarks.terminal                                  # this checkout only
    python -m benchmarks.terminal --reference /tmp/main --repeat 15   # and another checkout, interleaved

1. Import and first layout of one passage, each in a fresh process, for the options issue 14 names:
   the standard library's Unicode tables (what render/cells.py uses), `wcwidth`, `rich`.
2. Cold `assistant ask "…"` (the whole process) in a pseudo-terminal of 140 columns — where the answer is
   wrapped and coloured — and with its output piped, for this checkout and `--reference` (e.g. `git archive main`
   unpacked into a folder). Both run with this interpreter and the same index (`--index`, default ./index), so
   only the code differs. Runs are interleaved, so a busy moment of the machine hits every case alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import COLD_QUESTION, ROOT

SAMPLE = "6.融合协调发展，信息化建设稳步推进。6家企业获评2015年河南省“互联网+”工业创新示范企业 abc " * 4
IMPORTS = {
    "standard library (unicodedata) + our layout": "import unicodedata\n"
    "w = sum(2 if unicodedata.east_asian_width(c) in 'WF' else 1 for c in S)",
    "wcwidth + our layout": "import wcwidth\nw = wcwidth.wcswidth(S)",
    "rich (Console + Text, wrapped to 80)": "import io\nfrom rich.console import Console\nfrom rich.text import Text\n"
    "Console(file=io.StringIO(), width=80, force_terminal=True).print(Text(S, style='bold'))",
}
TEMPLATE = "import time, click\nS = {s!r}\nt = time.perf_counter()\n{code}\nprint(time.perf_counter() - t)"


def import_costs(repeat: int) -> dict[str, float]:
    """Median milliseconds to import each option and lay out one passage (click, imported anyway, not counted)."""
    times: dict[str, list[float]] = {name: [] for name in IMPORTS}
    for _ in range(repeat):
        for name, code in IMPORTS.items():
            out = subprocess.run([sys.executable, "-c", TEMPLATE.format(s=SAMPLE, code=code)], check=True,
                                 capture_output=True, text=True)  # fmt: skip
            times[name].append(float(out.stdout))
    return {name: statistics.median(ts) * 1000 for name, ts in times.items()}


def _ask(checkout: Path, env: dict[str, str], terminal: bool) -> float:
    """Seconds for one cold `assistant ask`, run from `checkout` (so that its `assistant` package is imported)."""
    cmd = [sys.executable, "-m", "assistant", "ask", COLD_QUESTION]
    start = time.perf_counter()
    if terminal:
        import pexpect

        child = pexpect.spawn(cmd[0], cmd[1:], cwd=str(checkout), env=env, dimensions=(45, 140), timeout=120)
        child.expect(pexpect.EOF)
        child.close()
        ok = child.exitstatus == 0
    else:
        ok = subprocess.run(cmd, cwd=checkout, env=env, capture_output=True).returncode == 0
    if not ok:
        raise RuntimeError(f"assistant ask failed in {checkout}")
    return time.perf_counter() - start


def cold_ask(checkouts: dict[str, Path], index: Path, repeat: int) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES")}
    env.update(TERM="xterm-256color", ASSISTANT_INDEX_DIR=str(index.resolve()),
               ASSISTANT_CORPUS_DIR=str((ROOT / "corpus").resolve()))  # fmt: skip
    cases = {
        f"{name}, {how}": (path, how == "terminal") for name, path in checkouts.items() for how in ("terminal", "piped")
    }
    for path, terminal in cases.values():  # warm the page cache and check that each case works
        _ask(path, env, terminal)
    times: dict[str, list[float]] = {case: [] for case in cases}
    for _ in range(repeat):
        for case, (path, terminal) in cases.items():
            times[case].append(_ask(path, env, terminal))
    return {case: statistics.median(ts) for case, ts in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", type=Path, help="another checkout to compare with (e.g. main, unpacked)")
    parser.add_argument("--index", type=Path, default=ROOT / "index", help="the index both use (default ./index)")
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    print(f"load average at the start: {os.getloadavg()[0]:.2f}; {args.repeat} runs of each, interleaved\n")
    print("| layout option | import + first layout, median |\n|---|---|")
    for name, ms in import_costs(args.repeat * 2).items():
        print(f"| {name} | {ms:.1f} ms |")
    checkouts = {"this checkout": ROOT}
    if args.reference:
        checkouts["reference"] = args.reference.resolve()
    print("\n| cold `assistant ask` | median |\n|---|---|")
    for case, seconds in cold_ask(checkouts, args.index, args.repeat).items():
        print(f"| {case} | {seconds:.3f} s |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
