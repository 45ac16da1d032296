"""Building an index: embed what changed, put the shards together, make the new build current.

The layout of what is written is described in assistant/store/local.py; shards in assistant/store/shards.py.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from assistant.config import Settings
from assistant.ingest import KINDS, CorpusError, read_document, scan, title
from assistant.ingest.chunking import chunk_document, split_sentences
from assistant.schema import Passage
from assistant.store import builds, shards
from assistant.store.builds import BuildDamaged, building
from assistant.store.shards import Shard, ShardDamaged, shard_key
from assistant.text import lexicon
from assistant.text import terms as user_terms
from assistant.text.words import words

if TYPE_CHECKING:
    import bm25s
    import faiss

    from assistant.encode.embedder import Embedder

__all__ = [
    "FORMAT_VERSION", "BuildReport", "Progress", "build", "sentence_text", "corpus_fingerprints", "current_manifest",
    "prepare_ivf",
]  # fmt: skip

FORMAT_VERSION = 4  # 4: per-document shards, SHA-256 of every file, the manifest's digest in CURRENT
IVF_PROBES = 32  # lists searched per query by the approximate index
Progress = Callable[[str, int, int], None]  # stage, done, total


@dataclass
class BuildReport:
    documents: int
    passages: int
    seconds: float
    errors: list[str] = field(default_factory=list)  # files that could not be read, one line each
    embedded: int = 0  # documents embedded by this build (the others came from their shards)
    sentences_embedded: int = 0
    tokens_embedded: int = 0  # 0 when the encoder does not count them (torch)
    embedding_seconds: float = 0.0
    repaired: list[str] = field(default_factory=list)  # damaged shards found and embedded again, one line each

    @property
    def per_second(self) -> float:
        return self.passages / self.seconds if self.seconds else 0.0

    @property
    def texts_per_second(self) -> float:
        return self.sentences_embedded / self.embedding_seconds if self.embedding_seconds else 0.0

    @property
    def tokens_per_second(self) -> float:
        return self.tokens_embedded / self.embedding_seconds if self.embedding_seconds else 0.0


# --- building ------------------------------------------------------------------------------------


def sentence_text(passage: Passage, start: int, end: int) -> str:
    """The text embedded for one sentence of a passage: the one place that decides it.

    A change here changes every vector: the source of this module is part of every shard's
    key (assistant/store/shards.py), so the next build embeds again.
    """
    return passage.text[start:end]


@dataclass
class _Document:
    """One corpus file of a build: its fingerprint, and its shard once known."""

    name: str
    fingerprint: dict
    key: str
    shard: Shard | None = None


def build(
    settings: Settings, embedder: Embedder, progress: Progress | None = None, *, locked: bool = False
) -> BuildReport:
    """Index the corpus, embedding only the documents without a shard, and make the result current.

    Takes the index folder's build lock unless the caller holds it (`locked`).
    """
    if not locked:
        wait = (lambda: progress("waiting", 0, 0)) if progress else None
        with building(settings.index_dir, on_wait=wait):
            return build(settings, embedder, progress, locked=True)
    started = time.perf_counter()
    root = settings.index_dir
    previous = current_manifest(root)
    files, skipped = _corpus(settings.corpus_dir, previous.get("corpus", {}).get("files"))
    documents, first = [], {}
    for name, fp in files.items():
        if fp["sha256"] in first:  # the same file under two names would answer twice with one source
            skipped.append(CorpusError(f"{(settings.corpus_dir / name).as_posix()}: the same file as "
                                       f"{first[fp['sha256']]}, read once"))  # fmt: skip
            continue
        first[fp["sha256"]] = name
        key = shard_key(name, fp["sha256"], settings.model, settings.chunk_chars, FORMAT_VERSION)
        documents.append(_Document(name, fp, key))
    terms = user_terms.load(settings.corpus_dir)
    user_terms.use(terms)
    repaired: list[str] = []
    for doc in documents:
        try:
            doc.shard = shards.read(root, doc.key)
        except ShardDamaged as exc:
            repaired.append(str(exc))
        if doc.shard is not None:
            doc.shard = _with_terms(root, doc.key, doc.shard, terms)
    todo = [d for d in documents if d.shard is None]
    errors, timing = _embed(settings, embedder, todo, progress)
    errors = skipped + errors
    readable = [d for d in documents if d.shard is not None]
    if not readable:
        reasons = f" ({errors[0]})" if errors else ""
        raise CorpusError(f"{settings.corpus_dir}: no readable {KINDS} files{reasons}")
    if progress:
        progress("documents", len(readable), len(readable))
    embedded = [d for d in todo if d.shard is not None]
    stats = {"documents": len(embedded), "sentences": sum(len(d.shard.sentences) for d in embedded), **timing}
    folder = _write_build(settings, embedder, readable, files, previous, len(errors), started, stats)
    builds.remove_old(root, keep=folder.name)
    shards.remove_unused(root, {d.key for d in readable})
    return BuildReport(
        len(readable), sum(len(d.shard.passages) for d in readable), time.perf_counter() - started,
        [str(e) for e in errors], embedded=len(embedded), sentences_embedded=stats["sentences"],
        tokens_embedded=stats["tokens"], embedding_seconds=stats["seconds"], repaired=repaired,
    )  # fmt: skip


def _with_terms(root: Path, key: str, shard: Shard, terms: tuple[str, ...]) -> Shard:
    """The shard with its BM25 words cut by the current terms: unchanged when the terms it contains are the
    ones it was cut with; else its passages are cut into words again (vectors kept: the encoder does not use
    jieba) and the shard is written back, so only the documents a changed term touches are redone."""
    contained = user_terms.present(terms, (p.indexed_text() for p in shard.passages))
    if shard.info.get("terms", []) == contained:
        return shard
    tokens = [words(p.indexed_text()) for p in shard.passages]
    fresh = replace(shard, tokens=tokens, info={**shard.info, "terms": contained})
    shards.write(root, key, fresh)
    return fresh


def _embed(
    settings: Settings, embedder: Embedder, todo: list[_Document], progress: Progress | None
) -> tuple[list[CorpusError], dict]:
    """Read, chunk and embed the documents of `todo`, all sentences in one run of the encoder, and store
    a shard for each. Returns the errors of the files that could not be read, and the encoder's figures."""
    errors: list[CorpusError] = []
    prepared = []
    for doc in todo:
        try:
            # a scan's pages are read by OCR, seconds each: they show as a stage of their own, page by page
            pages = (lambda d, t, name=doc.name: progress(f"ocr {name}", d, t)) if progress else None
            document = read_document(settings.corpus_dir / doc.name, settings.corpus_dir, settings.max_file_mb, pages)
        except CorpusError as exc:  # one bad file must not stop the others
            errors.append(exc)
            continue
        passages = chunk_document(document, settings.chunk_chars)
        rows = np.array(
            [(n, a, b) for n, p in enumerate(passages) for a, b in split_sentences(p.text)], dtype=np.int32
        ).reshape(-1, 3)
        prepared.append((doc, document, passages, rows))
    if not prepared:
        return errors, {"tokens": 0, "seconds": 0.0, "cpu_seconds": 0.0}
    texts = [sentence_text(passages[n], a, b) for _, _, passages, rows in prepared for n, a, b in rows]
    # BM25's words come from jieba, in pure Python: a second thread tokenises while the encoder,
    # which releases the interpreter, embeds.
    with ThreadPoolExecutor(1) as pool:
        tokens = pool.submit(lambda: [[words(p.indexed_text()) for p in passages] for _, _, passages, _ in prepared])
        report = (lambda d, t: progress("embedding", d, t)) if progress else None
        getattr(embedder, "dim", None)  # loads the model first: its loading is not encoding time
        counted = getattr(embedder, "tokens_encoded", 0)
        clock, cpu = time.perf_counter(), time.process_time()
        vectors = embedder.passages(texts, progress=report)
        # CPU seconds of the whole process (both encoder threads and the tokenising one): on a shared
        # machine texts per CPU-second compare with the raw encoder's where wall time does not.
        timing = {"tokens": getattr(embedder, "tokens_encoded", 0) - counted,
                  "seconds": round(time.perf_counter() - clock, 3),
                  "cpu_seconds": round(time.process_time() - cpu, 3)}  # fmt: skip
        tokens = tokens.result()
    start = 0
    for (doc, document, passages, rows), doc_tokens in zip(prepared, tokens, strict=True):
        info = {"title": title(document), "format": getattr(document, "format", None) or _format(doc.name),
                "pages": getattr(document, "pages", None), "characters": len(document.text),
                "terms": user_terms.present(user_terms.current(), (p.indexed_text() for p in passages))}  # fmt: skip
        doc.shard = Shard(passages, rows, vectors[start : start + len(rows)], doc_tokens, info)
        shards.write(settings.index_dir, doc.key, doc.shard)
        start += len(rows)
    return errors, timing


