"""The shared store suite: every `Store` (assistant/store/base.py) passes the same tests.

As Haystack's testing/document_store.py, one class of tests runs on every backend: here the
`store` fixture is parametrised over `local` (FAISS + bm25s), `milvus` (Milvus Lite in a
temporary folder) and `server` (a real Milvus 2.3.5 server, its dense-only mode; marked
`milvus_server`), all over the real corpus plus a second small document, with the real e5
model. The local index is also the reference a store's scores and rankings are compared with.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from conftest import REPORT

from assistant import retrieve
from assistant.config import Settings
from assistant.question import analyse
from assistant.store.base import Store, weighted_terms
from assistant.store.local import build, load

pytest.importorskip("pymilvus")
pytestmark = pytest.mark.slow

SECOND = "第二份.txt"
SECOND_TEXT = (
    "洛阳市网信工作补充说明\n\n今年新招录网信干部二十名，充实到网络安全岗位。\n\n全年开展网络安全检查十二次。\n"
)
QUESTIONS = ["中央网络安全和信息化工作座谈会是谁主持的？", "今年新招录了多少网信干部？", "网络安全检查开展了几次？",
             "我市如何贯彻落实会议精神？", "天气怎么样"]  # fmt: skip


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory, assistant) -> Settings:
    """Settings of a small two-document corpus, its local index built with the session's model."""
    root = tmp_path_factory.mktemp("suite")
    corpus = root / "corpus"
    corpus.mkdir()
    shutil.copy2(REPORT, corpus / REPORT.name)
    (corpus / SECOND).write_text(SECOND_TEXT, encoding="utf-8")
    settings = Settings.load(corpus_dir=corpus, index_dir=root / "index")
    build(settings, assistant.embedder)
    return settings


@pytest.fixture(scope="module")
def reference(small: Settings):
    index = load(small)
    yield index
    index.close()


@pytest.fixture(scope="module", params=["local", "milvus", pytest.param("server", marks=pytest.mark.milvus_server)])
def store(request: pytest.FixtureRequest, small: Settings, reference):
    if request.param == "local":
        yield reference
        return
    from assistant.store import milvus

    settings = small.with_(store="milvus")
    if request.param == "server":  # a real Milvus 2.3.5 server (tests/conftest.py): the dense-only store
        server = request.getfixturevalue("milvus_server")
        server.clear()
        settings = settings.with_(store_uri=server.uri)
    opened = milvus.open_store(settings, reference)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def vectors(assistant) -> dict[str, np.ndarray]:
    return {q: assistant.embedder.queries([q])[0] for q in QUESTIONS}


