"""Train the answer models: the sentence ranker and the answerability model, reproducibly.

    python -m training.train            (make train; needs the `train` extra: LightGBM, scikit-learn)

1. Collect: our report questions, the CMRC 2018 trial open corpus and its no-answer variant go through
   the real pipeline up to the evidence (`training/collect.py`). The shared development questions
   are never learned from: they are only measured.
2. Ranker (LightGBM lambdarank): which sentence holds the answer. Its scores on every question come
   from five models that did not see that question's document (folds by document), so the
   answerability model learns from scores like the ones it will meet on new documents.
3. Answerability (LightGBM, binary): is the chosen answer right? Again five models by document
   give every question a probability from a model that never saw it; the threshold is chosen on
   those kept-out predictions, from their precision/recall curve: refuse as much as possible while
   refusing at most MAX_FALSE_REFUSAL of the answerable questions. The shipped model then learns
   from all the documents.
4. Both are written as JSON beside the code that reads them (`assistant/answer/*.json`), with a
   few rows of LightGBM's own outputs to check the numpy evaluator, and the figures go to
   `training/results.md`.
"""

from __future__ import annotations

import argparse
import json
import pickle
import random
import time
from pathlib import Path

import numpy as np

from assistant.answer.evidence import ANSWER_FEATURES, FEATURES, answer_features
from assistant.answer.extractive import pick, quote
from training.collect import Rarity, Record, collect
from training.sets import DEFAULT_WORK, ROOT, cmrc_sets, nearmiss_sets, report_sets

SEED = 7
FOLDS = 5
REPORT_WEIGHT = 1.0  # set in main(): the report's questions weigh as much in all as the CMRC questions
MAX_FALSE_REFUSAL = 0.04  # of the answerable questions (scored out of fold), at most this share may be refused
# Chosen by out-of-fold top-1 sentence accuracy on the report and CMRC sets (small trees, no sampling).
RANKER = {
    "objective": "lambdarank", "learning_rate": 0.05, "num_leaves": 4, "min_data_in_leaf": 20,
    "lambda_l2": 1.0, "num_boost_round": 400,
}  # fmt: skip
ANSWERABILITY = {
    "objective": "binary", "learning_rate": 0.05, "num_leaves": 7, "min_data_in_leaf": 20,
    "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0, "num_boost_round": 200,
}  # fmt: skip
MODELS = ROOT / "assistant" / "answer"


def _params(base: dict) -> dict:
    return {**base, "seed": SEED, "deterministic": True, "force_row_wise": True, "num_threads": 1, "verbose": -1}


def _fold_of(groups: list[str]) -> dict[str, int]:
    names = sorted(set(groups))
    random.Random(SEED).shuffle(names)
    return {g: i % FOLDS for i, g in enumerate(names)}


def _weight(record: Record) -> float:
    # The report's questions are few beside CMRC's thousands, and they are the kind people ask here:
    # both corpora weigh the same in all.
    return REPORT_WEIGHT if DOMAIN.get(record.set) == "report" else 1.0


def _fit_ranker(records: list[Record]):
    import lightgbm as lgb

    # Which sentence answers is learnt from the original questions: a near miss's control repeats one of them.
    _set_weights([r for r in records if r.set in RANKER_SETS])
    usable = [r for r in records if r.set in RANKER_SETS and r.answerable and r.labels.any()]
    x = np.vstack([r.reading.features for r in usable])
    y = np.concatenate([r.labels for r in usable])
    # lambdarank weighs a question by the sum of its rows' weights
    w = np.concatenate([np.full(len(r.labels), _weight(r) / len(r.labels), np.float32) for r in usable])
    data = lgb.Dataset(x, y, group=[len(r.labels) for r in usable], weight=w, feature_name=list(FEATURES))
    return lgb.train(_params(RANKER), data)


def _fit_answerability(outcomes: list[Outcome]):
    import lightgbm as lgb

    _set_weights([o.record for o in outcomes])
    x = np.vstack([o.features for o in outcomes])
    y = np.array([o.right for o in outcomes], dtype=np.int8)
    w = np.array([_weight(o.record) for o in outcomes], dtype=np.float32)
    return lgb.train(_params(ANSWERABILITY), lgb.Dataset(x, y, weight=w, feature_name=list(ANSWER_FEATURES)))


