"""The command line, driven in-process with click's CliRunner over the session's real index.

Every command that answers builds a real `Assistant` over the shared index (passed through
ASSISTANT_INDEX_DIR / ASSISTANT_CORPUS_DIR or the global --index / --corpus options), so its
output can be compared whole with what the session's `Assistant` answers to the same question.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import REPORT_NAME

from assistant import __version__
from assistant.cli import cli
from assistant.evaluate import read_questions, score
from assistant.pipeline import Assistant
from assistant.render.json import answer_to_dict
from assistant.render.terminal import Layout, chat_help, full_sources, terminal, welcome
from assistant.store import local as index_module

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
QUESTIONS = ROOT / "eval" / "questions.jsonl"
STAFF = "市委网信办目前有多少在编人员？"
WHY = "为什么？"
STDIN_QUESTIONS = [STAFF, "2016年发现处置了多少起境外情报机关实施的网络攻击事件？", "郑州市2016年的GDP是多少？"]


@pytest.fixture
def env(assistant: Assistant) -> dict[str, str]:
    """Environment pointing the CLI at the session's index and the real corpus."""
    return {
        "ASSISTANT_CORPUS_DIR": str(assistant.settings.corpus_dir),
        "ASSISTANT_INDEX_DIR": str(assistant.settings.index_dir),
    }


def run(args: list[str], env: dict[str, str] | None = None, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, args, env=env, input=input, prog_name="assistant")


def as_json(answer) -> dict:
    """An answer as it comes out of `json.loads` (tuples become lists)."""
    return json.loads(json.dumps(answer_to_dict(answer), ensure_ascii=False))


