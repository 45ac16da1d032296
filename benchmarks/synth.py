"""Synthetic corpora for the scale benchmark, made from real sentences: the report's, and (when given)
the CMRC 2018 trial paragraphs' (../shared/external/cmrc2018/).

Clearly synthetic and for scale only: documents recombined from those sentences with
their numbers and place names varied, generated at run time into a temporary folder,
never committed. Each document is titled as synthetic.

Embedding 10⁵ sentences for real takes hours on two cores (10⁶ passages, about 5·10⁶
sentences, would take weeks), so `PerturbedVectors` stands in for the encoder's passage
side at scale: a synthetic sentence gets the real vector of the source sentence it was
made from, plus Gaussian noise whose size is calibrated on a sample of synthetic
sentences embedded for real (same mean cosine to their source). Questions are still
embedded for real.
"""

from __future__ import annotations

import json
import random
import re
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from assistant.ingest.chunking import split_sentences

_DIGITS = re.compile(r"\d+")
PLACES = ("洛阳", "河南", "郑州", "偃师", "孟津", "新安", "栾川", "嵩县", "汝阳", "宜阳", "洛宁", "伊川")
_STAND_INS = ("开封", "许昌", "南阳", "新乡", "安阳", "焦作", "鹤壁", "濮阳", "漯河", "周口", "信阳", "商丘", "驻马店")
_PLACE = re.compile("|".join(PLACES))
_ANY_PLACE = re.compile("|".join(PLACES + _STAND_INS))
_NOISE = re.compile(r"\s+|\*\*")  # white space and the bold marks the corpus reader removes


def skeleton(sentence: str) -> str:
    """A sentence with its numbers and place names blanked: equal for a report sentence and its variants."""
    return _ANY_PLACE.sub("@", _DIGITS.sub("#", _NOISE.sub("", sentence)))


def report_sentences(corpus_dir: Path) -> tuple[list[str], list[str]]:
    """The report's sentences (deduplicated, in order) and its heading-like lines."""
    sentences: dict[str, None] = {}
    headings: list[str] = []
    for path in sorted(corpus_dir.rglob("*")):
        if path.suffix not in (".txt", ".md"):
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line:
                continue
            if len(line) < 30 and not line.endswith(("。", "；", "！", "？")):
                headings.append(line)
                continue
            for a, b in split_sentences(line):
                sentences[line[a:b]] = None
    return list(sentences), headings


def cmrc_sentences(path: Path) -> list[str]:
    """The sentences of the CMRC 2018 trial paragraphs (SQuAD format), deduplicated, in order."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    sentences: dict[str, None] = {}
    for article in data:
        for paragraph in article["paragraphs"]:
            context = _NOISE.sub("", paragraph["context"])
            for a, b in split_sentences(context):
                if b - a >= 8:  # fragments ("4V4)") carry no meaning of their own
                    sentences[context[a:b]] = None
    return list(sentences)


def vary(sentence: str, rng: random.Random) -> str:
    """The same sentence with every number and place name replaced (numbers keep their length)."""
    sentence = _DIGITS.sub(lambda m: str(rng.randrange(10 ** (len(m.group()) - 1), 10 ** len(m.group()))), sentence)
    return _PLACE.sub(lambda _m: rng.choice(_STAND_INS), sentence)


def write_corpus(
    corpus_dir: Path, out: Path, factor: float, seed: int = 0, extra: Sequence[str] = ()
) -> dict[str, int]:
    """Write about `factor` × the report's size of synthetic documents into `out` (sentences drawn from the
    report's and `extra`); returns counts."""
    sentences, headings = report_sentences(corpus_dir)
    sentences = list(dict.fromkeys([*sentences, *extra]))
    size = sum(len(p.read_text(encoding="utf-8")) for p in corpus_dir.rglob("*") if p.suffix in (".txt", ".md"))
    target = int(size * factor)
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    written = docs = 0
    doc_chars = min(size, max(2000, target))  # documents the size of the report (smaller when the target is)
    while written < target:
        docs += 1
        lines = [f"合成文档第 {docs} 号（仅供规模测试的合成数据，由原报告的句子重新组合而成）", ""]
        chars = 0
        while chars < doc_chars:
            lines += [vary(rng.choice(headings), rng), ""] if headings and rng.random() < 0.25 else []
            para = "".join(vary(rng.choice(sentences), rng) for _ in range(rng.randint(2, 6)))
            lines += [para, ""]
            chars += len(para)
        text = "\n".join(lines)
        (out / f"synthetic-{docs:05d}.txt").write_text(text, encoding="utf-8")
        written += len(text)
    return {"documents": docs, "chars": written}


class PerturbedVectors:
    """Duck-types `Embedder` for index.build: real question vectors, perturbed report vectors for passages."""

    def __init__(
        self, embedder, corpus_dir: Path, sigma: float | None = None, sample: int = 200, seed: int = 0,
        extra: Sequence[str] = (), cache: Path | None = None,
    ) -> None:  # fmt: skip
        self.real = embedder
        self.name = embedder.name
        sentences, headings = report_sentences(corpus_dir)
        sentences = list(dict.fromkeys([*sentences, *extra]))
        sources = list(dict.fromkeys(sentences + headings))
        vectors = self._sources(sources, cache)
        self.dim = vectors.shape[1]
        self.table = {skeleton(s): v for s, v in zip(sources, vectors, strict=True)}
        self.fallback = vectors
        self.unknown = 0  # texts with no source (document titles, sentences cut by the chunker): random source
        self.calibration = self._calibrate(sentences, sample, seed) if sigma is None else None
        self.sigma = sigma if sigma is not None else self.calibration["sigma"]

    def _sources(self, sources: list[str], cache: Path | None) -> np.ndarray:
        """The real vectors of the source sentences; kept in `cache` so that every worker process of one
        benchmark run reuses them instead of embedding thousands of sentences again."""
        if cache is not None and cache.is_file():
            saved = np.load(cache, allow_pickle=False)
            if saved["texts"].tolist() == sources:
                return saved["vectors"]
        vectors = self.real.passages(sources)
        if cache is not None:
            np.savez(cache, texts=np.array(sources), vectors=vectors)
        return vectors

    def _calibrate(self, sentences: list[str], sample: int, seed: int) -> dict[str, float]:
        rng = random.Random(seed + 1)
        picked = [rng.choice(sentences) for _ in range(sample)]
        variants = [vary(s, rng) for s in picked]
        real = self.real.passages(variants)
        cosine = float(np.mean(np.sum(real * np.stack([self.table[skeleton(s)] for s in picked]), axis=1)))
        # normalise(v + σ·g/√d) has cosine ≈ 1/√(1+σ²) with unit v: solve for the measured mean cosine.
        sigma = float(np.sqrt(max(1 / max(cosine, 1e-3) ** 2 - 1, 0.0)))
        return {"sample": sample, "mean_cosine": round(cosine, 4), "sigma": round(sigma, 4)}

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.real.queries(texts)

    def passages(
        self, texts: Sequence[str], batch_size: int = 32, progress: Callable[[int, int], None] | None = None
    ) -> np.ndarray:
        out = np.empty((len(texts), self.dim), np.float32)
        for i, text in enumerate(texts):
            seed = zlib.crc32(text.encode("utf-8"))
            base = self.table.get(skeleton(text))
            if base is None:
                self.unknown += 1
                base = self.fallback[seed % len(self.fallback)]
            noise = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
            v = base + noise * (self.sigma / np.sqrt(self.dim))
            out[i] = v / np.linalg.norm(v)
        if progress:
            progress(len(texts), len(texts))
        return out
