"""The fast query and passage encoder: e5 through ONNX Runtime, without torch.

Importing sentence-transformers costs seconds (torch, transformers, scikit-learn…);
answering a question needs none of it. Once, next to the converted model folder, we
export the BERT encoder with its mean pooling and L2 normalisation to ONNX and
quantise it to 8-bit weights (~120 MB instead of 470 MB). From then on a text is
encoded with `onnxruntime`, `tokenizers` and numpy only.

Quantisation is weight-only (MatMulNBits, 8 bits, blocks of 32, activations quantised
per row-block at run time; the embedding table stored as int8): unlike ORT's dynamic
int8 quantisation, whose activation scale is shared by the whole batch, a text's vector
does not depend on which other texts share its batch, and it stays within cosine
0.9998 of the sentence-transformers vector (checked at export; README has figures).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from assistant.cache import folder_intact, seal_folder
from assistant.locking import file_lock

__all__ = ["OnnxEncoder", "OnnxExportError", "export_onnx", "is_exported", "onnx_folder", "EXPORT_VERSION"]

log = logging.getLogger(__name__)
EXPORT_VERSION = 2
MODEL_FILE = "model.onnx"
_COMMON_TOKENIZER = "tokenizer-common.json"  # the pieces made of _COMMON_CHARS only
_COMMON_IDS = "tokenizer-common-ids.npy"  # its ids → the full tokenizer's ids
# A regex character class (with the space the pre-tokenizer turns into ▁): ASCII, general punctuation,
# CJK punctuation, CJK ideographs (extension A and the basic block), full-width forms.
_COMMON_CHARS = r"\x21-\x7e\u2010-\u206f\u2581\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"
_MARKER = "export.json"  # written last: its absence marks a half-written folder
_MIN_COSINE = 0.99  # export is refused below this agreement with the torch model
# Tokens per run (batch × padded length). Small runs stay in the caches: on the report's 133 sentences (~30 tokens,
# 2 cores) 512 gave ~75 texts per CPU-second, 1024 ~66, 256 ~78 but less wall throughput, 4096 only ~38.
_TOKEN_BUDGET = 512
# From this many texts (an index build, not a question), runs go to one single-threaded session per
# CPU side by side: small runs on one session of two threads wait on each other; 2,000 CMRC sentences
# on 2 cores went 125 → 137 texts/s (three runs each, the same vectors).
_LANE_MIN_TEXTS = 256
_CHECK_TEXTS = [
    "query: 市委网信办目前有多少在编人员？",
    "passage: 目前市委网信办仅有在编人员11人，工作力量严重不足。",
    "passage: 腾讯官方微博“精彩洛阳”是全国粉丝数量最多的政务机构微博。",
    "query: How many staff does the cyberspace office have?",
]


class OnnxExportError(Exception):
    """The model could not be exported to ONNX (one line); the caller falls back to torch."""


def onnx_folder(model_folder: Path) -> Path:
    """Where the ONNX export of a converted model folder lives (a sibling of it)."""
    return model_folder.with_name(f"{model_folder.name}-onnx-q8-v{EXPORT_VERSION}")


def is_exported(folder: Path) -> bool:
    """True when an export finished and is intact: every file has its recorded size and SHA-256 (hashed
    again only when a file changed on disk; assistant/cache.py). A damaged export is made again."""
    return folder_intact(folder, _MARKER, EXPORT_VERSION, "ONNX model", "exporting it again")


class OnnxEncoder:
    """Normalised sentence embeddings from an exported folder; `encode(texts, prefix)`."""

    def __init__(self, folder: Path, threads: int | None = None) -> None:
        from tokenizers import Tokenizer

        marker = json.loads((folder / _MARKER).read_text(encoding="utf-8"))
        self.folder = folder
        self.dim: int = int(marker["dimension"])
        self.prompts: dict[str, str] = marker["prompts"]
        self._pad_id: int = int(marker["pad_id"])
        self._max_tokens = int(marker["max_seq_length"])
        self.tokenizer = Tokenizer.from_file(str(folder / _COMMON_TOKENIZER))
        self.tokenizer.enable_truncation(self._max_tokens)
        self._to_full_ids = np.load(folder / _COMMON_IDS)
        self._outside = re.compile(f"[^ {marker['common_chars']}]")
        self._full: Tokenizer | None = None  # loaded only for a text with characters outside the common set
        self.tokens_encoded = 0  # a running count, for throughput figures
        self._threads = threads or os.cpu_count() or 1
        self.session = self._session(self._threads)
        self._lanes: queue.SimpleQueue | None = None  # single-threaded sessions, made for the first big job

    def _session(self, threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Idle threads sleep instead of spinning: faster on a busy 2-core machine (measured), and a
        # one-question CLI should not burn a core after its only run.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        return ort.InferenceSession(str(self.folder / MODEL_FILE), options, providers=["CPUExecutionProvider"])

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids as the full tokenizer gives them, with special tokens and truncation."""
        # Most texts here are Chinese, ASCII and their punctuation: the common-character tokenizer
        # holds only the pieces made of those characters (100k of 250k; a third of the load time
        # and memory) and yields the very same ids for any text whose normalised form stays within
        # them, since no other piece can match such a text. Other texts take the full tokenizer.
        normalize = self.tokenizer.normalizer.normalize_str
        common = [i for i, t in enumerate(texts) if not self._outside.search(normalize(t))]
        ids: list[list[int]] = [[] for _ in texts]
        if common:
            for i, enc in zip(common, self.tokenizer.encode_batch([texts[i] for i in common]), strict=True):
                ids[i] = self._to_full_ids[enc.ids].tolist()
        rest = sorted(set(range(len(texts))) - set(common))
        if rest:
            for i, enc in zip(rest, self._full_tokenizer().encode_batch([texts[i] for i in rest]), strict=True):
                ids[i] = enc.ids
        return ids

    def _full_tokenizer(self):
        if self._full is None:
            from tokenizers import Tokenizer

            self._full = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
            self._full.enable_truncation(self._max_tokens)
        return self._full

    def encode(
        self, texts: Sequence[str], prefix: str = "", progress: Callable[[int, int], None] | None = None
    ) -> np.ndarray:
        """Unit vectors (float32, one row per text) of `prefix + text`; `progress(done, total)` after each run."""
        out = np.zeros((len(texts), self.dim), np.float32)
        if not texts:
            return out
        ids = self.token_ids([prefix + t for t in texts])
        # Longest first, in runs of similar length: little padding, and the biggest run first
        # so memory peaks at once. Vectors do not depend on the grouping (weight-only quantisation).
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        runs, start = [], 0
        while start < len(order):
            size = max(1, min(len(order) - start, _TOKEN_BUDGET // max(len(ids[order[start]]), 1)))
            runs.append(order[start : start + size])
            start += size
        done = 0
        for run, vectors, tokens in self._encoded(runs, ids):
            out[run] = vectors
            done += len(run)
            self.tokens_encoded += tokens
            if progress:
                progress(done, len(order))
        return out

    def _encoded(self, runs: list[list[int]], ids: list[list[int]]) -> Iterator[tuple[list[int], np.ndarray, int]]:
        """(run, its vectors, its tokens) for every run: in order on the shared session, or side by side on
        one single-threaded session per CPU for a big job (in the order they finish)."""
        if self._threads == 1 or len(ids) < _LANE_MIN_TEXTS:
            yield from (self._run(self.session, run, ids) for run in runs)
            return
        if self._lanes is None:
            self._lanes = queue.SimpleQueue()
            for _ in range(self._threads):
                self._lanes.put(self._session(1))

        def on_a_lane(run: list[int]) -> tuple[list[int], np.ndarray, int]:
            session = self._lanes.get()
            try:
                return self._run(session, run, ids)
            finally:
                self._lanes.put(session)

        with ThreadPoolExecutor(self._threads) as pool:
            yield from (f.result() for f in as_completed([pool.submit(on_a_lane, run) for run in runs]))

    def _run(self, session, run: list[int], ids: list[list[int]]) -> tuple[list[int], np.ndarray, int]:
        width = len(ids[run[0]])  # the longest of the run
        batch = np.full((len(run), width), self._pad_id, np.int64)
        mask = np.zeros((len(run), width), np.int64)
        for row, i in enumerate(run):
            batch[row, : len(ids[i])] = ids[i]
            mask[row, : len(ids[i])] = 1
        return run, session.run(None, {"input_ids": batch, "attention_mask": mask})[0], int(mask.sum())


# --- export (once; needs torch, transformers, onnx, onnx-ir) ----------------------------------------


def export_onnx(model_folder: Path, target: Path | None = None) -> Path:
    """Export the sentence-transformers folder `model_folder` (BERT, mean pooling, normalise) to ONNX.

    Written into a temporary sibling folder and renamed into place when complete and
    checked, so an export killed at any moment leaves no folder that looks finished.
    """
    target = target or onnx_folder(model_folder)
    _check_exportable(model_folder)
    target.parent.mkdir(parents=True, exist_ok=True)
    # One export at a time (the web app and a CLI started together would both try): the second waits,
    # then finds the folder done. Holding the lock also makes removing stale temporary folders safe.
    with file_lock(target.parent / f".{target.name}.lock"):
        if not is_exported(target):
            _export_locked(model_folder, target)
    return target


def _export_locked(model_folder: Path, target: Path) -> None:
    tmp = temporary_folder(target)
    try:
        reference = export_quantized(lambda path: _export_fp32(model_folder, path), tmp)
        shutil.copyfile(model_folder / "tokenizer.json", tmp / "tokenizer.json")
        _write_common_tokenizer(tmp)
        marker = {**_marker(model_folder, reference), "common_chars": _COMMON_CHARS}
        encoder_marker = {**marker, "files": {}}
        (tmp / _MARKER).write_text(json.dumps(encoder_marker), encoding="utf-8")
        vectors = OnnxEncoder(tmp, threads=1).encode(_CHECK_TEXTS)
        cosine = float(np.min(np.sum(vectors * reference["vectors"], axis=1)))
        if cosine < _MIN_COSINE:
            raise OnnxExportError(f"ONNX export disagrees with the torch model (cosine {cosine:.4f})")
        marker["check_cosine_min"] = round(cosine, 6)
        seal_folder(tmp, target, _MARKER, marker)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_common_tokenizer(folder: Path) -> None:
    """tokenizer-common.json: the Unigram pieces made only of _COMMON_CHARS, ids remapped (see token_ids)."""
    data = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    model = data["model"]
    if model.get("type") != "Unigram":
        raise OnnxExportError("only Unigram tokenizers are exported")
    common = re.compile(f"[ {_COMMON_CHARS}]+")
    vocab = model["vocab"]
    specials = {t["id"] for t in data.get("added_tokens", [])} | {model["unk_id"]}
    # The lowest score stays too: the Unigram model derives its unknown-piece penalty from it.
    lowest = min(range(len(vocab)), key=lambda i: vocab[i][1])
    keep = [i for i, (piece, _) in enumerate(vocab) if i in specials or i == lowest or common.fullmatch(piece)]
    new_id = {old: new for new, old in enumerate(keep)}
    model["vocab"] = [vocab[i] for i in keep]
    model["unk_id"] = new_id[model["unk_id"]]
    for token in data.get("added_tokens", []):
        token["id"] = new_id[token["id"]]
    for token in (data.get("post_processor") or {}).get("special_tokens", {}).values():
        token["ids"] = [new_id[i] for i in token["ids"]]
    (folder / _COMMON_TOKENIZER).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    np.save(folder / _COMMON_IDS, np.asarray(keep, dtype=np.int64), allow_pickle=False)


def _check_exportable(folder: Path) -> None:
    """Only the layout we reproduce exactly: Transformer → mean Pooling → Normalize, with a tokenizer.json."""
    try:
        modules = [m["type"].rsplit(".", 1)[-1] for m in json.loads((folder / "modules.json").read_text("utf-8"))]
        pooling = json.loads((folder / "1_Pooling" / "config.json").read_text("utf-8"))
        config = json.loads((folder / "config.json").read_text("utf-8"))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise OnnxExportError(f"{folder}: not a sentence-transformers folder we can export ({exc})") from None
    if modules != ["Transformer", "Pooling", "Normalize"] or not pooling.get("pooling_mode_mean_tokens"):
        raise OnnxExportError(f"{folder}: only Transformer + mean Pooling + Normalize models are exported")
    if config.get("model_type") != "bert" or not (folder / "tokenizer.json").is_file():
        raise OnnxExportError(f"{folder}: only BERT models with a tokenizer.json are exported")


def _export_fp32(model_folder: Path, path: Path) -> dict:
    """Trace the BERT encoder with pooling and normalisation; returns the torch vectors of the check texts."""
    try:
        import torch
        from transformers import AutoTokenizer, BertModel
    except ImportError as exc:
        raise OnnxExportError(f"exporting to ONNX needs torch and transformers ({exc})") from None

    class Pooled(torch.nn.Module):
        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=torch.zeros_like(input_ids)
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2, dim=1)

    # Eager attention: the SDPA path traces its mask with shape-specialised Python branches.
    model = Pooled(BertModel.from_pretrained(str(model_folder), attn_implementation="eager")).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(model_folder))
    sample = tokenizer(_CHECK_TEXTS, padding=True, return_tensors="pt")
    inputs = (sample["input_ids"], sample["attention_mask"])
    with torch.no_grad():
        vectors = model(*inputs).numpy()
        torch_export(model, inputs, path, "sentence_embedding")
    return {"vectors": vectors, "dimension": int(vectors.shape[1]), "pad_id": int(tokenizer.pad_token_id or 0)}