class Outcome:
    """What the answerer would do with one question, given ranker scores."""

    def __init__(self, record: Record, scores: np.ndarray, rarity) -> None:
        self.record = record
        self.best = pick(record.reading, scores)
        self.features = None
        self.right = False
        if self.best is not None:
            hit_no, start, end = quote(record.reading, self.best, rarity)
            self.right = record.right(record.reading.hits[hit_no].passage.text[start:end])
            self.features = answer_features(record.reading, scores, self.best)[0]
        self.probability = 0.0


def _summary(outcomes: list[Outcome], threshold: float) -> dict:
    answerable = [o for o in outcomes if o.record.answerable]
    unanswerable = [o for o in outcomes if not o.record.answerable]
    given = [o.best is not None and o.probability >= threshold for o in outcomes]
    by_id = {id(o): g for o, g in zip(outcomes, given, strict=True)}
    n = max(len(answerable), 1)
    return {
        "questions": len(outcomes),
        "answer": round(sum(by_id[id(o)] and o.right for o in answerable) / n, 3),
        "false_refusal": round(sum(not by_id[id(o)] for o in answerable) / n, 3),
        "refused": round(sum(not by_id[id(o)] for o in unanswerable) / max(len(unanswerable), 1), 3)
        if unanswerable
        else None,
        "wrong_answers": sum(by_id[id(o)] and not o.right for o in outcomes),
    }


def _choose_threshold(outcomes: list[Outcome]) -> tuple[float, list[tuple[float, float, float]]]:
    """The highest threshold that refuses at most MAX_FALSE_REFUSAL of the answerable kept-out questions:
    refuse whatever can be refused without failing people whose question the corpus does answer."""
    candidates = sorted({round(o.probability, 4) for o in outcomes if o.best is not None} | {0.0})
    answerable = [o for o in outcomes if o.record.answerable]
    curve = []
    best = 0.0
    for t in candidates:
        given = [o for o in outcomes if o.best is not None and o.probability >= t]
        refused = sum(o.best is None or o.probability < t for o in answerable) / max(len(answerable), 1)
        precision = sum(o.right for o in given) / max(len(given), 1)
        curve.append((t, precision, len(given) / max(len(outcomes), 1)))
        if refused <= MAX_FALSE_REFUSAL:
            best = t
    return best, curve


