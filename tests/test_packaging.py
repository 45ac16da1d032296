"""The lock file covers what pyproject.toml asks for: after adding a dependency, `make lock`."""

from __future__ import annotations

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9_.-]+", requirement).group()).lower()


def test_every_dependency_is_pinned_with_hashes_in_the_lock():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = {_name(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]}
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    pinned = {_name(m.group(1)) for m in re.finditer(r"^([A-Za-z0-9_.-]+)==", lock, re.M)}
    missing = sorted(wanted - pinned)
    assert not missing, f"not in requirements.lock: {', '.join(missing)}; run `make lock`"
    for block in re.split(r"\n(?=[A-Za-z])", lock.strip()):
        assert "--hash=sha256:" in block or block.startswith("#"), block.splitlines()[0]


def test_torch_stays_out_of_the_lock():
    # Installed first by `make setup` (TORCH=...): the lock must not pull PyPI's CUDA build.
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    for line in re.findall(r"^(?:torch|nvidia-[a-z0-9-]+|triton)==.*$", lock, re.M):
        assert "sys_platform == 'never'" in line, line
