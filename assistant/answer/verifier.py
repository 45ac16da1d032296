"""The answer verifier: does this sentence answer this question? One model reads both together.

The hand-made evidence (`evidence.py`) compares the question and a sentence through separate
embeddings and word overlaps: it cannot see that "6家企业获评2015年…" does not answer
"2016年有几家企业获评…？". The verifier is a small cross-encoder: the e5 encoder we already ship
reads `query: <question></s>passage: <section>：<sentence>` as one sequence, and a linear head on
its first token and mean gives the log-odds that the sentence answers.

Only what differs from e5 is committed (`verifier.npz`, well under a megabyte): a low-rank
adapter (LoRA) of every linear layer of the top `layers` encoder layers, their layer norms, and
the head (trained by `training/verifier.py`: the lower layers stay frozen, so training runs
only the top ones over cached hidden states). It reads e5's lower `layers_total` layers only
(8 of 12: cheaper to train and to run; the top two of those are adapted). On first use the model is assembled — the
converted e5 weights (`assistant/encode/convert.py`) with the adapter merged in — exported
to ONNX and quantised to 8-bit weights like the embedder, into the cache beside it; from
then on a score needs onnxruntime, tokenizers and numpy only.

`score(pairs)` is the one entry point others need: (question or claim, sentence with its
scope) → the probability that the sentence states what is asked or claimed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import threading
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

import numpy as np

from assistant.cache import folder_intact, seal_folder
from assistant.config import DEFAULT_MODEL, Settings
from assistant.encode.onnx import MODEL_FILE  # what encode.onnx.export_quantized writes
from assistant.locking import file_lock

__all__ = ["DELTA_FILE", "VerifierError", "Verifier", "assemble", "for_candidate", "load", "pair_ids", "passage_text",
           "score"]  # fmt: skip

log = logging.getLogger(__name__)
DELTA_FILE = "verifier.npz"
ASSEMBLY_VERSION = 2
_MARKER = "verifier.json"  # written last: its absence marks a half-written folder
_COMMON_TOKENIZER = "tokenizer-common.json"  # from the embedder's export (encode/onnx.py)
_COMMON_IDS = "tokenizer-common-ids.npy"
_PAD = 1  # e5's (XLM-R's) padding id
MAX_TOKENS = 64  # question and passage together; the passage is cut at its end (time: training on 1 CPU)
QUESTION_TOKENS = 24
SCOPE_CHARS = 20  # the section path before a sentence, its innermost end kept
_LORA_TARGETS = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
                 "intermediate.dense", "output.dense")  # fmt: skip


class VerifierError(Exception):
    """The verifier could not be assembled or loaded (one line); answering goes on without it."""


def passage_text(sentence: str, scope: str = "") -> str:
    """The second segment: the sentence after its scope (section path or title), innermost end kept."""
    scope = " ".join(scope.split())[-SCOPE_CHARS:]
    return f"{scope}：{sentence.strip()}" if scope else sentence.strip()


def pair_ids(tokenizer, pairs: Sequence[tuple[str, str]]) -> list[list[int]]:
    """`<s> query: Q </s> passage: P </s>` token ids for each (question, passage text) pair, cut to MAX_TOKENS."""
    questions = tokenizer.encode_batch([f"query: {q}" for q, _ in pairs])
    passages = tokenizer.encode_batch([f"passage: {p}" for _, p in pairs])
    out = []
    for q, p in zip(questions, passages, strict=True):
        q_ids = q.ids[:-1][: QUESTION_TOKENS - 1] + q.ids[-1:]  # keep </s>
        p_ids = p.ids[1:]  # drop the second <s>
        room = MAX_TOKENS - len(q_ids)
        if len(p_ids) > room:
            p_ids = p_ids[: room - 1] + p_ids[-1:]
        out.append(q_ids + p_ids)
    return out


def delta_path() -> Path:
    return Path(str(files("assistant.answer").joinpath(DELTA_FILE)))


def _delta_sha() -> str:
    return hashlib.sha256(delta_path().read_bytes()).hexdigest()


def folder_for(settings: Settings) -> Path:
    """Where the assembled verifier lives: beside the converted e5 folder, named after the delta it holds."""
    from assistant.encode.convert import model_path

    if settings.model != DEFAULT_MODEL:
        raise VerifierError("the verifier is built on the default model only")
    base = Path(model_path(settings))
    return base.with_name(f"verifier-{_delta_sha()[:12]}-onnx-q8-v{ASSEMBLY_VERSION}")


def is_assembled(folder: Path) -> bool:
    return folder_intact(folder, _MARKER, ASSEMBLY_VERSION, "verifier", "assembling it again")


def read_delta(path: Path | None = None) -> tuple[dict, dict[str, np.ndarray]]:
    with np.load(path or delta_path(), allow_pickle=False) as data:
        arrays = {k: data[k].astype(np.float32) for k in data.files if k != "meta"}
        meta = json.loads(bytes(data["meta"]).decode("utf-8"))
    return meta, arrays


def merged_state(base: dict[str, np.ndarray], meta: dict, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The BERT weights with the adapter merged in (W + scale·B·A) and the trained layer norms set."""
    state = dict(base)
    scale = float(meta["alpha"]) / float(meta["rank"])
    for layer in range(int(meta["first_layer"]), int(meta["layers_total"])):
        for target in _LORA_TARGETS:
            name = f"encoder.layer.{layer}.{target}.weight"
            a, b = arrays[f"{name}.lora_a"], arrays[f"{name}.lora_b"]
            state[name] = base[name] + scale * (b @ a)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            for part in ("weight", "bias"):
                key = f"encoder.layer.{layer}.{ln}.{part}"
                state[key] = arrays[key]
    return state