def assert_one_line_error(result: Result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stderr == f"Error: {message}\n"
    assert result.stdout == ""
    assert "Traceback" not in result.output


# --- help and version (no model) -----------------------------------------------------------------


def test_help_lists_the_commands() -> None:
    result = run(["--help"])
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: assistant [OPTIONS] COMMAND [ARGS]...\n")
    commands = re.findall(r"^  (\w+)  ", result.stdout.split("Commands:")[1], re.M)
    assert commands == ["add", "ask", "chat", "eval", "index", "list", "remove", "web"]
    assert run(["-h"]).stdout == result.stdout


def test_version_is_printed() -> None:
    result = run(["--version"])
    assert (result.exit_code, result.stdout) == (0, f"assistant, version {__version__}\n")


def test_help_does_not_import_the_heavy_libraries() -> None:
    code = (
        "import sys\nfrom assistant.cli import main\nsys.argv = ['assistant', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('torch', 'faiss', 'sentence_transformers', 'onnxruntime', 'bm25s')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.splitlines()[-1] == "[]"


# --- usage errors: exit 2 ------------------------------------------------------------------------


@pytest.mark.parametrize("question", ["", "   "])
def test_empty_question_is_a_usage_error(question: str) -> None:
    result = run(["ask", question])
    assert result.exit_code == 2
    assert result.stderr == (
        "Usage: assistant ask [OPTIONS] [QUESTION]\n"
        "Try 'assistant ask --help' for help.\n"
        "\n"
        "Error: the question is empty\n"
    )


@pytest.mark.parametrize("value", ["0", "51", "x"])
def test_top_k_out_of_range_is_a_usage_error(value: str) -> None:
    result = run(["ask", "--top-k", value, STAFF])
    assert result.exit_code == 2
    assert result.stderr.endswith("\n") and "Error: Invalid value for '-k' / '--top-k': " in result.stderr


def test_bad_environment_setting_is_a_usage_error() -> None:
    result = run(["ask", STAFF], env={"ASSISTANT_TOP_K": "many"})
    assert result.exit_code == 2
    assert result.stderr.endswith("Error: ASSISTANT_TOP_K must be a number, got 'many'\n")


# --- ask -----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_ask_json_prints_one_object_with_the_answer_and_its_sources(env, assistant: Assistant) -> None:
    result = run(["ask", "--json", STAFF], env=env)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.stdout.count("\n") == 1
    got = json.loads(result.stdout)

    assert got == as_json(assistant.ask(STAFF))
    assert got["question"] == STAFF
    assert got["found"] is True
    assert "11" in got["answer"]
    assert [s["rank"] for s in got["sources"]] == [1, 2, 3, 4, 5]
    original = (CORPUS / REPORT_NAME).read_text(encoding="utf-8")
    for s in got["sources"]:
        assert {"rank", "doc", "section", "text", "start", "end", "score"} <= s.keys()
        assert s["doc"] == REPORT_NAME
        assert isinstance(s["section"], str) and isinstance(s["score"], float)
        assert re.sub(r"\s", "", original[s["start"] : s["end"]]) == re.sub(r"\s", "", s["text"])
    assert "11" in got["sources"][0]["text"]


@pytest.mark.slow
def test_ask_json_reads_questions_from_stdin_as_json_lines(env, assistant: Assistant, monkeypatch) -> None:
    loads = []
    real_load = index_module.load
    monkeypatch.setattr(index_module, "load", lambda settings: loads.append(settings) or real_load(settings))

    stdin = f"{STDIN_QUESTIONS[0]}\n{STDIN_QUESTIONS[1]}\n\n  {STDIN_QUESTIONS[2]}"  # a blank line, no final newline
    result = run(["ask", "--json", "-k", "3"], env=env, input=stdin)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [json.loads(line) for line in lines] == [as_json(assistant.ask(q, top_k=3)) for q in STDIN_QUESTIONS]
    assert [json.loads(line)["question"] for line in lines] == STDIN_QUESTIONS
    assert len(loads) == 1, "the index is loaded once for all questions"


@pytest.mark.slow
def test_ask_prints_a_readable_answer_with_numbered_sources(env, assistant: Assistant) -> None:
    result = run(["ask", STAFF], env=env)
    assert result.exit_code == 0, result.output
    answer = assistant.ask(STAFF)
    assert result.stdout == terminal(answer, Layout()) + "\n"
    assert "11" in result.stdout.splitlines()[0]
    assert "\n来源\n[1] " + REPORT_NAME in result.stdout
    assert "\x1b[" not in result.stdout
    # Not a terminal: no wrapping, one compact line per source, the quoted sentence whole.
    lines = result.stdout.splitlines()
    judged = answer.confidence is not None  # a line "把握：高" under the answer
    assert len(lines) == 3 + judged + len(answer.sources)
    quoted = answer.sources[0].hit.passage.text[answer.sources[0].used[0].start : answer.sources[0].used[0].end]
    assert lines[3 + judged].endswith(" — " + quoted.strip())


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["full", "none"])
def test_ask_sources_full_shows_whole_passages_and_none_only_the_answer(env, assistant: Assistant, mode) -> None:
    result = run(["ask", "--sources", mode, STAFF], env=env)
    assert result.exit_code == 0, result.output
    answer = assistant.ask(STAFF)
    assert result.stdout == terminal(answer, Layout(sources=mode)) + "\n"
    if mode == "none":
        assert result.stdout.startswith(answer.text + "\n") and "来源" not in result.stdout
    else:
        for source in answer.sources:
            passage = "\n".join("    " + line for line in source.hit.passage.text.split("\n"))  # line feeds kept
            assert f"\n{passage}\n    matched: " in result.stdout


def test_sources_must_be_one_of_the_three() -> None:
    result = run(["ask", "--sources", "some", STAFF])
    assert result.exit_code == 2
    assert "Error: Invalid value for '--sources': 'some' is not one of 'compact', 'full', 'none'." in result.stderr


@pytest.mark.slow
def test_batch_goes_on_after_bad_lines_and_fails_at_the_end(env, assistant: Assistant) -> None:
    long = "问" * 600
    stdin = f"{STAFF}\n{long}\n   \n{STDIN_QUESTIONS[1]}\n".encode() + b"\xff\xfe bad\n" + STDIN_QUESTIONS[2].encode()
    result = run(["ask", "--json"], env=env, input=stdin)
    assert result.exit_code == 1, result.output
    got = [json.loads(line) for line in result.stdout.splitlines()]
    assert got == [
        as_json(assistant.ask(STAFF)),
        {"question": long, "error": "问题太长（600 字），请控制在 500 字以内。"},
        as_json(assistant.ask(STDIN_QUESTIONS[1])),
        {"question": "\ufffd\ufffd bad", "error": "not UTF-8 text (byte 0xff at offset 0)"},
        as_json(assistant.ask(STDIN_QUESTIONS[2])),
    ]
    assert result.stderr == "Error: 2 of 6 lines not asked (line 2, 5)\n"


@pytest.mark.slow
def test_batch_of_good_lines_exits_0_and_a_huge_line_is_refused_without_reading_it_whole(env, assistant) -> None:
    assert run(["ask", "--json"], env=env, input=f"\ufeff{STAFF}\n\n").exit_code == 0  # a BOM, a blank line
    huge = "问" * 2_000_000
    result = run(["ask", "--json"], env=env, input=f"{huge}\n{STAFF}\n")
    assert result.exit_code == 1, result.output
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first == {"question": "问" * 500 + "…", "error": "问题太长（超过 500 字），请控制在 500 字以内。"}
    assert second == as_json(assistant.ask(STAFF))


@pytest.mark.slow
def test_batch_without_json_reports_bad_lines_on_stderr(env, assistant: Assistant) -> None:
    result = run(["ask"], env=env, input=f"{STAFF}\n{'问' * 501}\n{STDIN_QUESTIONS[1]}\n")
    assert result.exit_code == 1, result.output
    first, second = (terminal(assistant.ask(q), Layout()) for q in (STAFF, STDIN_QUESTIONS[1]))
    assert result.stdout == f"{first}\n\n{second}\n"
    assert (
        result.stderr == "line 2: 问题太长（501 字），请控制在 500 字以内。\nError: 1 of 3 lines not asked (line 2)\n"
    )


@pytest.mark.slow
def test_too_long_question_is_one_line_exit_1(env, assistant: Assistant) -> None:
    assert_one_line_error(run(["ask", "问" * 501], env=env), "问题太长（501 字），请控制在 500 字以内。")


@pytest.mark.slow
def test_a_reader_that_goes_away_ends_the_batch_quietly(env) -> None:
    # `assistant ask < questions | head -1`: no traceback, no error line, the usual status of a broken pipe.
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "ask", "--sources", "full"], env={**os.environ, **env},
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    proc.stdin.write(f"{STAFF}\n".encode() * 1000)  # 46 KB: fits the pipe, while the answers (2 MB) do not
    proc.stdin.close()
    first = proc.stdout.readline().decode()
    proc.stdout.close()
    assert proc.wait(timeout=120) == 141
    assert "11" in first
    assert proc.stderr.read() == b""


