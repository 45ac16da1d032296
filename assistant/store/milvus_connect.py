"""Connecting to Milvus (assistant/store/milvus.py): Milvus Lite for a file path, a server for a URL; every
problem is one line (`MilvusProblem`), never a traceback."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

from assistant.config import Settings
from assistant.store.local import IndexProblem

__all__ = ["MilvusProblem", "MilvusBusy", "connect", "mode", "MIN_SERVER", "MIN_DENSE_ONLY", "Mode"]

MIN_SERVER = (2, 5)  # sparse vectors and the BM25 function: the full store
MIN_DENSE_ONLY = (2, 3)  # COSINE and upsert: the dense-only store, BM25 kept in each process
# full: BM25 in Milvus (Lite, a server >= 2.5); dense-only: a 2.3-2.4 server, BM25 over the words held in process.
Mode = Literal["full", "dense-only"]


class MilvusProblem(IndexProblem):
    """Milvus cannot be used as configured (down, locked, another model, too old); one line says which."""


class MilvusBusy(MilvusProblem):
    """Milvus Lite's folder is held by another process (which syncs itself when it follows the new build)."""


def connect(settings: Settings) -> Any:
    """A MilvusClient for `settings.milvus_uri`, or MilvusProblem in one line."""
    try:
        from pymilvus import MilvusClient
    except ImportError:
        raise MilvusProblem('the milvus store needs pymilvus: pip install "luoyang-report-assistant[milvus]"') from None
    uri = settings.milvus_uri
    server = uri.startswith(("http://", "https://", "tcp://", "grpc://"))
    if not server:
        Path(uri).expanduser().parent.mkdir(parents=True, exist_ok=True)  # Lite needs its folder to exist
        if _locked_elsewhere(Path(uri).expanduser()):
            raise MilvusBusy(f"Milvus Lite at {uri} is open in another process (one process at a time; "
                                "several need a Milvus server)")  # fmt: skip
    try:
        client = MilvusClient(uri, token=settings.store_token, timeout=10) if server else MilvusClient(uri)
        version = client.get_server_version()
    except Exception as exc:
        reason = str(getattr(exc, "message", "") or exc).splitlines()[0][:160]
        if "lock" in type(exc).__name__.lower() or "locked" in reason.lower():
            raise MilvusBusy(f"Milvus Lite at {uri} is open in another process (one process at a time; "
                                "several need a Milvus server)") from None  # fmt: skip
        raise MilvusProblem(f"cannot reach Milvus at {uri} ({type(exc).__name__}: {reason})") from None
    if server and _version(version) < MIN_DENSE_ONLY:
        client.close()
        raise MilvusProblem(f"Milvus at {uri} is version {version}; the store needs 2.5 or newer (2.3 and 2.4 serve a "
                            "dense-only mode, docs/stores.md)")  # fmt: skip
    return client


def _version(text: str | None) -> tuple[int, int]:
    numbers = re.match(r"v?(\d+)\.(\d+)", text or "")
    return (int(numbers[1]), int(numbers[2])) if numbers else (0, 0)


def mode(client: Any) -> Mode:
    """What this Milvus can hold: the full store, or dense vectors only (a 2.3 or 2.4 server: no sparse vectors,
    no BM25 function)."""
    version = str(client.get_server_version())
    if version.startswith("milvus_lite") or _version(version) >= MIN_SERVER:
        return "full"
    return "dense-only"


def _locked_elsewhere(path: Path) -> bool:
    """Whether another process holds Milvus Lite's folder (its LOCK file): asked before connecting, as
    Lite logs a traceback and pymilvus then reports only "Open local milvus failed"."""
    try:
        from milvus_lite.server_manager import server_manager_instance

        if os.path.abspath(path) in getattr(server_manager_instance, "_servers", {}):  # its key for a folder
            return False  # this process serves it already: pymilvus reuses that server
        import fcntl
    except ImportError:
        return False
    lock = path / "LOCK"
    if not lock.exists():
        return False
    with lock.open("a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
    return False
