"""The command line in a real terminal: `assistant ask` and `chat` run in a pseudo-terminal of a set size
(pexpect), their output read both raw and as a screen (the pyte terminal emulator).

Widths are measured with `wcwidth` (not our own `cells.width`), and escape sequences with a pattern of
their own, so the layout is judged by something other than itself.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.pipeline import Assistant
from assistant.render.terminal import Layout, full_sources, terminal

pexpect = pytest.importorskip("pexpect")
pyte = pytest.importorskip("pyte")
wcwidth = pytest.importorskip("wcwidth")

pytestmark = pytest.mark.slow  # the real model and index, in a real process

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
STAFF = "市委网信办目前有多少在编人员？"
WHY = "为什么？"
LIST = "网信办编撰了哪些舆情产品？"
OTHER_CITY = "郑州市委网信办有多少在编人员？"
SGR = re.compile(r"\x1b\[[0-9;]*m")
ANY_ESCAPE = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")


def dev_questions() -> list[str]:
    """The shared development questions (beside the checkout, as in CI, or above a worktree), then our own."""
    shared = next((p / "shared" / "eval" / "dev.jsonl" for p in ROOT.parents if (p / "shared" / "eval").is_dir()), None)
    files = [f for f in (shared, ROOT / "eval" / "questions.jsonl") if f and f.is_file()]
    return [json.loads(line)["question"] for f in files for line in f.read_text(encoding="utf-8").splitlines() if line]


class _Screen(pyte.Screen):
    """pyte's screen, keeping faint text (SGR 2, which pyte ignores) as italics, to show it in the capture."""

    def select_graphic_rendition(self, *attrs: int) -> None:
        super().select_graphic_rendition(*(3 if a == 2 else a for a in attrs))


class Terminal:
    """`assistant ARGS` in a pseudo-terminal of `rows` × `columns`; what it writes is kept raw and on a screen."""

    def __init__(self, args: list[str], env: dict[str, str], rows: int = 45, columns: int = 140) -> None:
        self.columns = columns
        self.screen = _Screen(columns, rows)
        self.stream = pyte.Stream(self.screen)
        self.raw = ""
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "assistant", *args],
            env=env,
            dimensions=(rows, columns),
            encoding="utf-8",
            timeout=120,
            # As from an interactive shell: a test run started in the background (`make test &`, a CI
            # runner) ignores SIGINT, and a child would inherit that, so Ctrl-C could never reach it.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )

    def _read(self, text: str) -> str:
        self.raw += text
        self.stream.feed(text)
        return text

    def prompt(self) -> str:
        """Everything written up to the chat's next prompt (the prompt not included)."""
        self.child.expect_exact("\n> ")
        self._read(self.child.before + self.child.after)
        return self.child.before + "\n"

    def say(self, line: str) -> str:
        """Type a line; what the chat answers, without the echo of the line typed."""
        self.child.sendline(line)
        echoed, _, answer = self.prompt().partition("\r\n")
        assert echoed.endswith(line[-5:]), echoed
        return answer

    def end(self) -> int:
        """Wait for the program to finish; its exit status (a signal counts as failure)."""
        self.child.expect(pexpect.EOF)
        self._read(self.child.before)
        self.child.close()
        assert self.child.signalstatus is None, f"killed by signal {self.child.signalstatus}"
        return self.child.exitstatus

    def lines(self) -> list[str]:
        return [row.rstrip() for row in self.screen.display]


@pytest.fixture
def env(assistant: Assistant) -> dict[str, str]:
    """A plain UTF-8 colour terminal, pointed at the session's index; nothing that would fix the width or colour."""
    keep = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "LINES", "FORCE_COLOR")}
    return {
        **keep,
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "ASSISTANT_CORPUS_DIR": str(assistant.settings.corpus_dir),
        "ASSISTANT_INDEX_DIR": str(assistant.settings.index_dir),
    }