def temporary_folder(target: Path) -> Path:
    """A new temporary folder beside `target` to assemble it in, once those a killed assembly left are removed
    (call it holding `target`'s lock)."""
    for stale in target.parent.glob(f".{target.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))


def export_quantized(export: Callable[[Path], dict], folder: Path) -> dict:
    """`export(path)` writes a float ONNX model and returns what to check the result against; the model is
    quantised into `folder`/MODEL_FILE (8-bit weights) and the float file removed. The embedder and the answer
    verifier are made this way."""
    float_model = folder / "fp32.onnx"
    with warnings.catch_warnings(), _quiet("onnxruntime.quantization"):
        warnings.simplefilter("ignore")  # tracer and exporter warnings about shapes we make dynamic
        reference = export(float_model)
        _quantize(float_model, folder / MODEL_FILE)
    float_model.unlink()
    return reference


def torch_export(model: Any, inputs: tuple, path: Path, output: str) -> None:
    """A BERT-shaped torch model taking (input_ids, attention_mask) to `path`, batch and token axes dynamic.
    The TorchScript exporter: the dynamo one needs onnxscript, and these graphs are plain BERT."""
    import torch

    torch.onnx.export(
        model, inputs, str(path), dynamo=False, opset_version=17, external_data=False,
        input_names=["input_ids", "attention_mask"], output_names=[output],
        dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                      output: {0: "batch"}},
    )  # fmt: skip


