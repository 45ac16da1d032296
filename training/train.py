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

from assistant.answer.evidence import ANSWER_FEATURES, FEATURES, VERIFIER_FEATURE, answer_features
from assistant.answer.extractive import pick, quote
from assistant.answer.slot import checked
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
    return _fit_variant(outcomes, VARIANT)


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
        self.checked = self.best is not None and checked(record.reading, self.best)  # what 高 also needs
        self.probability = 0.0
        self.verifier = 0.0  # the answer verifier's probability for the chosen sentence (when measured)


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
    if VARIANT != "features":  # each scored by a verifier that never saw its document
        SCORES.own(list(outcomes.values()))
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
        if VARIANT != "features":  # by verifiers that never saw the domain
            SCORES.other(outs)
        for o in outs:
            if o.best is not None:
                o.probability = _probability(answerability, o)
        figures[name] = {**_summary(outs, threshold), "bands": _bands(outs, threshold)}
        HELD_OUT_OUTCOMES[name] = outs
    return figures


HELD_OUT_OUTCOMES: dict[str, list[Outcome]] = {}  # each set's outcomes from models that never saw its domain


def _transfer_threshold(by_set: dict[str, list[Outcome]]) -> float:
    """The highest threshold that refuses at most MAX_FALSE_REFUSAL of the answerable questions of every domain,
    each scored by models learnt without it: a threshold that holds on a domain no model has seen (item 4).
    dev is left out: it is only measured."""
    best = 1.0
    for domain in ("report", "cmrc"):
        outs = [o for name, os_ in by_set.items() if DOMAIN.get(name) == domain for o in os_]
        answerable = sorted(o.probability if o.best is not None else -1.0 for o in outs if o.record.answerable)
        if not answerable:
            continue
        # refusing below t refuses the answerable ones under t: the largest t with at most MAX of them under
        allowed = int(MAX_FALSE_REFUSAL * len(answerable))
        best = min(best, max(answerable[allowed], 0.0))
    return round(best, 4)


# --- the answer verifier (training/verifier.py), measured against the features -----------------------------

VARIANTS = ("features", "verifier", "features+verifier")  # (a) LightGBM today, (b) the verifier alone, (c) both
VARIANT = "features"  # what the shipped answerability model reads (main: --verifier → features+verifier)
SCORES = None  # the VerifierScores of the run, when the verifier is used


class VerifierScores:
    """The verifier's probability for a record's chosen sentence, from models that never saw its document:
    `own` by the other half of its own domain (two halves by document), `other` by the other domain's two
    halves (their mean: a verifier that never saw the domain at all)."""

    def __init__(self, records: dict[str, list[Record]], work: Path) -> None:
        from training import verifier as tv

        self.tv = tv
        self.frozen = tv.Frozen()
        self.frozen.load(tv.states_file(work))
        self.work = work
        learn = [r for name in LEARNED for r in records[name]]
        pairs = tv.make_pairs(learn, DOMAIN, random.Random(SEED))
        self.learnt = tv.training_pairs(pairs)
        cmrc = [p for p in self.learnt if p.domain == "cmrc"]
        report = [p for p in self.learnt if p.domain == "report"]
        self.pair_counts = {"report": len(report), "cmrc": len(cmrc),
                            "substituted": sum(p.source.startswith("substituted") for p in report + cmrc)}  # fmt: skip
        print(f"verifier pairs: {self.pair_counts}", flush=True)
        self.scorers = {}
        for domain, ps in (("report", report), ("cmrc", cmrc)):
            for half in (0, 1):
                part = [p for p in ps if self.tv.fold_of(p.group) == half]
                saved = work / f"verifier-{domain}-{half}-{tv.fingerprint(part)}.npz"
                if saved.is_file():  # the same pairs and settings trained already (seeded: the same result)
                    delta = dict(np.load(saved))
                else:
                    delta = tv.fit(self.frozen, part, f"{domain} half {half} ({len(part)} pairs)")
                    np.savez(saved, **delta)
                    self.frozen.save(tv.states_file(work))
                self.scorers[domain, half] = tv.Scorer(self.frozen, delta)

    def shipped(self, outcomes: list[Outcome]) -> None:
        """Scored by the verifier that ships: trained on the pairs of both domains (`tv.training_pairs`), written
        to assistant/answer/verifier.npz."""
        if ("all", 0) not in self.scorers:
            tv = self.tv
            part = self.learnt
            saved = self.work / f"verifier-all-{tv.fingerprint(part)}.npz"
            if saved.is_file():
                delta = dict(np.load(saved))
            else:
                delta = tv.fit(self.frozen, part, f"shipped ({len(part)} pairs)")
                np.savez(saved, **delta)
                self.frozen.save(tv.states_file(self.work))
            tv.save(delta, tv.runtime.delta_path(), f"training/train.py --verifier, seed {SEED}, {len(part)} pairs")
            self.scorers["all", 0] = tv.Scorer(self.frozen, delta)
        self._set(outcomes, lambda r: [("all", 0)])

    def _key(self, record: Record, best: int) -> tuple[str, str]:
        return record.reading.question.text, self.tv.candidate_passage(record, best)

    def own(self, outcomes: list[Outcome]) -> None:
        self._set(outcomes, lambda r: [(DOMAIN[r.set], 1 - self.tv.fold_of(r.group))])

    def other(self, outcomes: list[Outcome]) -> None:
        def models(r: Record) -> list:
            other = "cmrc" if DOMAIN.get(r.set, CORPUS_OF.get(r.set)) == "report" else "report"
            return [(other, 0), (other, 1)]

        self._set(outcomes, models)

    def _set(self, outcomes: list[Outcome], models) -> None:
        by_model: dict = {}
        for o in outcomes:
            if o.best is not None:
                for m in models(o.record):
                    by_model.setdefault(m, []).append(o)
        values: dict[int, list[float]] = {}
        for m, outs in by_model.items():
            got = self.scorers[m]([self._key(o.record, o.best) for o in outs])
            for o, v in zip(outs, got, strict=True):
                values.setdefault(id(o), []).append(float(v))
        for o in outcomes:
            o.verifier = float(np.mean(values[id(o)])) if id(o) in values else 0.0


