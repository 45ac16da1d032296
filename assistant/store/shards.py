"""What one document contributes to the index, kept between builds: `index/shards/<key>.shard`.

A shard holds a document's passages, its sentences (rows passage, start, end; passage numbers
local to the document), their vectors, the BM25 words of each passage and a few facts for the
library listing. Its key covers everything the contents depend on: the file's name and SHA-256,
the model, the chunk size, the index format and the source of the code that reads, chunks and
tokenises (so an edit of that code never serves stale passages). Adding, changing or removing
one document therefore embeds that document only.

A shard file ends with the SHA-256 of all its other bytes; one that fails the check is embedded again.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.schema import LineBox, Passage
from assistant.store.builds import write_atomic

__all__ = ["Shard", "ShardDamaged", "shard_key", "read", "write", "VERSION"]

VERSION = 2  # 2: passages carry their pages
FOLDER = "shards"
_PAYLOAD = ("vectors", "sentences", "passages", "tokens", "info")
# The modules whose code decides a document's passages and words, named one by one (a moved or new
# module must be listed here, or its changes would not rebuild the shards): their source is part of the key.
_CODE = ("schema.py", "text/words.py", "store/build.py")


class ShardDamaged(Exception):
    """A shard file fails its checksum or cannot be read (one line naming it)."""


@dataclass(frozen=True)
class Shard:
    passages: list[Passage]
    sentences: np.ndarray  # int32 rows (passage number within the document, start, end)
    vectors: np.ndarray  # float32, one row per sentence
    tokens: list[list[str]]  # BM25 words of each passage
    info: dict  # title, format, pages, characters: for `assistant list`


def code_files() -> list[Path]:
    """The source files that turn a corpus file into passages, words and embedded text."""
    package = Path(__file__).resolve().parent.parent
    paths = [package / name for name in _CODE]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:  # a renamed module must be named again in _CODE, not dropped from the key
        raise RuntimeError(f"shards: code files listed in _CODE are missing: {', '.join(missing)}")
    return paths + sorted((package / "ingest").rglob("*.py"))


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """SHA-256 over `code_files()` and the jieba version (its dictionary decides the words)."""
    from importlib import metadata

    h = hashlib.sha256()
    package = Path(__file__).resolve().parent.parent
    for path in code_files():
        h.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    try:
        h.update(metadata.version("jieba").encode())
    except metadata.PackageNotFoundError:
        h.update(b"-")
    return h.hexdigest()


def shard_key(name: str, sha256: str, model: str, chunk_chars: int, format_version: int) -> str:
    record = {"shard": VERSION, "format": format_version, "name": name, "sha256": sha256, "model": model,
              "chunk_chars": chunk_chars, "code": code_fingerprint()}  # fmt: skip
    return hashlib.sha256(json.dumps(record, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:32]


def path(root: Path, key: str) -> Path:
    return root / FOLDER / f"{key}.shard"


def read(root: Path, key: str) -> Shard | None:
    """The shard `key` (None if there is none); ShardDamaged if it fails its checksum."""
    file = path(root, key)
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ShardDamaged(f"index file {FOLDER}/{file.name} is unreadable ({exc.strerror or exc})") from None
    if len(data) < 32 or hashlib.sha256(data[:-32]).digest() != data[-32:]:
        raise ShardDamaged(f"index file {FOLDER}/{file.name} is damaged (checksum mismatch)")
    try:
        with np.load(io.BytesIO(data[:-32]), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in _PAYLOAD}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        raise ShardDamaged(f"index file {FOLDER}/{file.name} is unreadable ({type(exc).__name__})") from None
    try:
        passages = [_passage(d) for d in json.loads(bytes(arrays["passages"]))]
        return Shard(passages, arrays["sentences"], arrays["vectors"], json.loads(bytes(arrays["tokens"])),
                     json.loads(bytes(arrays["info"])))  # fmt: skip
    except (ValueError, TypeError, KeyError) as exc:
        raise ShardDamaged(f"index file {FOLDER}/{file.name} is unreadable ({type(exc).__name__})") from None


def write(root: Path, key: str, shard: Shard) -> None:
    """Store a shard (atomically: a killed write leaves no shard, never half of one)."""
    arrays = {
        "vectors": np.ascontiguousarray(shard.vectors, dtype=np.float32),
        "sentences": np.ascontiguousarray(shard.sentences, dtype=np.int32).reshape(-1, 3),
        "passages": _bytes([asdict(p) for p in shard.passages]),
        "tokens": _bytes(shard.tokens),
        "info": _bytes(shard.info),
    }
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    data = buffer.getvalue()
    file = path(root, key)
    file.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(file, data + hashlib.sha256(data).digest(), sync=False)  # a cache: a lost shard is embedded again


def remove_unused(root: Path, keep: set[str]) -> int:
    """Delete the shards no longer used by the current build (called with the build lock held)."""
    removed = 0
    for file in (root / FOLDER).glob("*"):
        if file.suffix == ".shard" and file.stem in keep:
            continue
        file.unlink(missing_ok=True)  # an unused shard, or a temporary one a killed build left
        removed += 1
    return removed


def _bytes(data: object) -> np.ndarray:
    return np.frombuffer(json.dumps(data, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)


def _passage(d: dict) -> Passage:
    return Passage(**{**d, "section": tuple(d["section"]), "pages": tuple(d.get("pages", ())),
                       "boxes": tuple(LineBox(**b) for b in d.get("boxes", ()))})  # fmt: skip
