"""Paragraphs, headings and the title of a document's text, whatever format it came from.

Split the text into paragraphs with a heading path each, repairing what page breaks and
Markdown conversion did (sentences cut by a blank line, `**` bold markers). Repairs never
copy text: each clean character remembers its offset in `Document.text`.

Headings: the numbering of Chinese official documents (`一、` `（一）` `1.`), Markdown `#`
(which the .docx and .html readers also write for heading styles and `<h1>`–`<h6>`), and in
.docx/.html text a bold lead-in (`**一是加强领导。**各级…`), which only those readers mark.
The title (the first short lines) heads every section path.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from assistant.schema import Document
from assistant.text.numbers import chinese_number

# Formats whose text marks headings with `#` (written so by the .docx and .html readers)
MARKDOWN_FORMATS = frozenset({"md", "docx", "html"})
# Formats whose readers write one paragraph a line: nothing to repair between lines (the PDF
# reader joins broken lines from the page layout, which knows more than the text does)
WHOLE_PARAGRAPHS = frozenset({"docx", "html", "pdf"})

# A line ending with one of these finishes a sentence (or a clause that may stand
# alone); anything else followed by more body text was cut by a page break.
SENTENCE_END = frozenset("。！？；…：!?;:")
CLOSERS = frozenset("”’」』）)》〉】〕］]\"'")

CN_NUM = "一二三四五六七八九十百零〇"
# Heading patterns of Chinese official documents, tried on the clean, stripped line.
_LEVEL1 = re.compile(rf"[{CN_NUM}]+、")
_LEVEL2 = re.compile(rf"[(（]\s*[{CN_NUM}]+\s*[)）]")
_LEVEL3 = re.compile(r"\d{1,2}\s*[.．、](?!\s*\d)")
# Chapters and parts above `一、`: 第一章 / 第一部分 / 第一篇 / 第一编, and 第一节 under them.
_CHAPTER = re.compile(rf"第\s*[{CN_NUM}\d]{{1,3}}\s*(章|部分|篇|编|节)")
_MD_HEADING = re.compile(r"[ \t]*(#{1,6})[ \t]+")
_MD_BLOCK = re.compile(r"[-*+>]\s|\|")  # list, quote or table lines: never joined
_DATE = re.compile(
    r"[(（]?\s*(?:\d{4}|[〇零一二三四五六七八九]{4})\s*年"
    r"(?:\s*[\d〇零一二三四五六七八九十]{1,3}\s*月(?:\s*[\d〇零一二三四五六七八九十]{1,3}\s*日)?)?\s*[)）]?"
)
_HEADING_END = "。！？"

# Section ranks: Markdown depths nest outside the numbered headings of the text.
_CN_RANK = {1: 10, 2: 11, 3: 12}
_CHAPTER_RANK = {"节": 9}  # the others 8
_BOLD_RANK = 13  # a bold lead-in heading sits under the numbered ones
MAX_HEADING_CHARS = 80  # longer "headings" are numbered list items, not titles
MAX_BOLD_HEADING_CHARS = 40  # a longer bold lead-in is emphasis, not a heading
MAX_TITLE_CHARS = 60


# --------------------------------------------------------------------------- structure


@dataclass(frozen=True)
class Paragraph:
    """Clean text of one paragraph; `offsets[i]` is the index in `Document.text` of `text[i]`."""

    section: tuple[str, ...]
    text: str
    offsets: tuple[int, ...] = field(repr=False)
    is_heading: bool = False  # a heading standing alone on its line
    kind: str = "body"  # "title", "date", "heading" or "body"

    @property
    def start(self) -> int:
        return self.offsets[0]

    @property
    def end(self) -> int:
        return self.offsets[-1] + 1


@dataclass(frozen=True)
class _Line:
    text: str  # clean: `**` removed, stripped
    offsets: tuple[int, ...]
    blank_before: bool  # a blank line separates it from the previous line
    md_depth: int = 0  # Markdown heading depth, 0 if not a Markdown heading
    bold_lead: int = 0  # how many leading characters of `text` are a `**…**` lead-in (.docx/.html)


def _raw_lines(text: str) -> Iterator[tuple[int, str]]:
    """(offset, line without its line break); splitlines also breaks at form feeds."""
    pos = 0
    for chunk in text.splitlines(keepends=True):
        yield pos, chunk.rstrip("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
        pos += len(chunk)


def bold_markers(text: str) -> frozenset[int]:
    """Offsets of the `*` of `**` markers, paired left to right over the non-white-space
    characters, exactly as `re.sub(r"\\s+", "", text).replace("**", "")` would drop them."""
    markers: set[int] = set()
    pending = -1
    for i, ch in enumerate(text):
        if ch.isspace():
            continue
        if ch != "*":
            pending = -1
        elif pending < 0:
            pending = i
        else:
            markers.update((pending, i))
            pending = -1
    return frozenset(markers)


def _clean_line(raw: str, base: int, markdown: bool, markers: frozenset[int]) -> tuple[str, tuple[int, ...], int, int]:
    """Drop `**` (and a Markdown heading's `#` marks), strip, keep each char's offset.

    Returns (text, offsets, Markdown depth, length of the `**…**` lead-in the line opens with).
    """
    depth = 0
    skip = 0
    if markdown and (m := _MD_HEADING.match(raw)):
        depth, skip = len(m.group(1)), m.end()
    kept = [(raw[i], base + i) for i in range(skip, len(raw)) if base + i not in markers]
    lo, hi = 0, len(kept)
    while lo < hi and kept[lo][0].isspace():
        lo += 1
    while hi > lo and kept[hi - 1][0].isspace():
        hi -= 1
    lead = 0
    opening = next((i for i in range(skip, len(raw)) if not raw[i].isspace()), len(raw))
    if base + opening in markers and lo < hi:
        closing = next((i for i in range(opening + 2, len(raw)) if base + i in markers), len(raw))
        lead = sum(1 for _, o in kept[lo:hi] if o < base + closing)
    return "".join(c for c, _ in kept[lo:hi]), tuple(o for _, o in kept[lo:hi]), depth, lead


def _lines(doc: Document) -> list[_Line]:
    markdown = doc.format in MARKDOWN_FORMATS
    bold_marked = doc.format in MARKDOWN_FORMATS - {"md"}  # only their readers write `**` for real bold type
    markers = bold_markers(doc.text)
    lines: list[_Line] = []
    blank = False
    for base, raw in _raw_lines(doc.text):
        text, offsets, depth, lead = _clean_line(raw, base, markdown, markers)
        if not text:
            blank = True
            continue
        lines.append(_Line(text, offsets, blank or not lines, depth, lead if bold_marked else 0))
        blank = False
    return lines


def ends_sentence(text: str) -> bool:
    """True if a line's clean text ends a sentence (so a page break there is a real break)."""
    stripped = text.rstrip()
    return bool(stripped) and (stripped[-1] in SENTENCE_END or stripped[-1] in CLOSERS)


def heading_level(line: str) -> int:
    """1 for `一、`, 2 for `(一)`/`（一）`, 3 for `1.`/`1．`/`1、`; 0 if not a heading."""
    for level, pattern in ((1, _LEVEL1), (2, _LEVEL2), (3, _LEVEL3)):
        m = pattern.match(line)
        if m and line[m.end() :].strip():
            return level
    return 0


def starts_heading(line: str) -> bool:
    """True if a line opens with a heading number: `一、` `（一）` `1.` or `第一章` `第一部分` `第一节`."""
    return heading_level(line) > 0 or _CHAPTER.match(line) is not None


def _heading_title(text: str) -> tuple[str, bool]:
    """(title, standalone): the title is the first sentence, without its end mark.

    A heading line with more text after its first sentence (`4.积极主动作为，…果断。健全…`)
    is an inline heading: the title names the section and the line is its first body paragraph.
    """
    cut = min((i for i in (text.find(c) for c in _HEADING_END) if i >= 0), default=-1)
    if cut < 0:
        return text.strip(), True
    return text[:cut].strip(), not text[cut + 1 :].strip()


def _is_date(text: str) -> bool:
    return _DATE.fullmatch(text.strip()) is not None


def _nws(text: str) -> int:
    return sum(1 for c in text if not c.isspace())


def _looks_like_title(line: _Line) -> bool:
    t = line.text
    return (
        _nws(t) <= MAX_TITLE_CHARS
        and not any(c in t for c in _HEADING_END)
        and not ends_sentence(t)
        and not _is_date(t)
        and heading_level(t) == 0
        and not _CHAPTER.match(t)
        and line.md_depth == 0
    )


def _title_count(lines: list[_Line]) -> int:
    """How many leading lines form the title (0 if the document has none).

    A title may wrap over lines with no blank line between them (as PDF conversion does),
    but never across a blank line: what follows a blank line is the date or the text.
    """
    if not lines:
        return 0
    first = lines[0]
    if first.md_depth == 1:
        # `# Title` is the title when it is the only top-level Markdown heading
        return 1 if sum(1 for ln in lines if ln.md_depth == 1) == 1 else 0
    if not _looks_like_title(first):
        return 0
    n = 1
    total = _nws(first.text)
    while n < len(lines) and not lines[n].blank_before and _looks_like_title(lines[n]):
        total += _nws(lines[n].text)
        if total > MAX_TITLE_CHARS:
            break
        n += 1
    return n


def _heading(line: _Line) -> tuple[int, str, bool] | None:
    """(rank, title, standalone) if the line is a heading."""
    if line.md_depth:
        return line.md_depth - 1, line.text.strip(), True
    if (m := _CHAPTER.match(line.text)) and _nws(line.text) <= MAX_HEADING_CHARS and not ends_sentence(line.text):
        return _CHAPTER_RANK.get(m.group(1), 8), line.text.strip(), True
    level = heading_level(line.text)
    if not level:
        return _bold_heading(line)
    title, standalone = _heading_title(line.text)
    if _nws(title) > MAX_HEADING_CHARS:
        return None
    return _CN_RANK[level], title, standalone


def _bold_heading(line: _Line) -> tuple[int, str, bool] | None:
    """A short bold lead-in names a section: a whole bold line that is not a sentence stands
    alone (`主要做法`); a bold opening phrase (`一是加强领导。`) is an inline heading."""
    if not line.bold_lead:
        return None
    lead = line.text[: line.bold_lead].strip()
    if not lead or _nws(lead) > MAX_BOLD_HEADING_CHARS:
        return None
    if line.bold_lead >= len(line.text.rstrip()):
        if lead[-1] in "。！？；!?;":
            return None  # an emphasised sentence
        return _BOLD_RANK, lead.rstrip("：:，, "), True
    if lead[-1] not in "。：:；，,;" and _nws(lead) > MAX_BOLD_HEADING_CHARS // 2:
        return None
    title = lead.rstrip("。：:；，,; ")
    return (_BOLD_RANK, title, False) if title else None


def _continues(prev: Paragraph, line: _Line, markdown: bool) -> bool:
    """A body line continues the previous body paragraph cut mid-sentence (a page break)."""
    if prev.kind != "body" or ends_sentence(prev.text):
        return False
    return not (markdown and (_MD_BLOCK.match(line.text) or _MD_BLOCK.match(prev.text)))


def paragraphs(doc: Document) -> list[Paragraph]:
    """The document's paragraphs in order, repaired, each with its heading path."""
    lines = _lines(doc)
    markdown = doc.format in MARKDOWN_FORMATS
    repair = doc.format not in WHOLE_PARAGRAPHS
    out: list[Paragraph] = []
    n_title = _title_count(lines)
    # The title heads every section path: it names what each passage is about (a Wikipedia-style
    # article's sentences often do not repeat their subject), and, as a heading, it is never an answer.
    top: tuple[str, ...] = ()
    if n_title:
        title_lines = lines[:n_title]
        text = "".join(ln.text for ln in title_lines)
        top = (text.strip(),)
        out.append(Paragraph(top, text, tuple(o for ln in title_lines for o in ln.offsets), True, "title"))
    elif doc.meta_title:  # a .docx/PDF/page without a title line still names its subject in its metadata
        top = (doc.meta_title,)
    stack: list[tuple[int, str]] = []
    for line in lines[n_title:]:
        section = top + tuple(title for _, title in stack)
        head = _heading(line)
        if head is not None:
            rank, title, standalone = head
            stack = [entry for entry in stack if entry[0] < rank] + [(rank, title)]
            section = top + tuple(t for _, t in stack)
            kind = "heading" if standalone else "body"
            out.append(Paragraph(section, line.text, line.offsets, is_heading=standalone, kind=kind))
        elif _is_date(line.text):
            out.append(Paragraph(section, line.text, line.offsets, kind="date"))
        elif repair and out and out[-1].section == section and _continues(out[-1], line, markdown):
            prev = out[-1]
            out[-1] = Paragraph(section, prev.text + line.text, prev.offsets + line.offsets)
        else:
            out.append(Paragraph(section, line.text, line.offsets))
    return out


def title(doc: Document) -> str:
    """The document's title: its first short lines, else the title its metadata gives, else the file stem."""
    paras = paragraphs(doc)
    if paras and paras[0].kind == "title":
        return paras[0].text.strip()
    return doc.meta_title or Path(doc.name).stem


DATE_LINES = 4  # the date of a report stands among its first lines, under the title


def report_date(doc: Document) -> str | None:
    """The date among the document's first lines, ISO style: `(2016 年 11 月 21 日)` → "2016-11-21"
    (or "2016-11", "2016" when that is all it says); None when there is none."""
    for para in paragraphs(doc)[:DATE_LINES]:
        if para.kind == "date":
            return parse_date(para.text)
    return None


_DATE_PARTS = re.compile(r"([\d〇零一二三四五六七八九]{4})\s*年(?:\s*([\d〇零一二三四五六七八九十]{1,3})\s*月"
                         r"(?:\s*([\d〇零一二三四五六七八九十]{1,3})\s*日)?)?")  # fmt: skip
# The same date as file names and metadata write it: …的汇报-2016-11-21.txt, 2016_11_21, 2016.11.21
_DATE_DIGITS = re.compile(r"(?<!\d)((?:1[5-9]|20)\d\d)[-_.](\d{1,2})[-_.](\d{1,2})(?!\d)")


def parse_date(text: str) -> str | None:
    """The first date in `text`, ISO style: `2016 年 11 月 21 日`, `二〇一六年十一月二十一日` or a file name's
    `…-2016-11-21` → "2016-11-21" (`2016年` alone → "2016"); None if there is no valid one.

    The one reader of dates for the whole project: a report's date line (`report_date`) and the date
    that binds a question's year to a document (`answer/constraints.py`)."""
    words, digits = _DATE_PARTS.search(text), _DATE_DIGITS.search(text)
    if words and (digits is None or words.start() < digits.start()):
        year = chinese_number(words.group(1))
        month, day = (chinese_number(g) if g else None for g in words.group(2, 3))
    elif digits:
        year, month, day = (int(g) for g in digits.group(1, 2, 3))
    else:
        return None
    try:
        datetime.date(year, month or 1, day or 1)
    except (ValueError, TypeError):
        return None
    if month is None:
        return f"{year:04d}"
    return f"{year:04d}-{month:02d}" if day is None else f"{year:04d}-{month:02d}-{day:02d}"


def leading_date(text: str, lines: int = DATE_LINES) -> str | None:
    """The date of a document's text when one of its first `lines` non-empty lines is a date line (as
    `report_date` reads a `Document`): `(2016 年 11 月 21 日)` under the title → "2016-11-21"."""
    first = [line for line in text.splitlines() if line.strip()][:lines]
    return next((parse_date(line) for line in first if _is_date(line)), None)


# --------------------------------------------------------------------------- lists and outline
#
# A report is mostly lists: the children of a heading (三、 → （一）…（六）) and enumerations in the
# text (一是…二是…, 第一，…第二，…, 首先…其次…最后, inline （一）/1., bullet lines). They are read
# from a document's passages (the indexed, quoted text), so that every item can be cited: an item's
# place is a passage (its number in the sequence given) and offsets into that passage's text.


@dataclass(frozen=True)
class Place:
    """Where a piece of text is quoted from: `passage` (position in the passages given), offsets into its text."""

    passage: int
    start: int
    end: int


@dataclass(frozen=True)
class ListItem:
    number: int  # 1, 2, 3 … as the document numbers it
    lead: str  # the heading or the lead phrase (first clause), without its number mark
    place: Place  # of the lead
    text: str  # the whole item, as far as it runs (for "具体说说第三点"), mark stripped
    last: int  # the last passage the item runs into


@dataclass(frozen=True)
class Enumeration:
    """A list in a document: its items and what introduces them."""

    kind: str  # "heading" (a heading's children), "inline" (一是/第一/首先/（一）/1. in the text), "bullet"
    section: tuple[str, ...]  # the heading path it sits under (a heading list: the parent heading's path)
    parent: str  # the parent heading, or the lead-in sentence(s) before the first item
    lead_in: str  # the sentence announcing the list (以下六个方面 …), "" when none
    lead_in_place: Place | None
    items: tuple[ListItem, ...]
    expected: int | None  # the number the lead-in announces (以下六个方面 → 6), None when unsaid
    first: int  # first and last passage of the list's region (lead-in or heading to the last item)
    last: int

    @property
    def depth(self) -> int:
        return len(self.section)


@dataclass(frozen=True)
class Outline:
    """Title → parts (→ their sections): the root heading list, with the title and date."""

    title: str
    date: str | None
    parts: Enumeration | None  # the top-level headings (一、二、三…), None for a document without headings


class HasText(Protocol):
    """What the list reader needs of a passage (`schema.Passage`)."""

    @property
    def text(self) -> str: ...

    @property
    def section(self) -> tuple[str, ...]: ...


_BOUNDARY = "。；;：:！？!?\n"  # an item mark must open a sentence or clause after one of these
_INLINE_MARKS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("shi", re.compile(r"(?P<n>[一二三四五六七八九十])是")),
    ("di", re.compile(r"第(?P<n>[一二三四五六七八九十])[，,、：:]")),
    ("paren", re.compile(r"[（(]\s*(?P<n>[一二三四五六七八九十])\s*[)）]")),
    ("arabic", re.compile(r"(?<![\d.])(?P<n>\d{1,2})\s*[.、．](?!\d)")),
    ("first", re.compile(r"(?P<w>首先|其次|再次|然后|最后)[，,]")),
)
_FIRST_WORDS = {"首先": 1, "其次": 2, "再次": 3, "然后": 3, "最后": 0}  # 最后 closes whatever came before
_COUNT = re.compile(r"([两一二三四五六七八九十\d]{1,2})\s*(?:个方面|个部分|大部分|部分|方面|点|项|条|个问题|大任务|个)")
_ANNOUNCES = re.compile(r"以下|如下|下列|[：:]\s*$|[两一二三四五六七八九十几]\s*(?:个方面|点|项|条|部分)")
_MARK = re.compile(
    r"^\s*(?:[一二三四五六七八九十]+、|[（(]\s*[一二三四五六七八九十]+\s*[)）]|\d{1,2}\s*[.．、]|"
    r"第[一二三四五六七八九十]+(?:章|部分|节|篇)?[，,、：:\s]?|[一二三四五六七八九十]是|首先|其次|再次|最后|[-*•·]\s)\s*"
)
LEAD_CHARS = 24  # a first sentence longer than this is cut at its first clause


