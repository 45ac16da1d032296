"""results.json → benchmarks/results/README.md (tables) and PNG plots."""

from __future__ import annotations

from pathlib import Path


def write(results: dict, out: Path) -> None:
    plots = _plots(results, out)
    lines = [
        "# Benchmark results",
        "",
        "Written by `python -m benchmarks.run` (`make benchmark`); every figure below comes from one run of it.",
        "",
    ]
    lines += ["## Machine", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in results["machine"].items()]
    if results.get("quick"):
        lines += ["", "**Quick run (`--quick`): 1× only, one repetition — a smoke test, not figures to quote.**"]

    q = results["quality"]
    lines += [
        "",
        "## Quality beside every model or index choice",
        "",
        "Scores of `assistant.evaluate.score` (as `assistant eval --json`) on the development questions "
        "(`../shared/eval/dev.jsonl`) and on `eval/questions.jsonl`.",
        "",
        "| encoder, dense index | set | questions | hit@1 | hit@5 | mrr@5 | answer | refused |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, sets in q.items():
        if isinstance(sets, dict):
            for name, s in sets.items():
                lines.append(
                    f"| {label} | {name} | {s.get('questions')} | {s.get('hit@1')} | {s.get('hit@5')} | "
                    f"{s.get('mrr@5')} | {s.get('answer')} | {s.get('refused')} |"
                )
    lines += [
        "",
        f"Same answer text and sources, ONNX vs torch: {q['same answers onnx vs torch']}; "
        f"same top source: {q['same top source onnx vs torch']}. Passage vectors of the index, ONNX vs torch: "
        f"cosine min {results['build']['cosine_onnx_vs_torch']['min']}, "
        f"mean {results['build']['cosine_onnx_vs_torch']['mean']}.",
    ]

    c = results["cold"]
    lines += [
        "",
        "## Cold start",
        "",
        f"A whole process, index built, question `{_question()}`; median of "
        f"{len(next(v for v in c.values() if isinstance(v, dict))['wall_s_all'])} interleaved runs.",
        "",
        "| command | wall (s), median | all runs (s) | peak RSS (MB) |",
        "|---|---|---|---|",
    ]
    for name, v in c.items():
        if isinstance(v, dict):
            lines.append(
                f"| {name} | {v['wall_s_median']} | {', '.join(map(str, v['wall_s_all']))} | {v['peak_mb_median']} |"
            )
    lines += [
        "",
        f"Ratio `assistant ask` (ONNX) / recipe: **{c['ratio onnx ask / recipe']}** "
        f"(torch path: {c['ratio torch ask / recipe']}). Same printed answer and sources as the torch path "
        f"(scores masked): {c['same printed answer onnx vs torch']}. Quality of both paths: table above.",
    ]

    w, wb = results["warm_in_process"], results["warm_batch"]
    lines += [
        "",
        "## Warm latency per question (1×, the report)",
        "",
        "| path | p50 (ms) | p95 (ms) | questions |",
        "|---|---|---|---|",
        *[
            f"| `ask --json` batch mode (stdin), {enc}: time between answers | {x['p50_ms']} | {x['p95_ms']} | "
            f"{x['questions']} |"
            for enc, x in wb.items()
        ],
        f"| in process, retrieval alone (ONNX, flat) | {w['retrieve_p50_ms']} | {w['retrieve_p95_ms']} | "
        f"{w['questions']} |",
        f"| in process, full answer (ONNX, flat) | {w['ask_p50_ms']} | {w['ask_p95_ms']} | {w['questions']} |",
        "",
        "First answer of the batch process (start-up included): "
        + ", ".join(f"{enc} {x['first_answer_s']} s" for enc, x in wb.items())
        + ".",
    ]

    b = results["build"]
    lines += [
        "",
        "## Index build (1×, the report)",
        "",
        "| encoder | passages | texts embedded | build (s) | passages/s | embedding texts/s in the build |",
        "|---|---|---|---|---|---|",
    ]
    for enc in ("onnx", "torch"):
        x = b[enc]
        lines.append(
            f"| {enc} ({x['backend']}) | {x['passages']} | {x['texts_embedded']} | {x['build_s']} | "
            f"{x['passages_per_s']} | {x['texts_per_s_pipeline']} |"
        )
    lines += [
        "",
        "Raw encoders on exactly the texts the build embeds, each in a process of its own (best of the runs; "
        "CPU time counts all threads, and is what a busy shared machine cannot inflate):",
        "",
        "| encoder | texts | wall (s) | texts/s | CPU (s) | texts per CPU-second |",
        "|---|---|---|---|---|---|",
    ]
    raw = b["raw"]
    for name, x in raw.items():
        lines.append(
            f"| {name} | {x['texts']} | {x['seconds']} | {x['texts_per_s']} | {x.get('cpu_seconds', '-')} | "
            f"{x.get('texts_per_cpu_s', '-')} |"
        )
    torch_raw, onnx_raw = (
        raw[next(n for n in raw if n.startswith("torch"))],
        raw[next(n for n in raw if n.startswith("onnx"))],
    )
    cpu_ratio = (
        f"{onnx_raw['texts_per_cpu_s'] / torch_raw['texts_per_cpu_s']:.2f}×" if "texts_per_cpu_s" in onnx_raw else "-"
    )
    lines += [
        "",
        f"ONNX / torch fp32 throughput: **{onnx_raw['texts_per_s'] / torch_raw['texts_per_s']:.2f}×** wall, "
        f"**{cpu_ratio}** per CPU-second. Pipeline overhead (embedding inside `index.build` vs the raw encoder, "
        f"texts/s): ONNX {b['onnx']['texts_per_s_pipeline']} vs {onnx_raw['texts_per_s']}; whole build "
        f"{b['onnx']['build_s']} s for {onnx_raw['seconds']} s of raw encoding.",
    ]

    from benchmarks import scale

    lines += [
        "",
        "## Scale (synthetic corpora)",
        "",
        "Passages made at run time from real sentences (the report's and the CMRC 2018 trial paragraphs'), "
        "with real e5 vectors of their source sentences plus calibrated noise (benchmarks/synth.py); the "
        "whole ladder to a million passages, its method and the store ratios: `python -m benchmarks.scale` "
        "(scale.md). Here, the sizes of this run:",
        "",
        *scale.table(results["scale"]),
    ]
    lines += ["", "## Plots", ""] + [f"![{p.stem}]({p.name})" for p in plots]
    (out / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _question() -> str:
    from benchmarks.common import COLD_QUESTION

    return COLD_QUESTION


def _count(results: dict) -> int:
    return results["warm_batch"]["onnx"]["questions"]


def _plots(results: dict, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    cold = {k: v for k, v in results["cold"].items() if isinstance(v, dict)}
    fig, ax = plt.subplots(figsize=(7, 2.8))
    labels = [k.replace(": import sentence-transformers, load e5, embed the question", "") for k in cold]
    ax.barh(labels, [v["wall_s_median"] for v in cold.values()], color=["#2a7", "#d84", "#888"])
    ax.set_xlabel("wall time, seconds (median)")
    ax.set_title("Cold start")
    paths.append(_save(fig, out / "cold_start.png"))

    rows = [r for r in results["scale"]["rows"] if r.get("ask_p50") is not None]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for store, style in (("local", "-o"), ("milvus-lite", "--s")):
        mine = [r for r in rows if r["store"] == store]
        xs = [r["passages"] for r in mine]
        ax.plot(xs, [r["ask_p50"] for r in mine], style, label=f"{store} full answer p50")
        ax.plot(xs, [r["ask_p95"] for r in mine], style, alpha=0.5, label=f"{store} full answer p95")
    ax.set_xscale("log")
    ax.set_xlabel("passages in the store")
    ax.set_ylabel("ms")
    ax.set_title("Warm full-answer latency by corpus size")
    ax.legend(fontsize=8)
    paths.append(_save(fig, out / "scale_latency.png"))

    raw = results["build"]["raw"]
    fig, ax = plt.subplots(figsize=(7, 2.4))
    ax.barh([k.split(" (")[0] for k in raw], [v["texts_per_s"] for v in raw.values()], color=["#888", "#2a7"])
    ax.set_xlabel("texts embedded per second")
    ax.set_title("Passage embedding throughput")
    paths.append(_save(fig, out / "throughput.png"))
    return paths


def _save(fig, path: Path) -> Path:
    """Lay out, write and close one figure."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
