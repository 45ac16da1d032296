"""Measuring helpers shared by the benchmark runner and its worker processes."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"
OWN = ROOT / "eval" / "questions.jsonl"
COLD_QUESTION = "市委网信办目前有多少在编人员？"


@dataclass
class Run:
    seconds: float
    peak_mb: float
    stdout: str
    returncode: int
    cpu_seconds: float = 0.0


def run_process(cmd: list[str], env: dict[str, str] | None = None, stdin: str | None = None) -> Run:
    """Wall time and peak RSS of one command, measured by the small launcher benchmarks/peak.py."""
    with tempfile.NamedTemporaryFile(suffix=".json") as stats:
        launcher = [sys.executable, "-m", "benchmarks.peak", stats.name]
        proc = subprocess.run(launcher + cmd, env=env, cwd=ROOT, input=stdin or "", capture_output=True, text=True,
                              encoding="utf-8")  # fmt: skip
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[:4])}… exited with {proc.returncode}: {proc.stderr.strip()[-800:]}")
        measured = json.loads(Path(stats.name).read_text(encoding="utf-8"))
    return Run(measured["seconds"], measured["peak_mb"], proc.stdout, proc.returncode, measured.get("cpu_seconds", 0.0))


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile_ms(seconds: list[float], q: float) -> float:
    return round(float(np.percentile(np.asarray(seconds) * 1000, q)), 1) if seconds else float("nan")


def questions(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def all_questions() -> list[str]:
    return [q["question"] for path in (DEV, OWN) if path.is_file() for q in questions(path)]


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(
            next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")).split()[1]
        )
        ram = f"{mem_kb / 1024**2:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        ram = "unknown"
    versions = {}
    for package in (
        "torch",
        "sentence-transformers",
        "transformers",
        "onnxruntime",
        "tokenizers",
        "faiss-cpu",
        "bm25s",
        "jieba",
        "numpy",
    ):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "-"
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": ram,
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": platform.python_version(),
        "os": platform.platform(),
        "packages": ", ".join(f"{k} {v}" for k, v in versions.items()),
        "command": " ".join(["python -m benchmarks.run", *sys.argv[1:]]),
    }
