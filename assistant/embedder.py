"""Questions and passages to vectors: normalised e5 embeddings, loaded lazily.

The model is loaded on first use, so commands that never embed (`--help`, an
index that is up to date and a question answered from it…) never pay for it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from assistant.config import Settings
from assistant.model import PASSAGE_PROMPT, QUERY_PROMPT, load_model

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["Embedder"]

Progress = Callable[[int, int], None]


class Embedder:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._model: SentenceTransformer | None = None

    @property
    def name(self) -> str:
        return self.settings.model

    @property
    def model(self) -> SentenceTransformer:
        if self._model is None:
            self._model = load_model(self.settings)
        return self._model

    @property
    def dim(self) -> int:
        return int(self.model.get_sentence_embedding_dimension())

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(list(texts), QUERY_PROMPT)

    def passages(self, texts: Sequence[str], batch_size: int = 32, progress: Progress | None = None) -> np.ndarray:
        texts = list(texts)
        parts = []
        for start in range(0, len(texts), batch_size):
            parts.append(self._encode(texts[start : start + batch_size], PASSAGE_PROMPT))
            if progress:
                progress(min(start + batch_size, len(texts)), len(texts))
        return np.vstack(parts) if parts else np.zeros((0, self.dim), np.float32)

    def _encode(self, texts: list[str], prompt_name: str) -> np.ndarray:
        vectors = self.model.encode(
            texts, prompt_name=prompt_name, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
