"""The corpus folder and text files: finding, decoding, skipping safely, one line per bad file."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from conftest import REPORT, REPORT_NAME

from assistant.ingest import CorpusError, corpus_files, read_corpus, read_document, scan
from assistant.schema import Document

CORPUS = Path(__file__).resolve().parents[2] / "corpus"


# --------------------------------------------------------------------------- reading


def test_reads_report_as_received(report: Document) -> None:
    data = REPORT.read_bytes()
    assert report.name == REPORT_NAME
    assert report.encoding == "utf-8"
    assert report.text == data.decode("utf-8")
    assert report.sha256 == hashlib.sha256(data).hexdigest()


def test_corpus_files_sorted_recursive_no_hidden(tmp_path: Path) -> None:
    names = [
        "b.txt",
        "a/z.md",
        "a/y.TXT",
        ".hidden.txt",
        ".git/x.txt",
        "c/.d/e.txt",
        "notes.png",
        "f.txt.bak",
        "r.pdf",
        "notes.xcf",
        "terms.txt",
    ]  # an image is a page scan (OCR); terms.txt at the top holds terms
    for rel in names:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("正文。", encoding="utf-8")
    names = [p.relative_to(tmp_path).as_posix() for p in corpus_files(tmp_path)]
    assert names == ["a/y.TXT", "a/z.md", "b.txt", "notes.png", "r.pdf"]


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


# --------------------------------------------------------------------------- safety


OUTSIDE = "a symlink leading outside the corpus folder, not followed"


def test_symlink_leading_outside_is_skipped_with_one_line(tmp_path: Path) -> None:
    corpus, outside = tmp_path / "corpus", tmp_path / "outside"
    corpus.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text("机密。", encoding="utf-8")
    (corpus / "own.txt").write_text("正文。", encoding="utf-8")
    os.symlink(outside / "secret.txt", corpus / "link.txt")
    os.symlink(outside, corpus / "folder")
    os.symlink(corpus / "own.txt", corpus / "alias.txt")  # inside: read (and then skipped as the same file)
    docs, errors = read_corpus(corpus)
    assert [d.name for d in docs] == ["alias.txt"]
    assert sorted(str(e) for e in errors) == [
        f"{corpus.as_posix()}/folder/: {OUTSIDE}",
        f"{corpus.as_posix()}/link.txt: {OUTSIDE}",
        f"{corpus.as_posix()}/own.txt: the same file as alias.txt, read once",
    ]
    assert [p.name for p in corpus_files(corpus)] == ["alias.txt", "own.txt"]


def test_symlink_loop_is_not_followed(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("正文。", encoding="utf-8")
    os.symlink(tmp_path / "loop.txt", tmp_path / "loop.txt")
    docs, errors = read_corpus(tmp_path)
    assert [d.name for d in docs] == ["a.txt"]
    assert [str(e) for e in errors] == [f"{tmp_path.as_posix()}/loop.txt: {OUTSIDE}"]


def test_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "big.txt").write_text("大" * 400_000, encoding="utf-8")  # 1.2 MB
    (tmp_path / "small.txt").write_text("小。", encoding="utf-8")
    docs, errors = read_corpus(tmp_path, max_file_mb=1)
    assert [d.name for d in docs] == ["small.txt"]
    assert [str(e) for e in errors] == [f"{tmp_path.as_posix()}/big.txt: 1.1 MB, over the 1 MB limit (max_file_mb)"]
    monkeypatch.setenv("ASSISTANT_MAX_FILE_MB", "0.5")  # the setting's default comes from the environment
    with pytest.raises(CorpusError, match=r"big\.txt: 1\.1 MB, over the 0\.5 MB limit"):
        read_document(tmp_path / "big.txt", tmp_path)
    assert len(read_corpus(tmp_path, max_file_mb=2)[0]) == 2


def test_same_file_twice_under_two_names_is_read_once(tmp_path: Path) -> None:
    (tmp_path / "b-copy.txt").write_text("同一份报告。", encoding="utf-8")
    (tmp_path / "a.txt").write_text("同一份报告。", encoding="utf-8")
    docs, errors = read_corpus(tmp_path)
    assert [d.name for d in docs] == ["a.txt"]
    assert [str(e) for e in errors] == [f"{tmp_path.as_posix()}/b-copy.txt: the same file as a.txt, read once"]


def test_formats_we_do_not_read_are_named(tmp_path: Path) -> None:
    for name in ("a.doc", "b.wps", "c.rtf", "d.odt", "e.xcf"):
        (tmp_path / name).write_bytes(b"\xd0\xcf\x11\xe0")
    files, skipped = scan(tmp_path)
    assert files == []
    assert sorted(str(e).rsplit("/", 1)[1] for e in skipped) == [
        "a.doc: old Word .doc format is not supported: save it as .docx",
        "b.wps: WPS .wps format is not supported: save it as .docx",
        "c.rtf: RTF is not supported: save it as .docx",
        "d.odt: OpenDocument .odt is not supported: save it as .docx",
    ]
    with pytest.raises(CorpusError, match=r"e\.xcf: not a supported format \(\.txt, \.md, \.docx, \.pdf, \.html"):
        read_document(tmp_path / "e.xcf", tmp_path)


def test_radicals_in_a_text_file_are_mapped_one_for_one(tmp_path: Path) -> None:
    (tmp_path / "copied.txt").write_text("⼈⺠⽹：市委⽹信办仅有在编⼈员 11 ⼈。", encoding="utf-8")
    doc = read_document(tmp_path / "copied.txt", tmp_path)
    assert doc.text == "人民网：市委网信办仅有在编人员 11 人。"
    assert (doc.format, doc.pages) == ("txt", None)


def test_document_format_follows_the_name() -> None:
    assert [Document(n, "", "", "").format for n in ("a.md", "b.TXT", "c.htm", "d.pdf", "e")] == [
        "md", "txt", "html", "pdf", "txt",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="format must be one of"):
        Document("a.txt", "", "", "", format="doc")
