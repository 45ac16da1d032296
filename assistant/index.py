"""The index on disk: passages, a dense FAISS index and a sparse BM25 index.

Layout of the index folder::

    index/CURRENT               name of the build in use (replaced atomically)
    index/build-<stamp>/manifest.json    versions, model, chunking, corpus hashes, counts, file sizes
                        passages.jsonl   the passages, in document order
                        sentences.npy    (passage, start, end) of every sentence of every passage
                        dense.faiss      e5 vectors of those sentences (inner product on normalised vectors)
                        bm25/            BM25 over the jieba words of each passage and its section path
                        glossary.json    dictionary glosses → corpus words (assistant/lexicon.py)

Dense vectors are per sentence and a passage scores as its best sentence: a fact
sits in one sentence, and a whole passage's vector blurs it (README, "Retrieval").

A build is written into a new `build-*` folder and becomes current only when
complete, by an atomic rename of CURRENT; a build killed at any moment leaves the
previous index in use. Loading checks every file against the manifest and reports
what is wrong in one line, so the caller can rebuild.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from assistant import lexicon
from assistant.chunking import chunk_corpus, split_sentences
from assistant.config import Settings
from assistant.ingest import KINDS, CorpusError, corpus_files, read_corpus
from assistant.schema import Passage
from assistant.words import normalize, words

if TYPE_CHECKING:
    import bm25s
    import faiss

    from assistant.embedder import Embedder

__all__ = ["FORMAT_VERSION", "Index", "IndexProblem", "BuildReport", "build", "load", "check", "ensure"]

FORMAT_VERSION = 3  # 3: the document title heads every section path
IVF_PROBES = 32  # lists searched per query by the approximate index
_CURRENT = "CURRENT"
Progress = Callable[[str, int, int], None]  # stage, done, total


class IndexProblem(Exception):
    """The index is missing, stale or broken; the message says which, in one line."""


@dataclass
class Index:
    folder: Path
    manifest: dict
    passages: list[Passage]
    sentences: np.ndarray  # int32 rows (passage number, start, end), in passage order; row i is vector i
    # `dense` is flat or IVF-Flat: both keep the full vectors (IVF through its id map), so sentence
    # similarities read back from it are exact.
    dense: faiss.Index
    bm25: bm25s.BM25
    glossary: dict[str, list[str]]

    @cached_property
    def vocabulary(self) -> set[str]:
        return set(self.bm25.vocab_dict)

    @cached_property
    def _first_rows(self) -> np.ndarray:
        # Sentences are stored in passage order: passage i owns rows _first_rows[i] to _first_rows[i + 1].
        return np.searchsorted(self.sentences[:, 0], np.arange(len(self.passages) + 1))

    def sentence_rows(self, passage_no: int) -> range:
        """The rows of `sentences` (and vector ids) that belong to one passage."""
        return range(int(self._first_rows[passage_no]), int(self._first_rows[passage_no + 1]))

    def sentence_cosines(self, passage_no: int, vector: np.ndarray) -> tuple[range, np.ndarray]:
        """The rows of one passage's sentences, and each one's cosine similarity to `vector`."""
        rows = self.sentence_rows(passage_no)
        return rows, self.dense.reconstruct_n(rows.start, len(rows)) @ vector

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

    # What answering asks of the corpus as a whole (derived once, on first use).

    @cached_property
    def _numbers(self) -> dict[str, int]:
        return {p.id: n for n, p in enumerate(self.passages)}

    def passage_number(self, passage_id: str) -> int:
        return self._numbers[passage_id]

    @cached_property
    def _document_frequency(self) -> dict[str, int]:
        # BM25's sparse matrix is stored by word: its column lengths are document frequencies.
        indptr = np.asarray(self.bm25.scores["indptr"])
        counts = np.diff(indptr)
        return {w: int(counts[i]) for w, i in self.bm25.vocab_dict.items() if i < len(counts)}

    def rarity(self, word: str) -> float:
        """Inverse document frequency of a word among passages (unknown words are the rarest)."""
        return math.log(1 + len(self.passages) / (self._document_frequency.get(word, 0) + 0.5))

    @cached_property
    def _documents(self) -> dict[str, str]:
        texts: dict[str, list[str]] = {}
        for p in self.passages:
            texts.setdefault(p.doc, []).append(normalize(p.indexed_text()))
        return {doc: "\n".join(parts) for doc, parts in texts.items()}

    def document_text(self, doc: str) -> str:
        """A document's passages with their section paths, normalised (`words.normalize`)."""
        return self._documents.get(doc, "")

    @cached_property
    def text(self) -> str:
        """The whole corpus, normalised: to tell whether a name occurs anywhere at all."""
        return "\n".join(self._documents.values())


