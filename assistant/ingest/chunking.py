"""Sentences and passages: the units that are indexed, retrieved and quoted.

A passage packs whole sentences of consecutive paragraphs of one section, up to
`max_chars` NON-WHITE-SPACE characters (white space inside Chinese text is mostly
conversion noise, and the evaluation ignores it too). A heading standing alone on
its line opens the passage that follows it. Only a sentence longer than
`max_chars` is cut, at clause marks if it can be.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from assistant.ingest import Paragraph, paragraphs
from assistant.schema import Document, Passage

SENTENCE_END = frozenset("。！？；…!?;")
LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
# Closing quotes and brackets right after an end mark belong to that sentence: `…超车”。` `…。”`
CLOSERS = frozenset("”’」』）)》〉】〕］]\"'")
CLAUSE_END = frozenset("，、：,:")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of the sentences of `text`, in order, without surrounding white space."""
    spans: list[tuple[int, int]] = []
    start = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in LINE_BREAKS:
            _add_span(spans, text, start, i)
            start = i + 1
        elif ch in SENTENCE_END:
            i += 1
            while i < n and (text[i] in SENTENCE_END or text[i] in CLOSERS):
                i += 1
            _add_span(spans, text, start, i)
            start = i
            continue
        i += 1
    _add_span(spans, text, start, n)
    return spans


def _add_span(spans: list[tuple[int, int]], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        spans.append((start, end))


def nws_len(text: str) -> int:
    """Length as `max_chars` counts it: non-white-space characters."""
    return sum(1 for c in text if not c.isspace())


@dataclass(frozen=True)
class _Atom:
    """A sentence (or a piece of a cut one): `para.text[start:end]`."""

    para: int  # index into the document's paragraphs
    start: int
    end: int
    size: int


def _cut_sentence(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Cut an over-long sentence into pieces of at most max_chars, at clause marks when possible.

    Pieces aim at an even size, so a 310-character sentence becomes two of ~155, not 300 + 10.
    """
    size = nws_len(text[start:end])
    if size <= max_chars:
        return [(start, end)]
    pieces_needed = -(-size // max_chars)
    target = -(-size // pieces_needed)
    clauses = _clauses(text, start, end, max_chars)
    pieces: list[tuple[int, int]] = []
    cur_start, cur_end, cur_size = clauses[0][0], clauses[0][1], nws_len(text[clauses[0][0] : clauses[0][1]])
    for a, b in clauses[1:]:
        s = nws_len(text[a:b])
        if cur_size >= target or cur_size + s > max_chars:
            pieces.append((cur_start, cur_end))
            cur_start, cur_end, cur_size = a, b, s
        else:
            cur_end, cur_size = b, cur_size + s
    pieces.append((cur_start, cur_end))
    return [_strip(text, a, b) for a, b in pieces]


def _clauses(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Clauses of text[start:end] (ending after a clause mark); any still too long cut hard."""
    spans: list[tuple[int, int]] = []
    a = start
    for i in range(start, end):
        if text[i] in CLAUSE_END:
            spans.append((a, i + 1))
            a = i + 1
    if a < end:
        spans.append((a, end))
    out: list[tuple[int, int]] = []
    for a, b in spans:
        a, b = _strip(text, a, b)
        if a < b:
            out.extend(_hard_cut(text, a, b, max_chars))
    return out


def _hard_cut(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    a, count = start, 0
    for i in range(start, end):
        if text[i].isspace():
            continue
        if count == max_chars:
            out.append(_strip(text, a, i))
            a, count = i, 0
        count += 1
    out.append(_strip(text, a, end))
    return out


def _strip(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def _runs(paras: list[Paragraph]) -> list[list[int]]:
    """Consecutive paragraphs of one section; a standalone heading always opens a new run."""
    runs: list[list[int]] = []
    for i, para in enumerate(paras):
        if runs and not para.is_heading and paras[runs[-1][-1]].section == para.section:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def _blocks(paras: list[Paragraph], run: list[int], max_chars: int) -> list[list[_Atom]]:
    """Units that packing never splits: one sentence or piece, or a heading with what follows it."""
    blocks: list[list[_Atom]] = []
    glue = False
    for i in run:
        para = paras[i]
        for s, e in split_sentences(para.text):
            for a, b in _cut_sentence(para.text, s, e, max_chars):
                atom = _Atom(i, a, b, nws_len(para.text[a:b]))
                if glue:
                    blocks[-1].append(atom)
                else:
                    blocks.append([atom])
                glue = False
        glue = para.is_heading and bool(blocks)
    return blocks


def _size(group: list[list[_Atom]]) -> int:
    return sum(atom.size for block in group for atom in block)


def _pack(blocks: list[list[_Atom]], max_chars: int) -> list[list[list[_Atom]]]:
    """Greedy packing, then evening out the last two passages if the last is small."""
    groups: list[list[list[_Atom]]] = []
    size = 0
    for block in blocks:
        s = sum(atom.size for atom in block)
        if groups and size + s <= max_chars:
            groups[-1].append(block)
            size += s
        else:
            groups.append([block])
            size = s
    if len(groups) >= 2 and _size(groups[-1]) < max_chars / 3:
        prev, last = groups[-2], groups[-1]
        while len(prev) > 1:
            moved = _size([prev[-1]])
            p, q = _size(prev), _size(last)
            if q + moved > max_chars or abs((p - moved) - (q + moved)) >= abs(p - q):
                break
            last.insert(0, prev.pop())
    return groups


def _passage(doc: Document, paras: list[Paragraph], atoms: list[_Atom]) -> Passage:
    segments: list[str] = []
    i = 0
    while i < len(atoms):
        j = i
        while j + 1 < len(atoms) and atoms[j + 1].para == atoms[i].para:
            j += 1
        segments.append(paras[atoms[i].para].text[atoms[i].start : atoms[j].end])
        i = j + 1
    text = "\n".join(segments)
    first, last = atoms[0], atoms[-1]
    start = paras[first.para].offsets[first.start]
    end = paras[last.para].offsets[last.end - 1] + 1
    digest = hashlib.sha1(f"{doc.name}\x00{start}\x00{text}".encode()).hexdigest()[:16]
    return Passage(
        id=digest,
        doc=doc.name,
        section=paras[first.para].section,
        text=text,
        start=start,
        end=end,
        pages=_pages(doc, start, end),
        boxes=tuple(b for b in doc.lines if b.start < end and b.end > start),
    )


def _pages(doc: Document, start: int, end: int) -> tuple[int, ...]:
    first, last = doc.page_of(start), doc.page_of(max(start, end - 1))
    return () if first is None or last is None else tuple(range(first, last + 1))


def chunk_document(doc: Document, max_chars: int = 300) -> list[Passage]:
    """Passages of whole sentences, in document order, each within one section."""
    if max_chars < 1:
        raise ValueError(f"max_chars must be positive, got {max_chars}")
    paras = paragraphs(doc)
    passages: list[Passage] = []
    for run in _runs(paras):
        for group in _pack(_blocks(paras, run, max_chars), max_chars):
            passages.append(_passage(doc, paras, [atom for block in group for atom in block]))
    return passages


def chunk_corpus(docs: list[Document], max_chars: int = 300) -> list[Passage]:
    """All documents' passages, document by document."""
    return [p for doc in docs for p in chunk_document(doc, max_chars)]