# --- errors from the library: one line, exit 1 --------------------------------------------------


def test_missing_corpus_folder_is_named_in_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "no-corpus"
    result = run(["--corpus", str(missing), "--index", str(tmp_path / "index"), "ask", STAFF])
    assert_one_line_error(result, f"{missing}/: no such folder")


def test_corpus_of_only_a_binary_file_is_one_line(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "scan.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    env = {"ASSISTANT_CORPUS_DIR": str(corpus), "ASSISTANT_INDEX_DIR": str(tmp_path / "index")}
    assert_one_line_error(
        run(["ask", STAFF], env=env),
        f"{corpus}: no readable .txt, .md, .docx, .pdf, .html or page image (.png/.jpg/.tif) files"
        f" ({corpus}/scan.txt: binary file (NUL byte at offset 8))",
    )


@pytest.mark.slow
def test_refuse_stale_fails_in_one_line_saying_why(tmp_path: Path, env) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / REPORT_NAME).write_bytes((CORPUS / REPORT_NAME).read_bytes())
    (corpus / "新增.txt").write_text("今年新招录网信干部二十名。\n", encoding="utf-8")
    result = run(["--refuse-stale", "--corpus", str(corpus), "ask", STAFF], env=env)
    assert_one_line_error(result, "index is out of date: corpus file 新增.txt was added; run `assistant index`")


