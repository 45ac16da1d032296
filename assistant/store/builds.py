"""Build folders on disk: which one is current, checksums, leases, and clean-up.

    index/CURRENT          "<build name>\\n<SHA-256 of its manifest.json>\\n", replaced atomically
    index/.lock            held by the one build running on this folder
    index/build-<stamp>/   one finished build; `.lease` inside it is share-locked by every process
                           that has it loaded, so that clean-up never removes a build in use

The pointer carries the manifest's digest and the manifest carries every other file's: one
chain from CURRENT to the last byte of the build, checked when a build is loaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from assistant.cache import file_sha256
from assistant.locking import file_lock

__all__ = [
    "BuildDamaged", "current", "new_folder", "finish", "lease", "remove_old", "digests", "verify", "building",
    "write_atomic",
]  # fmt: skip

CURRENT = "CURRENT"
MANIFEST = "manifest.json"
LEASE = ".lease"
_LOCK = ".lock"
_POINTER = re.compile(r"(build-[\w.-]+)\n([0-9a-f]{64})\n")


class BuildDamaged(Exception):
    """A build's files disagree with its manifest or its pointer; the message names the file, in one line."""


def write_atomic(path: Path, data: bytes, sync: bool = True) -> None:
    """Write `data` to `path` through a temporary sibling and a rename: never a half-written file.

    `sync` also waits for the disk, so that a power cut cannot leave the new name on old blocks.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:6]}.tmp")
    try:
        with tmp.open("wb") as f:
            f.write(data)
            if sync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def building(root: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the build lock of an index folder: one build at a time, others wait their turn.

    If the folder did not exist and the build fails before writing anything, it is removed again.
    """
    created = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    try:
        with file_lock(root / _LOCK, on_wait=on_wait):
            yield
    except BaseException:
        if created and {p.name for p in root.iterdir()} <= {_LOCK, "shards"} and not any(root.glob("shards/*")):
            shutil.rmtree(root, ignore_errors=True)
        raise


def current(root: Path) -> tuple[Path, str]:
    """The current build folder and the SHA-256 its manifest must have."""
    try:
        text = (root / CURRENT).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise BuildDamaged(f"no index in {root}/ yet") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BuildDamaged(f"{root}/{CURRENT} is unreadable ({type(exc).__name__})") from None
    match = _POINTER.fullmatch(text)
    if not match:
        raise BuildDamaged(f"{root}/{CURRENT} is damaged")
    name, digest = match.groups()
    folder = root / name
    if not folder.is_dir():
        raise BuildDamaged(f"{root}/{CURRENT} points to a missing build {name!r}")
    return folder, digest


def new_folder(root: Path) -> Path:
    """A temporary folder for a new build; `finish` renames it and makes it current."""
    # A name no other build (this process or another, this second or not) can have.
    name = f"build-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"
    folder = root / name
    folder.mkdir()
    return folder


def finish(tmp: Path, manifest: dict) -> Path:
    """Record every file's size and SHA-256 in the manifest, write it, and switch CURRENT to the build."""
    manifest["files"] = digests(tmp)
    data = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")
    (tmp / MANIFEST).write_bytes(data)
    (tmp / LEASE).touch()
    folder = tmp.with_name(tmp.name.removesuffix(".tmp"))
    os.replace(tmp, folder)
    pointer = f"{folder.name}\n{hashlib.sha256(data).hexdigest()}\n"
    write_atomic(folder.parent / CURRENT, pointer.encode("utf-8"))
    return folder


def digests(folder: Path) -> dict[str, dict]:
    """Size and SHA-256 of every file of a build but the manifest and the lease."""
    return {
        p.relative_to(folder).as_posix(): {"size": p.stat().st_size, "sha256": file_sha256(p)}
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in (MANIFEST, LEASE)
    }


# Folders verified by this process, with the files' (size, mtime, inode) when they were: a build
# is hashed once per process, and again only if a file was written since.
_verified: dict[tuple[str, str], tuple] = {}


def verify(folder: Path, digest: str) -> dict:
    """The manifest of `folder`, after checking it against `digest` and every file against it."""
    try:
        data = (folder / MANIFEST).read_bytes()
    except OSError:
        raise BuildDamaged(f"index file {folder.name}/{MANIFEST} is missing") from None
    if hashlib.sha256(data).hexdigest() != digest:
        raise BuildDamaged(f"index file {folder.name}/{MANIFEST} is damaged (checksum mismatch)")
    manifest = json.loads(data)
    files = manifest["files"]
    stamp = tuple(_stat(folder / name) for name in sorted(files))
    if _verified.get((str(folder), digest)) == stamp:
        return manifest
    for name, expected in files.items():
        path = folder / name
        if not path.is_file():
            raise BuildDamaged(f"index file {folder.name}/{name} is missing")
        size = path.stat().st_size
        if size != expected["size"]:
            what = f"{size} bytes, expected {expected['size']}"
            raise BuildDamaged(f"index file {folder.name}/{name} is damaged ({what})")
        if file_sha256(path) != expected["sha256"]:
            raise BuildDamaged(f"index file {folder.name}/{name} is damaged (checksum mismatch)")
    extra = sorted(set(_names(folder)) - set(files))
    if extra:
        raise BuildDamaged(f"index file {folder.name}/{extra[0]} does not belong to the build")
    _verified[(str(folder), digest)] = stamp
    return manifest


def _names(folder: Path) -> list[str]:
    return [
        p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.name not in (MANIFEST, LEASE)
    ]


def _stat(path: Path) -> tuple:
    try:
        s = path.stat()
    except OSError:
        return ()
    return (s.st_size, s.st_mtime_ns, s.st_ino)


def lease(folder: Path) -> IO[bytes] | None:
    """Share-lock a build for as long as the returned file stays open (None: the build is gone)."""
    try:
        f = (folder / LEASE).open("rb")
    except FileNotFoundError:
        return None
    with contextlib.suppress(ImportError):
        import fcntl

        fcntl.flock(f, fcntl.LOCK_SH)
    if not (folder / MANIFEST).is_file():  # removed while we waited for the lock
        f.close()
        return None
    return f


def remove_old(root: Path, keep: str) -> list[str]:
    """Remove the builds other than `keep` that no process has loaded, and unfinished ones.

    Called with the build lock held, so an unfinished (`.tmp`) build is one a killed build left.
    """
    removed = []
    for old in sorted(root.glob("build-*")):
        if old.name == keep or not old.is_dir():
            continue
        if old.name.endswith(".tmp"):
            shutil.rmtree(old, ignore_errors=True)
            removed.append(old.name)
            continue
        try:
            f = (old / LEASE).open("rb")
        except FileNotFoundError:  # not a finished build of ours
            shutil.rmtree(old, ignore_errors=True)
            removed.append(old.name)
            continue
        with f:
            try:
                import fcntl

                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # loaded by a running process: it goes at a later build
            except ImportError:
                pass
            # Manifest first: a reader that opens the lease after this sees no manifest and looks again.
            (old / MANIFEST).unlink(missing_ok=True)
            shutil.rmtree(old, ignore_errors=True)
            removed.append(old.name)
    return removed
