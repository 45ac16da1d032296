"""Plain data passed between the stages: corpus → passages → hits → answer.

All records are frozen; change them with `dataclasses.replace`.
Offsets are character offsets into `Document.text`: the decoded file, or the text extracted from it.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Literal

SECTION_SEP = " › "

# The shape of what a question asks for, and so of its answer: one fact (a sentence), the items of a
# list, the document's outline, a summary, a reason, a way of doing, a comparison of two things.
Shape = Literal["fact", "list", "outline", "summary", "reason", "manner", "comparison"]
SHAPES: tuple[Shape, ...] = ("fact", "list", "outline", "summary", "reason", "manner", "comparison")


FORMATS = ("txt", "md", "docx", "pdf", "html", "image")  # image: .png/.jpg/.tif page scans, read by OCR


@dataclass(frozen=True)
class LineBox:
    """One line of a page as the reader found it: `text[start:end]` of its document, and where it
    stands on its page, in points from the page's top-left corner (page `width` × `height`)."""

    page: int  # 1-based
    start: int
    end: int
    x0: float
    top: float
    x1: float
    bottom: float


def page_at(page_starts: tuple[int, ...], offset: int) -> int | None:
    """The 1-based page whose text holds `offset`, from the offsets where pages start."""
    if not page_starts:
        return None
    return max(1, bisect.bisect_right(page_starts, offset))


@dataclass(frozen=True)
class Document:
    """One corpus file as text: decoded (.txt/.md) or extracted and cleaned (.docx/.pdf/.html)."""

    name: str  # path relative to the corpus folder, with forward slashes
    text: str  # the text offsets point into: a text file's characters, or the extracted text (assistant/ingest)
    encoding: str  # e.g. "utf-8", "utf-8-sig", "gb18030"; "" for .docx and .pdf
    sha256: str  # of the file's bytes
    format: str = ""  # one of FORMATS; "" takes it from the name's suffix (else "txt")
    pages: int | None = None  # a PDF's page count; None for other formats
    meta_title: str = ""  # the title the file's metadata gives (docx core title, PDF Title, HTML <title>)
    # PDFs and page images: where each page's text starts in `text` (page n+1 from page_starts[n]) and
    # each line's place on its page; empty for the other formats, whose location is the heading path
    page_starts: tuple[int, ...] = ()
    lines: tuple[LineBox, ...] = ()

    def page_of(self, offset: int) -> int | None:
        """The 1-based page holding `text[offset]`; None for formats without pages."""
        return page_at(self.page_starts, offset)

    def __post_init__(self) -> None:
        if not self.format:
            suffix = PurePosixPath(self.name).suffix.lower().lstrip(".")
            suffix = "html" if suffix == "htm" else suffix
            object.__setattr__(self, "format", suffix if suffix in FORMATS else "txt")
        if self.format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {self.format!r}")


@dataclass(frozen=True)
class Passage:
    """A run of whole sentences, the unit that is indexed and quoted."""

    id: str  # stable: derived from doc name, offsets and text
    doc: str
    section: tuple[str, ...]  # heading path, outermost first
    text: str  # clean text as it is quoted (repaired, no `**`, no stray line breaks)
    start: int  # original[start:end] minus white space and `**` == text minus white space
    end: int
    pages: tuple[int, ...] = ()  # the 1-based pages it stands on (PDFs and page images); () for other formats
    boxes: tuple[LineBox, ...] = ()  # the lines it spans on those pages, to highlight a quote on the page image

    @property
    def section_path(self) -> str:
        return SECTION_SEP.join(self.section)

    @property
    def page_label(self) -> str:
        """`p. 3`, `pp. 3–4`, or "" for a format without pages: how a source line names the page."""
        if not self.pages:
            return ""
        first, last = self.pages[0], self.pages[-1]
        return f"p. {first}" if first == last else f"pp. {first}–{last}"

    def indexed_text(self) -> str:
        """What the dense and sparse indexes see: headings carry meaning."""
        return f"{self.section_path}\n{self.text}" if self.section else self.text


@dataclass(frozen=True)
class Hit:
    """A passage returned by retrieval, with the evidence for why."""

    passage: Passage
    score: float  # fused score, higher is better
    dense: float | None = None  # cosine similarity to the question (None: not in the dense top list)
    sparse: float | None = None  # BM25 score (None: not in the sparse top list)
    matched: tuple[str, ...] = ()  # question words found in the passage


@dataclass(frozen=True)
class Span:
    """A sentence of a source that the answer uses: offsets into `Source.text`."""

    start: int
    end: int


@dataclass(frozen=True)
class Source:
    """A numbered source shown with an answer; `rank` is its citation number."""

    rank: int
    hit: Hit
    used: tuple[Span, ...] = ()  # sentences of the passage quoted in the answer


@dataclass(frozen=True)
class Item:
    """One item of a shaped answer (a list's item, an outline's part), cited: `source` is the rank of the
    `Source` it is quoted from, `start`/`end` offsets into that source's passage text."""

    text: str  # as shown: the item's heading or lead phrase, cut at a clause
    source: int
    start: int
    end: int


@dataclass(frozen=True)
class Answer:
    question: str  # as asked
    found: bool  # False: the corpus does not answer it; `sources` are then only related
    text: str  # the answer, with citation markers [1], [2] referring to `sources`
    sources: tuple[Source, ...] = ()
    resolved_question: str = ""  # the question after follow-up resolution ("那县里呢？" → full question)
    missing: tuple[str, ...] = ()  # question terms the corpus does not contain (for "not found")
    note: str = ""  # one line for the user, e.g. a fallback from the LLM answerer
    answerer: str = "extractive"
    evidence: dict[str, float] = field(default_factory=dict)  # the numbers behind `found`
    confidence: float | None = None  # probability that the answer is right (answerability model); None: not judged
    shape: Shape = "fact"  # what the answer is: one sentence, or items (list, outline, …)
    items: tuple[Item, ...] = ()  # a shaped answer's items, in the document's order
    expected_items: int | None = None  # how many items the document says there are (以下六个方面 → 6); None: unsaid
