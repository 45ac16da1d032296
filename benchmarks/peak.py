"""Run a command and write its wall time, CPU time and peak RSS to a JSON file: `python -m benchmarks.peak OUT CMD…`.

A child's ru_maxrss counts the memory of the process it was forked from until it
execs; forked from the benchmark runner (torch loaded: gigabytes) every child would
report the runner's size. This launcher is small, so its children's peaks are their own.
Imports nothing beyond the standard library, for the same reason.
"""

import json
import os
import subprocess
import sys
import time


def main() -> int:
    out, cmd = sys.argv[1], sys.argv[2:]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd)  # inherits stdin, stdout and stderr
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: keep Popen from waiting again
    with open(out, "w", encoding="utf-8") as f:
        # CPU seconds too: on a shared machine wall time also measures the neighbours.
        cpu = usage.ru_utime + usage.ru_stime
        json.dump({"seconds": seconds, "cpu_seconds": cpu, "peak_mb": usage.ru_maxrss / 1024}, f)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
