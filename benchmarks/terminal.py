"""What the terminal layout costs: the import time of the layout options, and cold `assistant ask` side by side.

    python -m benchmarks.terminal                                  # this checkout only
    python -m benchmarks.terminal --reference /tmp/main --repeat 15   # and another checkout, interleaved

1. Import and first layout of one passage, each in a fresh process, for the options issue 14 names:
   the standard library's Unicode tables (what render/cells.py uses), `wcwidth`, `rich`.
2. The layout's own share of a cold `ask`, in process CPU time (less swayed by other work on the machine than
   wall time): importing `assistant.render.terminal` (click, which the command line imports anyway, loaded first)
   and laying out the cold question's answer once, 140 columns, in colour; with the modules compiled from source
   at import (PYTHONDONTWRITEBYTECODE=1, as on this project's machines) and from bytecode (as an installed package).
3. Cold `assistant ask "…"` (the whole process) in a pseudo-terminal of 140 columns — where the answer is
   wrapped and coloured — and with its output piped, for this checkout and `--reference` (e.g. `git archive main`
   unpacked into a folder), compiled at import as on this project's machines. Both run with this interpreter and
   the same index (`--index`, default ./index), so only the code differs. Runs are interleaved, so a busy moment
   of the machine hits every case alike.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
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


LAYOUT = """import sys, time, click
t = time.process_time()
import assistant.render.terminal as rt
imported = time.process_time() - t
from assistant.config import Settings
from assistant.pipeline import Assistant
answer = Assistant(Settings.load()).ask(sys.argv[1])
t = time.process_time()
rt.terminal(answer, rt.Layout(140, True)) if hasattr(rt, "Layout") else rt.terminal(answer, True)
print(imported, time.process_time() - t)
"""


def copies(checkouts: dict[str, Path], work: Path) -> dict[str, tuple[Path, Path]]:
    """Two copies of each checkout's package: one without bytecode (compiled at every import, as on this project's
    machines, where PYTHONDONTWRITEBYTECODE=1), one compiled ahead (as an installed package)."""
    out = {}
    for name, path in checkouts.items():
        source, compiled = work / f"{len(out)}-source", work / f"{len(out)}-bytecode"
        for folder in (source, compiled):
            shutil.copytree(path / "assistant", folder / "assistant", ignore=shutil.ignore_patterns("__pycache__"))
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(compiled)], check=True)
        out[name] = (source, compiled)
    return out


def layout_costs(
    copied: dict[str, tuple[Path, Path]], env: dict[str, str], repeat: int
) -> dict[str, tuple[float, float]]:
    """Median CPU milliseconds (import, first layout) of the render module of each checkout, in fresh processes."""
    cases = {f"{name}, {how}": folder for name, (source, compiled) in copied.items()
             for how, folder in (("compiled at import", source), ("from bytecode", compiled))}  # fmt: skip
    times: dict[str, list[tuple[float, float]]] = {case: [] for case in cases}
    for _ in range(repeat):
        for case, folder in cases.items():
            out = subprocess.run([sys.executable, "-c", LAYOUT, COLD_QUESTION], cwd=folder, env=env, check=True,
                                 capture_output=True, text=True)  # fmt: skip
            times[case].append(tuple(map(float, out.stdout.split())))  # type: ignore[arg-type]
    return {
        name: (statistics.median(t[0] for t in ts) * 1000, statistics.median(t[1] for t in ts) * 1000)
        for name, ts in times.items()
    }  # fmt: skip


def _env(index: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES", "PYTHONPYCACHEPREFIX")}
    env.update(PYTHONDONTWRITEBYTECODE="1", TERM="xterm-256color", ASSISTANT_INDEX_DIR=str(index.resolve()),
               ASSISTANT_CORPUS_DIR=str((ROOT / "corpus").resolve()))  # fmt: skip
    return env


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


def cold_ask(checkouts: dict[str, Path], env: dict[str, str], repeat: int) -> dict[str, float]:
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
    env = _env(args.index)
    with tempfile.TemporaryDirectory() as work:
        copied = copies(checkouts, Path(work))
        print("\n| render module of | import, CPU median | laying out one answer, CPU median |\n|---|---|---|")
        for name, (imported, laid_out) in layout_costs(copied, env, args.repeat).items():
            print(f"| {name} | {imported:.1f} ms | {laid_out:.1f} ms |")
        cold = cold_ask({name: source for name, (source, _) in copied.items()}, env, args.repeat)
    print("\n| cold `assistant ask` (compiled at import) | median |\n|---|---|")
    for case, seconds in cold.items():
        print(f"| {case} | {seconds:.3f} s |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