def too_wide(text: str, columns: int) -> list[tuple[int, str]]:
    """Lines wider than the terminal (or holding a character that is not printable), with their width."""
    out = []
    for line in ANY_ESCAPE.sub("", text).replace("\r\n", "\n").split("\n"):
        cells = wcwidth.wcswidth(line)
        if cells > columns or cells < 0:
            out.append((cells, line))
    return out


def crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


# --- widths ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("columns", [80, 140])
def test_no_line_of_a_chat_is_wider_than_the_terminal(env, columns: int) -> None:
    questions = dev_questions()
    assert len(questions) >= 70
    term = Terminal(["chat"], env, columns=columns)
    printed = [term.prompt()]
    for question in questions:
        printed.append(term.say(question))  # the answer and its compact sources
        printed.append(term.say("/s"))  # and all its sources in full
    term.child.sendeof()
    assert term.end() == 0
    assert all("来源" in answer or "相关段落" in answer for answer in printed[1::2]), "every answer shows sources"
    assert too_wide("".join(printed), columns) == []


@pytest.mark.parametrize("columns", [80, 140])
@pytest.mark.parametrize("sources", ["compact", "full"])
def test_no_line_of_ask_is_wider_than_the_terminal(env, columns: int, sources: str) -> None:
    term = Terminal(
        ["ask", "--sources", sources, "有几家企业获评2015年河南省“互联网+”工业创新示范企业？"], env, columns=columns
    )
    assert term.end() == 0
    assert "6家企业" in term.raw
    assert too_wide(term.raw, columns) == []
    widest = max(wcwidth.wcswidth(SGR.sub("", line)) for line in term.raw.split("\r\n"))
    assert widest >= columns - 3, "lines use the width they are given"


# --- the conversation on one screen ----------------------------------------------------------------


def test_after_three_turns_the_last_answer_and_its_sources_are_on_one_screen(env, assistant: Assistant) -> None:
    term = Terminal(["chat"], env, rows=45, columns=140)
    term.prompt()
    for question in (STAFF, WHY, LIST):
        term.say(question)
    expected = terminal(assistant.ask(LIST), Layout(140, color=False)).split("\n")
    screen = term.lines()
    start = screen.index(expected[0])
    assert screen[start : start + len(expected)] == expected
    assert sum(line.startswith("[") for line in expected) == 5, "five compact sources"
    assert screen[start + len(expected) + 1] == ">", "then the prompt, waiting"
    assert any(line == f"> {STAFF}" for line in screen), "and the first question is still in view"
    term.child.sendeof()
    assert term.end() == 0


def test_s_1_expands_the_first_source_of_the_last_answer(env, assistant: Assistant) -> None:
    term = Terminal(["chat"], env, columns=80)
    term.prompt()
    term.say(STAFF)
    shown = term.say("/s 1")
    answer = assistant.ask(STAFF)
    assert shown == crlf(full_sources(answer, Layout(80, color=True), 1)) + "\r\n"
    assert answer.sources[0].hit.passage.text.split("\n")[-1][-20:] in "".join(SGR.sub("", shown).split("\r\n    "))
    term.child.sendeof()
    assert term.end() == 0


def test_a_follow_up_in_chat_is_understood_and_shown_as_understood(env, assistant: Assistant) -> None:
    term = Terminal(["chat", "--no-color"], env, columns=140)
    term.prompt()
    term.say("我市网信工作存在哪些不足？")
    shown = term.say("第二点具体是什么？")
    understood = assistant.ask("第二点具体是什么？", ["我市网信工作存在哪些不足？"])
    assert "网评队伍" in understood.text
    assert f"（理解为：{understood.resolved_question}）" in shown.replace("\r\n", "")
    assert "网评队伍" in shown
    term.child.sendeof()
    assert term.end() == 0


# --- colour --------------------------------------------------------------------------------------


