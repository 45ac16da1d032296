"""Do the two stores give the same answers? (`python -m benchmarks.stores`, docs/stores.md)

For each question set, one `Assistant` on the local store and one on Milvus Lite (filled from the
same local build, the same model loaded once) answer every question; an answer agrees when
found/refused, the answer text and the first source are the same. Writes
benchmarks/results/stores.md with the disagreements listed.

    python -m benchmarks.stores                                   # the report: eval/questions.jsonl and dev.jsonl
    python -m benchmarks.stores --cmrc [--limit N]               # and the CMRC 2018 trial corpus (training/sets.py)
    python -m benchmarks.stores --corpus DIR --questions FILE [--limit N]   # any other corpus
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import time
from pathlib import Path

import numpy as np

from assistant.config import Settings
from assistant.encode.embedder import Embedder
from assistant.pipeline import Assistant
from benchmarks.common import DEV, OWN, ROOT

WORK = ROOT / ".work" / "stores"
RESULTS = ROOT / "benchmarks" / "results" / "stores.md"


def _questions(path: Path, limit: int | None) -> list[str]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["question"] for r in rows][:limit]


def compare(corpus: Path, questions: list[str], name: str, embedder: Embedder | None = None, measure: bool = False
            ) -> dict:  # fmt: skip
    """Answer `questions` on both stores over `corpus`; the agreement and the disagreements."""
    folder = WORK / name  # kept between runs: its shards spare embedding again (both stores sync by document)
    settings = Settings.load(corpus_dir=corpus, index_dir=folder / "index")
    local = Assistant(settings, embedder=embedder)
    milvus = Assistant(settings.with_(store="milvus"), embedder=local.embedder)
    rows, seconds = [], {"local": 0.0, "milvus": 0.0}
    for assistant in (local, milvus):  # untimed: the first answer loads what later ones reuse
        assistant.ask(questions[0])
    for q in questions:
        answers = {}
        for label, assistant in (("local", local), ("milvus", milvus)):
            started = time.perf_counter()
            a = assistant.ask(q)
            seconds[label] += time.perf_counter() - started
            answers[label] = (a.found, a.text, a.sources[0].hit.passage.id if a.sources else None)
        rows.append((q, answers["local"], answers["milvus"]))
    measured = {}
    if measure:
        measured["fusion over lists"] = fusion_over_lists(local.index, questions, local)
        measured["Milvus jieba analyser"] = milvus_jieba(settings, local.index, questions, local)
    local.index.close()
    milvus.index.close()
    differ = [r for r in rows if r[1] != r[2]]
    return {"name": name, "questions": len(rows), "agree": len(rows) - len(differ), "differ": differ,
            "ms_local": round(1000 * seconds["local"] / max(len(rows), 1), 1),
            "ms_milvus": round(1000 * seconds["milvus"] / max(len(rows), 1), 1), "measured": measured}  # fmt: skip


def fusion_over_lists(store, questions: list[str], assistant: Assistant) -> dict:
    """The trap of issue 22, measured: fusing over the two top lists (a candidate missing from one list gets
    that side's lowest listed score) against asking the store for every candidate's two scores (what
    retrieve.search does). Share of questions whose top 5 (ids, in order) and first passage stay the same."""
    import numpy as np

    from assistant import retrieve
    from assistant.store.base import weighted_terms
    from assistant.text import lexicon

    same_top, same_first = 0, 0
    for q in questions:
        question = assistant.question(q)
        exact = [h.passage.id for h in retrieve.search(store, question, 5)]
        terms = weighted_terms((question.words, 1.0), (lexicon.stand_ins(question.bridges), retrieve.EXPANSION_WEIGHT))
        depth = min(store.count, retrieve._CANDIDATES)
        dense = dict(store.dense_search(question.vector, depth))
        sparse = {i: s for i, s in store.sparse_search(terms, depth) if s > 0}
        ids = list(dict.fromkeys([*dense, *sparse]))
        d = np.array([dense.get(i, min(dense.values())) for i in ids], np.float32)
        s = np.array([sparse.get(i, min(sparse.values()) if sparse else 0.0) for i in ids], np.float32)
        fused = retrieve.fuse(d, s)
        listed = [ids[j] for j in sorted(range(len(ids)), key=lambda j: (-fused[j], -d[j]))[:5]]
        same_top += listed == exact
        same_first += listed[:1] == exact[:1]
    return {"questions": len(questions), "same_top5": same_top, "same_first": same_first}


def milvus_jieba(settings: Settings, store, questions: list[str], assistant: Assistant) -> dict:
    """Milvus's own jieba analyser over the passages' text (what the issue proposes first) against bm25s over our
    jieba words: share of questions whose BM25 top 10 (as sets) and first passage are the same."""
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    from assistant.store.base import weighted_terms
    from assistant.store.milvus import K1, B

    folder = settings.index_dir / "jieba"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    client = MilvusClient(str(folder / "milvus.db"))
    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=256)
    schema.add_field("text", DataType.VARCHAR, max_length=65535, enable_analyzer=True,
                     analyzer_params={"tokenizer": "jieba"})  # fmt: skip
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["text"],
                                 output_field_names=["sparse"]))  # fmt: skip
    params = client.prepare_index_params()
    params.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                     params={"bm25_k1": K1, "bm25_b": B})  # fmt: skip
    client.create_collection("jieba", schema=schema, index_params=params)
    client.insert("jieba", [{"id": p.id, "text": p.indexed_text()} for p in store.passages])
    same_set, same_first, ids = 0, 0, [p.id for p in store.passages]
    for q in questions:
        words = assistant.question(q).words
        exact = store.sparse_scores(ids, weighted_terms((words, 1.0)))
        ours = [ids[j] for j in np.argsort(-exact, kind="stable")[:10] if exact[j] > 0]
        found = client.search("jieba", data=[q], anns_field="sparse", limit=10, output_fields=["id"],
                              search_params={"metric_type": "BM25"})  # fmt: skip
        theirs = [h["id"] for h in found[0]]
        same_set += set(ours) == set(theirs)
        same_first += ours[:1] == theirs[:1]
    client.close()
    return {"questions": len(questions), "same_top10": same_set, "same_first": same_first}


def _why(local: tuple, milvus: tuple) -> str:
    if local[0] != milvus[0]:
        return "found/refused differ"
    if local[2] != milvus[2]:
        return "first source differs"
    return "answer text differs"


def report(results: list[dict], command: str) -> str:
    lines = ["# Answers on the local store and on Milvus Lite", "",
             f"Command: `{command}`; {platform.processor() or platform.machine()}, {time.strftime('%Y-%m-%d')}. "
             "An answer agrees when found/refused, the answer text and the first source are the same. "
             "Times are per question, both stores in one process, taken while other jobs shared the 2 CPUs "
             "(a ratio, not a speed).", "",
             "| set | questions | agree | share | ms/question local | ms/question Milvus Lite |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for r in results:
        share = 100 * r["agree"] / max(r["questions"], 1)
        lines.append(f"| {r['name']} | {r['questions']} | {r['agree']} | {share:.1f}% | {r['ms_local']} | "
                     f"{r['ms_milvus']} |")  # fmt: skip
    lines += [
        "",
        "## Choices measured (local store, same questions)",
        "",
        "- *fusion over lists*: fusing over the two top lists (a candidate missing from one list gets that "
        "side's lowest listed score) instead of asking the store for every candidate's two scores (what "
        "`retrieve.search` does): questions whose top 5 passages (in order) / first passage are unchanged.",
        "- *Milvus jieba analyser*: BM25 by Milvus Lite's own jieba analyser over the passages' text, asked "
        "the question's text, against bm25s over our jieba words (the store's choice): questions whose BM25 "
        "top 10 (as sets) / first passage are the same.",
        "",
    ]
    for r in results:
        for what, m in r["measured"].items():
            counts = ", ".join(f"{k} {v}" for k, v in m.items() if k != "questions")
            lines.append(f"- {r['name']}, {what}: {counts} of {m['questions']} questions")
    lines += ["", "## Disagreements", ""]
    differ = [(r["name"], d) for r in results for d in r["differ"]]
    if not differ:
        lines.append("None.")
    for name, (q, a, b) in differ:
        lines.append(f"- {name}: {q} — {_why(a, b)}: local {a[0]} {a[1][:60]!r} ({a[2]}); "
                     f"Milvus {b[0]} {b[1][:60]!r} ({b[2]})")  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, help="another corpus folder (with --questions)")
    parser.add_argument("--questions", type=Path, help="JSON Lines with a `question` field")
    parser.add_argument("--limit", type=int, help="the first N questions only")
    parser.add_argument("--cmrc", action="store_true", help="also the CMRC 2018 trial corpus (made in .work/)")
    args = parser.parse_args()
    if args.corpus:
        sets = [(args.corpus, _questions(args.questions, args.limit), args.corpus.name)]
    else:
        sets = [(ROOT / "corpus", _questions(OWN, args.limit), "report: eval/questions.jsonl"),
                (ROOT / "corpus", _questions(DEV, args.limit), "report: dev.jsonl")]  # fmt: skip
    if args.cmrc:
        from training.sets import cmrc_sets

        cmrc = cmrc_sets()[0]
        sets.append((cmrc.corpus, _questions(cmrc.questions, args.limit), "CMRC 2018 trial"))
    embedder = None
    results = []
    for corpus, questions, name in sets:
        result = compare(
            corpus, questions, name.split(":")[0] + "-" + str(len(results)), embedder, measure=name.startswith("report")
        )
        result["name"] = name
        results.append(result)
        print(f"{name}: {result['agree']}/{result['questions']} agree")
    command = "python -m benchmarks.stores" + "".join(
        f" --{k} {v}" for k, v in (("corpus", args.corpus), ("questions", args.questions), ("limit", args.limit)) if v
    )
    RESULTS.write_text(report(results, command), encoding="utf-8")


if __name__ == "__main__":
    main()