def _export(booster, features: tuple[str, ...], sample: np.ndarray, path: Path, extra: dict) -> None:
    """LightGBM's trees as one flat node table (see assistant/answer/model.py), written atomically."""
    dump = booster.dump_model()
    feature, threshold, left, right, value, roots = [], [], [], [], [], []
    depth = 0

    def add(node: dict, level: int) -> int:
        nonlocal depth
        depth = max(depth, level)
        i = len(feature)
        feature.append(-1)
        threshold.append(0.0)
        left.append(-1)
        right.append(-1)
        value.append(0.0)
        if "leaf_value" in node:
            value[i] = float(node["leaf_value"])
            return i
        if node.get("decision_type") != "<=" or node.get("missing_type") not in ("None", None):
            raise ValueError(f"unsupported split {node.get('decision_type')} / {node.get('missing_type')}")
        feature[i] = int(node["split_feature"])
        threshold[i] = float(node["threshold"])
        left[i] = add(node["left_child"], level + 1)
        right[i] = add(node["right_child"], level + 1)
        return i

    for tree in dump["tree_info"]:
        roots.append(add(tree["tree_structure"], 0))
    data = {
        "format": 1,
        "trained_by": f"training/train.py with LightGBM {__import__('lightgbm').__version__}, seed {SEED}",
        "features": list(features),
        "depth": depth + 1,
        "roots": roots,
        "nodes": {"feature": feature, "threshold": threshold, "left": left, "right": right, "value": value},
        "check": {"rows": sample.tolist(), "raw": booster.predict(sample, raw_score=True).tolist()},
        **extra,
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    tmp.replace(path)


def _records(work: Path, reuse: bool) -> tuple[dict[str, list[Record]], dict]:
    cache = work / "records.pickle"
    if reuse and cache.is_file():
        with cache.open("rb") as f:
            return pickle.load(f)
    report, dev = report_sets(work)
    cmrc, cmrc_na = cmrc_sets(work)
    report_near, cmrc_near, cmrc_removed = nearmiss_sets(work)
    records: dict[str, list[Record]] = {}
    records["report"], report_assistant = collect(report)
    records["dev"], _ = collect(dev, report_assistant)
    records["report-nearmiss"], _ = collect(report_near, report_assistant)
    records["cmrc"], cmrc_assistant = collect(cmrc)
    records["cmrc-nearmiss"], _ = collect(cmrc_near, cmrc_assistant)
    records["cmrc-na"], na_assistant = collect(cmrc_na)
    records["cmrc-removed"], removed_assistant = collect(cmrc_removed)
    by_corpus = {"report": report_assistant, "cmrc": cmrc_assistant, "cmrc-na": na_assistant,
                 "cmrc-removed": removed_assistant}  # fmt: skip
    rarity = {name: Rarity(by_corpus[CORPUS_OF.get(name, name)].index) for name in records}
    with cache.open("wb") as f:
        pickle.dump((records, rarity), f)
    return records, rarity


# The corpus each set is asked of; the domain it belongs to (for evaluation by domain held out).
CORPUS_OF = {"dev": "report", "report-nearmiss": "report", "cmrc-nearmiss": "cmrc"}
DOMAIN = {"report": "report", "report-nearmiss": "report", "cmrc": "cmrc", "cmrc-na": "cmrc",
          "cmrc-nearmiss": "cmrc", "cmrc-removed": "cmrc"}  # fmt: skip
LEARNED = tuple(DOMAIN)  # scored out of fold; dev is only measured
RANKER_SETS = ("report", "cmrc", "cmrc-na")
# The sets the answerability model learns from and the threshold is chosen on: all, near misses included (what
# "the topic is there, the fact is not" looks like); --original-sets for the sets before them (docs/trust.md).
ANSWER_SETS = LEARNED


def _out_of_fold(learn: list[Record], rarity: dict) -> tuple[dict[int, Outcome], float, list]:
    """Every record of `learn` scored by a ranker and an answerability model that never saw its document
    (FOLDS folds by document), and the threshold chosen on those kept-out probabilities."""
    fold = _fold_of([r.group for r in learn])
    scores: dict[int, np.ndarray] = {}
    for k in range(FOLDS):
        booster = _fit_ranker([r for r in learn if fold[r.group] != k])
        for r in learn:
            if fold[r.group] == k:
                scores[id(r)] = booster.predict(r.reading.features) if len(r.labels) else np.zeros(0)
    outcomes = {id(r): Outcome(r, scores[id(r)], rarity[r.set]) for r in learn}
    chosen = [o for o in outcomes.values() if o.best is not None]
    for k in range(FOLDS):
        booster = _fit_answerability([o for o in chosen if fold[o.record.group] != k and o.record.set in ANSWER_SETS])
        for o in chosen:
            if fold[o.record.group] == k:
                o.probability = _probability(booster, o)
    threshold, curve = _choose_threshold([o for o in outcomes.values() if o.record.set in ANSWER_SETS])
    return outcomes, threshold, curve


def _held_out(records: dict[str, list[Record]], rarity: dict, domain: str) -> dict:
    """Models (and threshold, chosen out of fold) learnt without `domain`, measured on its sets."""
    learn = [r for name in LEARNED if DOMAIN[name] != domain for r in records[name]]
    outcomes, threshold, _ = _out_of_fold(learn, rarity)
    ranker = _fit_ranker(learn)
    answerability = _fit_answerability(
        [o for o in outcomes.values() if o.best is not None and o.record.set in ANSWER_SETS]
    )
    figures = {"threshold": threshold}
    tested = [n for n in (*LEARNED, "dev") if DOMAIN.get(n, CORPUS_OF.get(n)) == domain]
    for name in tested:
        outs = [Outcome(r, ranker.predict(r.reading.features) if len(r.labels) else np.zeros(0), rarity[name])
                for r in records[name]]  # fmt: skip
        for o in outs:
            if o.best is not None:
                o.probability = _probability(answerability, o)
        figures[name] = {**_summary(outs, threshold), "bands": _bands(outs, threshold)}
    return figures


def _bands(outcomes: list[Outcome], threshold: float) -> dict[str, list]:
    """Answers given per 把握 band (高 ≥ HIGH, 中 ≥ threshold, 低 below: refused unless asked for) and the
    share right."""
    from assistant.render import HIGH

    out = {}
    for label, low, high in (("高", HIGH, 2.0), ("中", threshold, HIGH), ("低", 0.0, threshold)):
        inside = [o for o in outcomes if o.best is not None and low <= o.probability < high]
        out[label] = [len(inside), round(sum(o.right for o in inside) / len(inside), 3) if inside else None]
    return out


HIGH_CANDIDATES = (0.8, 0.85, 0.9, 0.93, 0.95, 0.97)


def _high_table(by_set: dict[str, list[Outcome]]) -> dict[str, dict[str, list]]:
    """For each lower bound of 高 considered: per set, the answers at or above it (out of fold) and the share right."""
    table = {}
    for high in HIGH_CANDIDATES:
        row = {}
        for name, outs in by_set.items():
            inside = [o for o in outs if o.best is not None and o.probability >= high]
            row[name] = [len(inside), round(sum(o.right for o in inside) / len(inside), 3) if inside else None]
        table[str(high)] = row
    return table


def _set_weights(learn: list[Record]) -> None:
    """The report's questions weigh as much in all as the CMRC questions (when both are learnt from)."""
    global REPORT_WEIGHT
    report = sum(DOMAIN.get(r.set) == "report" for r in learn)
    REPORT_WEIGHT = (len(learn) - report) / report if report and report < len(learn) else 1.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help="folder for the CMRC sets and their indexes")
    parser.add_argument("--reuse", action="store_true", help="reuse the evidence collected by the last run (faster "
                        "while changing only the training; wrong after changing the evidence)")  # fmt: skip
    parser.add_argument("--no-held-out", action="store_true", help="skip the evaluation by domain held out")
    parser.add_argument("--original-sets", action="store_true", help="the answerability model learns from the "
                        "report and CMRC sets only, not the near misses (for comparison: docs/trust.md)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.original_sets:
        global ANSWER_SETS
        ANSWER_SETS = RANKER_SETS
    started = time.time()
    records, rarity = _records(args.work, args.reuse)
    print(f"collected {sum(map(len, records.values()))} questions in {time.time() - started:.0f} s", flush=True)

    learn = [r for name in LEARNED for r in records[name]]
    outcomes, threshold, curve = _out_of_fold(learn, rarity)
    by_set = {name: [outcomes[id(r)] for r in records[name]] for name in LEARNED}
    ranker = _fit_ranker(learn)
    dev = [Outcome(r, ranker.predict(r.reading.features) if len(r.labels) else np.zeros(0), rarity["dev"])
           for r in records["dev"]]  # fmt: skip
    top1 = {name: round(float(np.mean([o.best is not None and bool(o.record.labels[o.best])
                                       for o in os_ if o.record.answerable] or [0.0])), 3)
            for name, os_ in {**by_set, "dev": dev}.items()}  # fmt: skip
    print("ranker top-1 sentence (out of fold; dev: final ranker)", top1, flush=True)
    print(f"threshold {threshold:.4f} chosen on {len(outcomes)} questions, each scored by a model that did not see it")
    figures = {
        "threshold": threshold,
        "out_of_fold": {name: {**_summary(os_, threshold), "bands": _bands(os_, threshold)}
                        for name, os_ in by_set.items()},
        "ranker_top1_out_of_fold": top1,
    }  # fmt: skip
    chosen = [o for o in outcomes.values() if o.best is not None and o.record.set in ANSWER_SETS]
    shipped = _fit_answerability(chosen)  # the shipped model learns from every document
    for o in dev:
        if o.best is not None:
            o.probability = _probability(shipped, o)
    figures["dev"] = _summary(dev, threshold)
    figures["high"] = _high_table(by_set)
    if not args.no_held_out:
        figures["held_out"] = {domain: _held_out(records, rarity, domain) for domain in ("report", "cmrc")}
    print(json.dumps(figures, ensure_ascii=False, indent=1))

    original = [r for r in learn if r.set in RANKER_SETS]  # the check rows as before the near-miss sets came
    sample_rows = np.vstack([r.reading.features[:2] for r in original[:: max(1, len(original) // 4)] if len(r.labels)])
    _export(ranker, FEATURES, sample_rows[:6], MODELS / "ranker.json", {})
    answer_rows = np.vstack([o.features for o in chosen[:: max(1, len(chosen) // 6)]])[:6]
    _export(shipped, ANSWER_FEATURES, answer_rows, MODELS / "answerability.json", {"threshold": threshold})
    _write_results(figures, curve, time.time() - started)
    print(f"wrote {MODELS / 'ranker.json'}, {MODELS / 'answerability.json'}, training/results.md")


def _probability(booster, outcome: Outcome) -> float:
    return float(booster.predict(outcome.features.reshape(1, -1))[0])


def _write_results(figures: dict, curve: list[tuple[float, float, float]], seconds: float) -> None:
    lines = [
        "# Answer models: how they were trained and what they reached",
        "",
        f"Written by `python -m training.train` (seed {SEED}, {seconds:.0f} s on 2 cores). "
        "Out of fold: each question scored by models (ranker and answerability) that never saw its document; "
        "the threshold was chosen on these scores. The shipped models learn from every document; the "
        "development questions (../shared/eval/dev.jsonl) are never learned from, only measured.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| threshold (probability that the answer is right) | {figures['threshold']:.4f} |",
    ]
    for name, top1 in figures["ranker_top1_out_of_fold"].items():
        lines.append(f"| ranker: right sentence first, {name} | {top1} |")
    for split in ("out_of_fold",):
        for name, s in figures[split].items():
            refused = f", refused {s['refused']}" if s["refused"] is not None else ""
            lines.append(
                f"| {split.replace('_', ' ')}, {name} ({s['questions']} questions) | answer {s['answer']}, "
                f"false refusal {s['false_refusal']}{refused}, wrong answers {s['wrong_answers']} |"
            )
    s = figures["dev"]
    lines.append(f"| dev (never learned from) | answer {s['answer']}, false refusal {s['false_refusal']}, "
                 f"refused {s['refused']} |")  # fmt: skip
    labels = ("高", "中", "低")
    from assistant.render import HIGH

    lines += ["", f"把握 bands out of fold (高 from render.HIGH = {HIGH}, 中 from the threshold; 低 is refused unless "
              "asked for): answers given in the band, share right.", "", "| set | " + " | ".join(labels) + " |",
              "|---|---|---|---|"]  # fmt: skip
    for name, s in figures["out_of_fold"].items():
        lines.append(f"| {name} | " + " | ".join(f"{n}, {p}" for n, p in (s["bands"][b] for b in labels)) + " |")
    lines += ["", "Where 高 could start: answers at or above each bound out of fold, share right, per set.", "",
              "| 高 from | " + " | ".join(figures["out_of_fold"]) + " |",
              "|---|" + "---|" * len(figures["out_of_fold"])]  # fmt: skip
    for high, row in figures["high"].items():
        lines.append(f"| {high} | " + " | ".join(f"{n}, {p}" for n, p in row.values()) + " |")
    for domain, held in figures.get("held_out", {}).items():
        lines += ["", f"Held out: models and threshold ({held['threshold']:.4f}, chosen out of fold on the rest) "
                  f"learnt without the {domain} domain, measured on its sets:", "",
                  "| set | answer | false refusal | refused | wrong answers | 高 | 中 | 低 |",
                  "|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for name, s in held.items():
            if name == "threshold":
                continue
            bands = " | ".join(f"{n}, {p}" for n, p in (s["bands"][b] for b in labels))
            lines.append(f"| {name} | {s['answer']} | {s['false_refusal']} | {s['refused']} | {s['wrong_answers']} "
                         f"| {bands} |")  # fmt: skip
    lines += ["", "Precision / answered share out of fold, by threshold:", "",
              "| threshold | precision | answered |", "|---|---|---|"]  # fmt: skip
    step = max(1, len(curve) // 20)
    lines += [f"| {t:.3f} | {p:.3f} | {a:.3f} |" for t, p, a in curve[::step]]
    path = ROOT / "training" / "results.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