def test_colours_on_a_terminal_the_quoted_sentence_green(env) -> None:
    term = Terminal(["ask", STAFF], env, columns=140)
    assert term.end() == 0
    assert SGR.search(term.raw)
    row = next(y for y, line in enumerate(term.lines()) if line.startswith("[1] "))
    quoted, number = _cell(term, row, "目前市委网信办"), _cell(term, row, "[1]")
    assert (quoted.fg, quoted.bold) == ("green", True)
    assert (number.fg, number.bold) == ("default", True)
    answer = _cell(term, 0, "目前")
    assert (answer.fg, answer.bold) == ("default", True)


def _cell(term: Terminal, row: int, text: str):
    """The screen cell where `text` starts on `row` (wide characters take two cells)."""
    line = term.lines()[row]
    return term.screen.buffer[row][wcwidth.wcswidth(line[: line.index(text)])]


@pytest.mark.parametrize(
    ("extra_env", "args"),
    [({"NO_COLOR": "1"}, []), ({}, ["--no-color"]), ({"TERM": "dumb"}, [])],
    ids=["NO_COLOR", "--no-color", "TERM=dumb"],
)
def test_no_colour_when_asked(env, extra_env: dict[str, str], args: list[str]) -> None:
    term = Terminal(["ask", *args, STAFF], {**env, **extra_env}, columns=80)
    assert term.end() == 0
    assert "\x1b" not in term.raw
    assert "11 人" in term.raw
    assert too_wide(term.raw, 80) == [], "still wrapped to the terminal"


# --- ending a chat -------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["ctrl-d", "ctrl-c", "/quit"])
def test_chat_ends_cleanly(env, how: str) -> None:
    term = Terminal(["chat"], env, columns=80)
    term.prompt()
    term.say(STAFF)
    {"ctrl-d": term.child.sendeof, "ctrl-c": term.child.sendintr, "/quit": lambda: term.child.sendline("/quit")}[how]()
    assert term.end() == 0
    tail = term.raw.rsplit("> ", 1)[-1]
    assert "Traceback" not in term.raw and "Aborted" not in tail and "Error" not in tail


# --- text that would act on the terminal ---------------------------------------------------------