@dataclass
class BuildReport:
    documents: int
    passages: int
    seconds: float
    errors: list[str] = field(default_factory=list)  # files that could not be read, one line each

    @property
    def per_second(self) -> float:
        return self.passages / self.seconds if self.seconds else 0.0


# --- building ------------------------------------------------------------------------------------


def build(settings: Settings, embedder: Embedder, progress: Progress | None = None) -> BuildReport:
    """Read the corpus, chunk, embed, and write a new index that replaces the current one."""
    started = time.perf_counter()
    documents, errors = read_corpus(settings.corpus_dir)
    if not documents:
        reasons = f" ({errors[0]})" if errors else ""
        raise CorpusError(f"{settings.corpus_dir}: no readable {KINDS} files{reasons}")
    if progress:
        progress("documents", len(documents), len(documents))
    passages = chunk_corpus(documents, settings.chunk_chars)
    if progress:
        progress("passages", len(passages), len(passages))

    sentences = np.array(
        [(n, a, b) for n, p in enumerate(passages) for a, b in split_sentences(p.text)], dtype=np.int32
    ).reshape(-1, 3)
    texts = [passages[n].text[a:b] for n, a, b in sentences]
    vectors = embedder.passages(texts, progress=(lambda d, t: progress("embedding", d, t)) if progress else None)
    dense = _dense_index(vectors, settings.approx_threshold)
    bm25 = _sparse_index([words(p.indexed_text()) for p in passages])
    glossary = lexicon.gloss_index(bm25.vocab_dict)

    root = settings.index_dir
    root.mkdir(parents=True, exist_ok=True)
    # A name no other build (this process or another, this second or not) can have.
    folder = root / f"build-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp = folder.with_name(folder.name + ".tmp")
    try:
        tmp.mkdir()
        _write_passages(tmp / "passages.jsonl", passages)
        np.save(tmp / "sentences.npy", sentences, allow_pickle=False)
        _write_json(tmp / "glossary.json", glossary)
        import faiss

        faiss.write_index(dense, str(tmp / "dense.faiss"))
        bm25.save(str(tmp / "bm25"), show_progress=False)
        manifest = {
            "format_version": FORMAT_VERSION,
            "model": embedder.name,
            "dimension": int(vectors.shape[1]),
            "chunking": {"max_chars": settings.chunk_chars},
            "dense_index": "ivf-flat" if len(vectors) > settings.approx_threshold else "flat",
            "corpus": {"folder": str(settings.corpus_dir), "files": _fingerprints(settings.corpus_dir)},
            "counts": {
                "documents": len(documents),
                "passages": len(passages),
                "sentences": len(sentences),
                "unreadable": len(errors),
            },  # fmt: skip
            "built": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "build_seconds": round(time.perf_counter() - started, 3),
        }
        manifest["files"] = {
            p.relative_to(tmp).as_posix(): p.stat().st_size for p in sorted(tmp.rglob("*")) if p.is_file()
        }
        _write_json(tmp / "manifest.json", manifest)
        os.replace(tmp, folder)
        _write_atomic(root / _CURRENT, folder.name + "\n")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
        raise
    _remove_old_builds(root, keep=folder.name)
    return BuildReport(len(documents), len(passages), time.perf_counter() - started, [str(e) for e in errors])


