"""The `milvus` store: passages, sentence vectors and BM25 in Milvus, through pymilvus's `MilvusClient`.

`store_uri` names the engine: a file path (`index/milvus.db`) opens Milvus Lite, embedded, one
process at a time; `http(s)://host:19530` (with `store_token`) a Milvus server or cluster, which
must be 2.5 or newer (sparse vectors and the BM25 function) for the full store; a 2.3 or 2.4
server holds the dense-only store: the same collections without the sparse field, BM25 computed
in each process over the words it loaded at open (a degraded mode, said once by `assistant
index`/`status`). See docs/stores.md.

Three collections (prefix `assistant_`):
  passages   id, doc, order, section, text, offsets, sentence spans, and `words`: our own jieba
             words, each spelt as an ASCII token (`x` + UTF-8 hex) so Milvus's `standard` analyzer
             keeps them whole; Milvus's BM25 function turns them into a sparse vector. Milvus
             Lite's BM25 equals bm25s's ×(k1 + 1) on these words (measured), where its own jieba
             analyzer splits words differently (百分之五 → 百分之 + 五) and so ranks differently.
  sentences  one e5 vector per sentence (COSINE) and its passage id: a passage scores as its best sentence.
  documents  name, shard key (file SHA-256 + model + chunking + code) and listing facts; one row
             records the model, the dimension and the format (Lite forgets collection descriptions),
             another the generation: a new token each time a sync changes the documents, which every
             process compares with the one it loaded before each question (`MilvusStore.current`).

Filling: the local build embeds each new or changed document once into its shard
(assistant/store/shards.py); `sync` then deletes from Milvus the documents whose shard changed or
that were removed, and inserts the new shards, document by document.

Scores: Milvus proposes candidates (its top lists); the scores that fusion reads are computed
for given ids the way the local store does (cosine of the stored sentence vectors, BM25 over
the corpus statistics held in process), because Milvus Lite computes BM25 statistics per
segment and over the filtered rows only (a filter by id changes the scores), and returns them negated.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.config import Settings
from assistant.schema import Passage
from assistant.store import shards
from assistant.store.base import Catalogue, Terms
from assistant.store.build import FORMAT_VERSION
from assistant.store.milvus_connect import MilvusBusy, MilvusProblem, Mode, connect, mode

if TYPE_CHECKING:
    from assistant.store.local import Index

__all__ = ["MilvusStore", "MilvusProblem", "MilvusBusy", "open_store", "update", "sync", "connect", "describe"]

log = logging.getLogger(__name__)


class _NoMvccWarning(logging.Filter):
    """pymilvus's query iterator asks for an MVCC timestamp that servers before 2.5 lack, falls back to its own
    clock, and warns at every iterator: three lines each time a process reads the documents. Dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "mvccTs" not in record.getMessage()


logging.getLogger("pymilvus.client.iterator.query_iterator").addFilter(_NoMvccWarning())

PREFIX = "assistant_"
PASSAGES, SENTENCES, DOCUMENTS = (PREFIX + name for name in ("passages", "sentences", "documents"))
K1, B = 1.5, 0.75  # bm25s's defaults: the same BM25 on both stores
_BATCH = 1000
_CACHE = 4096  # passages whose sentence vectors are kept in process
_TEXT = 65535  # bytes: VARCHAR lengths count UTF-8 bytes
_NAME = 4096  # a document name with its folders, in bytes (a Chinese character is 3)
META = "::store::"  # the row of the documents collection that records model, dimension and format
GENERATION = "::generation::"  # the row whose token changes with every sync that changes the documents
_NOT_DOCUMENTS = f"[{json.dumps(META)}, {json.dumps(GENERATION)}]"


def _encode(word: str) -> str:
    return "x" + word.encode("utf-8").hex()


def _decode(token: str) -> str:
    return bytes.fromhex(token[1:]).decode("utf-8")


