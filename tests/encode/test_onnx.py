"""The fast path (ONNX Runtime) against the sentence-transformers path: same vectors, same top results."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"

pytestmark = pytest.mark.slow  # needs the real model (converted and exported once into the cache)


@pytest.fixture(scope="module")
def embedders(tmp_path_factory):
    pytest.importorskip("onnxruntime")
    from assistant.config import Settings
    from assistant.encode.embedder import Embedder

    onnx = Embedder(Settings.load(encoder="onnx"))
    torch = Embedder(Settings.load(encoder="torch"))
    assert onnx.backend == "onnx", onnx.fallback
    assert torch.backend == "torch"
    return onnx, torch


def _report_sentences() -> list[str]:
    from assistant.ingest.chunking import split_sentences

    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "corpus").glob("*.txt")))
    return [text[a:b] for a, b in split_sentences(text)]


def test_vectors_agree_with_sentence_transformers(embedders):
    onnx, torch = embedders
    sentences = _report_sentences()
    for encode in ("passages", "queries"):
        a, b = getattr(onnx, encode)(sentences), getattr(torch, encode)(sentences)
        cosine = np.sum(a * b, axis=1)
        assert cosine.min() >= 0.99, f"{encode}: min cosine {cosine.min():.4f}"
        assert np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-4)


def test_vectors_do_not_depend_on_the_batch(embedders):
    onnx, _ = embedders
    sentences = _report_sentences()[:40]
    together = onnx.passages(sentences)
    alone = np.vstack([onnx.passages([s]) for s in sentences])
    assert np.abs(together - alone).max() < 1e-5


def test_a_big_job_side_by_side_gives_the_same_vectors(embedders, monkeypatch):
    import assistant.encode.onnx as onnx_encoder

    onnx, _ = embedders
    encoder = onnx.model.encoder
    sentences = _report_sentences() * 3  # above _LANE_MIN_TEXTS: one single-threaded session per CPU
    assert len(sentences) >= onnx_encoder._LANE_MIN_TEXTS
    done: list[int] = []
    lanes = encoder.encode(sentences, "passage: ", progress=lambda n, total: done.append(n))
    monkeypatch.setattr(onnx_encoder, "_LANE_MIN_TEXTS", 10**9)
    shared = encoder.encode(sentences, "passage: ")
    assert np.array_equal(lanes, shared)
    assert done == sorted(done) and done[-1] == len(sentences)


def test_same_top_results_on_the_development_questions(embedders, tmp_path):
    if not DEV.is_file():
        pytest.skip(f"{DEV} not found (the shared development set lives next to the repository)")
    from assistant.config import Settings
    from assistant.pipeline import Assistant

    questions = [json.loads(line)["question"] for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    tops = {}
    for embedder in embedders:
        settings = Settings.load(corpus_dir=ROOT / "corpus", index_dir=tmp_path / embedder.backend,
                                 encoder=embedder.backend)  # fmt: skip
        assistant = Assistant(settings, embedder=embedder)
        tops[embedder.backend] = [[h.passage.id for h in assistant.retrieve(q)] for q in questions]
    same_top1 = sum(a[:1] == b[:1] for a, b in zip(tops["onnx"], tops["torch"], strict=True))
    assert same_top1 == len(questions), f"top-1 differs on {len(questions) - same_top1} of {len(questions)} questions"


def test_the_fast_path_imports_no_torch(tmp_path):
    pytest.importorskip("onnxruntime")
    code = (
        "import sys\n"
        "from assistant.config import Settings\n"
        "from assistant.encode.embedder import Embedder\n"
        "e = Embedder(Settings.load(encoder='onnx'))\n"
        "v = e.queries(['市委网信办目前有多少在编人员？'])\n"
        "heavy = [m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules]\n"
        "print(e.backend, v.shape[1], heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["onnx", "384", "[]"], out.stdout + out.stderr


def test_a_users_own_model_falls_back_to_torch_quietly(monkeypatch):
    from assistant.config import Settings
    from assistant.encode.embedder import Embedder

    embedder = Embedder(Settings.load(model="/nonexistent/model", encoder="onnx"))
    loaded = []
    torch_init = "assistant.encode.embedder._Torch.__init__"
    monkeypatch.setattr(torch_init, lambda self, settings: loaded.append(settings.model))
    embedder.model  # noqa: B018
    assert loaded == ["/nonexistent/model"]
    assert embedder.fallback == "only the default model is exported to ONNX"


def test_the_common_character_tokenizer_gives_the_full_tokenizers_ids(embedders):
    from tokenizers import Tokenizer

    onnx, _ = embedders
    encoder = onnx.model.encoder
    full = Tokenizer.from_file(str(encoder.folder / "tokenizer.json"))
    full.enable_truncation(512)
    texts = _report_sentences() + ["Café ①ｆｕｌｌ", "Привет мир", "emoji 😀 and <mask>", "  ", "x" * 3000]
    texts = [f"query: {t}" for t in texts]
    assert encoder.token_ids(texts) == [e.ids for e in full.encode_batch(texts)]


def test_settings_reject_an_unknown_encoder():
    from assistant.config import Settings

    with pytest.raises(ValueError, match="encoder"):
        Settings(encoder="tensorflow")
