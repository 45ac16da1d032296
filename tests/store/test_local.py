"""The index on disk: what a build writes, what loading refuses, when it is stale, and that a
build killed with SIGKILL in a real process leaves the previous index in use.

One real index of the real corpus is shared by the session (`assistant` fixture); tests that
change an index work on a copy of it or build their own with the session's loaded model.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from conftest import REPORT, REPORT_NAME, kill_midway

from assistant.config import DEFAULT_MODEL, Settings
from assistant.ingest import CorpusError
from assistant.pipeline import Assistant
from assistant.store.local import FORMAT_VERSION, IndexProblem, build, check, ensure, load

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "corpus"
STAFF = "市委网信办目前有多少在编人员？"
NEW_DOC = "新增.txt"
NEW_TEXT = "洛阳市网信工作补充说明\n\n今年新招录网信干部二十名，充实到网络安全岗位。\n"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A private copy of the real corpus (same bytes and times)."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy2(REPORT, folder / REPORT_NAME)
    return folder


@pytest.fixture
def index_copy(tmp_path: Path, assistant: Assistant, settings: Settings) -> Path:
    """A private copy of the session's built index folder."""
    return Path(shutil.copytree(settings.index_dir, tmp_path / "index"))


def _one_build(index_dir: Path) -> Path:
    builds = sorted(index_dir.glob("build-*"))
    assert len(builds) == 1, builds
    assert (index_dir / "CURRENT").read_text(encoding="utf-8").splitlines()[0] == builds[0].name
    return builds[0]


# --- what a build writes -------------------------------------------------------------------------


def test_build_writes_manifest_and_the_files_it_lists(assistant: Assistant, settings: Settings) -> None:
    index = assistant.index
    assert index.folder == _one_build(settings.index_dir)
    m = index.manifest
    stat = REPORT.stat()
    assert m["format_version"] == FORMAT_VERSION
    assert m["model"] == DEFAULT_MODEL
    assert m["dimension"] == 384
    assert m["chunking"] == {"max_chars": 300}
    assert m["dense_index"] == "flat"
    assert m["corpus"] == {
        "folder": str(CORPUS),
        "files": {
            REPORT_NAME: {
                "sha256": hashlib.sha256(REPORT.read_bytes()).hexdigest(),
                "size": stat.st_size,
                "mtime_ns": stat.st_mtime_ns,
            }
        },
    }
    assert m["counts"] == {
        "documents": 1,
        "passages": len(index.passages),
        "sentences": len(index.sentences),
        "unreadable": 0,
    }
    assert 20 < len(index.passages) < len(index.sentences) == index.dense.ntotal
    built = datetime.strptime(m["built"], "%Y-%m-%dT%H:%M:%S%z")
    assert abs(time.time() - built.timestamp()) < 3600
    on_disk = {
        p.relative_to(index.folder).as_posix(): {
            "size": p.stat().st_size,
            "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
        }
        for p in index.folder.rglob("*")
        if p.is_file()
    }
    assert m["files"] == {k: v for k, v in on_disk.items() if k not in ("manifest.json", ".lease")}
    assert {"passages.jsonl", "sentences.npy", "dense.faiss", "glossary.json"} <= m["files"].keys()
    assert any(name.startswith("bm25/") for name in m["files"])
    manifest_digest = hashlib.sha256((index.folder / "manifest.json").read_bytes()).hexdigest()
    assert (settings.index_dir / "CURRENT").read_text(encoding="utf-8") == f"{index.folder.name}\n{manifest_digest}\n"
    assert sorted(p.name for p in settings.index_dir.iterdir()) == [".lock", "CURRENT", index.folder.name, "shards"]
    (doc,) = m["documents"].values()
    assert doc["passages"] == len(index.passages) and doc["sentences"] == len(index.sentences)
    assert doc["format"] == "txt" and doc["characters"] == len(REPORT.read_text(encoding="utf-8"))
    assert [p.name for p in (settings.index_dir / "shards").iterdir()] == [doc["shard"] + ".shard"]


def test_passages_point_into_the_original_text(assistant: Assistant) -> None:
    original = REPORT.read_text(encoding="utf-8")

    def bare(text: str) -> str:
        return re.sub(r"\s+", "", text).replace("**", "")

    for p in assistant.index.passages:
        assert p.doc == REPORT_NAME
        assert bare(original[p.start : p.end]) == bare(p.text), p.id
    assert len({p.id for p in assistant.index.passages}) == len(assistant.index.passages)