def test_escape_sequences_in_the_corpus_never_reach_the_terminal(env, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    hostile = (
        "网信工作说明\n\n网信办的值班电话是 12345。\x1b]0;pwned\x07\x1b[2J\x1b[31m红色警告\x1b[0m请注意\x07\x08。"
        "\x9b31m值班表每周更新一次，\x1b]8;;http://evil.test\x1b\\链接\x1b]8;;\x1b\\在这里。\n"
    )
    (corpus / "说明\x1b[5m.txt").write_text(hostile, encoding="utf-8")
    where = ["--corpus", str(corpus), "--index", str(tmp_path / "index")]
    subprocess.run([sys.executable, "-m", "assistant", *where, "index"], env=env, check=True, capture_output=True)
    term = Terminal(
        [
            *where,
            "ask",
            "--sources",
            "full",
            "网信办的值班电话是多少？",
        ],
        env,
        columns=80,
    )
    assert term.end() == 0
    assert "12345" in term.raw and "红色警告" in term.raw
    assert ANY_ESCAPE.sub("", SGR.sub("", term.raw)) == SGR.sub("", term.raw), "no escape but our colours"
    assert not re.search(r"[\x00-\x08\x0b-\x0c\x0e-\x1a\x1c-\x1f\x7f-\x9f]", term.raw), "no other control character"
    assert term.screen.title == "" and "pwned" not in term.raw and "evil.test" not in term.raw
    shown = SGR.sub("", term.raw).split("\r\n")
    assert term.lines()[: len(shown)] == shown, "what was written is what the screen shows: nothing moved or cleared"


# --- a capture for the README --------------------------------------------------------------------


def test_capture_of_a_short_conversation_for_the_readme(env, tmp_path: Path) -> None:
    # docs/ is refreshed only on request (UPDATE_CAPTURE=1), so tests leave the tree clean.
    target = DOCS if os.environ.get("UPDATE_CAPTURE") else tmp_path
    term = Terminal(["chat"], env, rows=45, columns=110)
    term.prompt()
    for line in (OTHER_CITY, STAFF, "/s 1"):  # not in the report; an answer; its source in full
        term.say(line)
    term.child.sendeof()
    assert term.end() == 0
    lines = term.lines()
    while lines and not lines[-1]:
        lines.pop()
    assert lines[0].startswith("问吧"), "the conversation from its start"
    assert f"> {OTHER_CITY}" in lines and f"> {STAFF}" in lines and "> /s 1" in lines
    assert too_wide("\n".join(lines), 110) == []
    not_found = _cell(term, lines.index("报告中没有找到这个问题的答案：报告没有提到“郑州”。"), "报告")
    assert (not_found.fg, not_found.bold) == ("brown", True), "the report does not answer: yellow (pyte's brown)"
    (target / "terminal-chat.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (target / "terminal-chat.svg").write_text(svg(term.screen, len(lines)), encoding="utf-8")


COLOURS = {
    "default": "#d4d4d4",
    "green": "#6ccf6c",
    "brown": "#e5c07b",
    "cyan": "#56c8d8",
    "red": "#e06c75",
}  # brown: SGR 33


def svg(screen, rows: int, cell: tuple[int, int] = (9, 20)) -> str:
    """The first `rows` of a pyte screen as an SVG picture: a run of same-styled cells per <text>, stretched to
    exactly its cells so that Chinese and Latin text keep the terminal's columns."""
    from html import escape

    w, h = cell
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{screen.columns * w + 32}" height="{rows * h + 32}" '
        'font-family="Noto Sans Mono CJK SC, Sarasa Mono SC, DejaVu Sans Mono, monospace" font-size="15">',
        '<rect width="100%" height="100%" rx="8" fill="#1e1e1e"/>',
    ]
    for y in range(rows):
        row, x = screen.buffer[y], 0
        while x < screen.columns:
            style = (row[x].fg, row[x].bold, row[x].italics, row[x].underscore)
            start, text = x, ""
            while x < screen.columns and (row[x].fg, row[x].bold, row[x].italics, row[x].underscore) == style:
                text += row[x].data
                x += 1
            if text.strip():
                fg, bold, faint, underline = style
                attrs = f'fill="{COLOURS.get(fg, COLOURS["default"])}"' + (' font-weight="bold"' if bold else "")
                attrs += ' opacity="0.6"' if faint else ""
                attrs += ' text-decoration="underline"' if underline else ""
                out.append(
                    f'<text x="{16 + start * w}" y="{16 + y * h + 15}" textLength="{(x - start) * w}" '
                    f'lengthAdjust="spacingAndGlyphs" xml:space="preserve" {attrs}>{escape(text)}</text>'
                )
    return "\n".join([*out, "</svg>"]) + "\n"


# --- list answers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("columns", [80, 40])
def test_a_list_answer_is_numbered_lines_that_wrap_under_their_text(env, assistant: Assistant, columns: int) -> None:
    question = "中央网络安全和信息化工作座谈会的主要精神有哪几点？"
    term = Terminal(["ask", question], env, rows=60, columns=columns)
    assert term.end() == 0
    assert too_wide(term.raw, columns) == []
    answer = assistant.ask(question)
    screen = term.lines()
    starts = [i for i, line in enumerate(screen) if re.match(r"\d\. ", line)]
    assert len(starts) == len(answer.items) == 6  # one numbered line for each item
    for n, (i, item) in enumerate(zip(starts, answer.items, strict=True), 1):
        end = starts[n] if n < len(starts) else screen.index(next(s for s in screen if s.startswith("把握")))
        block = screen[i:end]
        assert all(line.startswith("   ") and not line[3].isspace() for line in block[1:]), block  # under the text
        assert "".join(line.strip() for line in block) == f"{n}. {item.text}[{item.source}]"
    if columns == 40:
        assert any(starts[k + 1] - starts[k] > 1 for k in range(5)), "some items wrap at 40 columns"
