"""The user's own terms (.assistant.toml `terms`, terms.txt): jieba keeps them whole for indexing and
questions, and changing them redoes the words of the documents they touch only (real model and index)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.ingest import corpus_files
from assistant.store import shards
from assistant.store.local import build, check, load
from assistant.text import terms
from assistant.text.words import words

ROOT = Path(__file__).resolve().parents[2]
REPORT = next((ROOT / "corpus").glob("*.txt"))
OTHER = "网络安全宣传周于九月第三周举行，地点在市民中心。\n"


@pytest.fixture(autouse=True)
def no_terms_after() -> Iterator[None]:
    """jieba's dictionary is the process's: leave it as the other tests expect it."""
    yield
    terms.use(())


def test_terms_from_the_settings_file_and_terms_txt(tmp_path: Path) -> None:
    (tmp_path / ".assistant.toml").write_text('title = "问答"\nterms = ["洛阳市委网信办", " 精彩洛阳 "]\n', "utf-8")
    (tmp_path / "terms.txt").write_text("# 本单位的名称\n网信战线\n\nＡＢＣ平台  # 全角也行\n", encoding="utf-8")
    (tmp_path / "report.txt").write_text("正文。\n", encoding="utf-8")
    assert terms.load(tmp_path) == tuple(sorted(["abc平台", "洛阳市委网信办", "网信战线", "精彩洛阳"]))
    assert [p.name for p in corpus_files(tmp_path)] == ["report.txt"]  # terms.txt is not a document
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "terms.txt").write_text("一份名叫 terms 的文档。\n", encoding="utf-8")
    assert [p.relative_to(tmp_path).as_posix() for p in corpus_files(tmp_path)] == ["report.txt", "sub/terms.txt"]


def test_a_term_is_one_word_until_it_is_taken_back() -> None:
    text = "洛阳市委网信办负责全市网信工作"
    before = words(text)
    assert "洛阳市委网信办" not in before
    terms.use(["洛阳市委网信办"])
    assert "洛阳市委网信办" in words(text) and "洛阳" in words(text)  # search mode still gives its parts
    terms.use([])
    assert words(text) == before


@pytest.mark.slow
def test_changing_the_terms_redoes_only_the_documents_they_touch(tmp_path: Path, settings: Settings, assistant):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy2(REPORT, corpus / REPORT.name)
    (corpus / "通知.txt").write_text(OTHER, encoding="utf-8")
    ours = settings.with_(corpus_dir=corpus, index_dir=tmp_path / "index")
    build(ours, assistant.embedder)
    index = load(ours)
    assert check(ours, index) is None
    shard_files = {p.name: p.stat().st_mtime_ns for p in (ours.index_dir / shards.FOLDER).iterdir()}

    (corpus / ".assistant.toml").write_text('terms = ["市委网信办"]\n', encoding="utf-8")
    assert check(ours, index) == "the corpus folder's terms changed (.assistant.toml terms, terms.txt)"
    report = build(ours, assistant.embedder)
    assert report.embedded == 0  # vectors kept: only the words were cut again
    after = {p.name: p.stat().st_mtime_ns for p in (ours.index_dir / shards.FOLDER).iterdir()}
    rewritten = {name for name in after if after[name] != shard_files.get(name)}
    assert len(rewritten) == 1  # the report's shard: the notice holds no 市委网信办
    index = load(ours)
    assert check(ours, index) is None and index.manifest["terms"] == ["市委网信办"]
    assert index.manifest["documents"][REPORT.name]["terms"] == ["市委网信办"]
    assert index.manifest["documents"]["通知.txt"]["terms"] == []
    assert "市委网信办" in index.bm25.vocab_dict and "市委网信办" in words("市委网信办目前有多少在编人员？")

    (corpus / ".assistant.toml").unlink()
    assert check(ours, load(ours)) is not None
    assert build(ours, assistant.embedder).embedded == 0
    assert "市委网信办" not in load(ours).bm25.vocab_dict