def strip_mark(text: str) -> str:
    """A heading or item without its number mark: `（一）抓正面宣传` → `抓正面宣传`."""
    return _MARK.sub("", text, count=1).strip()


def _count(text: str) -> int | None:
    m = _COUNT.search(text)
    if not m:
        return None
    token = m.group(1)
    if token.isdigit():
        return int(token)
    return 2 if token == "两" else chinese_number(token)


def lead_phrase(text: str) -> tuple[int, int]:
    """(start, end) of an item's lead phrase in `text` (which starts after the mark): its first sentence,
    or its first clause when that sentence is long (`要凝聚共识，画好网上网下同心圆…` → `要凝聚共识`)."""
    start = len(text) - len(text.lstrip(" ，,、：:"))
    end = next((i for i in range(start, len(text)) if text[i] in "。；;！？!?\n"), len(text))
    if end - start > LEAD_CHARS:
        comma = next((i for i in range(start + 4, end) if text[i] in "，,：:"), end)
        end = min(comma, start + LEAD_CHARS) if comma - start > LEAD_CHARS else comma
    return start, end


def _sentence_before(text: str, at: int, sentences: int = 2) -> tuple[int, int]:
    """The `sentences` sentences before offset `at` in `text` (within its paragraph run)."""
    end = at
    while end > 0 and text[end - 1] in " \n":
        end -= 1
    start = end
    for _ in range(sentences):
        i = start - 1
        while i > 0 and text[i - 1] not in "。！？!?\n":
            i -= 1
        if i < 0 or start == 0:
            break
        start = max(i, 0)
        if start == 0 or text[start - 1] == "\n":
            break
    return start, end


