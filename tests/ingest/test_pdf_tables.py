"""Tables in PDFs: a table printed by Chromium (its header repeated on each page, centred over left-aligned
cells) is found from the layout; each row names its columns, in every passage a long table is split into."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from assistant.ingest import read_document
from assistant.ingest.chunking import chunk_document
from assistant.ingest.cleanup import Line, mark_tables

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # benchmarks/ is not an installed package
    sys.path.insert(0, str(ROOT))

from benchmarks.documents import TABLE_HEADER, chromium_available, print_pdf, table_html, table_rows_made  # noqa: E402


def _keyed(row: tuple[str, ...]) -> str:
    return "，".join(f"{h}：{c}" for h, c in zip(TABLE_HEADER, row, strict=True))


@pytest.fixture(scope="module")
def long_table(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[str, ...]]]:
    if not chromium_available():
        pytest.skip("no /usr/bin/chromium with Noto CJK fonts: `make browser` installs them")
    rows = table_rows_made(repeat=4)  # 60 rows: three printed pages
    folder = tmp_path_factory.mktemp("tables")
    return print_pdf(table_html(rows), folder / "table.pdf"), rows


@pytest.mark.browser
def test_every_row_of_a_table_over_three_pages_names_its_columns(long_table) -> None:
    path, rows = long_table
    doc = read_document(path, path.parent)
    assert doc.pages == 3
    lines = doc.text.split("\n")
    keyed = [line for line in lines if line.startswith(f"{TABLE_HEADER[0]}：")]
    assert keyed == [_keyed(row) for row in rows]  # every row, in order, none lost to the page breaks
    assert not any(all(h in line for h in TABLE_HEADER) and "：" not in line for line in lines)  # no bare header
    assert "各县（市、区）网信机构情况见下表。" in lines and "以上为截至十一月底的数据。" in lines


@pytest.mark.browser
def test_each_passage_of_a_split_table_carries_the_header(long_table) -> None:
    path, rows = long_table
    passages = [p for p in chunk_document(read_document(path, path.parent)) if "网信机构人数" in p.text]
    assert len(passages) >= 5  # the table is split over passages
    for p in passages:
        for line in p.text.split("\n"):
            if re.search(r"：\d+，", line):
                assert all(f"{h}：" in line for h in TABLE_HEADER), line


def test_aligned_lines_without_a_header_keep_their_cells_and_prose_is_left_alone() -> None:
    def line(top: float, cells: list[tuple[float, str]]) -> Line:
        return Line("  ".join(t for _, t in cells), cells[0][0], 500, top, top + 12, 12, tuple(cells))

    prose = Line("仅有在编人员 11 人，人员较少。", 70, 500, 10, 22, 12)
    rows = [line(30 + 20 * k, [(70, f"{2014 + k}"), (200, f"{k * 3}"), (330, f"{k * 5}")]) for k in range(3)]
    [page] = mark_tables([[prose, *rows]])
    assert page[0] == prose
    assert [ln.text for ln in page[1:]] == ["2014，0，0", "2015，3，5", "2016，6，10"]  # numbers head nothing
    assert all(ln.row for ln in page[1:])
    lone = line(100, [(70, "附件"), (330, "第 3 页")])
    assert mark_tables([[prose, lone]]) == [[prose, lone]]  # one line with a gap is no table


@pytest.mark.browser
@pytest.mark.slow
def test_a_row_answers_what_is_x_of_y(long_table, tmp_path: Path, assistant) -> None:
    """`X的Y是多少`: the row of X answers with its cell in column Y, and is the source quoted."""
    from assistant.config import Settings
    from assistant.pipeline import Assistant

    path, rows = long_table
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "table.pdf").write_bytes(path.read_bytes())
    settings: Settings = assistant.settings.with_(corpus_dir=corpus, index_dir=tmp_path / "index")
    ours = Assistant(settings, embedder=assistant.embedder)
    for row in (rows[4], rows[13]):  # 涧西区, 汝阳县
        answer = ours.ask(f"{row[0]}的网信机构人数是多少？")
        assert answer.found, answer.text
        assert f"{TABLE_HEADER[0]}：{row[0]}，网信机构人数：{row[1]}，" in answer.text, answer.text
        answer = ours.ask(f"{row[0]}今年处置舆情多少起？")
        assert f"今年处置舆情（起）：{row[2]}" in answer.text, answer.text
