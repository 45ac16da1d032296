"""The corpus folder and text files: finding, decoding, skipping safely, one line per bad file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from assistant.ingest import CorpusError, corpus_files, read_corpus, read_document
from assistant.schema import Document

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
REPORT_NAME = "洛阳-关于中央、省委相关会议精神及我市贯彻落实意见的汇报-2016-11-21.txt"
REPORT = CORPUS / REPORT_NAME


@pytest.fixture(scope="module")
def report() -> Document:
    return read_document(REPORT, CORPUS)


# --------------------------------------------------------------------------- reading


def test_reads_report_as_received(report: Document) -> None:
    data = REPORT.read_bytes()
    assert report.name == REPORT_NAME
    assert report.encoding == "utf-8"
    assert report.text == data.decode("utf-8")
    assert report.sha256 == hashlib.sha256(data).hexdigest()


def test_corpus_files_sorted_recursive_no_hidden(tmp_path: Path) -> None:
    names = ["b.txt", "a/z.md", "a/y.TXT", ".hidden.txt", ".git/x.txt", "c/.d/e.txt", "notes.png", "f.txt.bak", "r.pdf"]
    for rel in names:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("正文。", encoding="utf-8")
    names = [p.relative_to(tmp_path).as_posix() for p in corpus_files(tmp_path)]
    assert names == ["a/y.TXT", "a/z.md", "b.txt", "r.pdf"]


def test_document_name_uses_forward_slashes(tmp_path: Path) -> None:
    (tmp_path / "sub" / "dir").mkdir(parents=True)
    (tmp_path / "sub" / "dir" / "报告.txt").write_text("正文。", encoding="utf-8")
    docs, errors = read_corpus(tmp_path)
    assert errors == []
    assert [d.name for d in docs] == ["sub/dir/报告.txt"]


@pytest.mark.parametrize(("encoding", "expected"), [("gb18030", "gb18030"), ("utf-8-sig", "utf-8-sig")])
def test_other_encodings_give_the_same_text(tmp_path: Path, report: Document, encoding: str, expected: str) -> None:
    path = tmp_path / REPORT_NAME
    path.write_bytes(report.text.encode(encoding))
    doc = read_document(path, tmp_path)
    assert doc.encoding == expected
    assert doc.text == report.text  # BOM removed, nothing else changed
    assert doc.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_gbk_bytes_are_read_as_gb18030(tmp_path: Path) -> None:
    (tmp_path / "gbk.txt").write_bytes("关于网信工作的汇报。".encode("gbk"))
    doc = read_document(tmp_path / "gbk.txt", tmp_path)
    assert (doc.text, doc.encoding) == ("关于网信工作的汇报。", "gb18030")


def test_bad_files_are_reported_one_line_each_and_others_load(tmp_path: Path, report: Document) -> None:
    (tmp_path / REPORT_NAME).write_bytes(REPORT.read_bytes())
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (tmp_path / "broken.txt").write_bytes(b"abc\x80\xff" * 10)
    docs, errors = read_corpus(tmp_path)
    assert [d.text for d in docs] == [report.text]
    assert len(errors) == 2
    messages = sorted(str(e) for e in errors)
    assert all("\n" not in m for m in messages)
    assert messages[0].startswith(f"{(tmp_path / 'binary.txt').as_posix()}: binary")
    assert messages[1] == f"{(tmp_path / 'broken.txt').as_posix()}: not UTF-8 or GB18030 text (byte 0x80 at offset 3)"


def test_bad_bom_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf\xd6\xd0")
    with pytest.raises(CorpusError, match=r"bom\.txt: not UTF-8"):
        read_document(tmp_path / "bom.txt", tmp_path)


def test_missing_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="no such folder") as err:
        read_corpus(tmp_path / "nowhere")
    assert "nowhere" in str(err.value)
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    with pytest.raises(CorpusError, match="not a folder"):
        read_corpus(tmp_path / "file.txt")



def test_confident_guess_reads_other_encodings(tmp_path: Path) -> None:
    text = "Привет мир, как дела? Это тест. Сегодня хорошая погода и мы идём гулять."
    (tmp_path / "ru.txt").write_bytes(text.encode("cp1251"))
    doc = read_document(tmp_path / "ru.txt", tmp_path)
    assert doc.text == text


def test_junk_is_not_guessed(tmp_path: Path) -> None:
    (tmp_path / "junk.txt").write_bytes(b"\x81\x20" * 20)
    with pytest.raises(CorpusError, match=r"junk\.txt: not UTF-8 or GB18030 text \(byte 0x81 at offset 0\)"):
        read_document(tmp_path / "junk.txt", tmp_path)


