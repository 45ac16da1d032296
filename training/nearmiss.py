"""Near-miss question sets: same topic, the asked fact absent — what an answerer must refuse.

    python -m training.nearmiss            (writes eval/nearmiss-report.jsonl and .work/cmrc-nearmiss/)

Made by rule, seeded (SEED), from data we have:

- **constraint changed** (`change()`): a question the corpus answers, with one stated constraint
  replaced by a value its document never states — another year (2016年 for 2015年), number,
  ordinal (第五次 for 第三次), level (省委 for 市委, 县 for 市), qualifier (女单 for 男单, 上半年
  for 全年) — so the topic is still there and the fact is not. A question with no constraint gets
  a year its document never names (`2013年，…`): the report's figures are of its own date.
- **answer removed** (`cmrc-removed`): the CMRC trial corpus with, for half of the questions'
  documents, every sentence stating an answer taken out and the rest of the document kept: the
  sentences an answer runs over, and those saying it again in other words — two runs of four of
  its characters, rare in the corpus, that the question does not say (`_without_answers`).
- **controls**: the unchanged questions, which must still be answered.

The report's set (`eval/nearmiss-report.jsonl`) is committed: near misses with their controls; the
CMRC sets are made under `.work/` beside the CMRC trial open corpus (`training/sets.py`).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
from pathlib import Path

from assistant.question import LEVEL_BODIES, QUALIFIER_GROUPS, chinese_digits, constraints
from assistant.text.words import normalize
from training.sets import DEFAULT_WORK, ROOT, cmrc_sets

SEED = 7
_YEAR = re.compile(r"(?<![\d.])(1[5-9]\d\d|20\d\d)(年)")
_ORDINAL = re.compile(r"第([〇零一二两三四五六七八九十\d]+)([批届次期轮])")
_NUMBER = re.compile(r"(?<![\d.第年])(\d+(?:\.\d+)?)(\s*)([个家人名位件项条种所座部篇场只天岁元万亿%])")
_LEVEL = re.compile("(?<![城都])([省市县])(" + "|".join(sorted(LEVEL_BODIES, key=len, reverse=True)) + ")")
_REACH = re.compile(r"全(国|省|市)")
_CN = "〇一二三四五六七八九十"


def _cn(n: int) -> str:
    if n <= 10:
        return _CN[n]
    return ("" if n < 20 else _CN[n // 10]) + "十" + ("" if n % 10 == 0 else _CN[n % 10])


def change(question: str, document: str, rng: random.Random) -> tuple[str, str] | None:
    """`question` with one of its constraints changed to a value `document` never states, and the kind of
    change; None when nothing can be changed that way."""
    doc = chinese_digits(normalize(document))
    options: list[tuple[str, str]] = []
    for m in _YEAR.finditer(question):
        for delta in rng.sample([-3, -2, -1, 1, 2, 3], 6):
            year = str(int(m[1]) + delta)
            if year not in doc:
                options.append(("time", question[: m.start(1)] + year + question[m.end(1) :]))
                break
    for m in _ORDINAL.finditer(question):
        n = int(chinese_digits(f"第{m[1]}{m[2]}")[1:-1])
        for other in rng.sample(range(1, 13), 12):
            if other != n and f"第{other}{m[2]}" not in doc:
                options.append(("ordinal", question[: m.start()] + f"第{_cn(other)}{m[2]}" + question[m.end() :]))
                break
    for m in _NUMBER.finditer(question):
        value = float(m[1])
        for other in (value * 3, value + 7, value * 2 + 1):
            text = f"{other:g}"
            if re.search(rf"(?<![\d.]){re.escape(text)}(?![\d.])", doc) is None:
                options.append(("number", question[: m.start(1)] + text + question[m.end(1) :]))
                break
    for m in _LEVEL.finditer(question):
        for other in rng.sample("省市县", 3):
            if other != m[1] and other + m[2] not in doc:
                options.append(("level", question[: m.start()] + other + m[2] + question[m.end() :]))
                break
    for m in _REACH.finditer(question):
        for other in rng.sample("国省市", 3):
            if other != m[1] and "全" + other not in doc:
                options.append(("level", question[: m.start()] + "全" + other + question[m.end() :]))
                break
    for group in QUALIFIER_GROUPS:
        for q in group:
            if q in question and not any(q != o and q in o and o in question for o in group):
                others = [o for o in group if o != q and o not in doc and q not in o and o not in q]
                if others:
                    options.append(("qualifier", question.replace(q, rng.choice(others), 1)))
    if not options:
        return None
    kind, text = rng.choice(options)
    return text, kind


def added_year(question: str, document: str, rng: random.Random) -> str | None:
    """`question` asked of a year its document never names ("2013年，…"); None when it names a time already."""
    if any(c.kind == "time" for c in constraints(question)) or re.search("年|月|日|何时|什么时候|哪一?年", question):
        return None
    doc = chinese_digits(normalize(document))
    years = [y for y in range(2008, 2015) if str(y) not in doc]
    return f"{rng.choice(years)}年，{question}" if years else None


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def report_set(rng: random.Random) -> list[dict]:
    """Near misses of the report's own answerable questions (eval/questions.jsonl), each after its control."""
    document = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "corpus").glob("*.txt")))
    rows = []
    for q in _lines(ROOT / "eval" / "questions.jsonl"):
        if not q.get("answerable", True) or q.get("type") == "english" or "turns" in q:
            continue
        changed = change(q["question"], document, rng)
        kind = changed[1] if changed else "added year"
        text = changed[0] if changed else added_year(q["question"], document, rng)
        if text is None:
            continue
        rows.append({**q, "id": f"{q['id']}-control", "type": "control"})
        rows.append({"id": f"{q['id']}-near", "question": text, "answerable": False, "evidence": [], "answer_any": [],
                     "type": f"near miss: {kind}", "of": q["id"]})  # fmt: skip
    return rows


