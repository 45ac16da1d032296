"""What the web page says about its corpus: a title, a line about the documents, example questions.

Everything comes from the indexed documents (their titles, dates and headings) or from an
optional settings file beside them, `.assistant.toml` in the corpus folder:

    title = "洛阳市网信工作汇报问答"           # the page's heading (default: from the documents)
    description = "根据市委网信办的汇报作答。"  # the line under it (default: from the documents)
    examples = ["市委网信办目前有多少在编人员？", "…"]

A missing or unreadable file is not an error: the page then describes the documents itself.
"""

from __future__ import annotations

import logging
import re
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from assistant.schema import Passage

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["SETTINGS_FILE", "About", "DocumentInfo", "about", "read_page_settings"]

log = logging.getLogger(__name__)

SETTINGS_FILE = ".assistant.toml"  # hidden, so the corpus reader never takes it for a document
MAX_EXAMPLES = 6
_EXAMPLE_CHARS = (4, 24)  # heading lengths that make a readable question

_DATE_TEXT = re.compile(r"((?:19|20)\d\d)\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_DATE_NAME = re.compile(r"(?<!\d)((?:19|20)\d\d)[-_.年]?(0[1-9]|1[0-2])[-_.月]?([0-2]\d|3[01])(?!\d)")
_DATE_LINE = re.compile(r"^\W*" + _DATE_TEXT.pattern + r"\W*$")
# 一、  (一)  1.  1、  第一章  — the numbering in front of a heading, not part of its words
_NUMBERING = re.compile(
    r"^\s*(?:第[一二三四五六七八九十百\d]+[章节部分条]|[(（]?[一二三四五六七八九十\d]+[)）]?[、.．]?)\s*"
)
_CLAUSE = re.compile(r"[，,；;：:？?！!]")
_CJK_GAP = re.compile(r"(?<=[\u3000-\u9fff\uff00-\uffef])\s+(?=[\u3000-\u9fff\uff00-\uffef])")


@dataclass(frozen=True)
class DocumentInfo:
    name: str  # the file, relative to the corpus folder
    title: str  # its title, or its file name without suffix when it has none
    date: str  # "2016 年 11 月 21 日", or "" when none is found
    passages: int


@dataclass(frozen=True)
class About:
    title: str  # the page's heading
    description: str  # one line under it, plain text
    documents: tuple[DocumentInfo, ...]
    examples: tuple[str, ...]

    def title_of(self, doc: str) -> str:
        """A document's title by its file name (the name itself if unknown)."""
        return next((d.title for d in self.documents if d.name == doc), doc)


def about(passages: Sequence[Passage], corpus_dir: Path | None = None, max_chars: int = 500) -> About:
    """The page's words for the documents behind `passages`, with the settings file's where it has them."""
    by_doc: dict[str, list[Passage]] = {}
    for p in passages:
        by_doc.setdefault(p.doc, []).append(p)
    documents = tuple(_document(name, ps) for name, ps in by_doc.items())
    page = read_page_settings(corpus_dir, max_chars) if corpus_dir is not None else {}
    return About(
        title=page.get("title") or _title(documents),
        description=page.get("description") or _description(documents, page.get("title")),
        documents=documents,
        examples=tuple(page.get("examples") or _examples(passages, documents)),
    )


def read_page_settings(corpus_dir: Path, max_chars: int = 500) -> dict:
    """`title`, `description` and `examples` from the corpus folder's settings file, those that are valid."""
    path = corpus_dir / SETTINGS_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        log.warning("%s: ignored, %s", path, exc)
        return {}
    page: dict = {}
    for key in ("title", "description"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            page[key] = " ".join(value.split())
        elif value is not None:
            log.warning("%s: %s should be a text, ignored", path, key)
    examples = data.get("examples")
    if examples is not None:
        if isinstance(examples, list):
            good = [e.strip() for e in examples if isinstance(e, str) and 0 < len(e.strip()) <= max_chars]
            if len(good) < len(examples):
                log.warning("%s: examples should be questions of at most %d characters", path, max_chars)
            page["examples"] = good[:MAX_EXAMPLES] or None
        else:
            log.warning("%s: examples should be a list of questions, ignored", path)
    unknown = sorted(set(data) - {"title", "description", "examples", "terms"})  # terms: assistant/text/terms.py
    if unknown:
        log.warning("%s: unknown settings %s", path, ", ".join(unknown))
    return page


def _document(name: str, passages: list[Passage]) -> DocumentInfo:
    # The title heads every section path of a document that has one (assistant/corpus.py).
    firsts = {p.section[0] if p.section else "" for p in passages}
    title = _clean(firsts.pop()) if len(firsts) == 1 and "" not in firsts else PurePosixPath(name).stem
    return DocumentInfo(name=name, title=title, date=_date(name, passages), passages=len(passages))


def _date(name: str, passages: list[Passage]) -> str:
    """The document's date: a date line under its title, a date in its file name, or one closing it."""
    lines = passages[0].text.splitlines()[:3]
    last = passages[-1].text.splitlines()[-2:]
    for line in lines:
        if m := _DATE_LINE.match(line):
            return _format(m.group(1, 2, 3))
    if m := _DATE_NAME.search(PurePosixPath(name).name):
        return _format(m.group(1, 2, 3))
    for line in reversed(last):
        if m := _DATE_LINE.match(line):
            return _format(m.group(1, 2, 3))
    return ""


def _format(parts: tuple[str, ...]) -> str:
    year, month, day = (int(x) for x in parts)
    return f"{year} 年 {month} 月 {day} 日"


def _clean(text: str) -> str:
    """One line; a line break or space between two Chinese characters (a wrapped title) removed."""
    return _CJK_GAP.sub("", " ".join(text.split()))


def _title(documents: Sequence[DocumentInfo]) -> str:
    if len(documents) == 1:
        return documents[0].title
    return f"{len(documents)} 份文档问答" if documents else "文档问答"


def _description(documents: Sequence[DocumentInfo], custom_title: str | None) -> str:
    tail = "每个回答都引自原文并注明出处；文档里没有的，会直接说明没有找到。"
    if not documents:
        return "还没有文档。" + tail
    if len(documents) == 1:
        doc = documents[0]
        if custom_title:
            return f"根据《{doc.title}》" + (f"（{doc.date}）" if doc.date else "") + "作答。" + tail
        return (f"{doc.date}。" if doc.date else "") + tail
    shown = "、".join(f"《{d.title}》" for d in documents[:3])
    more = "等" if len(documents) > 3 else ""
    return f"根据 {len(documents)} 份文档作答：{shown}{more}。" + tail


def _examples(passages: Sequence[Passage], documents: Sequence[DocumentInfo]) -> list[str]:
    """Questions made from section headings, spread over the documents: what a reader would ask first."""
    titles = {d.title for d in documents}
    seen: Counter[str] = Counter()
    candidates: list[str] = []
    for p in passages:
        for heading in p.section:
            if _clean(heading) in titles:
                continue
            topic = _NUMBERING.sub("", _clean(heading)).rstrip("。.:：").removeprefix("关于")
            # A heading that is a clause list ("加强理论武装，网信战线凝聚力显著增强") reads badly in a question.
            if _CLAUSE.search(topic) or not _EXAMPLE_CHARS[0] <= len(topic) <= _EXAMPLE_CHARS[1]:
                continue
            seen[topic] += 1
            if seen[topic] == 1:
                candidates.append(topic)
    if not candidates:
        return [f"《{d.title}》主要讲了什么？" for d in documents[:MAX_EXAMPLES]]
    # Evenly over the corpus, so that the examples do not all come from its first pages.
    n, k = len(candidates), min(MAX_EXAMPLES, len(candidates))
    picked = sorted({round(i * (n - 1) / max(1, k - 1)) for i in range(k)})
    return [f"关于“{candidates[i]}”，文中是怎么说的？" for i in picked]