def _variant_x(outcomes: list[Outcome], variant: str) -> np.ndarray:
    if variant == "features":
        return np.vstack([o.features for o in outcomes])
    return np.vstack([np.append(o.features, o.verifier) for o in outcomes])


def _fit_variant(outcomes: list[Outcome], variant: str):
    import lightgbm as lgb

    _set_weights([o.record for o in outcomes])
    names = list(ANSWER_FEATURES) + ([] if variant == "features" else ["verifier"])
    y = np.array([o.right for o in outcomes], dtype=np.int8)
    w = np.array([_weight(o.record) for o in outcomes], dtype=np.float32)
    return lgb.train(_params(ANSWERABILITY), lgb.Dataset(_variant_x(outcomes, variant), y, weight=w,
                                                         feature_name=names))  # fmt: skip


def _apply_variant(outcomes: list[Outcome], variant: str, booster) -> None:
    chosen = [o for o in outcomes if o.best is not None]
    if not chosen:
        return
    if variant == "verifier":
        for o in chosen:
            o.probability = o.verifier
        return
    for o, p in zip(chosen, booster.predict(_variant_x(chosen, variant)), strict=True):
        o.probability = float(p)


def _compare_held_out(records: dict[str, list[Record]], rarity: dict, domain: str, scores: VerifierScores) -> dict:
    """(a), (b), (c) learnt without `domain` (ranker, answerability, threshold), measured on its sets."""
    learn = [r for name in LEARNED if DOMAIN[name] != domain for r in records[name]]
    outcomes, _, _ = _out_of_fold(learn, rarity)
    learnt = [o for o in outcomes.values() if o.record.set in ANSWER_SETS]
    scores.own(learnt)
    fold = _fold_of([r.group for r in learn])
    ranker = _fit_ranker(learn)
    tested = [n for n in (*LEARNED, "dev") if DOMAIN.get(n, CORPUS_OF.get(n)) == domain]
    test = {name: [Outcome(r, ranker.predict(r.reading.features) if len(r.labels) else np.zeros(0), rarity[name])
                   for r in records[name]] for name in tested}  # fmt: skip
    scores.other([o for outs in test.values() for o in outs])
    figures = {}
    for variant in VARIANTS:
        chosen = [o for o in learnt if o.best is not None]
        if variant != "verifier":  # out of fold, for the threshold
            for k in range(FOLDS):
                booster = _fit_variant([o for o in chosen if fold[o.record.group] != k], variant)
                _apply_variant([o for o in chosen if fold[o.record.group] == k], variant, booster)
        else:
            _apply_variant(chosen, variant, None)
        threshold, _ = _choose_threshold(learnt)
        booster = _fit_variant(chosen, variant) if variant != "verifier" else None
        row = {"threshold": threshold}
        for name, outs in test.items():
            _apply_variant(outs, variant, booster)
            row[name] = {**_summary(outs, threshold), "bands": _bands(outs, threshold), "auc": _auc(outs)}
        figures[variant] = row
    return figures


