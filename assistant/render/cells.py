"""Text in terminal cells: display width, line breaking, cutting, and removing what a terminal would obey.

Styled text is a sequence of `Run`s (text + an SGR style). Layout works on characters and their
widths, never on escape codes: a line is laid out first and turned into ANSI last, each run opening
and closing its own style, so no escape sequence is ever split and no colour runs past a line's end.

Widths come from the standard library's Unicode tables (East Asian Wide/Fullwidth = 2 columns,
combining and format characters = 0), not from `wcwidth` or `rich`: both cost 30–40 ms of import
on a cold `assistant ask` (measured side by side, README), and for this text they agree with it
(tests/render/test_render_cells.py compares every character of the corpus with `wcwidth`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["Run", "clean", "cut", "cut_middle", "to_ansi", "width", "wrap"]

# What a terminal would act on instead of printing: ESC sequences (CSI with its parameters, OSC/DCS/APC/PM/SOS
# strings up to their terminator, two-character escapes), their 8-bit C1 forms, then any other control character.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[\x20-\x3f]*[\x40-\x7e]?"  # CSI … final byte
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)"  # OSC, DCS, SOS, PM, APC
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?",  # other escapes (charset selection, RIS, an unterminated OSC's start …)
    re.S,
)
# C0 and C1 controls except line feed, and the bidirectional overrides that reorder what is shown.
_CONTROLS = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

# No line starts with closing punctuation, none ends with opening punctuation (Chinese line-breaking rules).
_CLOSING = frozenset("，。、；：？！,.;:?!)）]】」』》〉〕”’…%‰")
_OPENING = frozenset("（([【「『《〈〔“‘")
_SEPARATORS = frozenset("-_ .·—")
ELLIPSIS = "…"


@dataclass(frozen=True)
class Run:
    """A piece of text in one style: SGR parameters such as "1;32" (bold green), "" for plain."""

    text: str
    style: str = ""


def clean(text: str) -> str:
    """Text safe to print: escape sequences and control characters removed, tabs as spaces, lines kept."""
    text = text.replace("\r\n", "\n").replace("\t", " ")
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


@lru_cache(maxsize=8192)
def _char_width(c: str) -> int:
    o = ord(c)
    if 0x20 <= o < 0x7F:
        return 1
    if o < 0x20 or 0x7F <= o < 0xA0:
        return 0
    if unicodedata.category(c) in ("Mn", "Me", "Cf") or 0x1160 <= o <= 0x11FF or 0xD7B0 <= o <= 0xD7FF:
        return 0  # combining marks, zero-width joiners and spaces, Hangul vowels and finals joining a syllable
    if 0x2630 <= o <= 0x2637 or 0x268A <= o <= 0x268F or 0x4DC0 <= o <= 0x4DFF:
        return 2  # the I Ching symbols: wide since Unicode 16, newer than Python's tables
    return 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1


def width(text: str) -> int:
    """Columns `text` takes in a terminal (escape sequences must have been removed)."""
    return sum(_char_width(c) for c in text)


def _break_between(a: str, b: str) -> bool:
    if a == " " or b == " ":
        return True
    if b in _CLOSING or a in _OPENING:
        return False
    return _char_width(a) == 2 or _char_width(b) == 2  # between Chinese characters; Latin words stay whole


Char = tuple[str, str]  # a character and its style


def _chars(runs: Iterable[Run]) -> list[Char]:
    return [(c, r.style) for r in runs for c in r.text]


def _runs(chars: Sequence[Char]) -> list[Run]:
    out: list[Run] = []
    for c, style in chars:
        if out and out[-1].style == style:
            out[-1] = Run(out[-1].text + c, style)
        else:
            out.append(Run(c, style))
    return out


def _clusters(chars: Sequence[Char]) -> list[list[Char]]:
    """Pieces that are never broken: a Chinese character with the punctuation bound to it, a Latin word, a space."""
    out: list[list[Char]] = []
    for ch in chars:
        if out and not _break_between(out[-1][-1][0], ch[0]):
            out[-1].append(ch)
        else:
            out.append([ch])
    return out


def wrap(
    runs: Iterable[Run], columns: int | None, indent: str = "", first_indent: str | None = None
) -> list[list[Run]]:
    """Lines of at most `columns` cells (None: no wrapping, one line per paragraph), indents included.

    Line feeds in the text start new lines; spaces at a break are dropped; a word longer than a line is
    broken between characters.
    """
    first = indent if first_indent is None else first_indent
    out: list[list[Run]] = []
    paragraphs: list[list[Char]] = [[]]
    for ch in _chars(runs):
        if ch[0] == "\n":
            paragraphs.append([])
        else:
            paragraphs[-1].append(ch)
    for paragraph in paragraphs:
        for line in _fill(paragraph, columns, width(indent if out else first), width(indent)):
            prefix = indent if out else first
            out.append([Run(prefix), *line] if prefix and line else line)
    return out


def _fill(chars: Sequence[Char], columns: int | None, first_indent: int, indent: int) -> list[list[Run]]:
    if columns is None:
        return [_runs(chars)]
    lines: list[list[Char]] = [[]]
    used = 0

    def room() -> int:
        return max(1, columns - (first_indent if len(lines) == 1 else indent))

    def new_line() -> None:
        nonlocal used
        while lines[-1] and lines[-1][-1][0] == " ":
            lines[-1].pop()
        lines.append([])
        used = 0

    for cluster in _clusters(chars):
        size = sum(_char_width(c) for c, _ in cluster)
        if cluster[0][0] == " ":
            if lines[-1] and used + size <= room():
                lines[-1].extend(cluster)
                used += size
            continue  # a space at the start of a line, or where the line breaks, is dropped
        if used + size > room() and lines[-1]:
            new_line()
        if size <= room():
            lines[-1].extend(cluster)
            used += size
            continue
        for ch in cluster:  # longer than a whole line: break it anywhere
            w = _char_width(ch[0])
            if used + w > room() and lines[-1]:
                new_line()
            lines[-1].append(ch)
            used += w
    while lines[-1] and lines[-1][-1][0] == " ":
        lines[-1].pop()
    return [_runs(line) for line in lines]


def cut(runs: Iterable[Run], columns: int | None, style: str = "") -> list[Run]:
    """The runs cut to `columns` cells, ending in "…" when something was left out (None: unchanged)."""
    chars = _chars(runs)
    if columns is None or width("".join(c for c, _ in chars)) <= columns:
        return _runs(chars)
    if columns < 1:
        return []
    kept: list[Char] = []
    used = 0
    for ch in chars:
        w = _char_width(ch[0])
        if used + w > columns - 1:
            break
        kept.append(ch)
        used += w
    while kept and kept[-1][0] == " ":
        kept.pop()
    return _runs([*kept, (ELLIPSIS, kept[-1][1] if kept else style)])


def cut_middle(text: str, columns: int) -> str:
    """`text` in at most `columns` cells, its middle replaced by "…": for file names, whose start and end (a date,
    the extension) tell them apart. The end starts after a separator when it can, so no number is cut in two."""
    if width(text) <= columns:
        return text
    if columns <= 1:
        return ELLIPSIS[:columns]
    tail, used = "", 0
    for c in reversed(text):
        if used + _char_width(c) > (columns - 1) * 2 // 3:
            break
        tail, used = c + tail, used + _char_width(c)
    if text[-len(tail) - 1] not in _SEPARATORS:  # the end begins inside a word or number: start it at the next one
        tail = tail[next((i + 1 for i, c in enumerate(tail[:-4]) if c in _SEPARATORS), 0) :]
    head, used = "", 0
    for c in text:
        if used + _char_width(c) > columns - 1 - width(tail):
            break
        head, used = head + c, used + _char_width(c)
    return head + ELLIPSIS + tail


def to_ansi(runs: Iterable[Run], color: bool) -> str:
    """One line as text: each styled run opens and resets its own style (without colour, the plain text)."""
    if not color:
        return "".join(r.text for r in runs)
    return "".join(f"\x1b[{r.style}m{r.text}\x1b[0m" if r.style and r.text else r.text for r in runs)