def _quantize(source: Path, target: Path) -> None:
    try:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer
    except ImportError as exc:
        raise OnnxExportError(f"quantising the ONNX model needs onnx and onnx-ir ({exc})") from None
    config = DefaultWeightOnlyQuantConfig(block_size=32, is_symmetric=True, accuracy_level=4, bits=8)
    quantizer = MatMulNBitsQuantizer(onnx.load(str(source)), algo_config=config)
    quantizer.process()
    matmuls = target.with_name("matmul8.onnx")
    quantizer.model.save_model_to_file(str(matmuls), use_external_data_format=False)
    # The word-embedding table (250k × 384, most of the weights) as int8: a lookup, so no activation scale.
    quantize_dynamic(str(matmuls), str(target), weight_type=QuantType.QInt8, op_types_to_quantize=["Gather"],
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})  # fmt: skip
    matmuls.unlink()


@contextmanager
def _quiet(prefix: str) -> Iterator[None]:
    """The quantiser logs every node it skips, and configures the root logger when imported: undo both."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    logging.getLogger(prefix).setLevel(logging.WARNING)
    root.setLevel(logging.ERROR)  # quantize_dynamic advises pre-processing on the root logger
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def _marker(model_folder: Path, reference: dict) -> dict:
    st_config = json.loads((model_folder / "config_sentence_transformers.json").read_text("utf-8"))
    bert_config = json.loads((model_folder / "sentence_bert_config.json").read_text("utf-8"))
    weights = model_folder / "model.safetensors"
    return {
        "version": EXPORT_VERSION,
        "source": str(model_folder),
        "source_weights_sha256": hashlib.sha256(weights.read_bytes()).hexdigest() if weights.is_file() else None,
        "quantization": "MatMulNBits 8-bit weight-only (block 32, accuracy level 4) + int8 word embeddings",
        "dimension": reference["dimension"],
        "pad_id": reference["pad_id"],
        "max_seq_length": int(bert_config.get("max_seq_length", 512)),
        "prompts": st_config.get("prompts", {}),
    }
