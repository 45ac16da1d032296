"""Small derived data kept in the cache folder, computed once from what the wheels ship."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from assistant.config import default_cache_dir

__all__ = ["cached_json", "folder_complete", "replace_folder"]

T = TypeVar("T")


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


def replace_folder(tmp: Path, target: Path) -> None:
    """Put a finished temporary sibling folder in place of `target` (a half-written or outdated one)."""
    if target.exists():
        shutil.rmtree(target)
    os.replace(tmp, target)