# --- loading refuses what is not sound -----------------------------------------------------------


def test_truncated_dense_index_is_refused_in_one_line_and_rebuilt(
    index_copy: Path, assistant: Assistant, settings: Settings
) -> None:
    old = _one_build(index_copy)
    dense = old / "dense.faiss"
    size = dense.stat().st_size
    with dense.open("r+b") as f:
        f.truncate(size // 2)
    ours = settings.with_(index_dir=index_copy)

    message = f"index file {old.name}/dense.faiss is damaged ({size // 2} bytes, expected {size})"
    with pytest.raises(IndexProblem, match=f"^{re.escape(message)}$"):
        load(ours)

    rebuilt = Assistant(ours, embedder=assistant.embedder)
    assert rebuilt.rebuilt == message
    assert "11" in rebuilt.ask(STAFF).text
    assert _one_build(index_copy) != old
    assert load(ours).dense.ntotal == assistant.index.dense.ntotal


def test_garbage_of_the_right_size_is_refused_in_one_line(index_copy: Path, settings: Settings) -> None:
    build = _one_build(index_copy)
    dense = build / "dense.faiss"
    dense.write_bytes(b"\0" * dense.stat().st_size)
    message = f"index file {build.name}/dense.faiss is damaged (checksum mismatch)"
    with pytest.raises(IndexProblem, match=f"^{re.escape(message)}$"):
        load(settings.with_(index_dir=index_copy))


def test_missing_index_and_dangling_current_are_named(index_copy: Path, tmp_path: Path, settings: Settings) -> None:
    empty = tmp_path / "empty"
    with pytest.raises(IndexProblem, match=f"^no index in {re.escape(str(empty))}/ yet$"):
        load(settings.with_(index_dir=empty))
    shutil.rmtree(_one_build(index_copy))
    with pytest.raises(IndexProblem, match=r"/CURRENT points to a missing build 'build-.*'$"):
        load(settings.with_(index_dir=index_copy))


# --- staleness -----------------------------------------------------------------------------------


def _add(corpus: Path) -> None:
    (corpus / NEW_DOC).write_text(NEW_TEXT, encoding="utf-8")


def _add_nested(corpus: Path) -> None:
    (corpus / "附件").mkdir()
    (corpus / "附件" / "说明.md").write_text(NEW_TEXT, encoding="utf-8")


def _change(corpus: Path) -> None:
    with (corpus / REPORT_NAME).open("a", encoding="utf-8") as f:
        f.write("补充：以上情况截至十一月底。\n")


def _change_same_size(corpus: Path) -> None:
    path = corpus / REPORT_NAME
    stat = path.stat()
    path.write_text(path.read_text(encoding="utf-8").replace("11 人", "12 人"), encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    assert path.stat().st_size == stat.st_size


def _remove(corpus: Path) -> None:
    (corpus / REPORT_NAME).unlink()


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (_add, f"corpus file {NEW_DOC} was added"),
        (_add_nested, "corpus file 附件/说明.md was added"),
        (_change, f"corpus file {REPORT_NAME} was changed"),
        (_change_same_size, f"corpus file {REPORT_NAME} was changed"),
        (_remove, f"corpus file {REPORT_NAME} was removed"),
    ],
    ids=lambda v: v.__name__[1:] if callable(v) else "",
)
def test_corpus_edits_make_the_index_stale_naming_the_file(
    corpus: Path, assistant: Assistant, settings: Settings, edit, reason: str
) -> None:
    ours = settings.with_(corpus_dir=corpus)
    assert check(ours, assistant.index) is None
    edit(corpus)
    assert check(ours, assistant.index) == reason


def test_touching_a_file_without_changing_it_is_not_stale(
    corpus: Path, assistant: Assistant, settings: Settings
) -> None:
    os.utime(corpus / REPORT_NAME)
    (corpus / "notes.xcf").write_bytes(b"gimp xcf")  # not a corpus file (a .png would be: a page scan)
    assert check(settings.with_(corpus_dir=corpus), assistant.index) is None


def test_several_added_files_are_counted(corpus: Path, assistant: Assistant, settings: Settings) -> None:
    for name in ("a.txt", "b.txt", "c.md"):
        (corpus / name).write_text(NEW_TEXT, encoding="utf-8")
    assert check(settings.with_(corpus_dir=corpus), assistant.index) == "corpus file a.txt was added and 2 more"