def enumerations(passages: list[HasText]) -> list[Enumeration]:
    """Every list of a document (its passages in order): heading lists first, then lists in the text."""
    return _heading_lists(passages) + _inline_lists(passages)


def _heading_lists(passages: list[HasText]) -> list[Enumeration]:
    first_of: dict[tuple[str, ...], int] = {}
    last_of: dict[tuple[str, ...], int] = {}
    for n, p in enumerate(passages):
        for depth in range(1, len(p.section) + 1):
            key = p.section[:depth]
            first_of.setdefault(key, n)
            last_of[key] = n
    out = []
    for parent, start in first_of.items():
        children = [s for s in first_of if len(s) == len(parent) + 1 and s[: len(parent)] == parent]
        if len(children) < 2:
            continue
        items = []
        for number, child in enumerate(children, 1):
            n = first_of[child]
            text = passages[n].text
            at = text.find(child[-1])
            heading = child[-1] if at >= 0 else child[-1]
            lead = strip_mark(heading)
            lead_at = (at + len(heading) - len(lead), at + len(heading)) if at >= 0 else (0, 0)
            body = text[lead_at[1] :].lstrip("。：: \n")
            items.append(ListItem(number, lead, Place(n, *lead_at), lead + "。" + body, last_of[child]))
        # the parent's own text before its first child: a lead-in such as 重点要抓好以下六个方面的工作。
        own = [n for n in range(start, first_of[children[0]]) if passages[n].section == parent]
        lead_in, lead_in_place = "", None
        if own:
            n = own[-1]
            text = passages[n].text
            s, e = _sentence_before(text, len(text.rstrip()), 1)
            candidate = text[s:e]
            if _ANNOUNCES.search(candidate) and candidate.strip() != parent[-1]:
                lead_in, lead_in_place = candidate.strip(), Place(n, s, e)
        out.append(Enumeration("heading", parent, parent[-1], lead_in, lead_in_place, tuple(items),
                               _count(lead_in) if lead_in else None, start, last_of[parent]))  # fmt: skip
    return out