@pytest.mark.slow
def test_missing_user_model_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "no-model"
    result = run(["--model", str(missing), "--corpus", str(CORPUS), "--index", str(tmp_path / "index"), "ask", STAFF])
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines()[-1] == f"Error: cannot load embedding model '{missing}': Path {missing} not found"
    assert "Traceback" not in result.output
    assert not (tmp_path / "index").exists()


# --- index ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_index_command_reports_counts_and_skipped_files(tmp_path: Path, assistant: Assistant) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    text = "网信工作补充说明\n\n今年新招录网信干部二十名。充实到网络安全岗位。\n"
    (corpus / "说明.txt").write_text(text, encoding="utf-8")
    (corpus / "bad.txt").write_bytes(b"ab\x00cd")
    index = tmp_path / "index"
    result = run(["--corpus", str(corpus), "--index", str(index), "index"])
    assert result.exit_code == 0, result.output
    summary = rf"indexed 1 documents, 1 passages in \d+\.\d s \(\d+\.\d passages/s\) → {re.escape(str(index))}/\n"
    summary += r"embedded \d+ sentences of 1 document at \d+ texts/s, \d+ tokens/s; 0 unchanged\n"
    assert re.fullmatch(summary, result.stdout), result.stdout
    again = run(["--corpus", str(corpus), "--index", str(index), "index"])
    assert again.stdout.splitlines()[1] == "embedded 0 sentences of 0 documents; 1 unchanged"
    assert f"skipped: {corpus}/bad.txt: binary file (NUL byte at offset 2)\n" in result.stderr
    assert "embedding" in result.stderr


@pytest.mark.slow
def test_ask_json_takes_conversations_as_json_lines(env, assistant: Assistant) -> None:
    first = "市委网信办目前有多少在编人员？"
    lines = [
        json.dumps({"question": "那县里呢？", "history": [first]}, ensure_ascii=False),
        json.dumps({"question": "第二点具体是什么？", "history": ["我市网信工作存在哪些不足？"]}, ensure_ascii=False),
        json.dumps({"question": "那县里呢？", "history": "not a list"}, ensure_ascii=False),
    ]
    result = run(["ask", "--json"], env=env, input="\n".join(lines) + "\n")
    assert result.exit_code == 1 and "1 of 3 lines not asked (line 3)" in result.stderr
    county, second, bad = (json.loads(line) for line in result.stdout.splitlines())
    assert county == as_json(assistant.ask("那县里呢？", [first]))
    assert county["resolved_question"] == "县里有多少在编人员？" and not county["found"]
    assert second["found"] and "网评队伍" in second["answer"]
    assert bad == {"question": "那县里呢？", "error": "history 应为此前问题（文本）的列表。"}


@pytest.mark.slow
def test_eval_scores_the_last_turn_of_conversations(env, tmp_path: Path) -> None:
    path = tmp_path / "conversations.jsonl"
    rows = [
        {"id": "a", "turns": ["我市有几家国家一类新闻网站？", "三类的呢？"], "answerable": True,
         "evidence": ["国家三类新闻网站5家"], "answer_any": [["5"]]},
        {"id": "b", "turns": ["市委网信办目前有多少在编人员？", "那信息化办呢？"], "answerable": False},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    result = run(["eval", "--json", str(path)], env=env)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["answer"], summary["refused"], summary["hit@1"]) == (1.0, 1.0, 1.0)


# --- chat ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_chat_answers_a_question_and_its_follow_up(env, assistant: Assistant) -> None:
    result = run(["chat"], env=env, input=f"{STAFF}\n\n{WHY}\n")
    assert result.exit_code == 0, result.output

    first = assistant.ask(STAFF)
    second = assistant.ask(WHY, [first.resolved_question or STAFF])
    expected = [terminal(a, Layout()) + "\n" for a in (first, second)]
    assert result.stdout == "> " + "\n> > ".join(expected) + "\n> "  # the empty line is skipped
    assert f"（理解为：{STAFF}{WHY}）" in result.stdout
    assert result.stderr == welcome() + "\n\n"


@pytest.mark.slow
def test_chat_ends_at_end_of_input(env) -> None:
    result = run(["chat"], env=env, input="")
    assert (result.exit_code, result.stdout) == (0, "> ")