def _compare_in_domain(records: dict[str, list[Record]], rarity: dict, scores: VerifierScores) -> dict:
    """(a), (b), (c) out of fold within the domains: every question scored by a ranker and answerability model
    that never saw its document (5 folds) and by a verifier that never saw it (the other half of its domain)."""
    learn = [r for name in LEARNED for r in records[name]]
    outcomes, _, _ = _out_of_fold(learn, rarity)
    learnt = list(outcomes.values())
    scores.own(learnt)
    fold = _fold_of([r.group for r in learn])
    chosen = [o for o in learnt if o.best is not None]
    figures = {}
    for variant in VARIANTS:
        if variant == "verifier":
            _apply_variant(chosen, variant, None)
        else:
            for k in range(FOLDS):
                booster = _fit_variant([o for o in chosen if fold[o.record.group] != k], variant)
                _apply_variant([o for o in chosen if fold[o.record.group] == k], variant, booster)
        threshold, _ = _choose_threshold(learnt)
        row = {"threshold": threshold}
        for name in LEARNED:
            outs = [outcomes[id(r)] for r in records[name]]
            row[name] = {**_summary(outs, threshold), "bands": _bands(outs, threshold), "auc": _auc(outs)}
        figures[variant] = row
    return figures


def _auc(outcomes: list[Outcome]) -> float | None:
    """How well the probability orders right answers above wrong ones (threshold-free): the chance that a right
    chosen answer scores above a wrong one (ties count half)."""
    chosen = [o for o in outcomes if o.best is not None]
    right = np.array([o.probability for o in chosen if o.right])
    wrong = np.array([o.probability for o in chosen if not o.right])
    if not len(right) or not len(wrong):
        return None
    above = (right[:, None] > wrong[None, :]).sum() + 0.5 * (right[:, None] == wrong[None, :]).sum()
    return round(float(above / (len(right) * len(wrong))), 3)


def compare_verifier(records: dict[str, list[Record]], rarity: dict, work: Path) -> dict:
    started = time.time()
    scores = VerifierScores(records, work)
    out = {"pairs": scores.pair_counts}
    for domain in ("report", "cmrc"):
        out[domain] = _compare_held_out(records, rarity, domain, scores)
        print(f"held out {domain}:", json.dumps(out[domain], ensure_ascii=False), flush=True)
        scores.frozen.save(scores.tv.states_file(work))
    out["in_domain"] = _compare_in_domain(records, rarity, scores)
    print("in domain:", json.dumps(out["in_domain"], ensure_ascii=False), flush=True)
    out["seconds"] = round(time.time() - started)
    return out


def _bands(outcomes: list[Outcome], threshold: float) -> dict[str, list]:
    """Answers given per 把握 band (高 ≥ HIGH with the question found around the answer, 中 ≥ threshold, 低 below:
    refused unless asked for) and the share right."""
    out = {}
    for label in ("高", "中", "低"):
        inside = [o for o in outcomes if o.best is not None and _label(o, threshold) == label]
        out[label] = [len(inside), round(sum(o.right for o in inside) / len(inside), 3) if inside else None]
    return out


def _label(outcome: Outcome, threshold: float, high: float | None = None) -> str:
    """`render.confidence_label` of an outcome, with this run's threshold (and another lower bound of 高)."""
    from assistant.render import HIGH, confidence_label

    bands = ((HIGH if high is None else high, "高"), (threshold, "中"), (0.0, "低"))
    found = float(outcome.features[ANSWER_FEATURES.index("phrases_context")])
    return confidence_label(outcome.probability, found, bands, outcome.checked)


HIGH_CANDIDATES = (0.8, 0.85, 0.9, 0.93, 0.95, 0.97)