class TestStore:
    def test_protocol(self, store: Store) -> None:
        assert isinstance(store, Store)

    def test_documents_and_passages(self, store: Store, reference) -> None:
        assert sorted(store.documents) == sorted(reference.documents) == sorted([REPORT.name, SECOND])
        assert store.count == reference.count
        for doc in store.documents:
            ids = store.document_passage_ids(doc)
            assert ids == reference.document_passage_ids(doc)
            assert [store.passage(i) for i in ids] == [reference.passage(i) for i in ids]
        assert store.document_passage_ids("没有这个.txt") == []

    def test_neighbours_stay_in_their_document(self, store: Store) -> None:
        for doc in store.documents:
            ids = store.document_passage_ids(doc)
            assert store.neighbours(ids[0])[0] is None and store.neighbours(ids[-1])[1] is None
            for before, after in zip(ids, ids[1:], strict=False):
                assert store.neighbours(before)[1] == after and store.neighbours(after)[0] == before

    def test_dense_scores_are_best_sentence_cosines(self, store: Store, reference, vectors) -> None:
        ids = [p.id for p in reference.passages]
        for vector in vectors.values():
            got = store.dense_scores(ids, vector)
            best = [max(store.sentence_spans(i, vector)[1]) for i in ids]
            np.testing.assert_allclose(got, best, atol=1e-5)
            np.testing.assert_allclose(got, reference.dense_scores(ids, vector), atol=1e-5)

    def test_dense_search_ranks_as_exact_search(self, store: Store, reference, vectors) -> None:
        ids = [p.id for p in reference.passages]
        for vector in vectors.values():
            found = store.dense_search(vector, 10)
            exact = reference.dense_scores(ids, vector)
            top = [ids[j] for j in np.argsort(-exact, kind="stable")[:10]]
            assert [i for i, _ in found] == top
            np.testing.assert_allclose([s for _, s in found], np.sort(exact)[::-1][:10], atol=1e-5)

    def test_sparse_scores_are_bm25s_scores(self, store: Store, reference) -> None:
        ids = [p.id for p in reference.passages]
        for question in QUESTIONS:
            words = analyse(question).words
            terms = weighted_terms((words, 1.0), (("人员", "干部"), retrieve.EXPANSION_WEIGHT))
            want = reference.bm25.get_scores([w for w in words if w in reference.bm25.vocab_dict]) if any(
                w in reference.bm25.vocab_dict for w in words) else np.zeros(len(ids))  # fmt: skip
            np.testing.assert_allclose(store.sparse_scores(ids, weighted_terms((words, 1.0))), want, atol=1e-4)
            got = store.sparse_search(terms, 8)
            exact = reference.sparse_scores(ids, terms)
            assert [i for i, _ in got] == [ids[j] for j in np.argsort(-exact, kind="stable")[:8] if exact[j] > 0]

    def test_sentence_spans_and_statistics(self, store: Store, reference, vectors) -> None:
        vector = vectors[QUESTIONS[0]]
        for p in reference.passages:
            spans, cosines = store.sentence_spans(p.id, vector)
            want_spans, want_cosines = reference.sentence_spans(p.id, vector)
            assert spans == want_spans
            np.testing.assert_allclose(cosines, want_cosines, atol=1e-5)
        assert store.vocabulary == reference.vocabulary
        for word in ("网信", "干部", "没有的词"):
            assert store.rarity(word) == pytest.approx(reference.rarity(word))
        assert store.text == reference.text
        assert store.document_text(SECOND) == reference.document_text(SECOND)

    def test_retrieval_agrees(self, store: Store, reference, vectors) -> None:
        for question in QUESTIONS:
            q = analyse(question)
            prepared = retrieve.prepare(store, q, lambda _t, v=vectors[question]: v)
            for doc in (None, SECOND):
                got = retrieve.search(store, prepared, 5, doc)
                want = retrieve.search(reference, prepared, 5, doc)
                assert [(h.passage.id, h.score) for h in got] == [(h.passage.id, h.score) for h in want]

    def test_retrieval_from_several_threads(self, store: Store, vectors) -> None:
        """The web app answers on several threads from one store: each gets its own question's passages."""
        prepared = {q: retrieve.prepare(store, analyse(q), lambda _t, v=vectors[q]: v) for q in QUESTIONS}
        alone = {q: [h.passage.id for h in retrieve.search(store, p, 5)] for q, p in prepared.items()}
        with ThreadPoolExecutor(4) as pool:
            together = list(pool.map(lambda q: (q, [h.passage.id for h in retrieve.search(store, prepared[q], 5)]),
                                     QUESTIONS * 8))  # fmt: skip
        assert all(ids == alone[q] for q, ids in together)


# Milvus only: what an engine adds (sync by document, clear errors).


def test_milvus_answers_as_local_and_follows_the_corpus(small: Settings, assistant, tmp_path: Path) -> None:
    from assistant.pipeline import Assistant

    corpus = tmp_path / "corpus"
    shutil.copytree(small.corpus_dir, corpus)
    settings = small.with_(corpus_dir=corpus, index_dir=tmp_path / "index", store="milvus")
    on_milvus = Assistant(settings, embedder=assistant.embedder)
    on_local = Assistant(settings.with_(store="local"), embedder=assistant.embedder)
    for question in QUESTIONS:
        a, b = on_milvus.ask(question), on_local.ask(question)
        assert (a.found, a.text, [s.hit.passage.id for s in a.sources]) == (
            b.found, b.text, [s.hit.passage.id for s in b.sources])  # fmt: skip
    assert on_milvus.ask("今年新招录了多少网信干部？").found
    on_milvus.index.close()
    on_local.index.close()
    (corpus / SECOND).unlink()  # removed from the corpus: deleted from Milvus at the next open
    again = Assistant(settings, embedder=assistant.embedder)
    assert again.index.documents == [REPORT.name]
    assert not any(p.doc == SECOND for p in again.index.passages)
    assert again.rebuilt
    again.index.close()


def test_milvus_refuses_another_model(small: Settings, reference, tmp_path: Path) -> None:
    from assistant.store import milvus

    settings = small.with_(store="milvus", store_uri=str(tmp_path / "m" / "milvus.db"))
    milvus.open_store(settings, reference).close()
    other = dataclasses.replace(reference, manifest={**reference.manifest, "model": "other/model"}, lease=None)
    with pytest.raises(milvus.MilvusProblem, match=r"^Milvus at .* made with .*multilingual-e5-small.*not other/model"):
        milvus.open_store(settings, other)


