"""Word and PDF reports: which PDF reader, what the clean-up does, and the answers they give.

    python -m benchmarks.formats [--out benchmarks/results] [--keep DIR] [--questions FILE ...]
    python -m benchmarks.formats --ocr [--out benchmarks/results]

1. Makes the report as .docx (python-docx) and as a PDF printed by headless Chromium with
   the Noto CJK fonts (benchmarks/documents.py), and a 50-page PDF.
2. PDF readers on the report's PDF: pypdfium2, pypdf and pdfplumber, each as it comes out of
   the box, scored by character accuracy against the source text (1 − edit distance / source
   length, white space ignored, as the evaluation ignores it), with radical code points
   counted; then our reader (pypdfium2 + clean-up). Speed: seconds for the 50-page PDF.
3. Each file alone in a corpus folder, the development questions (../shared/eval/dev.jsonl) and
   our own (eval/questions.jsonl), as `assistant --corpus DIR --index IDX eval FILE` scores them;
   the .txt for reference.

Writes formats.md and formats.json into --out. Needs /usr/bin/chromium and fonts-noto-cjk (`make browser`).

With --ocr, scanned reports instead (writes ocr.md and ocr.json): the printed report's pages rendered
at 150 and 300 dpi, turned ±0.6°, with grey noise, saved as image-only PDFs (benchmarks/documents.py);
each OCR engine installed (rapidocr 3.x as our reader uses it; rapidocr-onnxruntime 1.4 when present)
read raw, scored by character accuracy, and timed in pages per second; our reader's text (clean-up
included) scored the same way; and the questions answered from the 150-dpi scan alone, beside the .txt.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from difflib import SequenceMatcher
from pathlib import Path

from assistant.ingest import paragraphs, read_document
from assistant.schema import Document
from benchmarks.common import DEV, OWN, machine
from benchmarks.documents import (
    REPORT,
    chromium_available,
    long_html,
    print_pdf,
    report_blocks,
    report_html,
    source_text,
    write_docx,
)

# the development questions (beside the checkout) when they are here, and our own
QUESTION_SETS = [path for path in (DEV, OWN) if path.is_file()]


def char_accuracy(extracted: str, source: str) -> float:
    """1 − (edit operations / source length) over the non-white-space characters."""
    a, b = re.sub(r"\s+", "", source), re.sub(r"\s+", "", extracted)
    errors = 0
    for op, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op != "equal":
            errors += max(i2 - i1, j2 - j1)
    return max(0.0, 1 - errors / len(a))


def radicals(text: str) -> int:
    from assistant.ingest.cleanup import is_radical

    return sum(1 for c in text if is_radical(c))


def quoted_text(doc: Document) -> str:
    """The document's paragraphs as passages quote them (no `#`, no `**`), one a line."""
    return "\n".join(p.text for p in paragraphs(doc))


def recovered_paragraphs(doc: Document, source_paragraphs: list[str]) -> float:
    """Share of the source's paragraphs (over 20 characters) that come out whole: broken lines joined."""
    got = {re.sub(r"\s+", "", p.text) for p in paragraphs(doc)}
    long = [re.sub(r"\s+", "", p) for p in source_paragraphs if len(p) > 20]
    return sum(1 for p in long if p in got) / len(long)


def _pdfium(path: Path) -> str:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    try:
        return "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()


def _pypdf(path: Path) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)


def _pdfplumber(path: Path) -> str:
    import logging

    import pdfplumber

    logging.getLogger("pdfminer").setLevel(logging.ERROR)  # a FontBBox warning per character otherwise
    with pdfplumber.open(path) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


def _ours(path: Path) -> Document:
    return read_document(path, path.parent)


EXTRACTORS: dict[str, Callable[[Path], str | Document]] = {
    "pypdfium2": _pdfium,
    "pypdf": _pypdf,
    "pdfplumber": _pdfplumber,
    "ours: pypdfium2 + clean-up": _ours,
}


def _timed(fn: Callable[[Path], str | Document], path: Path, repeat: int) -> tuple[str | Document, float]:
    times, text = [], ""
    for _ in range(repeat):
        started = time.perf_counter()
        text = fn(path)
        times.append(time.perf_counter() - started)
    return text, statistics.median(times)


