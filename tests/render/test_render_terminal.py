"""assistant/render/terminal.py: real answers laid out at several widths, in each source mode, in colour or not."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
import wcwidth

from assistant.pipeline import Assistant
from assistant.render import HIGH, HIGH_FOUND, answer_confidence, confidence_bands
from assistant.render.terminal import SOURCE_MODES, Layout, confidence_label, full_sources, terminal
from assistant.schema import Answer

ROOT = Path(__file__).resolve().parents[2]
SGR = re.compile(r"\x1b\[[0-9;]*m")
STAFF = "市委网信办目前有多少在编人员？"


def questions() -> list[str]:
    shared = next((p / "shared" / "eval" / "dev.jsonl" for p in ROOT.parents if (p / "shared" / "eval").is_dir()), None)
    files = [f for f in (shared, ROOT / "eval" / "questions.jsonl") if f and f.is_file()]
    return [json.loads(line)["question"] for f in files for line in f.read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture(scope="module")
def answers(assistant: Assistant) -> list[Answer]:
    return [assistant.ask(q) for q in questions()]


@pytest.mark.slow
@pytest.mark.parametrize("columns", [20, 40, 80, 140])
@pytest.mark.parametrize("mode", SOURCE_MODES)
def test_every_line_fits_the_width_in_every_mode(answers: list[Answer], columns: int, mode: str) -> None:
    for answer in answers:
        plain = terminal(answer, Layout(columns, color=False, sources=mode))
        coloured = terminal(answer, Layout(columns, color=True, sources=mode))
        assert SGR.sub("", coloured) == plain
        assert "\x1b" not in plain
        for line in plain.split("\n"):
            assert 0 <= wcwidth.wcswidth(line) <= columns, (columns, line)


@pytest.mark.slow
def test_compact_sources_are_one_line_each_and_the_quoted_sentence_is_green(assistant: Assistant) -> None:
    answer = assistant.ask(STAFF)
    lines = terminal(answer, Layout(80, color=True)).split("\n")
    assert lines[0] == "\x1b[1m目前市委网信办仅有在编人员 11 人，人员较少，请求按工作需要适当增加编制和人员。\x1b[0m"
    assert lines[1] == "\x1b[1;36m[1]\x1b[0m", "the citation, cyan, moved to the next line whole"
    if answer.confidence is not None:  # the answerability model's judgement, in words, dim
        assert lines.pop(2) == f"\x1b[2m把握：{answer_confidence(answer)}\x1b[0m"
    assert lines[2:4] == ["", "\x1b[4m来源\x1b[0m"]
    assert len(lines) == 4 + len(answer.sources)
    first = next(line for line in lines[4:] if "\x1b[1;32m" in line)
    assert first.startswith("\x1b[1m[1] \x1b[0m\x1b[2m洛阳-"), "the source quoted is the first"
    assert "\x1b[1;32m目前市委网信办仅有在编人员 11 人，" in first and first.endswith("…\x1b[0m")
    assert all(line.startswith(f"\x1b[1m[{n}] \x1b[0m") for n, line in enumerate(lines[4:], start=1))


@pytest.mark.slow
def test_full_sources_show_the_passage_its_path_and_scores(assistant: Assistant) -> None:
    answer = assistant.ask(STAFF)
    source = answer.sources[0]
    text = full_sources(answer, Layout(None), 1)
    head, *body = text.split("\n")
    assert head.startswith(f"[1] {source.hit.passage.doc} › {source.hit.passage.section_path}  (score 1.0000, dense ")
    assert body == [
        *("    " + line for line in source.hit.passage.text.split("\n")),
        "    matched: " + " ".join(source.hit.matched),
    ]
    assert full_sources(answer, Layout(None)) == "\n".join(
        full_sources(answer, Layout(None), s.rank) for s in answer.sources
    )
    with pytest.raises(ValueError, match="没有来源 9：上一个回答的来源是 1–5。"):
        full_sources(answer, Layout(None), 9)


@pytest.mark.slow
def test_text_that_would_act_on_the_terminal_is_printed_as_words(assistant: Assistant) -> None:
    answer = assistant.ask(STAFF)
    first = answer.sources[0]
    passage = dataclasses.replace(first.hit.passage, doc="报告\x1b[2J.txt", section=("\x1b]0;pwned\x07标题",))
    hostile = dataclasses.replace(
        answer,
        text="答案\x1b[31m红\x1b[0m[1]\x07",
        note="注意\x9b2J",
        sources=(dataclasses.replace(first, hit=dataclasses.replace(first.hit, passage=passage)),),
    )
    for mode in SOURCE_MODES:
        out = terminal(hostile, Layout(80, color=True, sources=mode))
        assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", SGR.sub("", out)), mode
        assert "答案红" in out and "\n\x1b[33m注意\x1b[0m" in out and "pwned" not in out
        assert ("报告.txt" in out) == (mode != "none")


def test_confidence_in_plain_words() -> None:
    low = confidence_bands()[1][0]  # 中 starts at the shipped refusal threshold
    assert 0 < low < HIGH
    probabilities = (0.0, low / 2, low, (low + HIGH) / 2, HIGH, 1.0)
    assert [confidence_label(p) for p in probabilities] == ["低", "低", "中", "中", "高", "高"]
    # 高 needs the question said around the answer too (render.HIGH_FOUND); below that, 中
    assert [confidence_label(1.0, found) for found in (0.0, HIGH_FOUND - 0.01, HIGH_FOUND)] == ["中", "中", "高"]
    assert confidence_label(low / 2, 0.0) == "低"
    # and an answer a rule could vouch for (evidence.checked): free text (why, how) or the question's relation unsaid
    assert confidence_label(1.0, 1.0, checked=False) == "中" and confidence_label(low, 1.0, checked=False) == "中"


@pytest.mark.slow
def test_an_answer_carrying_a_confidence_shows_it_under_the_answer(assistant: Assistant) -> None:
    answer = assistant.ask(STAFF)
    lines = terminal(dataclasses.replace(answer, confidence=0.93), Layout(None)).split("\n")
    assert lines[:3] == [answer.text, "把握：高", ""]
    assert terminal(dataclasses.replace(answer, confidence=None), Layout(None)).split("\n")[:2] == [answer.text, ""]
    refused = dataclasses.replace(answer, found=False, text="报告中没有找到这个问题的答案。", confidence=0.1)
    assert terminal(refused, Layout(None)).split("\n")[:2] == [refused.text, ""], "no confidence under a refusal"


@pytest.mark.slow
def test_high_is_said_only_where_a_rule_vouches_for_the_answer(assistant: Assistant) -> None:
    """A reason (free text) is at most 中 however sure the model is; a count whose relation (获评) is said can be 高."""
    reason = assistant.ask("市委网信办为什么请求增加编制和人员？")
    assert reason.found and "人员较少" in reason.text and reason.evidence["checked"] == 0.0
    assert answer_confidence(dataclasses.replace(reason, confidence=0.99)) == "中"
    count = assistant.ask("有几家企业获评2015年河南省“互联网+”工业创新示范企业？")
    assert count.found and count.evidence["checked"] == 1.0 and answer_confidence(count) == "高"


@pytest.mark.parametrize(("changes", "message"), [({"sources": "some"}, "sources must be one of compact, full, none"),
                                                  ({"columns": 0}, "columns must be at least 1")])  # fmt: skip
def test_layout_checks_its_settings(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Layout(**changes)


@pytest.mark.slow
def test_a_pdf_source_names_its_page_in_the_source_line_and_in_json(assistant: Assistant) -> None:
    from assistant.render.json import answer_to_dict

    answer = assistant.ask(STAFF)
    assert all(s["page"] is None and s["pages"] == [] for s in answer_to_dict(answer)["sources"])  # a .txt
    first = answer.sources[0]
    on_pages = dataclasses.replace(first.hit.passage, doc="report.pdf", pages=(3,))
    moved = dataclasses.replace(first, hit=dataclasses.replace(first.hit, passage=on_pages))
    pdf = dataclasses.replace(answer, sources=(moved, *answer.sources[1:]))
    line = next(s for s in terminal(pdf, Layout(120)).split("\n") if s.startswith("[1] "))
    assert line.startswith("[1] report.pdf p. 3 › ")
    assert full_sources(pdf, Layout(None), 1).startswith(f"[1] report.pdf p. 3 › {on_pages.section_path}  (score")
    assert answer_to_dict(pdf)["sources"][0]["page"] == 3 and answer_to_dict(pdf)["sources"][0]["pages"] == [3]
    two = dataclasses.replace(on_pages, pages=(3, 4))
    assert two.page_label == "pp. 3–4"


def test_list_items_wrap_under_their_text_not_their_number() -> None:
    from assistant.schema import Item

    lead = "这是一个很长的列表项目，用来检查换行以后的文字是否对齐在项目文字的下面而不是编号下面"
    answer = Answer(
        "有哪些？", True, f"共两项：\n1. {lead}[1]\n2. 短项[1]", (), items=(Item(lead, 1, 0, 1), Item("短项", 1, 0, 1))
    )
    lines = terminal(answer, Layout(columns=30, sources="none")).split("\n")
    first = next(i for i, line in enumerate(lines) if line.startswith("1. "))
    second = next(i for i, line in enumerate(lines) if line.startswith("2. "))
    assert second - first > 1 and all(line.startswith("   ") for line in lines[first + 1 : second])
    assert all(wcwidth.wcswidth(line) <= 30 for line in lines)
    assert "".join(line.strip() for line in lines[first:second]) == f"1. {lead}[1]"