def _literal(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a Milvus string literal (quotes and backslashes escaped)


_IN_PROCESS = "in process"  # meta["bm25"] of a dense-only store


def _meta(model: str, dimension: int, kind: Mode = "full") -> dict:
    meta = {"model": model, "dimension": dimension, "format": FORMAT_VERSION, "shards": shards.VERSION}
    if kind == "dense-only":  # recorded, so that a server upgraded to 2.5 says to rebuild rather than fail on search
        meta["bm25"] = _IN_PROCESS
    return meta


def _dense_only(meta: dict) -> bool:
    return meta.get("bm25") == _IN_PROCESS


def describe(settings: Settings) -> str:
    """One line on the Milvus that `settings` name: its version and the store it holds (full or dense-only)."""
    client = connect(settings)
    try:
        version = str(client.get_server_version())
        if mode(client) == "full":
            return f"milvus {version} at {settings.milvus_uri}: full store (dense and BM25 in Milvus)"
        return (f"milvus {version} at {settings.milvus_uri}: dense-only mode (a server before 2.5 has no BM25; "
                "each process keeps it beside Milvus: docs/stores.md)")  # fmt: skip
    finally:
        client.close()


def _create(client: Any, meta: dict) -> None:
    from pymilvus import DataType, Function, FunctionType

    description = json.dumps(meta, ensure_ascii=False)
    dense_only = _dense_only(meta)
    # Strong: a process reads what another has just written (a document added elsewhere, its next question).
    strong = {"consistency_level": "Strong"}
    s = client.create_schema(auto_id=False, description=description)
    s.add_field("id", DataType.VARCHAR, is_primary=True, max_length=256)
    s.add_field("doc", DataType.VARCHAR, max_length=_NAME)
    s.add_field("order", DataType.INT64)
    s.add_field("section", DataType.VARCHAR, max_length=_TEXT)
    s.add_field("text", DataType.VARCHAR, max_length=_TEXT)
    s.add_field("start", DataType.INT64)
    s.add_field("end", DataType.INT64)
    s.add_field("spans", DataType.VARCHAR, max_length=_TEXT)
    params = client.prepare_index_params()
    if dense_only:  # no sparse vectors before 2.5; a collection still needs a vector field
        s.add_field("words", DataType.VARCHAR, max_length=_TEXT)
        s.add_field("unused", DataType.FLOAT_VECTOR, dim=2)
        params.add_index(field_name="unused", index_type="FLAT", metric_type="L2")
    else:
        s.add_field("words", DataType.VARCHAR, max_length=_TEXT, enable_analyzer=True,
                    analyzer_params={"tokenizer": "standard"})  # fmt: skip
        s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        s.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["words"],
                                output_field_names=["sparse"]))  # fmt: skip
        params.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                         params={"bm25_k1": K1, "bm25_b": B})  # fmt: skip
    client.create_collection(PASSAGES, schema=s, index_params=params, **strong)

    s = client.create_schema(auto_id=False, description=description)
    s.add_field("id", DataType.VARCHAR, is_primary=True, max_length=300)
    s.add_field("passage", DataType.VARCHAR, max_length=256)
    s.add_field("doc", DataType.VARCHAR, max_length=_NAME)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=meta["dimension"])
    params = client.prepare_index_params()
    params.add_index(field_name="vector", index_type="FLAT", metric_type="COSINE")
    client.create_collection(SENTENCES, schema=s, index_params=params, **strong)

    s = client.create_schema(auto_id=False, description=description)
    s.add_field("name", DataType.VARCHAR, is_primary=True, max_length=_NAME)
    s.add_field("shard", DataType.VARCHAR, max_length=256)
    s.add_field("info", DataType.VARCHAR, max_length=_TEXT)
    s.add_field("unused", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field in every collection
    params = client.prepare_index_params()
    params.add_index(field_name="unused", index_type="FLAT", metric_type="L2")
    client.create_collection(DOCUMENTS, schema=s, index_params=params, **strong)
    # Recorded in a row as well as in the descriptions: Milvus Lite does not keep descriptions across a reopen.
    client.insert(DOCUMENTS, [{"name": META, "shard": "", "info": description, "unused": [0.0, 0.0]}])


def _prepare(client: Any, uri: str, meta: dict) -> None:
    """Create the collections, or check that they were made for this model and format."""
    have = [name for name in (PASSAGES, SENTENCES, DOCUMENTS) if client.has_collection(name)]
    if not have:
        _create(client, meta)
    elif len(have) < 3:
        raise MilvusProblem(f"Milvus at {uri} holds only {', '.join(have)} of the store's three collections; "
                            "drop them to rebuild")  # fmt: skip
    else:
        client.load_collection(DOCUMENTS)
        rows = client.query(DOCUMENTS, filter=f"name == {_literal(META)}", output_fields=["info"])
        try:
            made = json.loads(rows[0]["info"]) if rows else {}
        except ValueError:
            made = {}
        if (
            made != meta
            and made
            and {k: v for k, v in made.items() if k != "bm25"} == {k: v for k, v in meta.items() if k != "bm25"}
        ):
            was, now = ("dense-only", "full") if "bm25" in made else ("full", "dense-only")
            raise MilvusProblem(f"Milvus at {uri} holds a {was} store and this server takes a {now} one: drop its "
                                f"{PREFIX}* collections to build it again")  # fmt: skip
        if made != meta:
            made_with = f"{made.get('model')} ({made.get('dimension')} dimensions, format {made.get('format')})"
            wanted = f"{meta['model']} ({meta['dimension']}, format {meta['format']})"
            raise MilvusProblem(f"Milvus at {uri} holds a store made with {made_with}, not {wanted}: "
                                f"drop its {PREFIX}* collections or use another store_uri")  # fmt: skip
    for name in (PASSAGES, SENTENCES, DOCUMENTS):
        client.load_collection(name)


def _rows(client: Any, collection: str, fields: list[str], filter: str = "") -> list[dict]:
    """All rows of a collection (that match `filter`)."""
    key = "name" if collection == DOCUMENTS else "id"
    condition = f"({filter}) and {key} not in {_NOT_DOCUMENTS}" if filter else f"{key} not in {_NOT_DOCUMENTS}"
    if _is_lite(client):  # Lite answers a query whole (its iterator asks the server for timestamps it lacks)
        return client.query(collection, filter=condition, output_fields=fields)
    it = client.query_iterator(collection, batch_size=_BATCH, filter=condition, output_fields=fields)
    out: list[dict] = []
    while batch := it.next():
        out += batch
    it.close()
    return out


def _is_lite(client: Any) -> bool:
    return str(client.get_server_version()).startswith("milvus_lite")


def sync(client: Any, root: Path, manifest: dict, dense_only: bool = False) -> tuple[list[str], list[str]]:
    """Make Milvus hold the documents of a local build (its manifest), by document: delete those removed or
    changed, insert those added or changed from their shards. Returns (added, removed) names."""
    want = {name: d["shard"] for name, d in manifest.get("documents", {}).items()}
    have = {r["name"]: r["shard"] for r in _rows(client, DOCUMENTS, ["name", "shard"])}
    stale = sorted(name for name, key in have.items() if want.get(name) != key)
    new = [name for name, key in want.items() if have.get(name) != key]
    for name in stale:
        condition = f"doc == {_literal(name)}"
        client.delete(SENTENCES, filter=condition)
        client.delete(PASSAGES, filter=condition)
        client.delete(DOCUMENTS, filter=f"name == {_literal(name)}")
    for name in new:
        shard = shards.read(root, want[name])
        if shard is None:
            raise MilvusProblem(f"the shard of {name} is missing from {root}/{shards.FOLDER}: run `assistant index`")
        _insert(client, name, want[name], shard, manifest["documents"][name], dense_only)
    if stale or new:  # last: a process that sees the new token reads the documents as they are now
        client.upsert(DOCUMENTS, [{"name": GENERATION, "shard": "", "info": uuid.uuid4().hex, "unused": [0.0, 0.0]}])
    return new, [n for n in stale if n not in want]


def _barrier(client: Any, *collections: str) -> None:
    """Wait until the server serves everything written so far from `collections` (all three by default): one
    `Strong` read of each; the reads at `Eventually` that follow see at least as much (a query node's serviceable
    time only moves forward)."""
    for name in collections or (PASSAGES, SENTENCES, DOCUMENTS):
        client.get(name, ids=["::barrier::"], output_fields=[], consistency_level="Strong")


def generation(client: Any) -> str:
    """The token of the documents' last change (empty before the first)."""
    rows = client.get(DOCUMENTS, ids=[GENERATION], output_fields=["info"])
    return rows[0]["info"] if rows else ""


def _insert(client: Any, name: str, key: str, shard: shards.Shard, info: dict, dense_only: bool) -> None:
    spans: list[list[list[int]]] = [[] for _ in shard.passages]
    sentences = []
    for row, (n, start, end) in enumerate(shard.sentences.tolist()):
        passage = shard.passages[n]
        sentences.append({"id": f"{passage.id}#{len(spans[n])}", "passage": passage.id, "doc": name,
                          "vector": shard.vectors[row].astype(np.float32).tolist()})  # fmt: skip
        spans[n].append([start, end])
    passages = [
        {"id": p.id, "doc": name, "order": n, "section": json.dumps(p.section, ensure_ascii=False), "text": p.text,
         "start": p.start, "end": p.end, "spans": json.dumps(spans[n]), "words": " ".join(map(_encode, words))}
        for n, (p, words) in enumerate(zip(shard.passages, shard.tokens, strict=True))
    ]  # fmt: skip
    if dense_only:
        for row in passages:
            row["unused"] = [0.0, 0.0]
    # Sentences and passages first, the document row last: a sync killed midway leaves the document
    # unlisted, so the next sync deletes what was inserted and inserts it again.
    for i in range(0, len(sentences), _BATCH):
        client.insert(SENTENCES, sentences[i : i + _BATCH])
    for i in range(0, len(passages), _BATCH):
        client.insert(PASSAGES, passages[i : i + _BATCH])
    info = {k: v for k, v in info.items() if k != "shard"}
    client.insert(DOCUMENTS, [{"name": name, "shard": key, "info": json.dumps(info, ensure_ascii=False),
                               "unused": [0.0, 0.0]}])  # fmt: skip


class MilvusStore(Catalogue):
    """The Store protocol over Milvus collections (see the module's docstring)."""

    def __init__(self, client: Any, uri: str, folder: Path, meta: dict, glossary: dict[str, list[str]]):
        self.client, self.uri, self.folder, self.glossary, self.meta = client, uri, folder, glossary, meta
        self.dense_only = _dense_only(meta)
        self._owns_client = True  # until `current` hands the client to a store over newer documents
        # Read before the rows: a change that lands while they are read shows as a new token at the next question.
        self.generation = generation(client)
        _barrier(client, SENTENCES)  # passages and documents are read at Strong below; the sentences are searched
        documents = {r["name"]: json.loads(r["info"]) for r in _rows(client, DOCUMENTS, ["name", "info"])}
        rows = _rows(client, PASSAGES, ["id", "doc", "order", "section", "text", "start", "end", "spans", "words"])
        # Documents in name order (the local build's order: corpus files by name), passages in document order.
        rows = [r for r in rows if r["doc"] in documents]  # a document half-inserted by a killed sync is not listed
        rows.sort(key=lambda r: (r["doc"], r["order"]))
        self.passages = [Passage(r["id"], r["doc"], tuple(json.loads(r["section"])), r["text"], r["start"], r["end"])
                         for r in rows]  # fmt: skip
        spans = [json.loads(r["spans"]) for r in rows]
        self.sentences = np.array([(n, s, e) for n, ss in enumerate(spans) for s, e in ss], np.int32).reshape(-1, 3)
        self._words = [[_decode(t) for t in r["words"].split()] for r in rows]
        postings: dict[str, list[int]] = {}
        for n, words in enumerate(self._words):
            for w in set(words):
                postings.setdefault(w, []).append(n)
        self._document_frequency = {w: len(ns) for w, ns in postings.items()}
        # Dense-only mode: BM25 search in process, over each word's passages (Milvus before 2.5 has no sparse side).
        self._postings = postings if self.dense_only else {}
        self._lengths = np.array([len(w) for w in self._words], np.float32)
        self._average = float(self._lengths.mean()) if len(self._lengths) else 1.0
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._vectors_lock = threading.Lock()  # the web app answers on several threads from one store
        self.manifest = {**meta, "store": "milvus", "uri": uri, "documents": {n: documents[n] for n in self.documents},
                         "counts": {"documents": len(self.documents), "passages": len(self.passages),
                                    "sentences": len(self.sentences)}}  # fmt: skip

    def close(self) -> None:
        if self._owns_client:
            self.client.close()

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """A MilvusClient call made while answering; when a restarted server has not loaded the collections again
        yet ("collection not loaded"), they are loaded (Milvus waits until they are) and the call is made once more.

        Without waiting for the server's clock: `Strong` reads (the collections' level, used when the documents are
        read) wait for the next time tick, 200 ms a call on Milvus 2.3.5. `Bounded` costs what `Eventually` does while
        the server keeps up (2.5 vs 2.0 ms p50, `python -m benchmarks.milvus_server`), but after a restart it waits
        until the server has replayed what was written more than a few seconds before: at `Eventually` a search
        right after a restart could miss passages the server had not replayed yet (rankings then differed)."""
        kwargs.setdefault("consistency_level", "Bounded")
        try:
            return getattr(self.client, method)(*args, **kwargs)
        except Exception as exc:
            if "not loaded" not in str(getattr(exc, "message", "") or exc):
                raise
            log.warning("Milvus at %s has not loaded the store's collections (restarted?): loading them", self.uri)
            for name in (PASSAGES, SENTENCES, DOCUMENTS):
                self.client.load_collection(name)
            _barrier(self.client)  # loaded is not caught up: a reload replays the write-ahead log
            return getattr(self.client, method)(*args, **kwargs)

    def current(self) -> MilvusStore:
        """This store, or one over the documents as Milvus holds them now when another process (a web worker,
        `assistant add`/`remove`) has changed them since this one was loaded: one key lookup per call."""
        try:
            rows = self._call("get", DOCUMENTS, ids=[GENERATION], output_fields=["info"])
            if (rows[0]["info"] if rows else "") == self.generation:
                return self
            newer = MilvusStore(self.client, self.uri, self.folder, self.meta, self.glossary)
        except Exception:  # noqa: BLE001  (Milvus down for a moment: keep answering from what is loaded)
            log.warning("Milvus at %s: could not check for changed documents; answering from those loaded", self.uri)
            return self
        self._owns_client = False  # the old store may still be answering a question; the new one closes the client
        return newer

    # Dense side.

    def _passage_vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Each passage's sentence vectors, in sentence order (fetched once, then kept while room allows)."""
        with self._vectors_lock:
            return self._fetch_vectors(ids)

    def _fetch_vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        missing = [i for i in dict.fromkeys(ids) if i not in self._vectors]
        for start in range(0, len(missing), _BATCH):
            part = missing[start : start + _BATCH]
            # By primary key (passage id # sentence number, the count known from the spans): a filter on the
            # passage field costs Milvus Lite a scan of every sentence.
            keys = [f"{i}#{k}" for i in part for k in range(len(self.sentence_rows(self._numbers[i])))]
            rows = self._call("get", SENTENCES, ids=keys, output_fields=["id", "vector"]) if keys else []
            found = {r["id"]: r["vector"] for r in rows}
            for i in part:
                n = len(self.sentence_rows(self._numbers[i]))
                vectors = [found[f"{i}#{k}"] for k in range(n) if f"{i}#{k}" in found]
                self._vectors[i] = np.array(vectors, np.float32).reshape(len(vectors), -1)
        out = {}
        for i in ids:
            self._vectors.move_to_end(i)
            out[i] = self._vectors[i]
        while len(self._vectors) > max(_CACHE, len(ids)):
            self._vectors.popitem(last=False)
        return out

    def sentence_vectors(self, rows: range) -> np.ndarray:
        if not len(rows):
            return np.zeros((0, 1), np.float32)
        passage = self.passages[int(self.sentences[rows.start, 0])].id
        return self._passage_vectors([passage])[passage]

    def dense_scores(self, ids: Sequence[str], vector: np.ndarray) -> np.ndarray:
        vectors = self._passage_vectors(ids)
        return np.array([float((vectors[i] @ vector).max()) if len(vectors[i]) else -1.0 for i in ids], np.float32)

    def dense_search(self, vector: np.ndarray, depth: int) -> list[tuple[str, float]]:
        k = min(len(self.sentences), depth * 4, 16384)
        if k == 0:
            return []
        query = [np.asarray(vector, np.float32).tolist()]
        found = self._call("search", SENTENCES, data=query, anns_field="vector", limit=k, output_fields=["passage"],
                                   search_params={"metric_type": "COSINE"})  # fmt: skip
        best: dict[str, float] = {}
        for hit in found[0]:
            if hit["passage"] in self._numbers:
                best.setdefault(hit["passage"], float(hit["distance"]))
        return list(best.items())[:depth]

    # Sparse side.

    def sparse_scores(self, ids: Sequence[str], terms: Terms) -> np.ndarray:
        """BM25 as bm25s scores it (its default, Lucene's idf; no (k1 + 1) factor), over this store's passages."""
        n = len(self.passages)
        idf = {t: math.log(1 + (n - df + 0.5) / (df + 0.5)) for t in terms if (df := self._document_frequency.get(t))}
        out = np.zeros(len(ids), np.float32)
        for j, passage_id in enumerate(ids):
            number = self._numbers[passage_id]
            words = self._words[number]
            norm = K1 * (1 - B + B * self._lengths[number] / self._average)
            score = 0.0
            for term, weight in terms.items():
                if term in idf and (tf := words.count(term)):
                    score += weight * idf[term] * tf / (tf + norm)
            out[j] = score
        return out

    def sparse_search(self, terms: Terms, depth: int) -> list[tuple[str, float]]:
        known = [t for t in terms if t in self._document_frequency]
        if not known:
            return []
        if self.dense_only:  # every passage holding a query word, scored in process: exact, as the local store
            numbers = sorted({n for t in known for n in self._postings[t]})
            ids = [self.passages[n].id for n in numbers]
            scores = self.sparse_scores(ids, terms)
            order = sorted(range(len(ids)), key=lambda j: (-scores[j], numbers[j]))[:depth]
            return [(ids[j], float(scores[j])) for j in order if scores[j] > 0]
        # Milvus ranks by unweighted BM25; twice the depth, rescored with the weights, keeps the same top `depth`.
        found = self._call("search", PASSAGES, data=[" ".join(map(_encode, known))], anns_field="sparse",
                                   limit=min(2 * depth, 16384), output_fields=["id"],
                                   search_params={"metric_type": "BM25"})  # fmt: skip
        ids = [h["id"] for h in found[0] if h["id"] in self._numbers]
        scores = self.sparse_scores(ids, terms)
        order = sorted(range(len(ids)), key=lambda j: (-scores[j], self._numbers[ids[j]]))[:depth]
        return [(ids[j], float(scores[j])) for j in order if scores[j] > 0]


def open_store(settings: Settings, local: Index) -> MilvusStore:
    """The Milvus store for `settings`, synced with the local build `local` (which embedded the documents)."""
    client = connect(settings)
    try:
        meta = _meta(local.manifest["model"], int(local.manifest["dimension"]), mode(client))
        _prepare(client, settings.milvus_uri, meta)
        sync(client, settings.index_dir, local.manifest, "bm25" in meta)
        return MilvusStore(client, settings.milvus_uri, local.folder, meta, local.glossary)
    except MilvusProblem:
        client.close()
        raise
    except Exception as exc:
        client.close()
        reason = str(getattr(exc, "message", "") or exc).splitlines()[0][:160]
        raise MilvusProblem(f"Milvus at {settings.milvus_uri} failed ({type(exc).__name__}: {reason})") from None


def update(settings: Settings) -> tuple[list[str], list[str]]:
    """Bring Milvus in step with the current local build (after `index`, `add`, `remove`): the documents
    (added, removed). MilvusBusy when Milvus Lite is held by another process (that one syncs when it
    follows the new build)."""
    from assistant.store.local import load

    local = load(settings)
    client = connect(settings)
    try:
        meta = _meta(local.manifest["model"], int(local.manifest["dimension"]), mode(client))
        _prepare(client, settings.milvus_uri, meta)
        return sync(client, settings.index_dir, local.manifest, "bm25" in meta)
    finally:
        client.close()
        local.close()
