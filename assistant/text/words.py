"""Words of Chinese (and English) text for BM25 and for explaining matches.

jieba's search-mode segmentation gives both words and their sub-words
(网络安全 → 网络, 安全, 网络安全), so a question matches a passage whichever way
either is segmented. Text is normalised first (NFKC, lower case, no white space
between digits and CJK) so that `11 人` in the report and `11人` in a question
meet, and numbers stay tokens of their own.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import cache
from importlib.resources import files

__all__ = ["normalize", "words", "content_words", "is_stopword"]

_PUNCT_OR_SPACE = re.compile(r"^[\W_]+$")
_INNER_SPACE = re.compile(r"(?<=[\u3000-\u9fff\uff00-\uffef\d])\s+(?=[\u3000-\u9fff\uff00-\uffef\d])")


def normalize(text: str) -> str:
    """NFKC, lower case, `**` removed, and no white space between CJK characters and digits."""
    text = unicodedata.normalize("NFKC", text).lower().replace("**", "")
    return _INNER_SPACE.sub("", text)


@cache
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)  # it announces its dictionary loading on stderr
    jieba.initialize()
    return jieba


@cache
def _stopwords() -> frozenset[str]:
    text = files("assistant.text").joinpath("stopwords.txt").read_text(encoding="utf-8")
    return frozenset(w for line in text.splitlines() if not line.startswith("#") for w in line.split())


def is_stopword(word: str) -> bool:
    return word in _stopwords() or bool(_PUNCT_OR_SPACE.match(word))


def words(text: str) -> list[str]:
    """All search-mode words of `text` in order, stop words and punctuation removed (repeats kept)."""
    return [w for w in _jieba().cut_for_search(normalize(text)) if w.strip() and not is_stopword(w)]


def content_words(text: str) -> list[str]:
    """The distinct words of a question that carry its content, longest segmentation only.

    Search mode also yields sub-words (网络安全 → 网络, 安全); for judging coverage we
    want each content word once, so sub-words of a longer kept word are dropped.
    """
    found: list[str] = []
    for w in dict.fromkeys(words(text)):
        if any(w != other and w in other for other in found):
            continue
        found = [other for other in found if other not in w] + [w]
    return found