def assemble(settings: Settings, target: Path | None = None) -> Path:
    """Build (once) the ONNX verifier from the converted e5 weights and the committed delta; needs torch."""
    from assistant.encode.convert import model_path
    from assistant.encode.onnx import export_onnx, is_exported, onnx_folder

    target = target or folder_for(settings)
    base = Path(model_path(settings))
    embedder = onnx_folder(base)
    if not is_exported(embedder):  # its tokenizer files are shared
        export_onnx(base, embedder)
    target.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(target.parent / f".{target.name}.lock"):
        if not is_assembled(target):
            _assemble_locked(base, embedder, target)
    return target


def _assemble_locked(base: Path, embedder: Path, target: Path) -> None:
    from assistant.encode.onnx import export_quantized, temporary_folder

    tmp = temporary_folder(target)
    try:
        meta, arrays = read_delta()
        reference = export_quantized(lambda path: _export_fp32(base, meta, arrays, path, embedder), tmp)
        shutil.copyfile(embedder / _COMMON_TOKENIZER, tmp / _COMMON_TOKENIZER)
        marker = {"version": ASSEMBLY_VERSION, "delta_sha256": _delta_sha(), "base": str(base),
                  "trained": meta.get("trained", ""), "pad_id": reference["pad_id"]}  # fmt: skip
        (tmp / _MARKER).write_text(json.dumps({**marker, "files": {}}), encoding="utf-8")  # for the check below
        got = np.asarray(Verifier(tmp).logits(reference["pairs"]))
        gap = float(np.max(np.abs(got - reference["logits"])))
        if gap > 0.5:  # log-odds: 8-bit weights move them a little, never this much
            raise VerifierError(f"the 8-bit verifier disagrees with the float one (log-odds off by {gap:.2f})")
        marker["check_max_logit_gap"] = round(gap, 4)
        seal_folder(tmp, target, _MARKER, marker)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


_CHECK_PAIRS = [
    ("2016年有几家企业获评示范企业？", passage_text("2015年共有6家企业获评示范企业。", "两化融合")),
    ("2015年有几家企业获评示范企业？", passage_text("2015年共有6家企业获评示范企业。", "两化融合")),
    ("市委网信办目前有多少在编人员？", passage_text("目前市委网信办仅有在编人员11人，工作力量严重不足。")),
]


def build_torch(base: Path, meta: dict, arrays: dict[str, np.ndarray], keep: np.ndarray | None = None):
    """The merged cross-encoder as a torch module: (input_ids, attention_mask) → log-odds. With `keep` (full
    token ids), only those rows of the word embeddings: inputs are then positions in `keep`."""
    import torch
    from safetensors.numpy import load_file
    from transformers import BertConfig, BertModel

    config = BertConfig.from_pretrained(str(base))
    config._attn_implementation = "eager"  # traced without shape-specialised branches
    config.num_hidden_layers = int(meta["layers_total"])  # e5's lower layers only: the top ones are not used
    weights = {k: v for k, v in load_file(str(base / "model.safetensors")).items()
               if not k.startswith("pooler") and _layer_of(k) < config.num_hidden_layers}  # fmt: skip
    state = merged_state(weights, meta, arrays)
    if keep is not None:
        state["embeddings.word_embeddings.weight"] = state["embeddings.word_embeddings.weight"][keep]
        config.vocab_size = len(keep)
    bert = BertModel(config, add_pooling_layer=False)
    bert.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}, strict=False)
    head_w = torch.from_numpy(arrays["head.weight"])
    head_b = torch.from_numpy(arrays["head.bias"])

    class CrossEncoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert
            self.head = torch.nn.Linear(head_w.shape[1], 1)
            self.head.weight.data.copy_(head_w)
            self.head.bias.data.copy_(head_b)

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=torch.zeros_like(input_ids)).last_hidden_state  # fmt: skip
            return self.head(pooled(hidden, attention_mask)).squeeze(-1)

    return CrossEncoder().eval()


