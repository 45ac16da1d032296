"""The shared extraction clean-up: code points, joined lines, page furniture, table rows."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from assistant.ingest.cleanup import (
    CODE_POINTS,
    Line,
    Page,
    collapse_space,
    drop_furniture,
    fix_code_points,
    is_radical,
    join_lines,
    join_pieces,
    table_rows,
)

NOTO = Path("/usr/share/fonts/opentype/noto")

# --------------------------------------------------------------------------- code points


def test_the_radicals_of_the_issue_become_ordinary_characters() -> None:
    assert fix_code_points("⼈⺠⽹⻓⻅⼀⼯⾏") == "人民网长见一工行"
    assert fix_code_points("⽤⼾") == "用户"  # as a Simplified Chinese font draws ⼾, not NFKC's 戶
    assert fix_code_points("中华⼈⺠共和国") == "中华人民共和国"


def test_nfkc_misses_the_supplement_and_changes_what_it_should_not() -> None:
    """Why not NFKC: it leaves ⺠ ⻓ ⻅ and rewrites full-width punctuation and digits."""
    assert unicodedata.normalize("NFKC", "⺠⻓⻅") == "⺠⻓⻅"
    assert unicodedata.normalize("NFKC", "１１人，（一）") != "１１人，（一）"
    assert fix_code_points("１１人，（一）") == "１１人，（一）"


def test_every_kangxi_radical_maps_as_nfkc_does() -> None:
    for cp in range(0x2F00, 0x2FD6):
        if cp != 0x2F3E:  # ⼾: see the test above
            assert chr(CODE_POINTS[cp]) == unicodedata.normalize("NFKC", chr(cp))


def test_supplement_maps_to_unified_ideographs_only() -> None:
    supplement = {cp: to for cp, to in CODE_POINTS.items() if 0x2E80 <= cp <= 0x2EFF}
    assert len(supplement) >= 100
    for to in supplement.values():
        assert "CJK UNIFIED IDEOGRAPH" in unicodedata.name(chr(to)), hex(to)
    for cp in (0x2E9F, 0x2EF3):  # the two with a Unicode decomposition agree with it
        assert chr(supplement[cp]) == unicodedata.normalize("NFKC", chr(cp))


def test_compatibility_ideographs_map_canonically() -> None:
    assert fix_code_points("\uf900\ufa0c\U0002f800") == unicodedata.normalize("NFC", "\uf900\ufa0c\U0002f800")
    assert fix_code_points("\ufa0e") == "\ufa0e"  # 﨎 is an ordinary ideograph that only lives in that block


def test_mapping_keeps_length_and_everything_else() -> None:
    text = "市委网信办仅有在编人员 11 人（2016 年）。ＡＢＣ abc ①②"
    assert fix_code_points(text) == text
    assert all(len(chr(v)) == 1 for v in CODE_POINTS.values())


@pytest.mark.skipif(not (NOTO / "NotoSansCJK-Regular.ttc").exists(), reason="needs fonts-noto-cjk (make browser)")
def test_table_agrees_with_the_fonts_that_cause_the_damage() -> None:
    """Wherever a Noto CJK font draws a radical with the glyph of a unified ideograph, we map to that one."""
    fonttools = pytest.importorskip("fontTools.ttLib")
    checked = 0
    for file in ("NotoSansCJK-Regular.ttc", "NotoSerifCJK-Regular.ttc"):
        for font in fonttools.TTCollection(str(NOTO / file)).fonts:
            if "SC" not in font["name"].getDebugName(1):
                continue  # the Simplified Chinese faces: what Chinese reports are set in
            cmap = font.getBestCmap()
            by_glyph: dict[str, list[int]] = {}
            for cp, glyph in cmap.items():
                by_glyph.setdefault(glyph, []).append(cp)
            for cp, glyph in cmap.items():
                if not is_radical(chr(cp)):
                    continue
                unified = [c for c in by_glyph[glyph] if "CJK UNIFIED" in unicodedata.name(chr(c), "")]
                if unified:
                    assert CODE_POINTS.get(cp) in unified, f"{chr(cp)} U+{cp:04X} drawn as {unified}"
                    checked += 1
    assert checked > 200


# --------------------------------------------------------------------------- joining


@pytest.mark.parametrize(
    ("left", "right", "joined"),
    [
        ("党的十八届五中全", "会、“十三五”规划", "党的十八届五中全会、“十三五”规划"),
        ("in the", "next line", "in the next line"),
        ("infor-", "mation", "information"),
        ("GDP-", "Wachstum", "GDP-Wachstum"),
        ("共 2016", "年", "共 2016年"),
        ("", "正文", "正文"),
    ],
)
def test_join_pieces(left: str, right: str, joined: str) -> None:
    assert join_pieces(left, right) == joined


def test_collapse_space_as_a_browser_but_not_inside_chinese() -> None:
    assert collapse_space("  网络安全\n    和信息化  ") == "网络安全和信息化"
    assert collapse_space("2016 年 11 月\n 21 日") == "2016 年 11 月21 日"
    assert collapse_space("hello\n\t world") == "hello world"


# --------------------------------------------------------------------------- tables


def test_table_rows_name_their_columns() -> None:
    rows = [["地区", "企业数", "排名"], ["洛阳", "6 家", "第一"], ["郑州", "", "第二"], ["", "", ""]]
    assert table_rows(rows) == ["地区：洛阳，企业数：6 家，排名：第一", "地区：郑州，排名：第二"]


def test_table_without_a_header_keeps_cells_in_order() -> None:
    assert table_rows([["2015", "6"], ["2016", "8"]]) == ["2015，6", "2016，8"]
    assert table_rows([["只有一列"], ["第二行"]]) == ["只有一列", "第二行"]
    assert table_rows([]) == []


# --------------------------------------------------------------------------- page layout

EM = 15.0
LEFT, RIGHT = 60.0, 540.0


def _line(text: str, top: float, x0: float = LEFT, x1: float = RIGHT, size: float = EM) -> Line:
    return Line(text, x0, x1, top, top + size, size)


def _page(*lines: Line) -> Page:
    return Page(tuple(lines), 842.0)


ENDINGS = ["结束。", "完毕。", "到此为止。"]
SENTENCES = ["网络安全是整体的而不是割裂的，", "网络安全是动态的而不是静态的，", "网络安全是开放的而不是封闭的，"]


def _body_page(n: int) -> Page:
    """A page as Chromium prints one: date and title at the top, address and `n/3` at the bottom."""
    return _page(
        _line("11/29/26, 8:40 AM 洛阳汇报", 10, x1=300, size=8),
        _line(f"第{n}页正文开头，{SENTENCES[n % 3]}", 60, x0=LEFT + 2 * EM),
        _line(f"到这里是第{n}段的最后一行。", 84, x1=300),
        _line(f"另起一段，{SENTENCES[(n + 1) % 3]}", 108, x0=LEFT + 2 * EM),
        _line(ENDINGS[n % 3], 132, x1=150),
        _line(f"file:///tmp/report.html {n}/3", 820, x1=200, size=8),
    )


def test_furniture_repeated_on_every_page_is_dropped() -> None:
    pages = drop_furniture([_body_page(n) for n in (1, 2, 3)])
    texts = [line.text for page in pages for line in page]
    assert not any("file://" in t or "AM" in t for t in texts)
    assert len(texts) == 12


def test_page_numbers_at_the_edge_are_dropped_but_numbers_in_the_text_stay() -> None:
    for number in ("- 3 -", "— 3 —", "第 3 页", "第3页 共5页", "3/5", "Page 3 of 5", "3"):
        page = _page(_line("正文第一行。", 60, x1=200), _line("11", 84, x1=80), _line(number, 800, x1=80))
        assert [line.text for line in drop_furniture([page])[0]] == ["正文第一行。", "11"], number


def test_a_line_recurring_in_the_middle_of_pages_is_not_furniture() -> None:
    pages = [
        _page(*[_line(f"第{n}页第{k}行。", 60 + 24 * k) for k in range(3)], _line("同一句话。", 200),
              *[_line(f"第{n}页第{k}行。", 224 + 24 * k) for k in range(3)])
        for n in range(4)
    ]  # fmt: skip
    assert all("同一句话。" in [line.text for line in page] for page in drop_furniture(pages))


def test_join_lines_rebuilds_paragraphs_across_lines_and_pages() -> None:
    pages = drop_furniture([_body_page(n) for n in (1, 2)])
    assert join_lines(pages).splitlines() == [
        f"第1页正文开头，{SENTENCES[1]}到这里是第1段的最后一行。",
        f"另起一段，{SENTENCES[2]}{ENDINGS[1]}",
        f"第2页正文开头，{SENTENCES[2]}到这里是第2段的最后一行。",
        f"另起一段，{SENTENCES[0]}{ENDINGS[2]}",
    ]


def test_a_paragraph_runs_on_over_a_page_break() -> None:
    first = _page(_line("第一页最后一行排满了整行，", 780))
    second = _page(_line("第二页继续这一句话。", 60, x1=300))
    assert join_lines([list(first.lines), list(second.lines)]) == "第一页最后一行排满了整行，第二页继续这一句话。\n"


def test_headings_in_another_size_or_after_a_gap_are_not_joined() -> None:
    page = [
        _line("标题用更大的字排满了整行", 40, size=22),
        _line("正文紧接着标题开始，并且也排满整行。", 80),
        _line("一、小标题不缩进", 104, x1=180),
        _line("正文排满整行排满整行排满整行排满整行，", 128),
        _line("空一行之后的文字不接上一行。", 200, x1=300),
    ]
    assert join_lines([page]).splitlines() == [
        "标题用更大的字排满了整行",
        "正文紧接着标题开始，并且也排满整行。",
        "一、小标题不缩进",
        "正文排满整行排满整行排满整行排满整行，",
        "",
        "空一行之后的文字不接上一行。",
    ]


def test_no_lines_no_text() -> None:
    assert join_lines([[], []]) == ""


def test_a_line_cut_short_by_a_long_word_still_continues() -> None:
    page = [
        _line("排满整行的正文，", 36, x0=LEFT + 2 * EM),
        _line("又一行排满的正文，", 60),
        _line("这一行停在一个放不下的长单词之前，", 84, x1=RIGHT - 3 * EM),
        _line("internationalization 之后接着写完。", 108, x1=300),
        _line("上一段到此结束。", 132, x0=LEFT + 2 * EM, x1=RIGHT - 3 * EM),
        _line("这一行不缩进但上一行已经结束。", 156, x1=300),
    ]
    assert join_lines([page]).splitlines() == [
        "排满整行的正文，又一行排满的正文，这一行停在一个放不下的长单词之前，internationalization 之后接着写完。",
        "上一段到此结束。",
        "这一行不缩进但上一行已经结束。",
    ]