def test_milvus_errors_are_one_line(small: Settings, reference, tmp_path: Path) -> None:
    from assistant.store import milvus

    down = small.with_(store="milvus", store_uri="http://127.0.0.1:9")  # nothing listens on the discard port
    with pytest.raises(milvus.MilvusProblem, match=r"^cannot reach Milvus at http://127.0.0.1:9 \(") as caught:
        milvus.connect(down)
    assert "\n" not in str(caught.value)
    lite = small.with_(store="milvus", store_uri=str(tmp_path / "lite" / "milvus.db"))
    held = milvus.connect(lite)
    try:  # another process while this one holds Milvus Lite's folder
        code = (f"from assistant.store import milvus; from assistant.config import Settings\n"
                f"try:\n  milvus.connect(Settings(store='milvus', store_uri={lite.store_uri!r}))\n"
                f"except milvus.MilvusProblem as e:\n  print(e)")  # fmt: skip
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert "is open in another process" in out.stdout, out.stdout + out.stderr[-500:]
    finally:
        held.close()


def test_milvus_follows_add_remove_and_index_commands(small: Settings, tmp_path: Path) -> None:
    """`assistant --store milvus add/remove/index` change Milvus by document, through the real CLI; a server
    that is down is one line and exit 1."""
    from click.testing import CliRunner

    from assistant.cli import cli
    from assistant.store import milvus

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy2(REPORT, corpus / REPORT.name)
    note = tmp_path / SECOND
    note.write_text(SECOND_TEXT, encoding="utf-8")
    env = {"ASSISTANT_CORPUS_DIR": str(corpus), "ASSISTANT_INDEX_DIR": str(tmp_path / "index"),
           "ASSISTANT_STORE": "milvus"}  # fmt: skip
    settings = Settings.load(env=env)

    def held() -> list[str]:
        client = milvus.connect(settings)
        try:
            return sorted(r["name"] for r in milvus._rows(client, milvus.DOCUMENTS, ["name"]))
        finally:
            client.close()

    run = CliRunner().invoke
    result = run(cli, ["index"], env=env)
    assert result.exit_code == 0 and "milvus: 1 documents added, 0 removed" in result.output, result.output
    assert held() == [REPORT.name]
    again = run(cli, ["index"], env=env)  # kept by Milvus between opens: nothing inserted again
    assert again.exit_code == 0 and "milvus: 0 documents added, 0 removed" in again.output, again.output
    assert run(cli, ["add", str(note)], env=env).exit_code == 0
    assert held() == sorted([REPORT.name, SECOND])
    assert run(cli, ["remove", REPORT.name], env=env).exit_code == 0
    assert held() == [SECOND]
    down = run(cli, ["--store-uri", "http://127.0.0.1:9", "ask", "今年新招录了多少网信干部？"], env=env)
    assert down.exit_code == 1
    assert down.output.strip().splitlines()[-1].startswith("Error: cannot reach Milvus at http://127.0.0.1:9 (")
    assert "Traceback" not in down.output


def test_milvus_lite_held_by_a_web_app_follows_a_document_added_elsewhere(small: Settings, assistant,
                                                                          tmp_path: Path) -> None:  # fmt: skip
    """`assistant add` in another process while this one (as `assistant web`) holds Milvus Lite: the command
    succeeds and leaves Milvus alone; this process syncs when it follows the new build."""
    from assistant.pipeline import Assistant
    from assistant.web.library import Library

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy2(REPORT, corpus / REPORT.name)
    settings = small.with_(corpus_dir=corpus, index_dir=tmp_path / "index", store="milvus")
    web = Library(Assistant(settings, embedder=assistant.embedder), settings)
    assert not web.assistant.ask("今年新招录了多少网信干部？").found
    note = tmp_path / SECOND
    note.write_text(SECOND_TEXT, encoding="utf-8")
    env = {**os.environ, "ASSISTANT_CORPUS_DIR": str(corpus), "ASSISTANT_INDEX_DIR": str(settings.index_dir),
           "ASSISTANT_STORE": "milvus"}  # fmt: skip
    added = subprocess.run([sys.executable, "-m", "assistant", "add", str(note)], env=env, capture_output=True,
                           text=True, timeout=300)  # fmt: skip
    assert added.returncode == 0, added.stdout + added.stderr[-800:]
    followed = web.follow()
    assert followed is not None and SECOND in followed.index.documents
    answer = followed.ask("今年新招录了多少网信干部？")
    assert answer.found and "二十名" in answer.text
