"""Train the answer verifier (assistant/answer/verifier.py): a cross-encoder on the e5 encoder we ship.

    python -m training.verifier          (writes assistant/answer/verifier.npz; after `python -m training.train`
                                          has collected the evidence into .work/records.pickle)
    python -m training.train --reuse --compare-verifier     (the comparison with the features: results.md)

Pairs (question, candidate sentence with its section path) → answers / does not answer, from the
evidence the real pipeline collected for every question set (`training/collect.py`):

- positives: the candidate sentences that hold the answer of an answerable question;
- negatives: the other sentences the pipeline read for it (the same document, the same topic:
  the best by cosine first), every sentence read for an unanswerable question — the CMRC
  no-answer variant, the answer-removed documents (the topic is there, the fact is not) and the
  constraint-changed near misses of `training/nearmiss.py` — and substitutions: a positive's
  question with a year, number, ordinal, level or qualifier changed to one its sentence does not
  state (`nearmiss.change`).

The model: e5-small's lower layers frozen, their hidden states computed once per pair; the top
TOP_LAYERS layers get a rank-RANK adapter on every linear layer (and their layer norms train),
and a linear head reads the first token and the mean. Only that is stored (`verifier.npz`).
Seeded; one CPU thread (the machine is shared), a subsample of CMRC's pairs (CMRC_PAIRS).

`fit(pairs)` and `Scorer` are used by `training/train.py` to train verifiers by document fold and
by domain held out, and to compare them with the LightGBM answerability model.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.answer import verifier as runtime
from assistant.answer.evidence import scope_text
from training.collect import Record
from training.nearmiss import change

SEED = 7
KEEP_LAYERS = 8  # e5's lower layers the verifier reads (of 12): the top four are not used
TOP_LAYERS = 2  # of those, the ones adapted (the rest frozen, computed once per pair)
RANK = 16
ALPHA = 32
EPOCHS = 3  # at least; a small set gets more, up to MIN_STEPS optimiser steps (MAX_EPOCHS at most)
MIN_STEPS = 150
MAX_EPOCHS = 8
BATCH = 32
LEARNING_RATE = 2e-3  # the adapter and layer norms
HEAD_LEARNING_RATE = 1e-2  # the head starts from nothing
CMRC_PAIRS = 3200  # CMRC's pairs learnt from, sampled (the report's ~700 are all kept); one CPU, see above
NEGATIVES_PER_QUESTION = 3  # the best-by-cosine wrong sentences of an answerable question
UNANSWERABLE_NEGATIVES = 3
POSITIVES_PER_QUESTION = 2


@dataclass(frozen=True)
class Pair:
    question: str
    passage: str  # runtime.passage_text(sentence, scope)
    label: int
    group: str  # the document: folds never split it
    domain: str  # report / cmrc
    source: str  # which set or substitution made it

    @property
    def key(self) -> tuple[str, str]:
        return self.question, self.passage


def candidate_passage(record: Record, i: int) -> str:
    c = record.reading.candidates[i]
    return runtime.passage_text(record.reading.sentence(i), scope_text(record.reading.hits[c.hit_no].passage))


def make_pairs(records: list[Record], domain_of: dict[str, str], rng: random.Random) -> list[Pair]:
    """Every training pair the records give (deduplicated by question and passage; see the module docstring)."""
    pairs: dict[tuple[str, str], Pair] = {}

    def add(p: Pair) -> None:
        if p.key not in pairs or p.label == 0:  # a pair both ways (noisy labels) counts as a negative
            pairs[p.key] = p

    for r in records:
        domain = domain_of[r.set]
        question = r.reading.question.text
        n = len(r.reading.candidates)
        if not n:
            continue
        cosines = np.array([c.cosine for c in r.reading.candidates])
        order = [int(i) for i in np.argsort(-cosines)]
        if r.answerable and r.labels.any():
            positives = [i for i in order if r.labels[i]][:POSITIVES_PER_QUESTION]
            for i in positives:
                passage = candidate_passage(r, i)
                add(Pair(question, passage, 1, r.group, domain, r.set))
                changed = change(question, passage, rng)
                if changed is not None:
                    add(Pair(changed[0], passage, 0, r.group, domain, f"substituted {changed[1]}"))
            for i in [i for i in order if not r.labels[i]][:NEGATIVES_PER_QUESTION]:
                add(Pair(question, candidate_passage(r, i), 0, r.group, domain, r.set))
        elif not r.answerable:
            for i in order[:UNANSWERABLE_NEGATIVES]:
                add(Pair(question, candidate_passage(r, i), 0, r.group, domain, r.set))
    return list(pairs.values())


def subsample(pairs: list[Pair], limit: int, seed: int = SEED) -> list[Pair]:
    """At most `limit` pairs, sampled (seeded)."""
    return random.Random(seed).sample(pairs, limit) if len(pairs) > limit else list(pairs)


def training_pairs(pairs: list[Pair]) -> list[Pair]:
    """The pairs the verifiers learn from: every report pair, CMRC_PAIRS of CMRC's."""
    return [p for p in pairs if p.domain == "report"] + subsample([p for p in pairs if p.domain == "cmrc"], CMRC_PAIRS)


