"""Incremental builds: a shard per document, so that adding, changing or removing one document
embeds that document only, with the same index as a build from scratch.

Real model, real FAISS and BM25; each test builds in its own folders with the session's loaded model.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from assistant.config import Settings
from assistant.pipeline import Assistant
from assistant.store import shards
from assistant.store.local import build, load, sentence_text

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
REPORT = next((ROOT / "corpus").glob("*.txt"))
STAFF = "市委网信办目前有多少在编人员？"
EXTRA = {
    "补充.txt": "洛阳市网信工作补充说明\n\n今年新招录网信干部二十名，充实到网络安全岗位。\n",
    "附件/通知.md": "# 关于举办网络安全宣传周的通知\n\n宣传周于九月第三周举行，地点在市民中心。\n",
}


@pytest.fixture
def ours(tmp_path: Path, settings: Settings) -> Settings:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy2(REPORT, corpus / REPORT.name)
    for name, text in EXTRA.items():
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_text(text, encoding="utf-8")
    return settings.with_(corpus_dir=corpus, index_dir=tmp_path / "index")


def _same_index(a, b) -> None:
    assert a.passages == b.passages
    np.testing.assert_array_equal(a.sentences, b.sentences)
    n = a.dense.ntotal
    assert n == b.dense.ntotal
    np.testing.assert_array_equal(a.dense.reconstruct_n(0, n), b.dense.reconstruct_n(0, n))
    assert a.bm25.vocab_dict == b.bm25.vocab_dict
    assert a.glossary == b.glossary


def test_adding_changing_and_removing_a_document_embeds_only_that_document(ours: Settings, assistant, tmp_path):
    embedder = assistant.embedder
    first = build(ours, embedder)
    assert (first.documents, first.embedded, first.errors) == (3, 3, [])
    assert first.sentences_embedded == len(load(ours).sentences) and first.tokens_embedded > first.sentences_embedded

    again = build(ours, embedder)
    assert (again.embedded, again.sentences_embedded, again.tokens_embedded) == (0, 0, 0)

    (ours.corpus_dir / "新增.txt").write_text("网信办新设舆情科。舆情科负责网络舆情监测。\n", encoding="utf-8")
    added = build(ours, embedder)
    assert (added.documents, added.embedded, added.sentences_embedded) == (4, 1, 2)

    with (ours.corpus_dir / "补充.txt").open("a", encoding="utf-8") as f:
        f.write("另有三名干部正在培训。\n")
    changed = build(ours, embedder)
    assert (changed.documents, changed.embedded, changed.sentences_embedded) == (4, 1, 3)

    (ours.corpus_dir / "附件" / "通知.md").unlink()
    removed = build(ours, embedder)
    assert (removed.documents, removed.embedded) == (3, 0)
    index = load(ours)
    assert {p.doc for p in index.passages} == {REPORT.name, "补充.txt", "新增.txt"}
    assert len(list((ours.index_dir / "shards").iterdir())) == 3, "shards of removed documents are removed"

    # the same as a build from scratch of the same corpus
    scratch = ours.with_(index_dir=tmp_path / "scratch")
    assert build(scratch, embedder).embedded == 3
    _same_index(index, load(scratch))
    assert "11" in Assistant(ours, embedder=embedder).ask(STAFF).text


def test_sentences_are_embedded_as_sentence_text_says(ours: Settings, assistant) -> None:
    build(ours, assistant.embedder)
    index = load(ours)
    rows = [0, len(index.sentences) // 2, len(index.sentences) - 1]
    texts = [sentence_text(index.passages[index.sentences[r][0]], *index.sentences[r][1:]) for r in rows]
    expected = assistant.embedder.passages(texts)
    np.testing.assert_allclose(index.dense.reconstruct_batch(np.array(rows)), expected, atol=1e-6)


def test_a_damaged_shard_is_embedded_again_and_named(ours: Settings, assistant) -> None:
    build(ours, assistant.embedder)
    (shard,) = [p for p in (ours.index_dir / "shards").iterdir() if p.stat().st_size < 50_000][:1]
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0x40
    shard.write_bytes(bytes(data))

    report = build(ours, assistant.embedder)

    assert report.repaired == [f"index file shards/{shard.name} is damaged (checksum mismatch)"]
    assert report.embedded == 1
    assert build(ours, assistant.embedder).repaired == []


def test_shard_keys_follow_content_name_settings_and_code(monkeypatch) -> None:
    key = shards.shard_key("a.txt", "0" * 64, "m", 300, 4)
    assert key == shards.shard_key("a.txt", "0" * 64, "m", 300, 4)
    others = {
        shards.shard_key("b.txt", "0" * 64, "m", 300, 4),
        shards.shard_key("a.txt", "1" * 64, "m", 300, 4),
        shards.shard_key("a.txt", "0" * 64, "other", 300, 4),
        shards.shard_key("a.txt", "0" * 64, "m", 200, 4),
        shards.shard_key("a.txt", "0" * 64, "m", 300, 5),
    }
    assert key not in others and len(others) == 5
    monkeypatch.setattr(shards, "code_fingerprint", lambda: "edited")
    assert shards.shard_key("a.txt", "0" * 64, "m", 300, 4) != key


def test_code_fingerprint_covers_the_modules_that_make_passages() -> None:
    package = Path(shards.__file__).resolve().parent.parent
    names = {p.relative_to(package).as_posix() for p in shards.code_files()}
    assert {"schema.py", "text/words.py", "store/build.py", "ingest/chunking.py", "ingest/files.py"} <= names
    assert len(shards.code_fingerprint()) == 64
