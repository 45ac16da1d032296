"""Questions and passages to vectors: normalised e5 embeddings, loaded lazily.

The model is loaded on first use, so commands that never embed (`--help`, an
index that is up to date and a question answered from it…) never pay for it.

Two backends give the same vectors (cosine ≥ 0.999, same top results on the
development questions; tests/encode/test_onnx.py):

- "onnx" (default): the default model exported once to 8-bit ONNX and run with
  ONNX Runtime; torch, transformers and sentence-transformers are never imported,
  which is most of a cold `assistant ask` (README, benchmarks).
- "torch": sentence-transformers as such; also the fallback for a model of the
  user's own (only the default model is exported) or when onnxruntime is missing.

An index built with one backend is searched with the other without rebuilding: the
manifest records the model, and the backends differ less than one model differs from
itself between a float32 and an int8 run (measured in benchmarks/results/README.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from assistant.config import DEFAULT_MODEL, Settings
from assistant.encode.convert import PASSAGE_PROMPT, QUERY_PROMPT, load_model, model_path

__all__ = ["Embedder"]

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


class _Backend(Protocol):
    dim: int

    def encode(self, texts: Sequence[str], prompt_name: str, progress: Progress | None = None) -> np.ndarray: ...


class _Onnx:
    def __init__(self, settings: Settings) -> None:
        from assistant.encode.onnx import OnnxEncoder, export_onnx, is_exported, onnx_folder

        source = Path(model_path(settings))
        folder = onnx_folder(source)
        if not is_exported(folder):
            export_onnx(source, folder)
        self.encoder = OnnxEncoder(folder)
        self.dim = self.encoder.dim

    def encode(self, texts: Sequence[str], prompt_name: str, progress: Progress | None = None) -> np.ndarray:
        return self.encoder.encode(texts, self.encoder.prompts.get(prompt_name, ""), progress)


class _Torch:
    def __init__(self, settings: Settings) -> None:
        self.model = load_model(settings)
        # renamed in sentence-transformers 5; the old name warns there
        dimension = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(dimension())

    def encode(self, texts: Sequence[str], prompt_name: str, progress: Progress | None = None) -> np.ndarray:
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), np.float32)
        # Longest first across all batches, not only within one: far less padding per batch.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        step = 32
        for start in range(0, len(texts), step):
            rows = order[start : start + step]
            out[rows] = self.model.encode(
                [texts[i] for i in rows], prompt_name=prompt_name, normalize_embeddings=True, convert_to_numpy=True,
                show_progress_bar=False,
            )  # fmt: skip
            if progress:
                progress(min(start + step, len(texts)), len(texts))
        return out


class Embedder:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._backend: _Backend | None = None
        self.fallback: str | None = None  # why "onnx" was asked for but torch is used

    @property
    def name(self) -> str:
        return self.settings.model

    @property
    def backend(self) -> str:
        """ "onnx" or "torch": the backend in use (loads the model)."""
        return "onnx" if isinstance(self.model, _Onnx) else "torch"

    @property
    def model(self) -> _Backend:
        """The loaded backend; the first access loads it (and exports the ONNX model once)."""
        if self._backend is None:
            self._backend = self._load()
        return self._backend

    def _load(self) -> _Backend:
        if self.settings.encoder == "onnx":
            if self.settings.model != DEFAULT_MODEL:
                self.fallback = "only the default model is exported to ONNX"  # expected: no message
                return _Torch(self.settings)
            try:
                return _Onnx(self.settings)
            except ImportError as exc:
                self.fallback = f"onnxruntime or tokenizers missing ({exc})"
            except Exception as exc:  # an export that failed: torch still answers, and says why
                from assistant.encode.onnx import OnnxExportError

                if not isinstance(exc, (OnnxExportError, OSError)):
                    raise
                self.fallback = str(exc)
            log.warning("using the torch encoder: %s", self.fallback)
        return _Torch(self.settings)

    @property
    def dim(self) -> int:
        return int(self.model.dim)

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.encode(list(texts), QUERY_PROMPT)

    def passages(self, texts: Sequence[str], batch_size: int = 32, progress: Progress | None = None) -> np.ndarray:
        """Passage vectors of all `texts`, in one call to the backend so that it can order them by length
        across the whole set (the ONNX encoder groups them by token count). `batch_size` is kept for callers
        of the old signature and no longer used."""
        return self.model.encode(list(texts), PASSAGE_PROMPT, progress)

    @property
    def tokens_encoded(self) -> int:
        """Tokens encoded so far by this process (0 if the backend does not count them)."""
        backend = self._backend
        return int(getattr(getattr(backend, "encoder", None), "tokens_encoded", 0))