# --- the frozen lower layers, computed once per pair ------------------------------------------------------


class Frozen:
    """e5's embeddings and lower layers for every pair asked of it (memoised, float16)."""

    def __init__(self, threads: int = 1) -> None:
        import torch
        from tokenizers import Tokenizer

        from assistant.config import Settings
        from assistant.encode.convert import model_path
        from assistant.encode.onnx import export_onnx, is_exported, onnx_folder

        torch.manual_seed(SEED)
        torch.set_num_threads(threads)
        self.base = Path(model_path(Settings.load()))
        embedder = onnx_folder(self.base)
        if not is_exported(embedder):
            export_onnx(self.base, embedder)
        self.tokenizer = Tokenizer.from_file(str(embedder / "tokenizer.json"))
        from transformers import BertModel

        self.bert = BertModel.from_pretrained(str(self.base), attn_implementation="eager", add_pooling_layer=False)
        self.bert.eval()
        self.first = KEEP_LAYERS - TOP_LAYERS
        self.states: dict[tuple[str, str], np.ndarray] = {}
        self.saved = 0

    def load(self, path: Path) -> None:
        """Hidden states saved by an earlier run with the same settings (computing them is most of the time)."""
        import pickle

        try:
            with path.open("rb") as f:
                self.states.update(pickle.load(f))
        except (OSError, EOFError, pickle.UnpicklingError):  # none yet, or another run writing it: compute them
            return
        self.saved = len(self.states)

    def save(self, path: Path) -> None:
        import pickle

        if len(self.states) > self.saved:
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            with tmp.open("wb") as f:
                pickle.dump(self.states, f, protocol=pickle.HIGHEST_PROTOCOL)
            tmp.replace(path)  # whole or not at all, whichever run writes last
            self.saved = len(self.states)

    def fill(self, keys: list[tuple[str, str]], log_every: int = 2000) -> None:
        import torch

        todo = [k for k in dict.fromkeys(keys) if k not in self.states]
        if not todo:
            return
        ids = runtime.pair_ids(self.tokenizer, todo)
        order = sorted(range(len(todo)), key=lambda i: len(ids[i]))
        started = time.time()
        with torch.no_grad():
            for s in range(0, len(order), 64):
                run = order[s : s + 64]
                batch, mask = runtime._batch([ids[i] for i in run], pad_id=1)
                hidden = self.lower(torch.from_numpy(batch), torch.from_numpy(mask))
                for row, i in enumerate(run):
                    self.states[todo[i]] = hidden[row, : len(ids[i])].numpy().astype(np.float16)
                if log_every and (s // 64) % max(1, log_every // 64) == 0:
                    print(f"  frozen layers: {s + len(run)}/{len(todo)} pairs, {time.time() - started:.0f} s",
                          flush=True)  # fmt: skip

    def lower(self, input_ids, attention_mask):
        import torch

        h = self.bert.embeddings(input_ids=input_ids, token_type_ids=torch.zeros_like(input_ids))
        extended = _extended(attention_mask)
        for layer in self.bert.encoder.layer[: self.first]:
            h = layer(h, attention_mask=extended)
            h = h[0] if isinstance(h, tuple) else h
        return h


def _extended(mask):
    import torch

    return (1.0 - mask[:, None, None, :].to(torch.float32)) * torch.finfo(torch.float32).min


# --- the trained top ---------------------------------------------------------------------------------------


def _top_model(frozen: Frozen, seed: int):
    import copy

    import torch

    class LoRA(torch.nn.Module):
        def __init__(self, base: torch.nn.Linear) -> None:
            super().__init__()
            self.base = base
            for p in base.parameters():
                p.requires_grad_(False)
            self.lora_a = torch.nn.Parameter(torch.randn(RANK, base.in_features) / np.sqrt(base.in_features))
            self.lora_b = torch.nn.Parameter(torch.zeros(base.out_features, RANK))

        def forward(self, x):
            return self.base(x) + (x @ self.lora_a.T @ self.lora_b.T) * (ALPHA / RANK)

    class Top(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = torch.nn.ModuleList(
                copy.deepcopy(list(frozen.bert.encoder.layer[frozen.first : KEEP_LAYERS]))
            )
            for layer in self.layers:
                for p in layer.parameters():
                    p.requires_grad_(False)
                for target in runtime._LORA_TARGETS:
                    parent_name, _, child = target.rpartition(".")
                    parent = layer.get_submodule(parent_name)
                    setattr(parent, child, LoRA(getattr(parent, child)))
                for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
                    for p in layer.get_submodule(ln).parameters():
                        p.requires_grad_(True)
            hidden = frozen.bert.config.hidden_size
            self.head = torch.nn.Linear(2 * hidden, 1)
            torch.nn.init.normal_(self.head.weight, std=0.02)
            torch.nn.init.zeros_(self.head.bias)
            self.dropout = torch.nn.Dropout(0.1)

        def forward(self, h, mask):
            extended = _extended(mask)
            for layer in self.layers:
                h = layer(h, attention_mask=extended)
                h = h[0] if isinstance(h, tuple) else h
            return self.head(self.dropout(runtime.pooled(h, mask))).squeeze(-1)

    torch.manual_seed(seed)
    return Top()


def _padded(frozen: Frozen, keys: list[tuple[str, str]]):
    import torch

    states = [frozen.states[k] for k in keys]
    width = max(len(s) for s in states)
    h = np.zeros((len(states), width, states[0].shape[1]), np.float32)
    mask = np.zeros((len(states), width), np.int64)
    for i, s in enumerate(states):
        h[i, : len(s)] = s
        mask[i, : len(s)] = 1
    return torch.from_numpy(h), torch.from_numpy(mask)


def _length_batches(frozen: Frozen, keys: list[tuple[str, str]], rng: random.Random) -> list[list[int]]:
    """Batches of similar length (little padding), in a shuffled order."""
    order = sorted(range(len(keys)), key=lambda i: (len(frozen.states[keys[i]]), rng.random()))
    batches = [order[s : s + BATCH] for s in range(0, len(order), BATCH)]
    rng.shuffle(batches)
    return batches


def fit(frozen: Frozen, pairs: list[Pair], name: str, seed: int = SEED) -> dict[str, np.ndarray]:
    """Train the top layers' adapter and the head on `pairs`; returns the delta (see `delta_arrays`)."""
    import torch

    keys = [p.key for p in pairs]
    frozen.fill(keys)
    labels = torch.tensor([p.label for p in pairs], dtype=torch.float32)
    positives = float(labels.sum())
    pos_weight = torch.tensor((len(pairs) - positives) / max(positives, 1.0))
    model = _top_model(frozen, seed)
    body = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith("head.")]
    optimizer = torch.optim.AdamW([{"params": body, "lr": LEARNING_RATE},
                                   {"params": list(model.head.parameters()), "lr": HEAD_LEARNING_RATE}],
                                  weight_decay=0.01)  # fmt: skip
    rng = random.Random(seed)
    per_epoch = (len(pairs) + BATCH - 1) // BATCH
    epochs = min(MAX_EPOCHS, max(EPOCHS, -(-MIN_STEPS // per_epoch)))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=[LEARNING_RATE, HEAD_LEARNING_RATE],
                                                   total_steps=epochs * per_epoch, pct_start=0.1,
                                                   anneal_strategy="linear")  # fmt: skip
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    started = time.time()
    model.train()
    for epoch in range(epochs):
        total, seen = 0.0, 0
        for batch in _length_batches(frozen, keys, rng):
            h, mask = _padded(frozen, [keys[i] for i in batch])
            loss = loss_fn(model(h, mask), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(batch)
            seen += len(batch)
        print(f"  {name}: epoch {epoch + 1}/{epochs}, loss {total / seen:.4f}, {time.time() - started:.0f} s",
              flush=True)  # fmt: skip
    model.eval()
    return delta_arrays(model, frozen.first)


def delta_arrays(model, first: int) -> dict[str, np.ndarray]:
    """The adapter (A, B), layer norms and head, under the BERT parameter names `runtime.merged_state` reads."""
    out = {}
    for n, layer in enumerate(model.layers):
        prefix = f"encoder.layer.{first + n}"
        for target in runtime._LORA_TARGETS:
            lora = layer.get_submodule(target)
            out[f"{prefix}.{target}.weight.lora_a"] = lora.lora_a.detach().numpy().copy()
            out[f"{prefix}.{target}.weight.lora_b"] = lora.lora_b.detach().numpy().copy()
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            mod = layer.get_submodule(ln)
            out[f"{prefix}.{ln}.weight"] = mod.weight.detach().numpy().copy()
            out[f"{prefix}.{ln}.bias"] = mod.bias.detach().numpy().copy()
    out["head.weight"] = model.head.weight.detach().numpy().copy()
    out["head.bias"] = model.head.bias.detach().numpy().copy()
    return out


class Scorer:
    """Probabilities from a trained delta over the cached lower layers (float32: what the ONNX model
    computes up to 8-bit rounding; the shipped file is checked against it at assembly)."""

    def __init__(self, frozen: Frozen, delta: dict[str, np.ndarray]) -> None:
        self.frozen = frozen
        self.model = _top_model(frozen, SEED)
        state = {}
        for n in range(TOP_LAYERS):
            prefix = f"encoder.layer.{frozen.first + n}"
            for target in runtime._LORA_TARGETS:
                state[f"layers.{n}.{target}.lora_a"] = delta[f"{prefix}.{target}.weight.lora_a"]
                state[f"layers.{n}.{target}.lora_b"] = delta[f"{prefix}.{target}.weight.lora_b"]
            for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
                for part in ("weight", "bias"):
                    state[f"layers.{n}.{ln}.{part}"] = delta[f"{prefix}.{ln}.{part}"]
        state["head.weight"] = delta["head.weight"]
        state["head.bias"] = delta["head.bias"]
        import torch

        self.model.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in state.items()}, strict=False)
        self.model.eval()
        self.memo: dict[tuple[str, str], float] = {}

    def __call__(self, keys: list[tuple[str, str]]) -> np.ndarray:
        import torch

        todo = [k for k in dict.fromkeys(keys) if k not in self.memo]
        self.frozen.fill(todo, log_every=0)
        todo.sort(key=lambda k: len(self.frozen.states[k]))
        with torch.no_grad():
            for s in range(0, len(todo), 128):
                run = todo[s : s + 128]
                h, mask = _padded(self.frozen, run)
                for k, v in zip(run, torch.sigmoid(self.model(h, mask)).numpy(), strict=True):
                    self.memo[k] = float(v)
        return np.array([self.memo[k] for k in keys], dtype=np.float64)


def states_file(work: Path) -> Path:
    """Where the frozen layers' states are kept between runs: named after what they depend on."""
    key = json.dumps([KEEP_LAYERS, TOP_LAYERS, runtime.MAX_TOKENS, runtime.QUESTION_TOKENS, runtime.SCOPE_CHARS])
    return work / f"verifier-states-{hashlib.sha256(key.encode()).hexdigest()[:8]}.pickle"


def fingerprint(pairs: list[Pair]) -> str:
    """What a trained delta depends on: the pairs and the settings (a name for a saved copy)."""
    settings = (SEED, KEEP_LAYERS, TOP_LAYERS, RANK, ALPHA, EPOCHS, MIN_STEPS, MAX_EPOCHS, BATCH, LEARNING_RATE,
                HEAD_LEARNING_RATE, runtime.MAX_TOKENS,
                runtime.QUESTION_TOKENS, runtime.SCOPE_CHARS)  # fmt: skip
    text = json.dumps([settings, [(p.question, p.passage, p.label) for p in pairs]], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def save(delta: dict[str, np.ndarray], path: Path, trained: str) -> None:
    """The delta as float16 (head and layer norms float32), with what assembling needs to know."""
    meta = {"format": 1, "rank": RANK, "alpha": ALPHA, "first_layer": KEEP_LAYERS - TOP_LAYERS,
            "layers_total": KEEP_LAYERS, "trained": trained}  # fmt: skip
    arrays = {k: v.astype(np.float16 if ".lora_" in k else np.float32) for k, v in delta.items()}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)


def fold_of(group: str) -> int:
    """One of two halves by document, the same on every run (not Python's salted hash)."""
    return hashlib.sha256(f"{SEED}:{group}".encode()).digest()[0] % 2


def main(argv: list[str] | None = None) -> None:
    from training.sets import DEFAULT_WORK
    from training.train import DOMAIN, LEARNED, _records

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    args = parser.parse_args(argv)
    records, _ = _records(args.work, reuse=True)
    learn = [r for name in LEARNED for r in records[name]]
    pairs = training_pairs(make_pairs(learn, DOMAIN, random.Random(SEED)))
    print(f"{len(pairs)} pairs, {sum(p.label for p in pairs)} positive", flush=True)
    frozen = Frozen()
    frozen.load(states_file(args.work))
    delta = fit(frozen, pairs, f"shipped ({len(pairs)} pairs)")
    frozen.save(states_file(args.work))
    save(delta, runtime.delta_path(), f"training/verifier.py, seed {SEED}, {len(pairs)} pairs")
    print(f"wrote {runtime.delta_path()} ({runtime.delta_path().stat().st_size} bytes)")


if __name__ == "__main__":
    main()
