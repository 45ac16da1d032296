"""PDFs printed by headless Chromium with CJK fonts, as real reports are: text, clean-up, failures."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from assistant.ingest import CorpusError, paragraphs, read_corpus, read_document, report_date, title
from assistant.ingest.cleanup import fix_code_points, is_radical
from assistant.schema import Document

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # benchmarks/ is not an installed package
    sys.path.insert(0, str(ROOT))

from test_docx import assert_answers_like_the_text_file  # noqa: E402

from benchmarks.documents import (  # noqa: E402
    REPORT,
    chromium_available,
    long_html,
    print_pdf,
    report_blocks,
    report_html,
    scanned_pdf,
    source_text,
)
from benchmarks.formats import char_accuracy, quoted_text, recovered_paragraphs  # noqa: E402

TITLE = "关于中央、省委相关会议精神 及我市贯彻落实意见的汇报"


def test_damaged_bytes_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "junk.pdf").write_bytes(b"%PDF-1.4\n%%EOF garbage")
    (tmp_path / "text.pdf").write_text("不是 PDF", encoding="utf-8")
    for name in ("junk.pdf", "text.pdf"):
        with pytest.raises(CorpusError, match=rf"^{re.escape((tmp_path / name).as_posix())}: damaged or not a PDF$"):
            read_document(tmp_path / name, tmp_path)


# --------------------------------------------------------------------------- printed by Chromium

browser = pytest.mark.browser


@pytest.fixture(scope="session")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report, a 50-page compilation and a scanned page, printed once per session."""
    if not chromium_available():
        pytest.skip("no /usr/bin/chromium with Noto CJK fonts: `make browser` installs them")
    folder = tmp_path_factory.mktemp("pdfs")
    blocks = report_blocks()
    print_pdf(report_html(blocks), folder / "report.pdf")
    print_pdf(long_html(blocks, pages=50), folder / "long.pdf")
    scanned_pdf(folder / "scan.pdf")
    return folder


@pytest.fixture(scope="session")
def report_pdf(pdfs: Path) -> Document:
    return read_document(pdfs / "report.pdf", pdfs)


@browser
def test_report_pdf_reads_as_its_source(report_pdf: Document) -> None:
    blocks = report_blocks()
    assert (report_pdf.format, report_pdf.pages, report_pdf.meta_title) == ("pdf", 8, "洛阳汇报")
    assert char_accuracy(quoted_text(report_pdf), source_text(blocks)) >= 0.995
    # every paragraph of the source is whole again: lines joined, the title's two lines too
    assert recovered_paragraphs(report_pdf, [b.text for b in blocks]) == 1.0
    assert not any(is_radical(c) for c in report_pdf.text)


@browser
def test_report_pdf_without_the_browsers_header_and_footer(report_pdf: Document) -> None:
    assert "file://" not in report_pdf.text
    assert not re.search(r"\d/8|AM|PM|\d{1,2}/\d{1,2}/\d{2}", report_pdf.text)


@browser
def test_report_pdf_structure_matches_the_text_file(report_pdf: Document) -> None:
    txt = read_document(REPORT, REPORT.parent)
    assert title(report_pdf) == TITLE and report_date(report_pdf) == "2016-11-21"
    ours = [(p.section, re.sub(r"\s", "", p.text)) for p in paragraphs(report_pdf) if p.kind == "body"]
    theirs = [(p.section, re.sub(r"\s", "", p.text)) for p in paragraphs(txt) if p.kind == "body"]
    assert ours == theirs


@browser
def test_offsets_point_into_the_extracted_text(report_pdf: Document) -> None:
    for para in paragraphs(report_pdf):
        assert "".join(report_pdf.text[o] for o in para.offsets) == para.text


@browser
def test_fifty_pages(pdfs: Path) -> None:
    doc = read_document(pdfs / "long.pdf", pdfs)
    assert doc.pages == 50
    assert "内部资料" not in doc.text and "file://" not in doc.text  # the running header and the footer
    headings = [p.text for p in paragraphs(doc) if p.is_heading]
    assert headings == [f"第{n}部分 工作情况之{n}" for n in range(1, 51)]
    for n in range(1, 51):
        assert doc.text.count(f"第{n}部分 工作情况之{n}\n") == 1
    blocks = report_blocks()
    source = "\n".join(long_html_paragraphs(blocks))
    assert char_accuracy(doc.text, source) >= 0.99


