"""The question sets the answer models learn from and are measured on, as folders of `corpus/` + `questions.jsonl`.

- `report`: the report in `corpus/` with our own questions (`eval/questions.jsonl`, written from
  the report, near-miss unanswerable ones among them);
- `dev`: the report with the shared development questions (../shared/eval/dev.jsonl) — measured,
  never learned from;
- `cmrc`: the CMRC 2018 trial set as an open corpus (256 documents, 1,000 questions), made by the
  shared script ../shared/eval/cmrc.py;
- `cmrc-na`: its no-answer variant (../shared/eval/cmrc_noanswer.py): half the questions' documents
  removed, so those must be refused;
- near misses (`training/nearmiss.py`): `report-nearmiss` (eval/nearmiss-report.jsonl), `cmrc-nearmiss`
  (a constraint changed), `cmrc-removed` (answer sentences removed, the rest of each document kept).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CMRC_JSON = SHARED / "external" / "cmrc2018" / "cmrc2018_trial.json"
DEFAULT_WORK = ROOT / ".work"


@dataclass(frozen=True)
class QuestionSet:
    name: str
    corpus: Path
    questions: Path
    index: Path


def report_sets(work: Path = DEFAULT_WORK) -> list[QuestionSet]:
    index = work / "report-index"
    return [
        QuestionSet("report", ROOT / "corpus", ROOT / "eval" / "questions.jsonl", index),
        QuestionSet("dev", ROOT / "corpus", SHARED / "eval" / "dev.jsonl", index),
    ]


def cmrc_sets(work: Path = DEFAULT_WORK) -> list[QuestionSet]:
    """Make (once) and return the CMRC open-corpus and no-answer sets under `work`."""
    if not CMRC_JSON.is_file():
        raise FileNotFoundError(f"{CMRC_JSON} is not here: the CMRC sets need ../shared beside the checkout")
    open_dir, na_dir = work / "cmrc", work / "cmrc-na"
    if not (open_dir / "questions.jsonl").is_file():
        _run(SHARED / "eval" / "cmrc.py", str(CMRC_JSON), str(open_dir), "--n", "1000")
    if not (na_dir / "questions.jsonl").is_file():
        _run(SHARED / "eval" / "cmrc_noanswer.py", str(open_dir), str(na_dir))
    return [
        QuestionSet("cmrc", open_dir / "corpus", open_dir / "questions.jsonl", open_dir / "index"),
        QuestionSet("cmrc-na", na_dir / "corpus", na_dir / "questions.jsonl", na_dir / "index"),
    ]


def nearmiss_sets(work: Path = DEFAULT_WORK) -> list[QuestionSet]:
    """The near-miss sets of `training/nearmiss.py` (made once): the report's, and the CMRC trial's with a
    constraint changed and with the answer sentences removed."""
    made = (work / "cmrc-removed" / "questions.jsonl", ROOT / "eval" / "nearmiss-report.jsonl")
    if not all(path.is_file() for path in made):
        from training import nearmiss

        nearmiss.main(["--work", str(work)])
    cmrc = work / "cmrc"
    return [
        QuestionSet("report-nearmiss", ROOT / "corpus", ROOT / "eval" / "nearmiss-report.jsonl", work / "report-index"),
        QuestionSet("cmrc-nearmiss", cmrc / "corpus", work / "cmrc-nearmiss" / "questions.jsonl", cmrc / "index"),
        QuestionSet("cmrc-removed", work / "cmrc-removed" / "corpus", work / "cmrc-removed" / "questions.jsonl",
                    work / "cmrc-removed" / "index"),
    ]  # fmt: skip


def _run(script: Path, *args: str) -> None:
    subprocess.run([sys.executable, str(script), *args], check=True, stdout=subprocess.DEVNULL)