def _write_build(
    settings: Settings, embedder: Embedder, docs: list[_Document], files: dict, previous: dict, unreadable: int,
    started: float, embedding: dict,
) -> Path:  # fmt: skip
    """Put the shards together into a new build folder and make it current."""
    passages, rows, vectors, tokens = [], [], [], []
    for doc in docs:
        shard = doc.shard
        local = shard.sentences.copy()
        local[:, 0] += len(passages)
        rows.append(local)
        passages += shard.passages
        vectors.append(shard.vectors)
        tokens += shard.tokens
    sentences = np.concatenate(rows).astype(np.int32).reshape(-1, 3)
    dense = _dense_index(np.concatenate(vectors).astype(np.float32), settings.approx_threshold)
    bm25 = _sparse_index(tokens)
    glossary = lexicon.gloss_index(bm25.vocab_dict)
    known = previous.get("documents", {})
    now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    tmp = builds.new_folder(settings.index_dir)
    try:
        _write_passages(tmp / "passages.jsonl", passages)
        np.save(tmp / "sentences.npy", sentences, allow_pickle=False)
        _write_json(tmp / "glossary.json", glossary)
        import faiss

        faiss.write_index(dense, str(tmp / "dense.faiss"))
        bm25.save(str(tmp / "bm25"), show_progress=False)
        manifest = {
            "format_version": FORMAT_VERSION,
            "model": embedder.name,
            "dimension": int(dense.d),
            "chunking": {"max_chars": settings.chunk_chars},
            "dense_index": "ivf-flat" if len(sentences) > settings.approx_threshold else "flat",
            "corpus": {"folder": str(settings.corpus_dir), "files": files},
            "terms": list(user_terms.current()),  # the user's terms the words were cut with (assistant/text/terms.py)
            "documents": {
                d.name: {
                    **d.shard.info,
                    "passages": len(d.shard.passages),
                    "sentences": len(d.shard.sentences),
                    "added": known.get(d.name, {}).get("added", now),
                    "shard": d.key,
                }
                for d in docs
            },  # fmt: skip
            "counts": {
                "documents": len(docs),
                "passages": len(passages),
                "sentences": len(sentences),
                "unreadable": unreadable,
            },  # fmt: skip
            "embedded": embedding,
            "built": now,
            "build_seconds": round(time.perf_counter() - started, 3),
        }
        return builds.finish(tmp, manifest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


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
    prepare_ivf(index)
    return index


def prepare_ivf(index: faiss.Index) -> None:
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


def current_manifest(root: Path) -> dict:
    """The current build's manifest, to reuse its file hashes and dates (empty when there is none)."""
    try:
        folder, _ = builds.current(root)
        return json.loads((folder / builds.MANIFEST).read_text(encoding="utf-8"))
    except (BuildDamaged, OSError, ValueError):
        return {}


def corpus_fingerprints(corpus_dir: Path, known: dict | None = None) -> dict[str, dict]:
    """Content hash of every corpus file; size and mtime let unchanged files skip re-hashing."""
    return _corpus(corpus_dir, known)[0]


def _corpus(corpus_dir: Path, known: dict | None = None) -> tuple[dict[str, dict], list[CorpusError]]:
    """Fingerprints of the corpus files, and the files passed over (unsupported, outside links)."""
    if not corpus_dir.exists():
        raise CorpusError(f"{corpus_dir.as_posix()}/: no such folder")
    if not corpus_dir.is_dir():
        raise CorpusError(f"{corpus_dir.as_posix()}: not a folder")
    known = known or {}
    paths, skipped = scan(corpus_dir)
    result = {}
    for path in paths:
        name = path.relative_to(corpus_dir).as_posix()
        stat = path.stat()
        old = known.get(name)
        if old and old.get("size") == stat.st_size and old.get("mtime_ns") == stat.st_mtime_ns:
            result[name] = old
        else:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            result[name] = {"sha256": digest, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    return result, skipped


def _format(name: str) -> str:
    return Path(name).suffix.lower().lstrip(".") or "txt"


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