def compare_readers(report_pdf: Path, long_pdf: Path, source: str, paras: list[str], repeat: int = 3) -> list[dict]:
    from assistant.ingest.cleanup import fix_code_points

    rows = []
    for name, fn in EXTRACTORS.items():
        out, seconds = _timed(fn, report_pdf, repeat)
        _, long_seconds = _timed(fn, long_pdf, 1)
        # a reader's raw text goes through the same paragraph reader a .txt file does
        doc = out if isinstance(out, Document) else Document(report_pdf.with_suffix(".txt").name, out, "", "")
        mapped = replace(doc, text=fix_code_points(doc.text))
        rows.append(
            {
                "reader": name,
                "accuracy": round(char_accuracy(quoted_text(doc), source), 4),
                "accuracy, code points mapped": round(char_accuracy(quoted_text(mapped), source), 4),
                "radicals": radicals(doc.text),
                "paragraphs recovered": round(recovered_paragraphs(mapped, paras), 3),
                "report seconds": round(seconds, 3),
                "50 pages seconds": round(long_seconds, 2),
            }
        )
    return rows


def evaluate_corpus(corpus: Path, index: Path, embedder, questions: Path = DEV) -> dict:
    """The questions against one corpus folder, as `assistant --corpus DIR --index IDX eval` scores them."""
    from assistant.config import Settings
    from assistant.pipeline import Assistant

    settings = Settings.load(corpus_dir=corpus, index_dir=index)
    return score_assistant(Assistant(settings, embedder=embedder), questions)


def score_assistant(assistant, questions: Path) -> dict:
    """The scorer's summary, with the radical code points found in quoted sources and answers."""
    from assistant.evaluate import read_questions, score
    from assistant.render.json import answer_to_dict

    qs = read_questions(questions)
    answers = [answer_to_dict(assistant.final_answer(q["question"])) for q in qs]
    summary, _ = score(qs, answers)
    quoted = [s["text"] for a in answers for s in a["sources"]] + [a["answer"] for a in answers]
    summary["radicals quoted"] = sum(radicals(t) for t in quoted)
    summary["passages"] = len(assistant.index.passages)
    return summary