def test_changed_settings_make_the_index_stale(assistant: Assistant, settings: Settings) -> None:
    assert check(settings, assistant.index) is None
    assert check(settings.with_(chunk_chars=200), assistant.index) == "the chunk size changed (300 → 200)"
    assert check(settings.with_(model="/models/other"), assistant.index) == (
        f"the model changed ({DEFAULT_MODEL} → /models/other)"
    )


def test_ensure_rebuilds_a_stale_index(
    corpus: Path, index_copy: Path, assistant: Assistant, settings: Settings
) -> None:
    ours = settings.with_(corpus_dir=corpus, index_dir=index_copy)
    old = _one_build(index_copy)
    _add(corpus)

    index, reason = ensure(ours, assistant.embedder)

    assert reason == f"corpus file {NEW_DOC} was added"
    assert index.folder == _one_build(index_copy) != old
    assert sorted(index.manifest["corpus"]["files"]) == sorted([NEW_DOC, REPORT_NAME])
    assert any(p.doc == NEW_DOC and "二十名" in p.text for p in index.passages)
    assert check(ours, index) is None
    assert ensure(ours, assistant.embedder)[1] is None


def test_refusing_a_stale_index_says_why(
    corpus: Path, index_copy: Path, assistant: Assistant, settings: Settings
) -> None:
    ours = settings.with_(corpus_dir=corpus, index_dir=index_copy, on_stale="refuse")
    old = _one_build(index_copy)
    _add(corpus)
    message = f"index is out of date: corpus file {NEW_DOC} was added; run `assistant index`"
    with pytest.raises(IndexProblem, match=f"^{re.escape(message)}$"):
        ensure(ours, assistant.embedder)
    with pytest.raises(IndexProblem, match=r"^index is out of date: the chunk size changed \(300 → 400\); "):
        ensure(ours.with_(chunk_chars=400), assistant.embedder)
    assert _one_build(index_copy) == old


# --- a build killed midway -----------------------------------------------------------------------


def test_build_killed_midway_leaves_the_previous_index_in_use(
    tmp_path: Path, index_copy: Path, assistant: Assistant, settings: Settings
) -> None:
    big = tmp_path / "big-corpus"
    big.mkdir()
    for n in range(20):
        shutil.copy(REPORT, big / f"{n:02d}-{REPORT_NAME}")
    old = _one_build(index_copy)
    before = {p.relative_to(index_copy): p.read_bytes() for p in index_copy.rglob("*") if p.is_file()}

    env = {**os.environ, "ASSISTANT_CORPUS_DIR": str(big), "ASSISTANT_INDEX_DIR": str(index_copy)}
    log = tmp_path / "stderr.txt"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "assistant", "index"], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=err
        )
    # progress on stderr names the embedding stage once the first batch is done; all ~2700 sentences
    # of the 20 copies take a minute or more, so the kill lands in the middle of embedding
    kill_midway(proc, lambda: "embedding" in log.read_text("utf-8"), timeout=180, settle=0.5)
    assert "embedding" in log.read_text("utf-8")

    after = {p.relative_to(index_copy): p.read_bytes() for p in index_copy.rglob("*") if p.is_file()}
    assert after == before
    old_settings = settings.with_(index_dir=index_copy, on_stale="refuse")
    assert load(old_settings).folder == old
    survivor = Assistant(old_settings, embedder=assistant.embedder)
    assert survivor.rebuilt is None
    assert "11" in survivor.ask(STAFF).text

    # the next build in that folder completes; the survivor's build stays while it is loaded
    build(settings.with_(index_dir=index_copy), assistant.embedder)
    assert old.is_dir() and load(old_settings).folder != old
    assert "11" in survivor.ask(STAFF).text
    survivor.index.close()
    build(settings.with_(index_dir=index_copy), assistant.embedder)  # and once released, it goes
    assert _one_build(index_copy) != old
    assert not list(index_copy.glob("build-*.tmp"))


