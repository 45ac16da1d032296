"""Clean-up shared by the format readers: code points, broken lines, page furniture, table rows.

Text layers of Chinese PDFs (and text copied from them) carry three kinds of damage:

- **Radical code points.** A CJK font draws ⼈ (KANGXI RADICAL MAN, U+2F08) and 人 (U+4EBA) with
  one glyph, and the PDF's glyph → Unicode map may name the radical. NFKC would repair the
  Kangxi block but not the CJK Radicals Supplement (⻅ ⺠ ⻓ for 见 民 长), and NFKC also
  rewrites full-width punctuation and digits that Chinese text means to keep. `fix_code_points`
  maps exactly these code points, one for one, so offsets are unchanged.
- **Lines broken inside sentences.** `join_lines` rebuilds paragraphs from the page layout:
  a line that reaches the right margin continues on the next unless that one is indented,
  set apart or in another font size.
- **Page furniture.** Running headers and footers repeated page after page, and page numbers
  (`- 3 -`, `第 3 页`, `3/50`): `drop_furniture` removes them.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from assistant.ingest.structure import starts_heading


def _decomposition_map(ranges: Sequence[tuple[int, int]], compat: bool) -> dict[int, int]:
    """Code points whose Unicode decomposition is one ideograph (`<compat>` ones if `compat`)."""
    table: dict[int, int] = {}
    for lo, hi in ranges:
        for cp in range(lo, hi + 1):
            parts = unicodedata.decomposition(chr(cp)).split()
            if compat and parts[:1] == ["<compat>"]:
                parts = parts[1:]
            elif parts[:1] and parts[0].startswith("<"):
                continue
            if len(parts) == 1:
                table[cp] = int(parts[0], 16)
    return table


# CJK Radicals Supplement: Unicode gives no decomposition for most of it (only ⺟ and ⻳).
# The equivalent ideographs below follow Unicode's EquivalentUnifiedIdeograph.txt; each was
# checked by hand against the Noto CJK fonts, which draw both code points with one glyph (the
# cause of the damage). Radicals that only exist as components and have no such ideograph
# (⺀ ⺈ ⺪ ⺴ ⺵ ⺶ ⺷ ⺸ …) are left as they are: no font writes them for a whole character.
_SUPPLEMENT = {
    0x2E81: 0x5382, 0x2E82: 0x4E5B, 0x2E83: 0x4E5A, 0x2E84: 0x4E59, 0x2E85: 0x4EBB,  # ⺁厂 ⺂乛 ⺃乚 ⺄乙 ⺅亻
    0x2E86: 0x5182, 0x2E87: 0x20628, 0x2E89: 0x5202, 0x2E8A: 0x535C, 0x2E8B: 0x353E,  # ⺆冂 ⺇𠘨 ⺉刂 ⺊卜 ⺋㔾
    0x2E8C: 0x5C0F, 0x2E8D: 0x2D544, 0x2E8E: 0x5140, 0x2E8F: 0x5C23, 0x2E90: 0x5C22,  # ⺌小 ⺍𭕄 ⺎兀 ⺏尣 ⺐尢
    0x2E92: 0x5DF3, 0x2E93: 0x5E7A, 0x2E94: 0x5F51, 0x2E95: 0x5F50, 0x2E96: 0x5FC4,  # ⺒巳 ⺓幺 ⺔彑 ⺕彐 ⺖忄
    0x2E98: 0x624C, 0x2E99: 0x6535, 0x2E9B: 0x65E1, 0x2E9C: 0x65E5, 0x2E9D: 0x6708,  # ⺘扌 ⺙攵 ⺛旡 ⺜日 ⺝月
    0x2E9E: 0x6B7A, 0x2E9F: 0x6BCD, 0x2EA0: 0x6C11, 0x2EA1: 0x6C35, 0x2EA2: 0x6C3A,  # ⺞歺 ⺟母 ⺠民 ⺡氵 ⺢氺
    0x2EA3: 0x706C, 0x2EA4: 0x722B, 0x2EA6: 0x4E2C, 0x2EA8: 0x72AD, 0x2EA9: 0x248E9,  # ⺣灬 ⺤爫 ⺦丬 ⺨犭 ⺩𤣩
    0x2EAB: 0x7F52, 0x2EAC: 0x793A, 0x2EAD: 0x793B, 0x2EAE: 0x25AD7, 0x2EAF: 0x7CF9,  # ⺫罒 ⺬示 ⺭礻 ⺮𥫗 ⺯糹
    0x2EB0: 0x7E9F, 0x2EB1: 0x7F53, 0x2EB2: 0x7F52, 0x2EB3: 0x34C1, 0x2EB9: 0x8002,  # ⺰纟 ⺱罓 ⺲罒 ⺳㓁 ⺹耂
    0x2EBA: 0x8080, 0x2EBB: 0x807F, 0x2EBC: 0x8089, 0x2EBD: 0x26951, 0x2EBE: 0x8279,  # ⺺肀 ⺻聿 ⺼肉 ⺽𦥑 ⺾艹
    0x2EBF: 0x8279, 0x2EC0: 0x8279, 0x2EC1: 0x864E, 0x2EC2: 0x8864, 0x2EC3: 0x8980,  # ⺿艹 ⻀艹 ⻁虎 ⻂衤 ⻃覀
    0x2EC4: 0x897F, 0x2EC5: 0x89C1, 0x2EC6: 0x89D2, 0x2EC7: 0x278B2, 0x2EC8: 0x8BA0,  # ⻄西 ⻅见 ⻆角 ⻇𧢲 ⻈讠
    0x2EC9: 0x8D1D, 0x2ECA: 0x27FB7, 0x2ECB: 0x8F66, 0x2ECC: 0x8FB6, 0x2ECD: 0x8FB6,  # ⻉贝 ⻊𧾷 ⻋车 ⻌辶 ⻍辶
    0x2ECE: 0x8FB6, 0x2ECF: 0x961D, 0x2ED0: 0x9485, 0x2ED1: 0x9577, 0x2ED2: 0x9578,  # ⻎辶 ⻏阝 ⻐钅 ⻑長 ⻒镸
    0x2ED3: 0x957F, 0x2ED4: 0x95E8, 0x2ED5: 0x28E0F, 0x2ED6: 0x961D, 0x2ED7: 0x96E8,  # ⻓长 ⻔门 ⻕𨸏 ⻖阝 ⻗雨
    0x2ED8: 0x9752, 0x2ED9: 0x97E6, 0x2EDA: 0x9875, 0x2EDB: 0x98CE, 0x2EDC: 0x98DE,  # ⻘青 ⻙韦 ⻚页 ⻛风 ⻜飞
    0x2EDD: 0x98DF, 0x2EDE: 0x2967F, 0x2EDF: 0x98E0, 0x2EE0: 0x9963, 0x2EE1: 0x29810,  # ⻝食 ⻞𩙿 ⻟飠 ⻠饣 ⻡𩠐
    0x2EE2: 0x9A6C, 0x2EE3: 0x9AA8, 0x2EE4: 0x9B3C, 0x2EE5: 0x9C7C, 0x2EE6: 0x9E1F,  # ⻢马 ⻣骨 ⻤鬼 ⻥鱼 ⻦鸟
    0x2EE7: 0x5364, 0x2EE8: 0x9EA6, 0x2EE9: 0x9EC4, 0x2EEA: 0x9EFE, 0x2EEB: 0x6589,  # ⻧卤 ⻨麦 ⻩黄 ⻪黾 ⻫斉
    0x2EEC: 0x9F50, 0x2EED: 0x6B6F, 0x2EEE: 0x9F7F, 0x2EEF: 0x7ADC, 0x2EF0: 0x9F99,  # ⻬齐 ⻭歯 ⻮齿 ⻯竜 ⻰龙
    0x2EF1: 0x9F9C, 0x2EF2: 0x4E80, 0x2EF3: 0x9F9F,  # ⻱龜 ⻲亀 ⻳龟
}  # fmt: skip

KANGXI = (0x2F00, 0x2FDF)
SUPPLEMENT = (0x2E80, 0x2EFF)
COMPATIBILITY = ((0xF900, 0xFAFF), (0x2F800, 0x2FA1F))

# Kangxi radicals decompose (<compat>) to their ideograph; compatibility ideographs decompose
# canonically (a few in U+FA0E–FA29 are ordinary ideographs without one, and stay).
CODE_POINTS: dict[int, int] = {
    **_decomposition_map([KANGXI], compat=True),
    **_SUPPLEMENT,
    **_decomposition_map(COMPATIBILITY, compat=False),
    # ⼾ decomposes to the traditional 戶, but Simplified Chinese fonts draw it with the glyph of 户,
    # so `用⼾` in a mainland PDF means 用户 (the only such case in the Noto CJK SC faces)
    0x2F3E: 0x6237,
}


def fix_code_points(text: str) -> str:
    """Radicals and compatibility ideographs → the ordinary ideographs; same length, offsets kept."""
    return text.translate(CODE_POINTS)


def is_radical(ch: str) -> bool:
    """True for a code point of the Kangxi Radicals or CJK Radicals Supplement blocks."""
    cp = ord(ch)
    return KANGXI[0] <= cp <= KANGXI[1] or SUPPLEMENT[0] <= cp <= SUPPLEMENT[1]


# --------------------------------------------------------------------------- joining pieces


def _wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def join_pieces(left: str, right: str) -> str:
    """Join two pieces of one paragraph split by a line break: nothing between Chinese text,
    one space between Latin words, a hyphen at the break dropped (`infor-` `mation`)."""
    left, right = left.rstrip(), right.lstrip()
    if not left or not right:
        return left + right
    if left[-1] == "-" and len(left) > 1 and left[-2].isalpha():
        return (left[:-1] if right[0].islower() else left) + right  # `infor-mation`, but `GDP-Wachstum`
    if _wide(left[-1]) or _wide(right[0]):
        return left + right
    return f"{left} {right}"


def collapse_space(text: str) -> str:
    """White space as a browser shows it: each run one space, but a line break next to
    Chinese text none (it only wrapped the source)."""

    def one(m: re.Match[str]) -> str:
        a, b = text[m.start() - 1 : m.start()], text[m.end() : m.end() + 1]
        if a and b and ("\n" in m.group() or "\r" in m.group()) and (_wide(a) or _wide(b)):
            return ""
        return " "

    return re.sub(r"\s+", one, text).strip()


# --------------------------------------------------------------------------- table rows

MAX_HEADER_CELL = 20


def table_rows(rows: Sequence[Sequence[str]]) -> list[str]:
    """A table as readable lines, one per row. With a header row (short, distinct, not numbers),
    each row names its columns, `地区：洛阳，企业数：6 家`, so a row quoted alone still says what
    its numbers are; without one, the cells in order."""
    rows = [[collapse_space(c) for c in row] for row in rows]
    rows = [row for row in rows if any(row)]
    if not rows:
        return []
    head = rows[0]
    keyed = (
        len(rows) > 1
        and len(head) > 1
        and all(head)
        and len(set(head)) == len(head)
        and all(len(c) <= MAX_HEADER_CELL and not re.fullmatch(r"[\d.,%\s-]+", c) for c in head)
    )
    if not keyed:
        return ["，".join(c for c in row if c) for row in rows]
    lines = []
    for row in rows[1:]:
        cells = [f"{h}：{c}" for h, c in zip(head, row, strict=False) if c]
        if cells:
            lines.append("，".join(cells))
    return lines


# --------------------------------------------------------------------------- page layout


@dataclass(frozen=True)
class Line:
    """One text line of a page; coordinates in points from the page's top-left corner."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float  # the median height of its characters: the font size, near enough
    # where wide gaps cut the line into cells, (x0, text) each: a table's row; () for running text
    cells: tuple[tuple[float, str], ...] = ()
    row: bool = False  # a table row, its text naming its columns: a paragraph of its own