@pytest.mark.slow
def test_chat_commands(env, assistant: Assistant) -> None:
    commands = ["/s 1", STAFF, "/s 1", "/sources", "/s 9", "/s x", "/help", "/nope", "问" * 501, "/clear", WHY, "/quit"]
    result = run(["chat", "--sources", "none"], env=env, input="\n".join([*commands, STAFF]) + "\n")
    assert result.exit_code == 0, result.output
    answer = assistant.ask(STAFF)
    outputs = result.stdout.split("> ")[1:]
    assert outputs == [
        "还没有可以展开的来源：先问一个问题。\n",
        terminal(answer, Layout(sources="none")) + "\n\n",
        full_sources(answer, Layout(), 1) + "\n",
        full_sources(answer, Layout()) + "\n",
        "没有来源 9：上一个回答的来源是 1–5。\n",
        "/s 后面是来源的编号（1–5），不是“x”。\n",
        chat_help() + "\n",
        "",  # /nope: on stderr
        "",  # too long: on stderr, and the chat goes on
        "",  # /clear: on stderr
        terminal(assistant.ask(WHY), Layout(sources="none")) + "\n\n",  # not a follow-up any more
        "",  # /quit: the question after it is never asked
    ]
    assert result.stderr.splitlines()[1:] == [
        "没有命令 /nope。/help 列出命令。",
        "问题太长（501 字），请控制在 500 字以内。",
        "（新的对话）",
    ]


# --- eval ----------------------------------------------------------------------------------------


@pytest.fixture
def questions_file(tmp_path: Path) -> Path:
    lines = QUESTIONS.read_text(encoding="utf-8").splitlines()
    picked = lines[:3] + [line for line in lines if '"answerable": false' in line][:1]
    path = tmp_path / "questions.jsonl"
    path.write_text("\n".join(picked) + "\n", encoding="utf-8")
    return path


def _expected_summary(assistant: Assistant, path: Path) -> dict:
    questions = read_questions(path)
    return score(questions, [answer_to_dict(assistant.ask(q["question"])) for q in questions])[0]


@pytest.mark.slow
def test_eval_prints_the_summary_line(env, assistant: Assistant, questions_file: Path) -> None:
    result = run(["eval", str(questions_file)], env=env)
    assert result.exit_code == 0, result.output
    summary = _expected_summary(assistant, questions_file)
    *misses, last = result.stdout.splitlines()
    assert last == " ".join(f"{k}={v}" for k, v in summary.items())
    assert last.startswith("questions=4 answerable=3 unanswerable=1 hit@5=")
    assert " hit@1=" in last and " mrr@5=" in last and " answer=" in last
    assert all(line.startswith("miss ") for line in misses)


@pytest.mark.slow
def test_eval_json_prints_one_object(env, assistant: Assistant, questions_file: Path) -> None:
    result = run(["eval", "--json", str(questions_file)], env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 1
    assert json.loads(result.stdout) == _expected_summary(assistant, questions_file)


@pytest.mark.slow
@pytest.mark.parametrize("option", [["--k", "0"], ["--budget", "-5"]], ids=["k-0", "negative-budget"])
def test_eval_out_of_range_metric_options_are_usage_errors(env, questions_file: Path, option: list[str]) -> None:
    result = run(["eval", *option, str(questions_file)], env=env)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"question": "这份汇报是哪天的？"}\nnot json\n', "{path}:2: not JSON (Expecting value)"),
        ('{"q": "这份汇报是哪天的？"}\n', '{path}:1: each line needs a "question" string (or "turns", a conversation)'),
        ('["这份汇报是哪天的？"]\n', '{path}:1: each line needs a "question" string (or "turns", a conversation)'),
        ("\n\n", "{path}: no questions"),
    ],
    ids=["not-json", "no-question", "not-an-object", "empty"],
)
def test_malformed_questions_file_is_one_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "questions.jsonl"
    path.write_text(content, encoding="utf-8")
    assert_one_line_error(run(["eval", str(path)]), message.format(path=path))


def test_missing_questions_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.jsonl"
    assert_one_line_error(run(["eval", str(path)]), f"{path}: No such file or directory")