def _layer_of(name: str) -> int:
    parts = name.split(".")
    return int(parts[2]) if name.startswith("encoder.layer.") else -1


def pooled(hidden, attention_mask):
    """The head's input: the first token's state beside the mean of all (torch; training uses it too)."""
    import torch

    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    return torch.cat([hidden[:, 0], mean], dim=-1)


def _export_fp32(base: Path, meta: dict, arrays: dict[str, np.ndarray], path: Path, embedder: Path) -> dict:
    import torch
    from tokenizers import Tokenizer

    from assistant.encode.onnx import torch_export

    keep = np.load(embedder / _COMMON_IDS)
    model = build_torch(base, meta, arrays, keep)
    tokenizer = Tokenizer.from_file(str(embedder / _COMMON_TOKENIZER))
    ids = pair_ids(tokenizer, _CHECK_PAIRS)
    pad_id = int(np.flatnonzero(keep == _PAD)[0])
    batch, mask = _batch(ids, pad_id=pad_id)
    inputs = (torch.from_numpy(batch), torch.from_numpy(mask))
    with torch.no_grad():
        logits = model(*inputs).numpy()
        torch_export(model, inputs, path, "logit")
    return {"pairs": _CHECK_PAIRS, "logits": logits, "pad_id": pad_id}


def _batch(ids: list[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    width = max(len(i) for i in ids)
    batch = np.full((len(ids), width), pad_id, np.int64)
    mask = np.zeros((len(ids), width), np.int64)
    for row, i in enumerate(ids):
        batch[row, : len(i)] = i
        mask[row, : len(i)] = 1
    return batch, mask


class Verifier:
    """The assembled verifier of a folder: `probabilities(pairs)` and `logits(pairs)`."""

    def __init__(self, folder: Path, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.folder = folder
        # The embedder's tokenizer of the common characters (encode/onnx.py), whose ids index the verifier's
        # embedding table: it holds those pieces only (a third of e5's table), so it loads in a third of the time.
        # A character outside them reads as unknown: a verifier reads Chinese and ASCII.
        self.tokenizer = Tokenizer.from_file(str(folder / _COMMON_TOKENIZER))
        self._pad_id = int(json.loads((folder / _MARKER).read_text(encoding="utf-8"))["pad_id"])
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or 0
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # as the embedder (onnx.py)
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(folder / MODEL_FILE), options, providers=["CPUExecutionProvider"])

    def logits(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """Log-odds that each (question, passage text) pair's passage answers; one run for all of them."""
        if not pairs:
            return []
        batch, mask = _batch(pair_ids(self.tokenizer, pairs), pad_id=self._pad_id)
        return [float(v) for v in self.session.run(None, {"input_ids": batch, "attention_mask": mask})[0]]

    def probabilities(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        return [float(1.0 / (1.0 + np.exp(-v))) for v in self.logits(pairs)]


_loaded: dict[tuple[str, Path], Verifier] = {}
_lock = threading.Lock()


def load(settings: Settings | None = None) -> Verifier:
    """The verifier for `settings` (the default model), assembled on first use and kept for the process."""
    settings = settings or Settings.load()
    key = (settings.model, settings.cache_dir)
    if key in _loaded:  # the usual case: no file is looked at again
        return _loaded[key]
    with _lock:
        if key not in _loaded:
            from assistant.encode.convert import ModelError
            from assistant.encode.onnx import OnnxExportError

            try:
                folder = folder_for(settings)
                if not is_assembled(folder):
                    assemble(settings, folder)
                _loaded[key] = Verifier(folder)
            except ImportError as exc:
                raise VerifierError(f"assembling the verifier needs torch and transformers ({exc})") from None
            except (ModelError, OnnxExportError, OSError) as exc:
                raise VerifierError(f"cannot assemble the verifier: {exc}") from None
        return _loaded[key]


def for_candidate(reading, i: int, settings: Settings | None = None) -> float:
    """The probability that candidate `i` of a `Reading` (evidence.py) answers its question; 0.5 (no opinion)
    when the verifier cannot be assembled here (logged once)."""
    from assistant.answer.evidence import scope_text

    c = reading.candidates[i]
    pair = (reading.question.text, passage_text(reading.sentence(i), scope_text(reading.hits[c.hit_no].passage)))
    try:
        return score([pair], settings)[0]
    except VerifierError as exc:
        if not _warned:
            log.warning("answering without the verifier: %s", exc)
            _warned.append(True)
        return 0.5


_warned: list[bool] = []


def score(pairs: Sequence[tuple[str, str]], settings: Settings | None = None) -> list[float]:
    """For each (question or claim, sentence with its scope) pair: the probability that the sentence answers
    the question, or states the claim. Pass the scope inside the sentence text (`passage_text(sentence, scope)`)."""
    return load(settings).probabilities(pairs)
