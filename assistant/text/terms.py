"""The user's own terms: names jieba would split (full agency names, product names), taught without code.

Two places, both optional, in the corpus folder:

    .assistant.toml   terms = ["洛阳市委网信办", "精彩洛阳"]
    terms.txt         one term a line (`#` starts a comment); at the corpus folder's top only, and not
                      read as a document

The terms join jieba's dictionary for indexing and for questions alike, so `洛阳市委网信办` is one BM25
word (search mode still gives its parts too). The index records the terms each document contains:
changing the list re-tokenises those documents only, and their vectors are kept (the encoder does not use
jieba).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from pathlib import Path

from assistant.text.words import _jieba, normalize

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["TERMS_FILE", "load", "use", "present", "current"]

log = logging.getLogger(__name__)

TERMS_FILE = "terms.txt"
SETTINGS_FILE = ".assistant.toml"  # the same file as assistant/about.py reads
MAX_TERM = 40  # characters: longer is a sentence, not a name
_applied: dict[str, float | None] = {}  # terms added to jieba → the frequency jieba had for them before


def load(corpus_dir: Path) -> tuple[str, ...]:
    """The terms of the corpus folder (settings file and terms.txt), normalised as indexed text is, sorted."""
    found: list[str] = []
    settings = corpus_dir / SETTINGS_FILE
    try:
        data = tomllib.loads(settings.read_text(encoding="utf-8"))
    except FileNotFoundError:
        data = {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        log.warning("%s: ignored, %s", settings, exc)
        data = {}
    listed = data.get("terms", [])
    if isinstance(listed, list):
        found += [t for t in listed if isinstance(t, str)]
    else:
        log.warning("%s: terms should be a list of words, ignored", settings)
    try:
        lines = (corpus_dir / TERMS_FILE).read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        lines = []
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("%s: ignored, %s", corpus_dir / TERMS_FILE, exc)
        lines = []
    found += [line.split("#", 1)[0] for line in lines]
    terms = {normalize(t).strip() for t in found}
    too_long = sorted(t for t in terms if len(t) > MAX_TERM or any(c.isspace() for c in t))
    if too_long:
        log.warning("terms of more than %d characters or with spaces ignored: %s", MAX_TERM, ", ".join(too_long))
    return tuple(sorted(t for t in terms if t and t not in too_long))


def use(terms: Iterable[str]) -> None:
    """Make jieba's dictionary hold exactly these terms of ours (those of a previous call are taken back)."""
    jieba = _jieba()
    wanted = set(terms)
    for term in [t for t in _applied if t not in wanted]:
        before = _applied.pop(term)
        jieba.add_word(term, freq=before) if before else jieba.del_word(term)
    for term in sorted(wanted - _applied.keys()):
        _applied[term] = jieba.dt.FREQ.get(term) or None
        # the frequency jieba suggests for keeping the term whole against its parts, at least its own
        jieba.add_word(term, freq=max(jieba.suggest_freq(term, tune=False), _applied[term] or 0, 1))


def current() -> tuple[str, ...]:
    """The terms in use now."""
    return tuple(sorted(_applied))


def present(terms: Iterable[str], texts: Iterable[str]) -> list[str]:
    """The terms that occur in the texts (normalised as indexed text is), sorted."""
    body = "\n".join(normalize(t) for t in texts)
    return sorted(t for t in terms if t in body)