def long_html_paragraphs(blocks) -> list[str]:
    """The text of `long_html`, section by section."""
    body = [b for b in blocks if b.kind == "body" and 60 <= len(b.text) <= 380]
    out = []
    for n in range(50):
        out.append(f"第{n + 1}部分 工作情况之{n + 1}")
        out.extend(body[(3 * n + k) % len(body)].text for k in range(3))
    return out


@browser
def test_scanned_pdf_is_read_by_ocr_or_names_the_extra(pdfs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.ingest import ocr

    if ocr.available():
        doc = read_document(pdfs / "scan.pdf", pdfs)
        assert re.sub(r"\s", "", doc.text) == "扫描件：本页只有图像，没有文字层。"
        assert doc.page_starts == (0,) and [box.page for box in doc.lines] == [1]
    monkeypatch.setattr(ocr, "available", lambda: False)
    install = re.escape('pip install "luoyang-report-assistant[ocr]"')
    with pytest.raises(CorpusError, match=rf"scan\.pdf: no text layer: reading it needs OCR: {install}$"):
        read_document(pdfs / "scan.pdf", pdfs)


@browser
def test_encrypted_pdf_is_one_line(pdfs: Path, tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(pdfs / "report.pdf"))
    writer.encrypt(user_password="secret", owner_password="owner")
    with (tmp_path / "locked.pdf").open("wb") as f:
        writer.write(f)
    with pytest.raises(CorpusError, match=r"locked\.pdf: encrypted PDF: a password is needed$"):
        read_document(tmp_path / "locked.pdf", tmp_path)
    # restrictions without a password to open (the usual "protected" government PDF) are no obstacle
    writer = PdfWriter(clone_from=PdfReader(pdfs / "report.pdf"))
    writer.encrypt(user_password="", owner_password="owner", permissions_flag=0)
    with (tmp_path / "restricted.pdf").open("wb") as f:
        writer.write(f)
    assert read_document(tmp_path / "restricted.pdf", tmp_path).text == read_document(pdfs / "report.pdf", pdfs).text


@browser
def test_corrupt_and_scanned_files_next_to_good_ones(pdfs: Path, tmp_path: Path) -> None:
    good = (pdfs / "report.pdf").read_bytes()
    (tmp_path / "a-good.pdf").write_bytes(good)
    (tmp_path / "b-truncated.pdf").write_bytes(good[: len(good) // 3])
    (tmp_path / "c-scan.pdf").write_bytes((pdfs / "scan.pdf").read_bytes())
    (tmp_path / "d-copy.pdf").write_bytes(good)  # the same file under another name
    from assistant.ingest import ocr

    docs, errors = read_corpus(tmp_path)
    # with the ocr extra (as `make test` installs it) the scan is read; without it, one line names the extra
    assert [d.name for d in docs] == (["a-good.pdf", "c-scan.pdf"] if ocr.available() else ["a-good.pdf"])
    messages = sorted(str(e).replace(tmp_path.as_posix() + "/", "") for e in errors)
    assert all("\n" not in m for m in messages)
    assert messages[0].startswith("b-truncated.pdf: ")
    if not ocr.available():
        assert (
            messages.pop(1)
            == 'c-scan.pdf: no text layer: reading it needs OCR: pip install "luoyang-report-assistant[ocr]"'
        )
    assert messages[1:] == ["d-copy.pdf: the same file as a-good.pdf, read once"]


@browser
def test_other_readers_get_radicals_from_the_same_pdf_and_the_mapping_repairs_them(pdfs: Path) -> None:
    """pypdf trusts the PDF's glyph → Unicode map, which names radicals: the damage is real, and mapped away."""
    from pypdf import PdfReader

    raw = "".join(page.extract_text() for page in PdfReader(pdfs / "report.pdf").pages)
    assert sum(1 for c in raw if is_radical(c)) > 300
    fixed = fix_code_points(raw)
    assert not any(is_radical(c) for c in fixed)
    assert "人民" in fixed and "意见" in fixed and "网络" in fixed


@browser
@pytest.mark.slow
def test_report_pdf_answers_like_the_text_file(pdfs: Path, tmp_path: Path, assistant) -> None:
    assert_answers_like_the_text_file(pdfs / "report.pdf", tmp_path, assistant)