def _scopes(passages: list[HasText]) -> list[list[int]]:
    """Runs of consecutive passages under one heading path: where a list in the text can run."""
    scopes: list[list[int]] = []
    for n, p in enumerate(passages):
        if scopes and passages[scopes[-1][-1]].section == p.section:
            scopes[-1].append(n)
        else:
            scopes.append([n])
    return scopes


def _inline_lists(passages: list[HasText]) -> list[Enumeration]:
    out = []
    for scope in _scopes(passages):
        # the scope's text, joined; `where` maps a joined offset back to (passage, offset)
        starts, parts, pos = [], [], 0
        for n in scope:
            starts.append(pos)
            parts.append(passages[n].text)
            pos += len(passages[n].text)
        # passages of one heading are joined as they were written: a passage break is not a paragraph break
        joined = "".join(parts)

        def where(offset: int, starts: list[int] = starts, scope: list[int] = scope) -> Place:
            i = max(k for k, s in enumerate(starts) if s <= offset)
            return Place(scope[i], offset - starts[i], offset - starts[i])

        for run in _runs(joined) + _bullets(joined):
            out.append(_inline(run, joined, where, passages[scope[0]].section))
    return out


def _runs(text: str) -> list[tuple[str, list[tuple[int, int]]]]:
    """Numbered runs 1, 2, 3 … of one kind of mark at sentence or clause starts: (kind, [(start, end of mark)])."""
    runs = []
    for kind, mark in _INLINE_MARKS:
        current: list[tuple[int, int]] = []
        for m in mark.finditer(text):
            if m.start() > 0 and text[m.start() - 1] not in _BOUNDARY:
                continue
            n = (_FIRST_WORDS[m["w"]] or len(current) + 1) if kind == "first" else chinese_number(m["n"])
            if n == 1:
                if len(current) >= 2:
                    runs.append((kind, current))
                current = [(m.start(), m.end())]
            elif current and n == len(current) + 1:
                current.append((m.start(), m.end()))
        if len(current) >= 2:
            runs.append((kind, current))
    return runs


