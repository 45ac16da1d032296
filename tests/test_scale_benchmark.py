"""The scale benchmark (benchmarks/scale.py) at a tiny size on both stores, through its real code path:
synthetic corpus, worker processes for the builds, the exact search and the serving of each store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # benchmarks/ is not an installed package; plain `pytest` puts only tests/ on the path
    sys.path.insert(0, str(ROOT))


@pytest.mark.slow  # the real model and both stores, in worker processes
def test_tiny_ladder_on_both_stores(tmp_path: Path) -> None:
    pytest.importorskip("pymilvus")
    from benchmarks import scale

    argv = ["--sizes", "150", "--stores", "local,milvus-lite", "--questions", "4", "--calibrate", "20"]
    result = scale.main([*argv, "--out", str(tmp_path)])

    rows = {r["store"]: r for r in result["rows"]}
    assert set(rows) == {"local", "milvus-lite"}
    for row in rows.values():
        assert row["status"] == "ok", row
        assert 100 <= row["passages"] <= 220 and row["sentences"] > row["passages"]
        assert row["recall@10"] >= 0.9  # both search exactly at this size: only a short top 40 sentences can miss
        assert row["ask_p50"] > 0 and row["dense_p50"] > 0 and row["build_peak_mb"] > 0 and row["serve_peak_mb"] > 0
    assert rows["local"]["dense_index"] == "flat" and rows["milvus-lite"]["dense_index"].startswith("FLAT")
    assert rows["milvus-lite"]["passages"] == rows["local"]["passages"]
    written = json.loads((tmp_path / "scale.json").read_text(encoding="utf-8"))
    assert written["rows"] == json.loads(json.dumps(result["rows"]))
    report = (tmp_path / "scale.md").read_text(encoding="utf-8")
    assert "| local |" in report and "| milvus-lite |" in report and "## Milvus Lite ÷ local, same run" in report


def test_sizes_and_the_budget_decide_what_runs() -> None:
    from benchmarks import scale

    assert [scale.parse_size(s) for s in ("10k", "100k", "1M", "150")] == [10_000, 100_000, 1_000_000, 150]
    assert [scale.size_label(n) for n in (10_000, 1_000_000, 150)] == ["10k", "1M", "150"]
    below = {"size": "100k", "passages": 100_000, "build_s": 600.0, "build_peak_mb": 400}
    assert scale._skip(below, 1_000_000, budget=1200).startswith("not run: 100 min predicted build")
    assert scale._skip(below, 150_000, budget=1200) == ""
    huge = {**below, "build_s": 1.0, "build_peak_mb": 10**7}
    assert "GB free" in scale._skip(huge, 1_000_000, budget=1200)


def test_bad_arguments_are_one_line() -> None:
    for args in (["--sizes", "ten"], ["--stores", "local,pinecone"]):
        proc = subprocess.run([sys.executable, "-m", "benchmarks.scale", *args], cwd=ROOT, capture_output=True,
                              text=True)  # fmt: skip
        assert proc.returncode == 2
        assert "Traceback" not in proc.stderr
        assert proc.stderr.strip().splitlines()[-1].startswith("python -m benchmarks.scale: error: --")