@dataclass(frozen=True)
class Page:
    lines: tuple[Line, ...]  # in reading order
    height: float


# A line that is only a page number: `3`, `- 3 -`, `— 3 —`, `第 3 页`, `第3页 共50页`, `3/50`, `Page 3 of 50`.
_PAGE_NUMBER = re.compile(
    r"[-—–－_~·•\s]*(?:第\s*\d{1,4}\s*页(?:\s*[，,/]?\s*共\s*\d{1,4}\s*页)?|\d{1,4}(?:\s*/\s*\d{1,4})?"
    r"|(?:page|p\.)\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?)[-—–－_~·•\s]*",
    re.IGNORECASE,
)
BAND_LINES = 2  # lines at each page edge that may be a running header or footer
REPEATED_SHARE = 0.3  # on at least this share of the pages (and two), an edge line is furniture


def _furniture_key(text: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", text))


def _edges(page: Page) -> tuple[set[int], set[int]]:
    """(lines near the top or bottom edge, the outermost line at each edge), as indexes."""
    by_top = sorted(range(len(page.lines)), key=lambda i: page.lines[i].top)
    outer = set(by_top[:1]) | set(by_top[-1:])
    return set(by_top[:BAND_LINES]) | set(by_top[-BAND_LINES:]), outer


def drop_furniture(pages: Sequence[Page]) -> list[list[Line]]:
    """Each page's lines without running headers, footers and page numbers.

    Only lines at a page's top or bottom edge are candidates: a page number alone on the
    outermost line, or one of the two lines at an edge when it recurs (numbers aside) at the
    edges of many pages (`洛阳市委网信办`, `file:///… 3/8`, the date and title a browser prints).
    """
    edges = [_edges(page) for page in pages]
    seen: Counter[str] = Counter()
    for page, (band, _) in zip(pages, edges, strict=True):
        seen.update({_furniture_key(page.lines[i].text) for i in band})
    repeated = _recurring(seen, max(2, REPEATED_SHARE * len(pages)))
    out = []
    for page, (band, outer) in zip(pages, edges, strict=True):
        kept = [
            line
            for i, line in enumerate(page.lines)
            if not (i in band and _furniture_key(line.text) in repeated and not _in_table(page.lines, i))
            and not (i in outer and _PAGE_NUMBER.fullmatch(line.text))
        ]
        out.append(kept)
    return out


FUZZY_SAME = 0.9  # OCR misreads a few characters of a running line (tmpjzlad28d as tmpjzIad28d): still the same line
FUZZY_CHARS = 8  # shorter lines must recur exactly
FUZZY_KEYS = 400  # distinct edge lines above which only exact recurrence counts (comparing them all grows as n²)


def _recurring(seen: Counter[str], need: float) -> set[str]:
    """The edge-line keys seen on at least `need` pages: exactly, or (scanned pages) nearly alike."""
    repeated = {key for key, n in seen.items() if n >= need and key}
    rest = [key for key in seen if key not in repeated and len(key) >= FUZZY_CHARS]
    if len(rest) <= FUZZY_KEYS:
        for key in rest:
            alike = (seen[other] for other in rest if SequenceMatcher(None, key, other).ratio() >= FUZZY_SAME)
            if sum(alike) >= need:
                repeated.add(key)
    return repeated


def _in_table(lines: Sequence[Line], i: int) -> bool:
    """A table's row, by a neighbour cut into the same columns: rows of numbers recur, digits aside, at the
    edges of the pages a long table fills, and are not running headers. (Cells that merely fit under
    a line's are no sign: a browser's header and footer lines fit each other so.)"""
    near = [lines[j] for j in (i - 1, i + 1) if 0 <= j < len(lines)]
    return any(_aligned(lines[i], other) for other in near)


@dataclass(frozen=True)
class _Layout:
    left: float  # where continuation lines start
    right: float  # where full lines end
    em: float  # body font size
    pitch: float  # usual distance from one line's top to the next one's


def _mode(values: list[float]) -> float:
    return Counter(round(v) for v in values).most_common(1)[0][0]


def _layout(pages: Sequence[Sequence[Line]]) -> _Layout:
    lines = [line for page in pages for line in page]
    em = statistics.median(line.size for line in lines)
    pitches = [
        b.top - a.top for page in pages for a, b in zip(page, page[1:], strict=False) if 0 < b.top - a.top < 3 * em
    ]
    return _Layout(
        left=_mode([line.x0 for line in lines]),
        right=_mode([line.x1 for line in lines]),
        em=em,
        pitch=statistics.median(pitches) if pitches else 1.5 * em,
    )


def _continues(prev: Line, line: Line, layout: _Layout, same_page: bool) -> bool:
    """The next line carries on the previous one's paragraph: the previous one reaches the right
    margin (or nearly, when it stops mid-sentence: a long Latin word or number did not fit)."""
    if prev.row or line.row:
        return False
    em = layout.em
    mid_sentence = prev.text.rstrip()[-1:] not in "。！？；：!?;:”」』）)"
    full = prev.x1 >= layout.right - (4 if mid_sentence else 1.5) * em
    indented = line.x0 >= layout.left + 1.2 * em
    resized = abs(line.size - prev.size) > 0.15 * max(prev.size, line.size)
    heading = prev.text.rstrip()[-1:] in "。！？；：!?;:" and starts_heading(line.text.strip())
    return full and not indented and not resized and not heading and not (same_page and _apart(prev, line, layout))


def _apart(prev: Line, line: Line, layout: _Layout) -> bool:
    """More space between the lines than their font size calls for: a new block."""
    expected = layout.pitch * max(prev.size, line.size) / layout.em
    return line.top - prev.top > expected + 0.5 * layout.em


MIN_TABLE_ROWS = 2  # aligned lines that make a table: one alone is a line that happens to have gaps
COLUMN_TOLERANCE = 3.0  # points: cells of one column start this close


def _aligned(a: Line, b: Line) -> bool:
    return len(a.cells) == len(b.cells) >= 2 and all(
        abs(x - y) <= COLUMN_TOLERANCE for (x, _), (y, _) in zip(a.cells, b.cells, strict=True)
    )


def _heads(header: Line, row: Line) -> bool:
    """`header` can head `row`'s columns: as many cells, each starting within its column (header cells are
    often centred over left-aligned ones)."""
    if len(header.cells) != len(row.cells) or len(row.cells) < 2:
        return False
    starts = [x for x, _ in row.cells] + [float("inf")]
    return all(starts[k] - COLUMN_TOLERANCE <= x < starts[k + 1] for k, (x, _) in enumerate(header.cells))


def _texts(line: Line) -> list[str]:
    return [t for _, t in line.cells]


def mark_tables(pages: Sequence[Sequence[Line]]) -> list[list[Line]]:
    """Tables found in the layout: runs of lines cut into the same columns, headed by the line just above
    when its cells fit those columns. Each row becomes one line naming its columns (`县（市、区）：涧西区，
    网信机构人数：7`, `table_rows`), so that a row read or quoted alone, in whichever passage a long table
    ends up, still says what its numbers are; the header line itself goes, every row carrying it. A
    header printed again on the next page (as browsers and Word repeat it) is dropped and the table goes on.
    """
    out: list[list[Line]] = []
    columns: Line | None = None  # a row of the open table, whose cells give the columns
    header: Line | None = None
    for page in pages:
        kept: list[Line] = []
        lines = list(page)
        i = 0
        while i < len(lines):
            line = lines[i]
            if columns is not None and _aligned(columns, line):
                kept.append(_row(header, line))
                i += 1
                continue
            if columns is not None and header is not None and _texts(line) == _texts(header):
                i += 1  # the header again, at the top of the next page
                continue
            columns = header = None
            run = 1
            while i + run < len(lines) and _aligned(line, lines[i + run]):
                run += 1
            if run >= MIN_TABLE_ROWS:
                columns = line
                if kept and _heads(kept[-1], line):
                    header = kept.pop()
                kept += [_row(header, row) for row in lines[i : i + run]]
                i += run
                continue
            kept.append(line)
            i += 1
        out.append(kept)
    return out


def _row(header: Line | None, line: Line) -> Line:
    # with a header that names its columns, one keyed line; else the cells in order
    rows = table_rows([_texts(header), _texts(line)]) if header is not None else []
    text = rows[-1] if len(rows) == 1 else "，".join(t for t in _texts(line) if t)
    return Line(text, line.x0, line.x1, line.top, line.bottom, line.size, line.cells, row=True)


def join_lines(pages: Sequence[Sequence[Line]], placed: list[tuple[int, int, int, Line]] | None = None) -> str:
    """The pages' lines as paragraphs, one a line; a blank line where the layout leaves a gap.

    With `placed`, each line kept is appended to it as (page index, start, end, line): where the
    line's text stands in the result, for page numbers and highlights in citations.
    """
    if not any(pages):
        return ""
    layout = _layout(pages)
    out: list[str] = []
    spots: list[tuple[int, int, int, Line]] = []  # (page, paragraph, offset in it, line)
    prev: Line | None = None
    for number, page in enumerate(pages):
        for i, line in enumerate(page):
            text = line.text.strip()
            if not text:
                continue
            if prev is None:
                out.append(text)
                spots.append((number, len(out) - 1, 0, line))
            elif _continues(prev, line, layout, same_page=i > 0):
                joined = join_pieces(out[-1], text)
                out[-1] = joined
                spots.append((number, len(out) - 1, len(joined) - len(text), line))
            else:
                gap = i > 0 and _apart(prev, line, layout)
                out.append(("\n" if gap else "") + text)
                spots.append((number, len(out) - 1, int(gap), line))
            prev = line
    if placed is not None:
        starts = [0]
        for para in out:
            starts.append(starts[-1] + len(para) + 1)
        for k, (number, para, offset, line) in enumerate(spots):
            start = starts[para] + offset
            # a line ends where the next one of its paragraph starts (a joined hyphen is gone), or with it
            nxt = spots[k + 1] if k + 1 < len(spots) else None
            end = starts[para] + (nxt[2] if nxt and nxt[1] == para else len(out[para]))
            placed.append((number, start, max(start, end), line))
    return "\n".join(out) + "\n"
