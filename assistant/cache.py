"""Small derived data kept in the cache folder, computed once from what the wheels ship."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from assistant.config import default_cache_dir

__all__ = ["cached_json", "folder_complete", "replace_folder", "checksums", "damaged_file", "file_sha256"]

T = TypeVar("T")
log = logging.getLogger(__name__)
_STAMP = ".verified.json"  # the files' (size, mtime, inode) when their checksums last matched


def cached_json(name: str, compute: Callable[[], T]) -> T:
    """`compute()`'s result, read from `<cache>/<name>` when there, else computed and stored atomically.

    A cache that cannot be written (read-only home) only costs the computation next time.
    """
    path = default_cache_dir() / name
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    data = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False, suffix=".tmp") as f:
            json.dump(data, f, ensure_ascii=False)
        os.replace(f.name, path)
    except OSError:
        pass
    return data


def folder_complete(folder: Path, marker: str, version: int) -> bool:
    """A folder written by a one-off job (conversion, export) is complete when its marker file, written
    last, has the expected version and every file it lists has its recorded size."""
    try:
        record = json.loads((folder / marker).read_text(encoding="utf-8"))
        return record.get("version") == version and all(
            (folder / name).stat().st_size == size for name, size in record["files"].items()
        )
    except (OSError, ValueError, KeyError, AttributeError, TypeError):
        return False


def folder_intact(folder: Path, marker: str, version: int, what: str, then: str = "") -> bool:
    """True when a one-off job's folder is complete (folder_complete) and every file still has its recorded
    SHA-256 (hashed again only when a file changed on disk); a damaged file is logged as `what` file …, `then`."""
    if not folder_complete(folder, marker, version):
        return False
    bad = damaged_file(folder, marker)
    if bad is not None:
        log.warning("%s file %s/%s is damaged (checksum mismatch)%s", what, folder, bad, f"; {then}" if then else "")
    return bad is None


def replace_folder(tmp: Path, target: Path) -> None:
    """Put a finished temporary sibling folder in place of `target` (a half-written or outdated one)."""
    if target.exists():
        shutil.rmtree(target)
    os.replace(tmp, target)


def seal_folder(tmp: Path, target: Path, marker: str, record: dict) -> None:
    """Record each file's size and checksum in the marker `record`, written last (its absence marks a
    half-written folder, see folder_complete), and move the folder into place."""
    record["files"] = {p.name: p.stat().st_size for p in sorted(tmp.iterdir()) if p.name != marker}
    record["sha256"] = checksums(tmp, list(record["files"]))
    (tmp / marker).write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
    replace_folder(tmp, target)


def checksums(folder: Path, names: list[str]) -> dict[str, str]:
    """SHA-256 of the named files of a folder, for its marker."""
    return {name: _sha256(folder / name) for name in names}


def damaged_file(folder: Path, marker: str) -> str | None:
    """The first file of a finished folder whose SHA-256 differs from its marker's record, else None.

    Hashing the model's hundreds of megabytes costs a fraction of a second, so it is done when a
    file's size, time or inode differ from those of the last check that passed (kept in a stamp
    file), not at every start. A marker written before checksums were recorded gets them now.
    """
    try:
        record = json.loads((folder / marker).read_text(encoding="utf-8"))
        names = sorted(record["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return marker
    stamp = {name: _stat(folder / name) for name in names}
    try:
        if json.loads((folder / _STAMP).read_text(encoding="utf-8")) == stamp:
            return None
    except (OSError, ValueError):
        pass
    recorded = record.get("sha256")
    if not isinstance(recorded, dict):  # an older marker: trust what is there now, and record it
        recorded = checksums(folder, names)
        _write(folder / marker, {**record, "sha256": recorded})
    for name in names:
        if _sha256(folder / name) != recorded.get(name):
            return name
    _write(folder / _STAMP, stamp)
    return None


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read a megabyte at a time (model files are hundreds of megabytes)."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _sha256(path: Path) -> str:
    try:
        return file_sha256(path)
    except OSError:
        return ""  # a missing or unreadable file matches no recorded digest


def _stat(path: Path) -> list[int]:
    try:
        s = path.stat()
    except OSError:
        return []
    return [s.st_size, s.st_mtime_ns, s.st_ino]


def _write(path: Path, data: object) -> None:
    """Atomically, and only if the cache can be written (a read-only cache checks again next time)."""
    try:
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False, suffix=".tmp") as f:
            json.dump(data, f, ensure_ascii=False, indent=2)
        os.replace(f.name, path)
    except OSError as exc:
        log.debug("cannot write %s: %s", path, exc)
