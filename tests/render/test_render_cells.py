"""assistant/render/cells.py: display widths against wcwidth, wrapping and cutting by cells, escape removal."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
import wcwidth
from hypothesis import given
from hypothesis import strategies as st

from assistant.render.cells import Run, clean, cut, cut_middle, to_ansi, width, wrap

ROOT = Path(__file__).resolve().parents[2]
SGR = re.compile(r"\x1b\[[0-9;]*m")

# Text as the corpus and the answers hold it: Chinese, full-width punctuation, Latin words, digits, spaces.
CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
PUNCT = st.sampled_from(list("，。、；：？！“”‘’（）《》【】…—·%"))
LATIN = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-+./", min_size=1, max_size=30)
PIECES = st.lists(st.one_of(CJK, PUNCT, LATIN, st.just(" "), st.just("\n")), max_size=120).map("".join)
RUNS = st.lists(st.builds(Run, PIECES, st.sampled_from(["", "1", "1;32", "2", "33"])), max_size=6)


def plain(lines: list[list[Run]]) -> list[str]:
    return [to_ansi(line, color=False) for line in lines]


def test_width_agrees_with_wcwidth_on_every_character_of_the_corpus_and_the_questions() -> None:
    text = "".join(
        p.read_text(encoding="utf-8") for p in [*(ROOT / "corpus").iterdir(), ROOT / "eval" / "questions.jsonl"]
    )
    chars = sorted(set(text) - {"\n", "\r", "\t"})
    assert len(chars) > 700
    assert {c: width(c) for c in chars} == {c: wcwidth.wcwidth(c) for c in chars}


def test_width_agrees_with_wcwidth_on_every_printable_character_of_the_basic_plane() -> None:
    # Letters, numbers, punctuation, symbols, spaces and combining marks that Python's Unicode tables know; only
    # the two Hangul fillers differ (wcwidth counts them as nothing, Python's tables and most terminals do not).
    # (Not compared: spacing marks of Indic and South-East Asian scripts, format characters: no text here has them.)
    kinds = ("Lu", "Ll", "Lt", "Lm", "Lo", "Nd", "Nl", "No", "Zs", "Mn", "Me") + tuple("P" + k for k in "cdseifo")
    chars = [chr(o) for o in range(0x20, 0x10000) if unicodedata.category(chr(o)) in kinds + ("Sm", "Sc", "Sk", "So")]
    assert len(chars) > 55_000
    differ = {hex(ord(c)): (width(c), wcwidth.wcwidth(c)) for c in chars if width(c) != wcwidth.wcwidth(c)}
    assert differ == {"0x3164": (2, 0), "0xffa0": (1, 0)}


@given(RUNS, st.integers(min_value=1, max_value=160), st.sampled_from(["", "  ", "    "]))
def test_wrapped_lines_fit_and_keep_every_character_in_order(runs: list[Run], columns: int, indent: str) -> None:
    lines = wrap(runs, columns, indent)
    for line in plain(lines):
        assert width(line) <= max(columns, width(indent) + 2), line  # a wide character needs two cells at least
    kept = re.sub(r"\s", "", "".join(plain(lines)))
    assert kept == re.sub(r"\s", "", "".join(r.text for r in runs))


@given(RUNS, st.integers(min_value=2, max_value=160))
def test_every_coloured_line_opens_and_closes_its_own_styles(runs: list[Run], columns: int) -> None:
    for line in wrap(runs, columns):
        text = to_ansi(line, color=True)
        for m in re.finditer(r"\x1b\[([0-9;]+)m(.*?)\x1b\[0m", text):
            assert "\x1b" not in m.group(2)
        assert SGR.sub("", text) == to_ansi(line, color=False)
        assert text.count("\x1b[0m") == len(SGR.findall(text)) - text.count("\x1b[0m")  # each opened is reset


def test_chinese_is_broken_between_characters_never_before_closing_punctuation() -> None:
    text = "目前市委网信办仅有在编人员 11 人，人员较少，请求按工作需要适当增加编制和人员。"
    lines = plain(wrap([Run(text)], 28))
    assert lines == ["目前市委网信办仅有在编人员", "11 人，人员较少，请求按工作", "需要适当增加编制和人员。"]
    for columns in range(4, 60):
        for line in plain(wrap([Run(text)], columns))[1:]:
            assert line[0] not in "，。、", (columns, line)


def test_latin_words_stay_whole_and_a_word_longer_than_the_line_is_broken() -> None:
    assert plain(wrap([Run("互联网+ action plan 2016")], 10)) == ["互联网+", "action", "plan 2016"]
    assert plain(wrap([Run("https://example.org/a/very/long/path")], 12)) == [
        "https://exam",
        "ple.org/a/ve",
        "ry/long/path",
    ]


def test_indents_count_and_line_feeds_start_new_lines() -> None:
    lines = plain(wrap([Run("第一段。\n第二段文字比较长一些。")], 12, indent="    ", first_indent="> "))
    assert lines == ["> 第一段。", "    第二段文", "    字比较长", "    一些。"]
    assert plain(wrap([Run("不换行的一整段，哪怕很长很长很长。")], None, "  ")) == [
        "  不换行的一整段，哪怕很长很长很长。"
    ]


def test_a_colour_span_broken_over_lines_is_closed_and_reopened_on_each() -> None:
    lines = wrap([Run("答案："), Run("六家企业获评示范企业", "1;32"), Run("。")], 10)
    assert [to_ansi(line, True) for line in lines] == [
        "答案：\x1b[1;32m六家\x1b[0m",
        "\x1b[1;32m企业获评示\x1b[0m",
        "\x1b[1;32m范企业\x1b[0m。",
    ]


def test_cut_ends_in_an_ellipsis_within_the_width() -> None:
    runs = [Run("[1] ", "1"), Run("洛阳 › 网信"), Run(" — 六家企业获评", "1;32")]
    assert to_ansi(cut(runs, 14), False) == "[1] 洛阳 › 网…"
    assert to_ansi(cut(runs, 14), True) == "\x1b[1m[1] \x1b[0m洛阳 › 网…"
    assert to_ansi(cut(runs, 100), False) == "[1] 洛阳 › 网信 — 六家企业获评"
    assert to_ansi(cut(runs, None), False) == "[1] 洛阳 › 网信 — 六家企业获评"
    for columns in range(0, 40):
        assert width(to_ansi(cut(runs, columns), False)) <= columns


def test_cut_middle_keeps_the_start_and_the_end_of_a_file_name() -> None:
    name = "洛阳-关于中央、省委相关会议精神及我市贯彻落实意见的汇报-2016-11-21.txt"
    assert cut_middle(name, 22) == "洛阳-关…2016-11-21.txt"
    assert cut_middle(name, 17) == "洛阳-关…11-21.txt"  # not "…6-11-21.txt": the end starts at a separator
    assert cut_middle(name, 200) == name
    assert all(width(cut_middle(name, n)) <= n for n in range(0, 80))


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[31m红色\x1b[0m", "红色"),  # colours
        ("\x1b[2J\x1b[H清屏", "清屏"),  # clear screen, cursor home
        ("\x1b]0;pwned\x07标题", "标题"),  # window title (OSC … BEL)
        ("\x1b]8;;http://evil.test\x1b\\链接\x1b]8;;\x1b\\", "链接"),  # hyperlink (OSC … ST)
        ("\x1bP+q\x1b\\查询", "查询"),  # device control string
        ("\x9b31m八位\x9b0m", "八位"),  # 8-bit CSI
        ("\x1b]0;不完整", "0;不完整"),  # an unterminated OSC: its introducer goes, the text stays harmless
        ("响铃\x07退格\x08回车\r删除\x7f", "响铃退格回车删除"),
        ("\u202eevil\u202c", "evil"),  # a right-to-left override would reorder what follows
        ("第一行\r\n第二行\t制表", "第一行\n第二行 制表"),
        ("普通文字，“引号”、数字 12 和 English。", "普通文字，“引号”、数字 12 和 English。"),
    ],
)
def test_clean_removes_what_a_terminal_would_obey(raw: str, shown: str) -> None:
    assert clean(raw) == shown


@given(st.text())
def test_cleaned_text_holds_no_control_character_but_line_feeds(text: str) -> None:
    assert not [c for c in clean(text) if c != "\n" and _is_control(c)]


def _is_control(c: str) -> bool:
    return ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or 0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069