def _dense_index(vectors: np.ndarray, approx_threshold: int) -> faiss.Index:
    """Exact inner-product search; past `approx_threshold` vectors, an inverted-file index (IVF-Flat).

    IVF rather than HNSW: on corpora of near-duplicate sentences (reports restate each other)
    HNSW's graph stays inside clusters of look-alikes and recall@10 fell to 0.36 at 130k vectors,
    while IVF probing 32 lists kept 0.998 (benchmarks/results/README.md).
    """
    import faiss

    n, dim = vectors.shape
    if n <= approx_threshold:
        index = faiss.IndexFlatIP(dim)
        index.add(vectors)
        return index
    lists = max(1, min(int(4 * n**0.5), n // 39))  # faiss wants ≥ 39 training points a list
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, lists, faiss.METRIC_INNER_PRODUCT)
    index.train(vectors)
    index.add(vectors)
    _prepare_ivf(index)
    return index


def _prepare_ivf(index: faiss.Index) -> None:
    """Search settings and the id → vector map (for exact sentence scores) of an IVF index."""
    import faiss

    if isinstance(index, faiss.IndexIVF):
        index.nprobe = min(IVF_PROBES, index.nlist)
        index.make_direct_map()


def _sparse_index(tokens: list[list[str]]) -> bm25s.BM25:
    import bm25s

    bm25 = bm25s.BM25()
    bm25.index(tokens, show_progress=False)
    return bm25


def _write_passages(path: Path, passages: list[Passage]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for p in passages:
            f.write(json.dumps(asdict(p), ensure_ascii=False) + "\n")


# --- loading and checking ------------------------------------------------------------------------


def current_folder(root: Path) -> Path:
    try:
        name = (root / _CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise IndexProblem(f"no index in {root}/ yet") from None
    folder = root / name
    if not name or "/" in name or not folder.is_dir():
        raise IndexProblem(f"{root}/{_CURRENT} points to a missing build {name!r}")
    return folder


def load(settings: Settings) -> Index:
    """Load the current index, checking each file against the manifest (IndexProblem if not sound)."""
    folder = current_folder(settings.index_dir)
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        for name, size in manifest["files"].items():
            actual = (folder / name).stat().st_size if (folder / name).is_file() else None
            if actual != size:
                what = "missing" if actual is None else f"{actual} bytes, expected {size}"
                raise IndexProblem(f"index file {folder.name}/{name} is damaged ({what})")
        passages = [_passage(json.loads(line)) for line in (folder / "passages.jsonl").open(encoding="utf-8")]
        sentences = np.load(folder / "sentences.npy", allow_pickle=False)
        glossary = json.loads((folder / "glossary.json").read_text(encoding="utf-8"))
        import bm25s
        import faiss

        dense = faiss.read_index(str(folder / "dense.faiss"))
        _prepare_ivf(dense)
        bm25 = bm25s.BM25.load(str(folder / "bm25"), show_progress=False)
    except IndexProblem:
        raise
    except Exception as exc:  # any unreadable file: one line, and the caller rebuilds
        raise IndexProblem(f"index in {folder} is unreadable ({type(exc).__name__}: {str(exc)[:120]})") from exc
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexProblem(f"index format {manifest.get('format_version')} is not the current {FORMAT_VERSION}")
    if dense.ntotal != len(sentences):
        raise IndexProblem(f"index holds {dense.ntotal} vectors for {len(sentences)} sentences")
    return Index(folder, manifest, passages, sentences, dense, bm25, glossary)


def check(settings: Settings, index: Index) -> str | None:
    """Why `index` no longer matches the corpus and settings, or None when it does."""
    m = index.manifest
    if m.get("model") != settings.model:
        return f"the model changed ({m.get('model')} → {settings.model})"
    if m.get("chunking", {}).get("max_chars") != settings.chunk_chars:
        return f"the chunk size changed ({m.get('chunking', {}).get('max_chars')} → {settings.chunk_chars})"
    old = m.get("corpus", {}).get("files", {})
    new = _fingerprints(settings.corpus_dir, old)
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

    Returns the index and the reason it was rebuilt (None if it was not).
    """
    try:
        index = load(settings)
        reason = check(settings, index)
        if reason is None:
            return index, None
    except IndexProblem as problem:
        reason = str(problem)
    if settings.on_stale == "refuse":
        raise IndexProblem(f"index is out of date: {reason}; run `assistant index`")
    build(settings, embedder, progress)
    return load(settings), reason


def _fingerprints(corpus_dir: Path, known: dict | None = None) -> dict[str, dict]:
    """Content hash of every corpus file; size and mtime let unchanged files skip re-hashing."""
    known = known or {}
    result = {}
    if not corpus_dir.is_dir():
        raise CorpusError(f"{corpus_dir}/: no such folder")
    for path in corpus_files(corpus_dir):
        name = path.relative_to(corpus_dir).as_posix()
        stat = path.stat()
        old = known.get(name)
        if old and old.get("size") == stat.st_size and old.get("mtime_ns") == stat.st_mtime_ns:
            result[name] = old
        else:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            result[name] = {"sha256": digest, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    return result


def _passage(d: dict) -> Passage:
    return Passage(**{**d, "section": tuple(d["section"])})


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _remove_old_builds(root: Path, keep: str, stale_after: float = 3600.0) -> None:
    """Remove finished builds that are no longer current, and unfinished ones left by a killed build.

    An unfinished build younger than `stale_after` seconds may belong to a build running now.
    """
    now = time.time()
    for old in root.glob("build-*"):
        if old.name == keep or not old.is_dir():
            continue
        if old.name.endswith(".tmp") and now - old.stat().st_mtime < stale_after:
            continue
        shutil.rmtree(old, ignore_errors=True)
