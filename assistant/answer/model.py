"""The learned parts of answering, evaluated with numpy: no training library is needed to answer.

Two small gradient-boosted tree models, trained by `python -m training.train` (fixed seed, data
in the repository and in ../shared; see training/README.md for data, splits and figures) and
committed as JSON beside this file:

- `ranker.json` scores every candidate sentence: how likely it holds the answer (it picks the
  answer and orders the sources);
- `answerability.json` gives the probability that the chosen answer is right, from the question's
  best candidates; `found` is that probability reaching the threshold chosen on data kept out of
  training (`Trees.threshold`).

Each file also carries a few rows of features with LightGBM's own outputs for them, so a test can
check this evaluator against the library that trained it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import numpy as np

__all__ = ["AnswerModelError", "Trees", "answerability", "from_json", "load", "ranker"]

FORMAT = 1


class AnswerModelError(Exception):
    """A model file that cannot be used; one line."""


@dataclass(frozen=True)
class Trees:
    """An ensemble of binary decision trees, flattened into one node table (a leaf has feature -1)."""

    features: tuple[str, ...]
    feature: np.ndarray  # int32 per node: the column tested, -1 for a leaf
    threshold: np.ndarray  # float64 per node: go left when value <= threshold
    left: np.ndarray  # int32 per node
    right: np.ndarray  # int32 per node
    value: np.ndarray  # float64 per node: the leaf's output (0 for inner nodes)
    roots: np.ndarray  # int32 per tree
    depth: int
    threshold_found: float = 0.5  # answerability: the probability from which an answer is given
    check: dict | None = None  # rows and LightGBM's outputs for them

    def raw(self, x: np.ndarray) -> np.ndarray:
        """The sum of the trees' leaf values for each row of `x` (columns in `self.features` order)."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.features):
            raise ValueError(f"expected rows of {len(self.features)} features, got shape {x.shape}")
        node = np.broadcast_to(self.roots, (len(x), len(self.roots))).copy()
        rows = np.arange(len(x))[:, None]
        for _ in range(self.depth):
            column = self.feature[node]
            inner = column >= 0
            if not inner.any():
                break
            values = x[rows, np.where(inner, column, 0)]
            step = np.where(values <= self.threshold[node], self.left[node], self.right[node])
            node = np.where(inner, step, node)
        return self.value[node].sum(axis=1)

    def probability(self, x: np.ndarray) -> np.ndarray:
        """For a model trained on a binary objective: the logistic of the raw score."""
        return 1.0 / (1.0 + np.exp(-self.raw(x)))


def from_json(data: dict) -> Trees:
    if data.get("format") != FORMAT:
        raise AnswerModelError(f"model format {data.get('format')} is not the supported {FORMAT}")
    nodes = data["nodes"]
    return Trees(
        features=tuple(data["features"]),
        feature=np.asarray(nodes["feature"], dtype=np.int32),
        threshold=np.asarray(nodes["threshold"], dtype=np.float64),
        left=np.asarray(nodes["left"], dtype=np.int32),
        right=np.asarray(nodes["right"], dtype=np.int32),
        value=np.asarray(nodes["value"], dtype=np.float64),
        roots=np.asarray(data["roots"], dtype=np.int32),
        depth=int(data["depth"]),
        threshold_found=float(data.get("threshold", 0.5)),
        check=data.get("check"),
    )


@cache
def load(name: str) -> Trees:
    """A model file shipped in this package, read once."""
    try:
        data = json.loads(files("assistant.answer").joinpath(name).read_text(encoding="utf-8"))
        return from_json(data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AnswerModelError(f"answer model {name} is unreadable ({type(exc).__name__}: {exc})") from None


def ranker() -> Trees:
    return load("ranker.json")


def answerability() -> Trees:
    return load("answerability.json")