def test_two_builds_within_one_second_keep_an_index(tmp_path: Path, assistant: Assistant, settings: Settings) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / NEW_DOC).write_text(NEW_TEXT, encoding="utf-8")
    ours = settings.with_(corpus_dir=corpus, index_dir=tmp_path / "index")
    build(ours, assistant.embedder)  # the model is warm: a two-sentence corpus builds in milliseconds
    while time.time() % 1 > 0.2:  # start both builds early in the same wall-clock second
        time.sleep(0.01)
    started = int(time.time())
    build(ours, assistant.embedder)
    failure = None
    try:
        build(ours, assistant.embedder)
    except OSError as exc:
        failure = exc
    assert int(time.time()) == started, "the builds took longer than expected; the test proves nothing"
    index = load(ours)  # whatever the second build did, the index in use must survive it
    assert [p.doc for p in index.passages] == [NEW_DOC] * len(index.passages)
    assert failure is None
    assert index.folder == _one_build(tmp_path / "index")


# --- what gets indexed ---------------------------------------------------------------------------


def test_gb18030_corpus_indexes_to_the_same_passages(tmp_path: Path, assistant: Assistant, settings: Settings) -> None:
    corpus = tmp_path / "gb"
    corpus.mkdir()
    (corpus / REPORT_NAME).write_bytes(REPORT.read_text(encoding="utf-8").encode("gb18030"))
    ours = settings.with_(corpus_dir=corpus, index_dir=tmp_path / "index")

    report = build(ours, assistant.embedder)
    index = load(ours)

    assert report.errors == []
    gb_file, utf8_file = (i.manifest["corpus"]["files"][REPORT_NAME] for i in (index, assistant.index))
    assert gb_file["sha256"] != utf8_file["sha256"]
    assert index.passages == assistant.index.passages
    np.testing.assert_array_equal(index.sentences, assistant.index.sentences)
    n = index.dense.ntotal
    np.testing.assert_allclose(index.dense.reconstruct_n(0, n), assistant.index.dense.reconstruct_n(0, n), atol=1e-5)


def test_unreadable_file_is_skipped_and_named(tmp_path: Path, assistant: Assistant, settings: Settings) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text(NEW_TEXT, encoding="utf-8")
    (corpus / "bad.txt").write_bytes(b"PK\x03\x04\x00\x00binary")
    ours = settings.with_(corpus_dir=corpus, index_dir=tmp_path / "index")

    report = build(ours, assistant.embedder)

    assert (report.documents, report.errors) == (1, [f"{corpus}/bad.txt: binary file (NUL byte at offset 4)"])
    index = load(ours)
    assert index.manifest["counts"]["unreadable"] == 1
    assert {p.doc for p in index.passages} == {"good.txt"}
    assert report.passages == len(index.passages) > 0
    assert check(ours, index) is None, "an unreadable file must not make the index stale forever"


def test_empty_corpus_folder_is_a_corpus_error(tmp_path: Path, assistant: Assistant, settings: Settings) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "notes.xcf").write_bytes(b"gimp xcf")  # not a kind of document: passed over
    ours = settings.with_(corpus_dir=corpus, index_dir=tmp_path / "index")
    kinds = re.escape(".txt, .md, .docx, .pdf, .html or page image (.png/.jpg/.tif)")
    with pytest.raises(CorpusError, match=f"^{re.escape(str(corpus))}: no readable {kinds} files$"):
        build(ours, assistant.embedder)
    assert not (tmp_path / "index").exists()


def test_missing_corpus_folder_is_a_corpus_error(tmp_path: Path, assistant: Assistant, settings: Settings) -> None:
    ours = settings.with_(corpus_dir=tmp_path / "nowhere", index_dir=tmp_path / "index")
    with pytest.raises(CorpusError, match=f"^{re.escape(str(tmp_path / 'nowhere'))}/: no such folder$"):
        build(ours, assistant.embedder)


@pytest.mark.slow
def test_the_approximate_index_past_the_threshold_answers_like_the_exact_one(settings, assistant, tmp_path):
    from assistant.pipeline import Assistant

    approx = Assistant(settings.with_(index_dir=tmp_path / "ivf", approx_threshold=10), embedder=assistant.embedder)
    assert approx.index.manifest["dense_index"] == "ivf-flat"
    assert type(approx.index.dense).__name__ == "IndexIVFFlat"
    for question in ("市委网信办目前有多少在编人员？", "省委网络安全和信息化领导小组第三次会议由谁主持？"):
        exact, ivf = assistant.ask(question), approx.ask(question)
        assert ivf.text == exact.text
        assert [s.hit.passage.id for s in ivf.sources] == [s.hit.passage.id for s in exact.sources]