def cmrc_changed(open_dir: Path, out: Path, rng: random.Random) -> list[dict]:
    """Constraint-changed CMRC trial questions (with their controls), over the unchanged open corpus."""
    rows = []
    for q in _lines(open_dir / "questions.jsonl"):
        document = (open_dir / "corpus" / f"{q['doc']}.txt").read_text(encoding="utf-8")
        changed = change(q["question"], document, rng)
        if changed is None:
            continue
        rows.append({**q, "id": f"{q['id']}-control", "type": "control"})
        rows.append({"id": f"{q['id']}-near", "question": changed[0], "answerable": False, "evidence": [],
                     "answer_any": [], "type": f"near miss: {changed[1]}", "doc": q["doc"], "of": q["id"]})  # fmt: skip
    _write(out / "questions.jsonl", rows)
    return rows


def cmrc_removed(open_dir: Path, out: Path, rng: random.Random) -> list[dict]:
    """The CMRC trial corpus with the answers of half the documents' questions removed (the rest of each
    document kept): those questions must be refused, the other documents' questions answered."""
    questions = _lines(open_dir / "questions.jsonl")
    docs = sorted({q["doc"] for q in questions})
    removed_docs = set(rng.sample(docs, len(docs) // 2))
    corpus = out / "corpus"
    if corpus.exists():
        shutil.rmtree(corpus)
    corpus.mkdir(parents=True)
    texts = {d: (open_dir / "corpus" / f"{d}.txt").read_text(encoding="utf-8") for d in docs}
    pieces = _piece_documents(texts)
    for d in removed_docs:
        asked = [q for q in questions if q["doc"] == d]
        texts[d] = _without_answers(texts[d], asked, pieces)
    for d, text in texts.items():
        (corpus / f"{d}.txt").write_text(text, encoding="utf-8")
    rows = []
    for q in questions:
        if q["doc"] in removed_docs:
            rows.append({**q, "answerable": False, "answer_any": [], "evidence": [], "type": "near miss: removed"})
        else:
            rows.append({**q, "type": "control"})
    _write(out / "questions.jsonl", rows)
    return rows


# An answer is said again where a sentence holds RESTATED runs of PIECE of its characters that are rare (in at
# most RARE documents of the corpus); one run alone is often a name the document keeps using.
PIECE = 4
RESTATED = 2
RARE = 2
_SENTENCE = re.compile(r"[^。！？\n]*(?:[。！？]+|\n|$)")
_PUNCTUATION = re.compile(r"[\s，。！？、；：（）()《》“”\"'「」·,.;:!?-]")


def _pieces(text: str) -> set[str]:
    return {text[i : i + PIECE] for i in range(len(text) - PIECE + 1) if not _PUNCTUATION.search(text[i : i + PIECE])}


def _piece_documents(texts: dict[str, str]) -> dict[str, int]:
    """In how many documents each run of PIECE characters occurs (a common run says nothing particular)."""
    counts: dict[str, int] = {}
    for text in texts.values():
        for piece in _pieces(text):
            counts[piece] = counts.get(piece, 0) + 1
    return counts


def _without_answers(text: str, asked: list[dict], pieces: dict[str, int]) -> str:
    """`text` without every sentence that states an answer of `asked`: one that overlaps an answer's occurrence
    (an answer may run over several sentences), or one that says rare runs of an answer's characters the
    question does not say (the same fact said again elsewhere: an infobox line, the lead, another wording)."""
    sentences = _SENTENCE.findall(text)
    starts = [0]
    for s in sentences:
        starts.append(starts[-1] + len(s))
    gone: set[int] = set()
    for q in asked:
        for answer in (a for alts in q["answer_any"] for a in alts if a):
            for m in re.finditer(re.escape(answer), text):
                gone |= {i for i, s in enumerate(sentences) if starts[i] < m.end() and m.start() < starts[i + 1]}
            said = {p for p in _pieces(answer) if p not in q["question"] and pieces.get(p, 0) <= RARE}
            gone |= {i for i, s in enumerate(sentences) if sum(p in s for p in said) >= RESTATED}
    return "".join(s for i, s in enumerate(sentences) if i not in gone)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help="folder of the CMRC sets")
    args = parser.parse_args(argv)
    report = report_set(random.Random(SEED))
    _write(ROOT / "eval" / "nearmiss-report.jsonl", report)
    cmrc = cmrc_sets(args.work)[0]
    open_dir = cmrc.questions.parent
    changed = cmrc_changed(open_dir, args.work / "cmrc-nearmiss", random.Random(SEED))
    removed = cmrc_removed(open_dir, args.work / "cmrc-removed", random.Random(SEED))
    for name, rows in (("report", report), ("cmrc-nearmiss", changed), ("cmrc-removed", removed)):
        near = sum(not r["answerable"] for r in rows)
        print(f"{name}: {near} near misses, {len(rows) - near} controls")


if __name__ == "__main__":
    main()
