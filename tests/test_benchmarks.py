"""Smoke test: the whole benchmark suite at 1×, one repetition, so that it cannot rot."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # benchmarks/ is not an installed package; plain `pytest` puts only tests/ on the path
    sys.path.insert(0, str(ROOT))

pytestmark = pytest.mark.slow  # the real model, both encoders and a few subprocesses: about a minute


def test_quick_benchmark_writes_its_report(tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("matplotlib")
    from benchmarks.run import main

    main(["--quick", "--out", str(tmp_path)])

    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert results["cold"]["ratio onnx ask / recipe"] > 0
    assert results["scale"]["rows"][0]["recall@10"] >= 0.98
    assert results["build"]["onnx"]["backend"] == "onnx"
    for heading in ("## Machine", "## Cold start", "## Warm latency", "## Index build", "## Scale", "hit@1"):
        assert heading in readme
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["cold_start.png", "scale_latency.png", "throughput.png"]
    from benchmarks.indexing import CMRC

    if not CMRC.is_file():
        return  # no ../shared beside this clone: the indexing part is skipped (and says so)
    indexing = json.loads((tmp_path / "indexing.json").read_text(encoding="utf-8"))
    assert indexing["ratio build / recipe"] > 0 and indexing["ratio add one / full build"] > 0
    assert indexing["assistant add (one more document)"]["documents_embedded"] == 1
    assert "| assistant index (empty index folder) |" in (tmp_path / "indexing.md").read_text(encoding="utf-8")