def _bullets(text: str) -> list[tuple[str, list[tuple[int, int]]]]:
    runs, current = [], []
    pos = 0
    for line in text.split("\n"):
        m = re.match(r"\s*[-*•·]\s+", line)
        if m:
            current.append((pos, pos + m.end()))
        elif line.strip():
            if len(current) >= 2:
                runs.append(("bullet", current))
            current = []
        pos += len(line) + 1
    if len(current) >= 2:
        runs.append(("bullet", current))
    return runs


def _inline(run: tuple[str, list[tuple[int, int]]], text: str, where, section: tuple[str, ...]) -> Enumeration:
    kind, marks = run
    items = []
    for number, (_start, mark_end) in enumerate(marks, 1):
        if number < len(marks):
            end = marks[number][0]
        else:  # the last item runs to the end of its paragraph (a bullet: of its line)
            nl = text.find("\n", mark_end)
            end = len(text) if nl < 0 else nl
        s, e = lead_phrase(text[mark_end:end])
        place = where(mark_end + s)
        lead = text[mark_end + s : mark_end + e].strip()
        items.append(ListItem(number, lead, Place(place.passage, place.start, place.start + len(lead)),
                              text[mark_end + s : end].strip(), where(max(end - 1, 0)).passage))  # fmt: skip
    # The parent: the two sentences before the first item (what the list is about); the lead-in: the last of
    # them when it announces the list (主要有以下几点：), else none — the section heading then introduces it.
    s, e = _sentence_before(text, marks[0][0])
    parent = _CONCESSION.sub("", text[s:e].strip())
    s1, e1 = _sentence_before(text, marks[0][0], 1)
    announces = _ANNOUNCES.search(text[s1:e1]) is not None and e1 > s1
    lead_in = text[s1:e1].strip() if announces else ""
    place = where(s1) if lead_in else None
    lead_in_place = Place(place.passage, place.start, place.start + (e1 - s1)) if place else None
    first = where(s).passage if e > s else items[0].place.passage
    return Enumeration("bullet" if kind == "bullet" else "inline", section, parent or (section[-1] if section else ""),
                       lead_in, lead_in_place, tuple(items), _count(lead_in) if lead_in else None,
                       first, items[-1].last)  # fmt: skip


# 虽然取得了一些成绩，但…仍存在不足: what such a sentence announces is after its 但.
_CONCESSION = re.compile(r"(?:虽然|尽管|虽)[^。；]*?[，,]\s*(?=但|却)")


def outline(passages: list[HasText], lists: list[Enumeration] | None = None) -> Outline:
    """The document's outline: its title (the root of every section path), date and top-level parts."""
    lists = enumerations(passages) if lists is None else lists
    root = passages[0].section[:1] if passages and passages[0].section else ()
    parts = next((e for e in lists if e.kind == "heading" and e.section == root), None)
    if parts is None:  # no title line: the shallowest heading list
        heads = [e for e in lists if e.kind == "heading"]
        parts = min(heads, key=lambda e: (e.depth, e.first)) if heads else None
    date = None
    for p in passages[:2]:
        for line in p.text.split("\n")[:3]:
            if _is_date(line):
                date = parse_date(line)
                break
        if date:
            break
    return Outline(root[0] if root else "", date, parts)