def _high_table(by_set: dict[str, list[Outcome]]) -> dict[str, dict[str, list]]:
    """For each lower bound of 高 considered: per set, the answers labelled 高 with it (the question found around
    the answer too) and the share right."""
    table = {}
    for high in HIGH_CANDIDATES:
        row = {}
        for name, outs in by_set.items():
            inside = [o for o in outs if o.best is not None and _label(o, 0.0, high) == "高"]
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
    parser.add_argument("--verifier", action="store_true", help="the answerability model reads the answer "
                        "verifier's probability too; trains and writes it (training/verifier.py)")  # fmt: skip
    parser.add_argument("--compare-verifier", action="store_true", help="also train the answer verifier by "
                        "halves and domains and compare it with the features (training/verifier.py)")  # fmt: skip
    parser.add_argument("--original-sets", action="store_true", help="the answerability model learns from the "
                        "report and CMRC sets only, not the near misses (for comparison: docs/trust.md)")  # fmt: skip
    args = parser.parse_args(argv)
    global ANSWER_SETS, VARIANT, SCORES
    if args.original_sets:
        ANSWER_SETS = RANKER_SETS
    started = time.time()
    records, rarity = _records(args.work, args.reuse)
    print(f"collected {sum(map(len, records.values()))} questions in {time.time() - started:.0f} s", flush=True)
    if args.verifier:
        VARIANT = "features+verifier"
        SCORES = VerifierScores(records, args.work)
    comparison = None
    saved_comparison = args.work / "verifier-comparison.json"
    if args.compare_verifier:
        comparison = compare_verifier(records, rarity, args.work)
        saved_comparison.write_text(json.dumps(comparison, ensure_ascii=False, indent=1), encoding="utf-8")
    elif saved_comparison.is_file():  # the last comparison stays in results.md
        comparison = json.loads(saved_comparison.read_text(encoding="utf-8"))

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
    if VARIANT != "features":  # dev is scored by the verifier that ships (it learns from every document)
        SCORES.shipped(dev)
    for o in dev:
        if o.best is not None:
            o.probability = _probability(shipped, o)
    figures["dev"] = _summary(dev, threshold)
    figures["high"] = _high_table(by_set)
    if comparison:
        figures["comparison"] = comparison
    if not args.no_held_out:
        figures["held_out"] = {domain: _held_out(records, rarity, domain) for domain in ("report", "cmrc")}
        transfer = _transfer_threshold(HELD_OUT_OUTCOMES)
        held = HELD_OUT_OUTCOMES.items()
        figures["transfer"] = {"threshold": transfer, **{
            name: {**_summary(outs, transfer), "bands": _bands(outs, transfer)} for name, outs in held}}  # fmt: skip
        figures["transfer_out_of_fold"] = {name: _summary(os_, transfer) for name, os_ in by_set.items()}
        figures["high_held_out"] = _high_table(HELD_OUT_OUTCOMES)
    print(json.dumps(figures, ensure_ascii=False, indent=1))

    original = [r for r in learn if r.set in RANKER_SETS]  # the check rows as before the near-miss sets came
    sample_rows = np.vstack([r.reading.features[:2] for r in original[:: max(1, len(original) // 4)] if len(r.labels)])
    _export(ranker, FEATURES, sample_rows[:6], MODELS / "ranker.json", {})
    names = ANSWER_FEATURES + (() if VARIANT == "features" else (VERIFIER_FEATURE,))
    answer_rows = _variant_x(chosen[:: max(1, len(chosen) // 6)], VARIANT)[:6]
    _export(shipped, names, answer_rows, MODELS / "answerability.json", {"threshold": threshold})
    _write_results(figures, curve, time.time() - started)
    print(f"wrote {MODELS / 'ranker.json'}, {MODELS / 'answerability.json'}, training/results.md")


def _probability(booster, outcome: Outcome) -> float:
    return float(booster.predict(_variant_x([outcome], VARIANT))[0])


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
    from assistant.render import HIGH, HIGH_FOUND

    lines += ["", f"把握 bands out of fold (高 from render.HIGH = {HIGH} with at least {HIGH_FOUND} of the question's "
              "phrases said around the answer, render.HIGH_FOUND; 中 from the threshold; 低 is refused unless "
              "asked for): answers given in the band, share right.", "", "| set | " + " | ".join(labels) + " |",
              "|---|---|---|---|"]  # fmt: skip
    for name, s in figures["out_of_fold"].items():
        lines.append(f"| {name} | " + " | ".join(f"{n}, {p}" for n, p in (s["bands"][b] for b in labels)) + " |")
    lines += ["", "Where 高 could start: answers at or above each bound (and HIGH_FOUND) out of fold, share right, "
              "per set.", "",
              "| 高 from | " + " | ".join(figures["out_of_fold"]) + " |",
              "|---|" + "---|" * len(figures["out_of_fold"])]  # fmt: skip
    for high, row in figures["high"].items():
        lines.append(f"| {high} | " + " | ".join(f"{n}, {p}" for n, p in row.values()) + " |")
    for domain, held in figures.get("held_out", {}).items():
        lines += ["", f"Held out: models and threshold ({held['threshold']:.4f}, chosen out of fold on the rest) "
                  f"learnt without the {domain} domain, measured on its sets:", "",
                  "| set | answer | false refusal | refused | wrong answers | 高 | 中 | 低 |",
                  "|---|---|---|---|---|---|---|---|"]  # fmt: skip
        lines += _set_rows(held, labels)
    if "transfer" in figures:
        t = figures["transfer"]
        lines += ["", f"A threshold that transfers: {t['threshold']:.4f}, the highest that refuses at most "
                  f"{MAX_FALSE_REFUSAL} of the answerable questions of each domain held out (report sets scored by "
                  "the models learnt without the report, CMRC sets by those learnt without CMRC; dev aside). "
                  "The held-out sets at that threshold:", "",
                  "| set | answer | false refusal | refused | wrong answers | 高 | 中 | 低 |",
                  "|---|---|---|---|---|---|---|---|"]  # fmt: skip
        lines += _set_rows(t, labels)
        lines += ["", "The same threshold out of fold (in domain):", "",
                  "| set | answer | false refusal | refused |", "|---|---|---|---|"]  # fmt: skip
        for name, f in figures["transfer_out_of_fold"].items():
            lines.append(f"| {name} | {f['answer']} | {f['false_refusal']} | {f['refused']} |")
        high = figures["high_held_out"]
        sets = list(next(iter(high.values())))
        lines += ["", "Where 高 could start, held out: answers at or above each bound (and HIGH_FOUND), "
                  "share right.", "",
                  "| 高 from | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets)]  # fmt: skip
        for bound, row in high.items():
            lines.append(f"| {bound} | " + " | ".join(f"{n}, {p}" for n, p in row.values()) + " |")
    if "comparison" in figures:
        lines += _comparison_lines(figures["comparison"])
    lines += ["", "Precision / answered share out of fold, by threshold:", "",
              "| threshold | precision | answered |", "|---|---|---|"]  # fmt: skip
    step = max(1, len(curve) // 20)
    lines += [f"| {t:.3f} | {p:.3f} | {a:.3f} |" for t, p, a in curve[::step]]
    path = ROOT / "training" / "results.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _set_rows(table: dict, labels: tuple[str, ...]) -> list[str]:
    """One table row per set of `table` (its "threshold" entry aside): answer, false refusal, refused, wrong
    answers and the 把握 bands."""
    rows = []
    for name, f in table.items():
        if name == "threshold":
            continue
        bands = " | ".join(f"{n}, {p}" for n, p in (f["bands"][b] for b in labels))
        rows.append(f"| {name} | {f['answer']} | {f['false_refusal']} | {f['refused']} | {f['wrong_answers']} "
                    f"| {bands} |")  # fmt: skip
    return rows


def _comparison_lines(comparison: dict) -> list[str]:
    """The verifier against the features, by domain held out (`--compare-verifier`)."""
    names = {"features": "(a) features (LightGBM)", "verifier": "(b) verifier alone",
             "features+verifier": "(c) features + verifier"}  # fmt: skip
    pairs = comparison["pairs"]
    lines = ["", "## The answer verifier against the features, by domain held out", "",
             f"`python -m training.train --reuse --compare-verifier` ({comparison['seconds']} s). Verifiers "
             f"(training/verifier.py) learnt from {pairs['report']} report pairs and {pairs['cmrc']} CMRC pairs "
             f"({pairs['substituted']} of them substitutions), in two halves by document per domain. Held out: "
             "the domain's sets are scored by the other domain's two verifiers (their mean), and the answerability "
             "model and threshold learn from the other domain only (its questions scored by the verifier of the "
             "half that did not see them). Each cell: answer / false refusal, refused (unanswerable); 高 answers "
             "and their share right; AUC: how well the probability orders right chosen answers above wrong ones "
             "(threshold-free).", ""]  # fmt: skip
    for domain in ("report", "cmrc", "in_domain"):
        if domain not in comparison:
            continue
        held = comparison[domain]
        title = "In domain, out of fold" if domain == "in_domain" else f"Held out {domain}"
        lines += [f"{title}: thresholds " + ", ".join(
                      f"{names[v].split()[0]} {held[v]['threshold']:.3f}" for v in VARIANTS) + ".", "",
                  "| set | " + " | ".join(names[v] for v in VARIANTS) + " |", "|---|---|---|---|"]  # fmt: skip
        for name in [n for n in held[VARIANTS[0]] if n != "threshold"]:
            cells = []
            for v in VARIANTS:
                f = held[v][name]
                refused = f", refused {f['refused']}" if f["refused"] is not None else ""
                high = f["bands"]["高"]
                cells.append(f"{f['answer']} / {f['false_refusal']}{refused}; 高 {high[0]}, {high[1]}; AUC {f['auc']}")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


if __name__ == "__main__":
    main()
