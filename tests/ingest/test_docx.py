"""Word .docx files written with python-docx: headings, bold lead-ins, lists, tables, the report itself."""

from __future__ import annotations

import re
import sys
import zipfile
from pathlib import Path

import docx
import pytest
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from assistant.ingest import paragraphs, read_corpus, read_document, report_date, title
from assistant.schema import Document

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # benchmarks/ is not an installed package
    sys.path.insert(0, str(ROOT))

from conftest import TITLE  # noqa: E402

from benchmarks.documents import REPORT, report_blocks, write_docx  # noqa: E402


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the report as .docx and a small Word file with everything a report holds."""
    folder = tmp_path_factory.mktemp("docx")
    write_docx(report_blocks(), folder / "report.docx", meta_title="洛阳汇报")
    _write_sample(folder / "sample.docx")
    return folder


def _write_sample(path: Path) -> None:
    document = docx.Document()
    document.core_properties.title = "元数据里的标题"
    document.add_paragraph("2023 年工作总结", style="Title")
    document.add_paragraph("（2024 年 1 月 5 日）")
    document.add_heading("一、主要成绩", level=1)
    lead = document.add_paragraph()
    lead.add_run("一是加强领导。").bold = True
    lead.add_run("成立领导小组，统筹推进。")
    whole = document.add_paragraph()
    whole.add_run("网络安全工作").bold = True
    document.add_paragraph("全年未发生重大网络安全事件。")
    emphasis = document.add_paragraph()
    emphasis.add_run("这一句整句加粗，是强调而不是标题。").bold = True
    document.add_paragraph("第一项措施", style="List Bullet")
    document.add_paragraph("第二项措施", style="List Number")
    soft = document.add_paragraph("软换行把一句话")
    soft.add_run().add_break()
    soft.add_run("分成两行。")
    document.add_heading("二、数据", level=1)
    table = document.add_table(rows=3, cols=3)
    for r, row in enumerate([["地区", "企业数", "排名"], ["洛阳", "6 家", "第一"], ["郑州", "4 家", "第二"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    merged = document.add_table(rows=2, cols=3)
    merged.cell(0, 0).merge(merged.cell(0, 1)).text = "合并的单元格"
    merged.cell(0, 2).text = "右"
    merged.cell(1, 0).text = "甲"
    custom = document.styles.add_style("自定义标题", WD_STYLE_TYPE.PARAGRAPH)
    outline = OxmlElement("w:outlineLvl")
    outline.set(qn("w:val"), "1")
    custom.element.get_or_add_pPr().append(outline)
    document.add_paragraph("自定义样式的二级标题", style=custom)
    document.add_paragraph("它下面的正文。")
    document.add_paragraph("目录 ........ 3", style=document.styles.add_style("TOC 1", WD_STYLE_TYPE.PARAGRAPH))
    section = document.sections[0]
    section.header.paragraphs[0].text = "页眉：内部资料"
    section.footer.paragraphs[0].text = "页脚"
    document.save(str(path))


@pytest.fixture(scope="module")
def sample(made: Path) -> Document:
    return read_document(made / "sample.docx", made)


def _section_of(doc: Document, needle: str) -> tuple[str, ...]:
    found = [p for p in paragraphs(doc) if needle in p.text]
    assert len(found) == 1, f"{needle!r} in {len(found)} paragraphs"
    return found[0].section


def test_sample_reads_as_a_report(sample: Document) -> None:
    assert (sample.format, sample.pages, sample.encoding, sample.meta_title) == ("docx", None, "", "元数据里的标题")
    assert title(sample) == "2023 年工作总结"
    assert report_date(sample) == "2024-01-05"
    assert _section_of(sample, "成立领导小组") == ("2023 年工作总结", "一、主要成绩", "一是加强领导")
    assert _section_of(sample, "全年未发生") == ("2023 年工作总结", "一、主要成绩", "网络安全工作")
    assert _section_of(sample, "整句加粗") == ("2023 年工作总结", "一、主要成绩", "网络安全工作")
    assert _section_of(sample, "它下面的正文") == ("2023 年工作总结", "二、数据", "自定义样式的二级标题")


def test_sample_lists_tables_and_soft_breaks(sample: Document) -> None:
    texts = [p.text for p in paragraphs(sample)]
    assert "- 第一项措施" in texts and "- 第二项措施" in texts
    assert "软换行把一句话分成两行。" in texts
    assert "地区：洛阳，企业数：6 家，排名：第一" in texts
    assert "地区：郑州，企业数：4 家，排名：第二" in texts
    assert "合并的单元格：甲" in texts  # a merged cell once, not once per column it spans: a header of two
    assert _section_of(sample, "地区：洛阳") == ("2023 年工作总结", "二、数据")


def test_sample_leaves_out_what_is_not_body_text(sample: Document) -> None:
    assert "页眉" not in sample.text and "页脚" not in sample.text
    assert "目录" not in sample.text


def test_offsets_point_into_the_extracted_text(sample: Document) -> None:
    for para in paragraphs(sample):
        assert "".join(sample.text[o] for o in para.offsets) == para.text


def test_report_docx_keeps_every_character_and_section(made: Path) -> None:
    doc = read_document(made / "report.docx", made)
    txt = read_document(REPORT, REPORT.parent)
    ours, theirs = paragraphs(doc), paragraphs(txt)
    assert [re.sub(r"\s", "", p.text) for p in ours] == [re.sub(r"\s", "", p.text) for p in theirs]
    assert [p.section for p in ours] == [p.section for p in theirs]
    assert title(doc) == TITLE and report_date(doc) == "2016-11-21"


def test_damaged_files_are_one_line_and_the_good_ones_load(made: Path, tmp_path: Path) -> None:
    good = (made / "report.docx").read_bytes()
    (tmp_path / "good.docx").write_bytes(good)
    (tmp_path / "truncated.docx").write_bytes(good[: len(good) // 2])
    (tmp_path / "text.docx").write_text("不是 Word 文件", encoding="utf-8")
    (tmp_path / "protected.docx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    with zipfile.ZipFile(tmp_path / "empty-zip.docx", "w") as z:
        z.writestr("hello.txt", "x")
    (tmp_path / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    (tmp_path / "wps.wps").write_bytes(b"\xd0\xcf\x11\xe0")
    docs, errors = read_corpus(tmp_path)
    assert [d.name for d in docs] == ["good.docx"]
    messages = sorted(str(e).replace(tmp_path.as_posix() + "/", "") for e in errors)
    assert messages == [
        "empty-zip.docx: damaged or not a Word .docx file",
        "old.doc: old Word .doc format is not supported: save it as .docx",
        "protected.docx: encrypted, or an old .doc/.wps file renamed: not readable as .docx",
        "text.docx: damaged or not a Word .docx file",
        "truncated.docx: damaged or not a Word .docx file",
        "wps.wps: WPS .wps format is not supported: save it as .docx",
    ]


def test_heading_one_as_the_title_when_there_is_no_title_style(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_heading("年度报告", level=1)
    document.add_paragraph("正文。")
    document.add_heading("附：说明", level=2)
    document.add_paragraph("说明的正文。")
    document.save(str(tmp_path / "h.docx"))
    doc = read_document(tmp_path / "h.docx", tmp_path)
    assert title(doc) == "年度报告"
    assert _section_of(doc, "说明的正文") == ("年度报告", "附：说明")


def test_no_title_falls_back_to_metadata_then_stem(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("今年以来，全市网信工作取得了新的进展，各项任务顺利完成。")
    document.save(str(tmp_path / "无标题.docx"))
    assert title(read_document(tmp_path / "无标题.docx", tmp_path)) == "无标题"
    document.core_properties.title = "元数据标题"
    document.save(str(tmp_path / "有元数据.docx"))
    assert title(read_document(tmp_path / "有元数据.docx", tmp_path)) == "元数据标题"


@pytest.mark.slow
def test_report_docx_answers_like_the_text_file(made: Path, tmp_path: Path, assistant) -> None:
    assert_answers_like_the_text_file(made / "report.docx", tmp_path, assistant)


def assert_answers_like_the_text_file(report: Path, tmp_path: Path, assistant) -> None:
    """`report` alone in a corpus answers the question sets like the .txt, and quotes no radical code point."""
    from benchmarks.formats import QUESTION_SETS, evaluate_corpus, score_assistant

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / report.name).write_bytes(report.read_bytes())
    for questions in QUESTION_SETS:
        ours = evaluate_corpus(corpus, tmp_path / "index", assistant.embedder, questions)
        txt = score_assistant(assistant, questions)
        assert ours["radicals quoted"] == 0
        for key in ("hit@1", "hit@5", "answer"):
            assert ours[key] >= min(txt[key] - 0.02, 0.9 if key == "hit@1" else 0.85), (questions.name, key, ours, txt)
        assert ours["refused"] >= txt["refused"], (questions.name, ours, txt)
