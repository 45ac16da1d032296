"""The document library: `add`, `documents`, `remove` (assistant/store/library.py) and their commands.

Real files, real model, real index in temporary folders; the CLI is driven with click's CliRunner.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import cli
from assistant.config import Settings
from assistant.ingest import SUFFIXES
from assistant.store import library
from assistant.store.library import LibraryError
from assistant.store.local import build, load

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
REPORT = next((ROOT / "corpus").glob("*.txt"))
NOTE = "网信工作补充说明\n\n今年新招录网信干部二十名，充实到网络安全岗位。\n"


@pytest.fixture
def lib(tmp_path: Path, settings: Settings, assistant) -> Settings:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy2(REPORT, corpus / REPORT.name)
    ours = settings.with_(corpus_dir=corpus, index_dir=tmp_path / "index")
    build(ours, assistant.embedder)
    return ours


@pytest.fixture
def files(tmp_path: Path) -> Path:
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "说明.txt").write_text(NOTE, encoding="utf-8")
    (folder / "other.txt").write_text("另一份说明\n\n宣传周于九月举行。\n", encoding="utf-8")
    (folder / "bad.txt").write_bytes(b"ab\x00cd")
    (folder / "scan.pdf.bak").write_bytes(b"%PDF")
    return folder


def test_add_copies_indexes_and_says_what_happened(lib: Settings, files: Path, assistant) -> None:
    report = library.add(
        lib, [files / "说明.txt", files / "说明.txt", files / "bad.txt", files / "scan.pdf.bak", files / "none.txt",
              REPORT], embedder=assistant.embedder,
    )  # fmt: skip
    messages = [c.message for c in report.changes]
    assert messages == [
        "added 说明.txt",
        f"{files}/说明.txt: already in the library as 说明.txt",
        f"{files}/bad.txt: binary file (NUL byte at offset 2)",
        f"{files}/scan.pdf.bak: not a supported format ({', '.join(SUFFIXES)})",
        f"{files}/none.txt: no such file",
        f"{REPORT}: already in the library as {REPORT.name}",
    ]
    assert [c.outcome for c in report.changes] == ["added", "duplicate", "skipped", "skipped", "skipped", "duplicate"]
    assert (report.build.documents, report.build.embedded) == (2, 1)
    assert (lib.corpus_dir / "说明.txt").read_text(encoding="utf-8") == NOTE
    assert sorted(p.name for p in lib.corpus_dir.iterdir()) == sorted([REPORT.name, "说明.txt"])
    assert any("二十名" in p.text for p in load(lib).passages)


def test_a_taken_name_gets_a_free_one_or_replaces_when_asked(lib: Settings, files: Path, assistant) -> None:
    library.add(lib, [files / "说明.txt"], embedder=assistant.embedder)
    (files / "说明.txt").write_text(NOTE.replace("二十名", "三十名"), encoding="utf-8")

    renamed = library.add(lib, [files / "说明.txt"], embedder=assistant.embedder)
    assert [c.message for c in renamed.changes] == [
        f"added {files}/说明.txt as 说明-2.txt (说明.txt is another document already in the library)"
    ]
    assert (lib.corpus_dir / "说明.txt").read_text(encoding="utf-8") == NOTE  # nothing lost

    (files / "说明.txt").write_text(NOTE.replace("二十名", "四十名"), encoding="utf-8")
    replaced = library.add(lib, [files / "说明.txt"], embedder=assistant.embedder, replace=True)
    assert [c.outcome for c in replaced.changes] == ["replaced"]
    assert "四十名" in (lib.corpus_dir / "说明.txt").read_text(encoding="utf-8")
    assert replaced.build.embedded == 1
    assert not list(lib.corpus_dir.glob(".*")), "no temporary file left in the corpus"


def test_documents_lists_what_the_index_knows(lib: Settings, files: Path, assistant) -> None:
    library.add(lib, [files / "说明.txt"], embedder=assistant.embedder)
    (lib.corpus_dir / "未索引.md").write_text("# 标题\n\n正文一句。\n", encoding="utf-8")
    entries = {e.name: e for e in library.documents(lib)}
    assert list(entries) == sorted(entries)
    report = entries[REPORT.name]
    assert (report.format, report.pages, report.status) == ("txt", None, "indexed")
    assert report.passages == sum(p.doc == REPORT.name for p in load(lib).passages)
    assert report.title.startswith("关于中央、省委相关会议精神")
    assert report.added and report.added[:4].isdigit()
    assert (entries["说明.txt"].status, entries["说明.txt"].passages) == ("indexed", 1)
    assert (entries["未索引.md"].status, entries["未索引.md"].passages) == ("not indexed yet", None)


def test_remove_rebuilds_without_embedding_and_keeps_the_last_document(lib: Settings, files, assistant) -> None:
    library.add(lib, [files / "说明.txt", files / "other.txt"], embedder=assistant.embedder)
    report = library.remove(lib, ["说明.txt"], embedder=assistant.embedder)
    assert [c.message for c in report.changes] == ["removed 说明.txt"]
    assert (report.build.documents, report.build.embedded) == (2, 0)
    assert {p.doc for p in load(lib).passages} == {REPORT.name, "other.txt"}

    with pytest.raises(LibraryError, match=r"^no document named '说明.txt' in .* \(see `assistant list`\)$"):
        library.remove(lib, ["说明.txt"])
    with pytest.raises(LibraryError, match=r"is the last document: the index needs one \(add another first\)$"):
        library.remove(lib, ["other.txt", REPORT.name])
    assert (lib.corpus_dir / "other.txt").exists() and (lib.corpus_dir / REPORT.name).exists()


# --- the commands ---------------------------------------------------------------------------------


def _run(lib: Settings, *args: str):
    env = {"ASSISTANT_CORPUS_DIR": str(lib.corpus_dir), "ASSISTANT_INDEX_DIR": str(lib.index_dir)}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_add_list_remove_commands(lib: Settings, files: Path) -> None:
    result = _run(lib, "add", str(files / "说明.txt"), str(files / "bad.txt"))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "added 说明.txt"
    assert "indexed 2 documents" in result.stdout
    assert "embedded 2 sentences of 1 document at " in result.stdout and "; 1 unchanged" in result.stdout
    assert f"{files}/bad.txt: binary file (NUL byte at offset 2)\n" in result.stderr

    again = _run(lib, "add", str(files / "说明.txt"))
    assert (again.exit_code, again.stdout) == (0, "")
    assert again.stderr == f"{files}/说明.txt: already in the library as 说明.txt\n"

    listed = _run(lib, "list")
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["title", "format", "pages", "passages", "added", "name"]
    assert lines[-1].endswith("说明.txt") and " txt " in lines[-1]
    rows = [json.loads(line) for line in _run(lib, "list", "--json").stdout.splitlines()]
    assert [r["name"] for r in rows] == sorted([REPORT.name, "说明.txt"])

    removed = _run(lib, "remove", "说明.txt")
    assert removed.exit_code == 0 and removed.stdout.startswith("removed 说明.txt\nindexed 1 documents")
    missing = _run(lib, "remove", "说明.txt")
    assert missing.exit_code == 1
    assert missing.stderr.splitlines() == [
        f"Error: no document named '说明.txt' in {lib.corpus_dir}/ (see `assistant list`)"
    ]


def test_adding_only_unreadable_files_exits_1(lib: Settings, files: Path) -> None:
    result = _run(lib, "add", str(files / "bad.txt"))
    assert result.exit_code == 1
    assert result.stderr == f"{files}/bad.txt: binary file (NUL byte at offset 2)\n"


# --- one document at a time: --doc ------------------------------------------------------------------

ADDED = "今年新招录了多少名网信干部？"


def test_doc_limits_ask_and_chat_to_one_document(lib: Settings, files: Path) -> None:
    _run(lib, "add", str(files / "说明.txt"))
    one = _run(lib, "ask", "--json", "--doc", "说明.txt", ADDED)
    assert one.exit_code == 0, one.output
    answer = json.loads(one.stdout)
    assert answer["found"] and "二十名" in answer["answer"]
    assert {s["doc"] for s in answer["sources"]} == {"说明.txt"}
    staff = json.loads(_run(lib, "ask", "--json", "--doc", REPORT.name, "市委网信办目前有多少在编人员？").stdout)
    assert "11" in staff["answer"] and {s["doc"] for s in staff["sources"]} == {REPORT.name}

    env = {"ASSISTANT_CORPUS_DIR": str(lib.corpus_dir), "ASSISTANT_INDEX_DIR": str(lib.index_dir)}
    batch = CliRunner().invoke(cli, ["ask", "--json", "--doc", "说明.txt"], input=f"{ADDED}\n网信干部充实到哪里？\n",
                               env=env, catch_exceptions=False)  # fmt: skip
    lines = [json.loads(line) for line in batch.stdout.splitlines()]
    assert len(lines) == 2 and all({s["doc"] for s in a["sources"]} == {"说明.txt"} for a in lines)

    chat = CliRunner().invoke(cli, ["chat", "--doc", "说明.txt"], input=f"{ADDED}\n", env=env, catch_exceptions=False)
    assert chat.exit_code == 0, chat.output
    assert "二十名" in chat.stdout and "（只从 说明.txt 中回答）" in chat.stderr
    assert f"{REPORT.name[:4]}" not in chat.stdout  # sources from the one document only


@pytest.mark.parametrize(
    ("given", "hint"),
    [
        ("说明.tx", "; did you mean 说明.txt?"),  # a near miss
        ("网信工作补充说明", "; did you mean 说明.txt?"),  # the title, not the name
        ("nothing", " (see `assistant list`)"),
    ],
)
@pytest.mark.parametrize("command", [["ask", "问题"], ["chat"]], ids=["ask", "chat"])
def test_an_unknown_doc_is_a_usage_error(lib: Settings, files: Path, assistant, given: str, hint: str, command):
    library.add(lib, [files / "说明.txt"], embedder=assistant.embedder)
    result = _run(lib, command[0], "--doc", given, *command[1:])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == f"Error: no document named {given!r} in the index{hint}"
    assert result.stdout == ""
