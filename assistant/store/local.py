"""The index on disk: passages, a dense FAISS index and a sparse BM25 index.

Layout of the index folder::

    index/CURRENT               the build in use and its manifest's SHA-256 (replaced atomically)
    index/build-<stamp>/manifest.json    versions, model, chunking, corpus hashes, documents, counts,
                                         size and SHA-256 of every other file
                        passages.jsonl   the passages, in document order
                        sentences.npy    (passage, start, end) of every sentence of every passage
                        dense.faiss      e5 vectors of those sentences (inner product on normalised vectors)
                        bm25/            BM25 over the jieba words of each passage and its section path
                        glossary.json    dictionary glosses → corpus words (assistant/text/lexicon.py)
    index/shards/<key>.npz      one document's passages, sentences, vectors and words (assistant/store/shards.py)

Dense vectors are per sentence and a passage scores as its best sentence: a fact
sits in one sentence, and a whole passage's vector blurs it (README, "Retrieval").

A build embeds only the documents that have no shard yet (added or changed files),
puts all shards together into a new `build-*` folder and makes it current by an
atomic rename of CURRENT; a build killed at any moment leaves the previous index in
use. Builds of one folder take turns (a file lock). Loading checks the pointer, the
manifest and every file's SHA-256 and reports what is wrong in one line, so the
caller can rebuild; a loaded build is leased, so clean-up never removes it under a
running process (assistant/store/builds.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np

from assistant.config import Settings
from assistant.schema import LineBox, Passage
from assistant.store import builds
from assistant.store.base import Catalogue, Terms
from assistant.store.build import (
    FORMAT_VERSION,
    BuildReport,
    Progress,
    build,
    corpus_fingerprints,
    prepare_ivf,
    sentence_text,
)
from assistant.store.builds import BuildDamaged, building
from assistant.text import terms as user_terms

if TYPE_CHECKING:
    import bm25s
    import faiss

    from assistant.encode.embedder import Embedder

__all__ = [
    "FORMAT_VERSION", "Index", "IndexProblem", "BuildReport", "Progress", "build", "load", "check", "ensure",
    "sentence_text",
]  # fmt: skip


class IndexProblem(Exception):
    """The index is missing, stale or broken; the message says which, in one line."""


@dataclass
class Index(Catalogue):
    folder: Path
    manifest: dict
    passages: list[Passage]
    sentences: np.ndarray  # int32 rows (passage number, start, end), in passage order; row i is vector i
    # `dense` is flat or IVF-Flat: both keep the full vectors (IVF through its id map), so sentence
    # similarities read back from it are exact.
    dense: faiss.Index
    bm25: bm25s.BM25
    glossary: dict[str, list[str]]
    lease: IO[bytes] | None = field(default=None, repr=False, compare=False)  # see builds.lease
    _last_bm25: tuple = field(default=((), None), init=False, repr=False, compare=False)

    def close(self) -> None:
        """Release the build for clean-up (also done when the Index is garbage-collected)."""
        if self.lease is not None:
            self.lease.close()

    # The Store protocol (assistant/store/base.py); the in-process part comes from Catalogue.

    def sentence_vectors(self, rows: range) -> np.ndarray:
        return self.dense.reconstruct_n(rows.start, len(rows))

    def best_sentence_scores(self, passage_nos: list[int], vector: np.ndarray) -> np.ndarray:
        """For each passage, the cosine similarity of its best sentence to `vector` (one batched lookup)."""
        numbers = np.asarray(passage_nos, dtype=np.int64)
        starts, ends = self._first_rows[numbers], self._first_rows[numbers + 1]
        rows = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends, strict=True)] + [np.zeros(0, np.int64)])
        best = np.full(len(numbers), -1.0, np.float32)
        if len(rows):
            sims = self.dense.reconstruct_batch(rows.astype(np.int64)) @ vector
            np.maximum.at(best, np.repeat(np.arange(len(numbers)), ends - starts), sims)
        return best

    def dense_scores(self, ids: Sequence[str], vector: np.ndarray) -> np.ndarray:
        return self.best_sentence_scores([self._numbers[i] for i in ids], vector)

    def dense_search(self, vector: np.ndarray, depth: int) -> list[tuple[str, float]]:
        """Passages of the best-matching sentences, best first (a passage scores as its best sentence)."""
        k = min(self.dense.ntotal, depth * 4)
        if k == 0:
            return []
        sims, rows = self.dense.search(np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32), k)
        owners = self.sentences[:, 0]
        best: dict[str, float] = {}
        for sim, row in zip(sims[0], rows[0], strict=True):
            if row >= 0:
                best.setdefault(self.passages[owners[row]].id, float(sim))
        return list(best.items())[:depth]

    def _bm25_all(self, terms: Terms) -> np.ndarray:
        """BM25 of every passage (bm25s scores the whole corpus at once; the last query is kept, as a search
        and the scores of its candidates ask for the same one)."""
        key = tuple(sorted(terms.items()))
        last = self._last_bm25  # one read: answers on other threads may replace it meanwhile
        if last[0] == key:
            return last[1]
        scores = np.zeros(len(self.passages), np.float32)
        by_weight: dict[float, list[str]] = {}
        for term, weight in terms.items():
            if term in self.bm25.vocab_dict:
                by_weight.setdefault(weight, []).append(term)
        for weight, known in by_weight.items():
            scores += np.float32(weight) * self.bm25.get_scores(known).astype(np.float32)
        self._last_bm25 = (key, scores)
        return scores

    def sparse_search(self, terms: Terms, depth: int) -> list[tuple[str, float]]:
        scores = self._bm25_all(terms)
        order = np.argsort(-scores, kind="stable")[:depth]
        return [(self.passages[i].id, float(scores[i])) for i in order if scores[i] > 0]

    def sparse_scores(self, ids: Sequence[str], terms: Terms) -> np.ndarray:
        scores = self._bm25_all(terms)
        return scores[[self._numbers[i] for i in ids]] if len(ids) else np.zeros(0, np.float32)

    @cached_property
    def _document_frequency(self) -> dict[str, int]:
        # BM25's sparse matrix is stored by word: its column lengths are document frequencies.
        indptr = np.asarray(self.bm25.scores["indptr"])
        counts = np.diff(indptr)
        return {w: int(counts[i]) for w, i in self.bm25.vocab_dict.items() if i < len(counts)}


# --- loading and checking ------------------------------------------------------------------------


def current_folder(root: Path) -> Path:
    try:
        return builds.current(root)[0]
    except BuildDamaged as exc:
        raise IndexProblem(str(exc)) from None


def load(settings: Settings) -> Index:
    """Load the current index, checking the pointer, the manifest and every file's SHA-256 (IndexProblem if
    not sound). The build stays leased while the Index lives: clean-up never removes it under a reader."""
    root = settings.index_dir
    for _ in range(10):  # a build that was current when CURRENT was read may be removed before it is leased
        try:
            folder, digest = builds.current(root)
        except BuildDamaged as exc:
            raise IndexProblem(str(exc)) from None
        lease = builds.lease(folder)
        if lease is not None:
            break
    else:
        raise IndexProblem(f"{root}/{builds.CURRENT} keeps pointing to removed builds")
    try:
        return _load(folder, digest, lease)
    except BaseException:
        lease.close()
        raise


def _load(folder: Path, digest: str, lease: IO[bytes]) -> Index:
    try:
        manifest = builds.verify(folder, digest)
        passages = [_passage(json.loads(line)) for line in (folder / "passages.jsonl").open(encoding="utf-8")]
        sentences = np.load(folder / "sentences.npy", allow_pickle=False)
        glossary = json.loads((folder / "glossary.json").read_text(encoding="utf-8"))
        import bm25s
        import faiss

        dense = faiss.read_index(str(folder / "dense.faiss"))
        prepare_ivf(dense)
        bm25 = bm25s.BM25.load(str(folder / "bm25"), show_progress=False)
    except BuildDamaged as exc:
        raise IndexProblem(str(exc)) from None
    except Exception as exc:  # any unreadable file: one line, and the caller rebuilds
        raise IndexProblem(f"index in {folder} is unreadable ({type(exc).__name__}: {str(exc)[:120]})") from exc
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexProblem(f"index format {manifest.get('format_version')} is not the current {FORMAT_VERSION}")
    if dense.ntotal != len(sentences):
        raise IndexProblem(f"index holds {dense.ntotal} vectors for {len(sentences)} sentences")
    user_terms.use(manifest.get("terms", []))  # questions are cut into words as the index's passages were
    return Index(folder, manifest, passages, sentences, dense, bm25, glossary, lease)


def check(settings: Settings, index: Index) -> str | None:
    """Why `index` no longer matches the corpus and settings, or None when it does."""
    m = index.manifest
    if m.get("model") != settings.model:
        return f"the model changed ({m.get('model')} → {settings.model})"
    if m.get("chunking", {}).get("max_chars") != settings.chunk_chars:
        return f"the chunk size changed ({m.get('chunking', {}).get('max_chars')} → {settings.chunk_chars})"
    wanted = list(user_terms.load(settings.corpus_dir))
    if m.get("terms", []) != wanted:
        return "the corpus folder's terms changed (.assistant.toml terms, terms.txt)"
    old = m.get("corpus", {}).get("files", {})
    new = corpus_fingerprints(settings.corpus_dir, old)
    if {k: v["sha256"] for k, v in old.items()} != {k: v["sha256"] for k, v in new.items()}:
        added, removed = sorted(new.keys() - old.keys()), sorted(old.keys() - new.keys())
        changed = sorted(k for k in new.keys() & old.keys() if new[k]["sha256"] != old[k]["sha256"])
        for verb, names in (("added", added), ("changed", changed), ("removed", removed)):
            if names:
                more = f" and {len(names) - 1} more" if len(names) > 1 else ""
                return f"corpus file {names[0]} was {verb}{more}"
    return None


def ensure(settings: Settings, embedder: Embedder, progress: Progress | None = None) -> tuple[Index, str | None]:
    """The current index, rebuilt first when missing, stale or broken (unless settings say refuse).

    Returns the index and the reason it was rebuilt (None if it was not). A rebuild embeds only the
    documents that changed; another process already rebuilding is waited for, not repeated.
    """
    reason = _fresh(settings)
    if isinstance(reason, Index):
        return reason, None
    if settings.on_stale == "refuse":
        raise IndexProblem(f"index is out of date: {reason}; run `assistant index`")
    wait = (lambda: progress("waiting", 0, 0)) if progress else None
    with building(settings.index_dir, on_wait=wait):
        again = _fresh(settings)  # built by another process while we waited for the lock
        if isinstance(again, Index):
            return again, None
        build(settings, embedder, progress, locked=True)
    return load(settings), reason


def _fresh(settings: Settings) -> Index | str:
    """The current index if it is sound and up to date, else the reason it is not."""
    try:
        index = load(settings)
    except IndexProblem as problem:
        return str(problem)
    reason = check(settings, index)
    if reason is None:
        return index
    index.close()
    return reason


def _passage(d: dict) -> Passage:
    return Passage(**{**d, "section": tuple(d["section"]), "pages": tuple(d.get("pages", ())),
                       "boxes": tuple(LineBox(**b) for b in d.get("boxes", ()))})  # fmt: skip