def run(out: Path, keep: Path | None = None, questions: list[Path] | None = None) -> dict:
    if not chromium_available():
        raise SystemExit("needs /usr/bin/chromium and fonts-noto-cjk: run `make browser`")
    from assistant.config import Settings
    from assistant.encode.embedder import Embedder

    questions = questions or QUESTION_SETS
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="formats-"))
    try:
        blocks = report_blocks()
        source, paras = source_text(blocks), [b.text for b in blocks]
        folders = {name: work / name for name in ("txt", "docx", "pdf")}
        for folder in folders.values():
            folder.mkdir()
        shutil.copy(REPORT, folders["txt"] / REPORT.name)
        t = time.perf_counter()
        docx_path = write_docx(blocks, folders["docx"] / "report.docx", meta_title="洛阳汇报")
        made = {"docx seconds": round(time.perf_counter() - t, 2)}
        t = time.perf_counter()
        pdf_path = print_pdf(report_html(blocks), folders["pdf"] / "report.pdf")
        made["pdf seconds"] = round(time.perf_counter() - t, 2)
        long_pdf = print_pdf(long_html(blocks), work / "long.pdf")
        readers = compare_readers(pdf_path, long_pdf, source, paras)
        docx_doc = read_document(docx_path, docx_path.parent)
        docx_row = {
            "accuracy": round(char_accuracy(quoted_text(docx_doc), source), 4),
            "paragraphs recovered": round(recovered_paragraphs(docx_doc, paras), 3),
        }
        embedder = Embedder(Settings.load())
        evals = {}
        for name, folder in folders.items():
            for path in questions:
                evals[f"{name} {path.stem}"] = evaluate_corpus(folder, work / f"{name}-index", embedder, path)
        if keep:
            keep.mkdir(parents=True, exist_ok=True)
            for path in (docx_path, pdf_path, long_pdf):
                shutil.copy(path, keep / path.name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results = {
        "started": started,
        "load average": round(load, 2),
        "machine": machine(),
        "made": made,
        "pdf readers": readers,
        "docx": docx_row,
        "eval": evals,
    }
    out.mkdir(parents=True, exist_ok=True)
    _write(out / "formats.json", json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    _write(out / "formats.md", report(results))
    return results


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def report(r: dict) -> str:
    m = r["machine"]
    lines = [
        "# Word and PDF reports",
        "",
        f"`python -m benchmarks.formats`, {r['started']}, {m.get('cpu', '?')}, {m.get('cores', '?')} cores, "
        f"load average {r['load average']} at the start.",
        "",
        "## PDF readers",
        "",
        "The report printed to PDF by headless Chromium (Noto CJK fonts, the browser's header and footer on",
        "each of its 8 pages). Each reader's text goes through the paragraph reader of .txt files (which joins",
        "lines that do not end a sentence); accuracy is 1 − edit distance / length against the report's",
        "paragraphs, white space ignored; a paragraph is recovered when it comes out whole. Time: median of 3",
        "reads of the report, one read of the 50-page PDF.",
        "",
        "| reader | accuracy | with code points mapped | radical code points | paragraphs recovered |"
        " report s | 50 pages s |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in r["pdf readers"]:
        lines.append(
            f"| {row['reader']} | {row['accuracy']:.4f} | {row['accuracy, code points mapped']:.4f} | "
            f"{row['radicals']} | {row['paragraphs recovered']:.3f} | {row['report seconds']} | "
            f"{row['50 pages seconds']} |"
        )
    d = r["docx"]
    lines += [
        "",
        f"The .docx (python-docx): accuracy {d['accuracy']:.4f}, paragraphs recovered {d['paragraphs recovered']:.3f}.",
        "",
        "## The questions, each file alone in a corpus folder",
        "",
        "`dev`: the development questions; `questions`: our own (eval/questions.jsonl). As",
        "`assistant --corpus DIR --index IDX eval QUESTIONS` scores them; radical code points counted in",
        "every answer and quoted source.",
        "",
        "| corpus | questions | passages | hit@1 | hit@5 | answer | refused | false_refusal | radicals quoted |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key, s in r["eval"].items():
        name, questions = key.split(" ", 1)
        lines.append(
            f"| .{name} | {questions} | {s['passages']} | {s['hit@1']} | {s['hit@5']} | {s['answer']} | "
            f"{s['refused']} | {s['false_refusal']} | {s['radicals quoted']} |"
        )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- scans

OCR_DPIS = (150, 300)


def _rapidocr_v3(images: list) -> str:
    import numpy as np
    from rapidocr import RapidOCR

    engine = RapidOCR(params={"Global.log_level": "error"})
    return "\n".join("\n".join(engine(np.asarray(im.convert("RGB"))).txts or ()) for im in images)


def _rapidocr_onnxruntime(images: list) -> str:
    import numpy as np
    from rapidocr_onnxruntime import RapidOCR

    engine = RapidOCR()
    out = []
    for im in images:
        result, _ = engine(np.asarray(im.convert("RGB")))
        out.append("\n".join(r[1] for r in result or ()))
    return "\n".join(out)


OCR_ENGINES: dict[str, tuple[str, Callable[[list], str]]] = {
    "rapidocr 3.x (PP-OCRv6), raw": ("rapidocr", _rapidocr_v3),
    "rapidocr-onnxruntime 1.4 (PP-OCRv4), raw": ("rapidocr_onnxruntime", _rapidocr_onnxruntime),
}


def _cpu_timed(fn: Callable[[], object]) -> tuple[object, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def _speed(pages: int, wall: float, cpu: float) -> dict:
    return {"pages/s": round(pages / wall, 3), "cpu s/page": round(cpu / pages, 2)}


def run_ocr(out: Path, questions: list[Path] | None = None) -> dict:
    """Scans of the report at 150 and 300 dpi: engines compared, our reader scored, the questions asked."""
    import importlib.util

    from assistant.config import Settings
    from assistant.encode.embedder import Embedder
    from assistant.ingest import ocr
    from benchmarks.documents import image_pdf, scan_pages

    if not chromium_available():
        raise SystemExit("needs /usr/bin/chromium and fonts-noto-cjk: run `make browser`")
    if not ocr.available():
        raise SystemExit(f"needs the ocr extra: {ocr.INSTALL}")
    questions = questions or QUESTION_SETS
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="ocr-"))
    try:
        blocks = report_blocks()
        source = source_text(blocks)
        printed = print_pdf(report_html(blocks), work / "report.pdf")
        rows, evals = [], {}
        for dpi in OCR_DPIS:
            images = scan_pages(printed, dpi, seed=dpi)
            for name, (module, engine) in OCR_ENGINES.items():
                if importlib.util.find_spec(module) is None:
                    continue
                text, wall, cpu = _cpu_timed(lambda engine=engine, images=images: engine(images))
                rows.append({"dpi": dpi, "reader": name, "accuracy": round(char_accuracy(text, source), 4),
                             **_speed(len(images), wall, cpu)})  # fmt: skip
                print(rows[-1], flush=True)  # a long run: each figure as soon as it is known
            folder = work / f"scan{dpi}"
            folder.mkdir()
            scan = image_pdf(images, folder / f"report-scan-{dpi}dpi.pdf", dpi)
            doc, wall, cpu = _cpu_timed(lambda scan=scan: read_document(scan, scan.parent))
            rows.append({"dpi": dpi, "reader": "ours: rapidocr 3.x + layout + clean-up",
                         "accuracy": round(char_accuracy(quoted_text(doc), source), 4),
                         "paragraphs recovered": round(recovered_paragraphs(doc, [b.text for b in blocks]), 3),
                         **_speed(len(images), wall, cpu)})  # fmt: skip
            print(rows[-1], flush=True)
            if dpi == 150:
                embedder = Embedder(Settings.load())
                txt = work / "txt"
                txt.mkdir()
                shutil.copy(REPORT, txt / REPORT.name)
                for path in questions:
                    evals[f"txt {path.stem}"] = evaluate_corpus(txt, work / "txt-index", embedder, path)
                    evals[f"scan-150dpi {path.stem}"] = evaluate_corpus(folder, work / "scan-index", embedder, path)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results = {"started": started, "load average": round(load, 2), "machine": machine(), "readers": rows,
               "eval": evals}  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    _write(out / "ocr.json", json.dumps(results, ensure_ascii=False, indent=2) + "\n")
    _write(out / "ocr.md", ocr_report(results))
    return results


def ocr_report(r: dict) -> str:
    m = r["machine"]
    lines = [
        "# Scanned reports (OCR)",
        "",
        f"`python -m benchmarks.formats --ocr`, {r['started']}, {m.get('cpu', '?')}, {m.get('cores', '?')} cores, "
        f"load average {r['load average']} at the start (other jobs shared the cores: compare rows, not machines).",
        "",
        "The report printed by headless Chromium (8 pages), each page rendered at the dpi, turned ±0.6°, grey",
        "noise (σ 12) added, saved as an image-only PDF. Accuracy: 1 − edit distance / length against the",
        "report's paragraphs, white space ignored (raw rows include the browser's header and footer lines, which",
        "our reader drops). Pages/s: wall time of the whole report, both cores.",
        "",
        "| dpi | reader | accuracy | paragraphs recovered | pages/s | CPU s/page |",
        "|---|---|---|---|---|---|",
    ]
    for row in r["readers"]:
        lines.append(
            f"| {row['dpi']} | {row['reader']} | {row['accuracy']:.4f} | {row.get('paragraphs recovered', '–')} | "
            f"{row['pages/s']} | {row['cpu s/page']} |"
        )
    lines += [
        "",
        "## The questions, from the 150-dpi scan alone",
        "",
        "| corpus | questions | passages | hit@1 | hit@5 | answer | refused | false_refusal |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, s in r["eval"].items():
        name, questions = key.split(" ", 1)
        lines.append(
            f"| {name} | {questions} | {s['passages']} | {s['hit@1']} | {s['hit@5']} | {s['answer']} | "
            f"{s['refused']} | {s['false_refusal']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--keep", type=Path, help="also copy the made .docx and PDFs here")
    parser.add_argument(
        "--questions",
        type=Path,
        action="append",
        help=f"questions to score, repeatable (default: {DEV} if there, and {OWN.relative_to(OWN.parents[1])})",
    )
    parser.add_argument("--ocr", action="store_true", help="scanned reports: OCR engines, accuracy, speed, questions")
    args = parser.parse_args(argv)
    if args.ocr:
        print(ocr_report(run_ocr(args.out, args.questions)))
        return
    results = run(args.out, args.keep, args.questions)
    print(report(results))


if __name__ == "__main__":
    main()
