"""The document library: add files to the corpus folder, list them, remove them, index incrementally.

The command line (`assistant add | list | remove`) and the web chat's document panel both call
these functions; they never print. Adding copies the file into the corpus folder (atomically, so
a half-copied file is never indexed) and builds the index, which embeds the new document only.
A file whose content is already in the library, or whose name is taken by another document, is
said in one line and nothing is lost: the first is skipped, the second added under a free name
(or replaces the old one when asked to).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from assistant.config import Settings
from assistant.ingest import SUFFIXES, CorpusError, corpus_files, read_document
from assistant.store import builds
from assistant.store.build import BuildReport, Progress, build, corpus_fingerprints, current_manifest
from assistant.store.builds import building

if TYPE_CHECKING:
    from assistant.encode.embedder import Embedder

__all__ = ["Entry", "Change", "LibraryReport", "LibraryError", "add", "remove", "documents", "accepted_suffixes"]

Outcome = Literal["added", "replaced", "renamed", "duplicate", "skipped", "removed"]


class LibraryError(ValueError):
    """A request the library cannot carry out as asked (one line for the user)."""


@dataclass(frozen=True)
class Entry:
    """One document of the library, as `assistant list` shows it."""

    name: str  # path relative to the corpus folder: what `remove` takes
    title: str
    format: str  # e.g. "txt", "md", "docx", "pdf"
    pages: int | None  # None: the format has no pages
    passages: int | None  # None: not indexed (yet, or unreadable)
    added: str | None  # when the index first saw it (ISO 8601), None if not indexed yet
    size: int  # bytes
    status: Literal["indexed", "not indexed yet", "skipped"]  # skipped: unreadable, or a copy of another document


@dataclass(frozen=True)
class Change:
    """What happened to one file given to `add` or one name given to `remove`."""

    given: str
    name: str | None  # its name in the library (None when nothing was stored)
    outcome: Outcome
    message: str  # one line for the user

    @property
    def changed(self) -> bool:
        return self.outcome in ("added", "replaced", "renamed", "removed")


@dataclass(frozen=True)
class LibraryReport:
    changes: tuple[Change, ...]
    build: BuildReport | None  # None when nothing changed, so nothing was built


def accepted_suffixes() -> tuple[str, ...]:
    """The file types the corpus reader accepts (and so `add` accepts)."""
    return tuple(SUFFIXES)


def add(
    settings: Settings, paths: Sequence[Path], embedder: Embedder | None = None, progress: Progress | None = None,
    replace: bool = False,
) -> LibraryReport:  # fmt: skip
    """Copy `paths` into the corpus folder and index them (only they are embedded).

    A file already in the library (same bytes) is skipped; a name already taken by a different
    document gets a free name (`report-2.pdf`), or, with `replace`, replaces that document.
    """
    corpus = settings.corpus_dir
    if corpus.exists() and not corpus.is_dir():
        raise CorpusError(f"{corpus}: not a folder")
    with building(settings.index_dir, on_wait=(lambda: progress("waiting", 0, 0)) if progress else None):
        corpus.mkdir(parents=True, exist_ok=True)
        by_hash = {fp["sha256"]: name for name, fp in corpus_fingerprints(corpus, _known(settings)).items()}
        changes = [_add_one(Path(p), corpus, by_hash, replace, settings.max_file_mb) for p in paths]
        return LibraryReport(tuple(changes), _rebuild(settings, changes, embedder, progress))


def _add_one(path: Path, corpus: Path, by_hash: dict[str, str], replace: bool, max_file_mb: float) -> Change:
    given = str(path)
    if not path.is_file():
        return Change(given, None, "skipped", f"{given}: no such file")
    try:
        read_document(path, path.parent, max_file_mb)  # refuse what the index could not read, before copying it
        data = path.read_bytes()
    except CorpusError as exc:
        return Change(given, None, "skipped", str(exc))
    except OSError as exc:
        return Change(given, None, "skipped", f"{given}: cannot read ({exc.strerror or exc})")
    digest = hashlib.sha256(data).hexdigest()
    if digest in by_hash:
        return Change(given, by_hash[digest], "duplicate", f"{given}: already in the library as {by_hash[digest]}")
    name = path.name.lstrip(".") or "document" + path.suffix  # hidden files are not read from the corpus
    target, outcome = corpus / name, "added"
    message = f"added {name}"
    if target.exists():
        if replace:
            outcome, message = "replaced", f"replaced {name} with {given}"
        else:
            target = _free_name(corpus, name)
            outcome = "renamed"
            message = f"added {given} as {target.name} ({name} is another document already in the library)"
    builds.write_atomic(target, data)
    by_hash[digest] = target.name
    return Change(given, target.name, outcome, message)  # type: ignore[arg-type]


def _free_name(corpus: Path, name: str) -> Path:
    stem, suffix = Path(name).stem, Path(name).suffix
    n = 2
    while (corpus / f"{stem}-{n}{suffix}").exists():
        n += 1
    return corpus / f"{stem}-{n}{suffix}"


def remove(
    settings: Settings, names: Iterable[str], embedder: Embedder | None = None, progress: Progress | None = None
) -> LibraryReport:
    """Delete documents (by their name in `documents()`) from the corpus folder and rebuild the index
    without them (nothing is embedded). The last document cannot be removed: an index needs one."""
    corpus = settings.corpus_dir
    if not corpus.is_dir():
        raise CorpusError(f"{corpus}/: no such folder")
    with building(settings.index_dir, on_wait=(lambda: progress("waiting", 0, 0)) if progress else None):
        files = {p.relative_to(corpus).as_posix(): p for p in corpus_files(corpus)}
        names = list(dict.fromkeys(names))
        unknown = [n for n in names if n not in files]
        if unknown:
            raise LibraryError(f"no document named {unknown[0]!r} in {corpus}/ (see `assistant list`)")
        if len(names) >= len(files):
            raise LibraryError(f"{names[-1]} is the last document: the index needs one (add another first)")
        changes = []
        for name in names:
            files[name].unlink()
            changes.append(Change(name, name, "removed", f"removed {name}"))
        return LibraryReport(tuple(changes), _rebuild(settings, changes, embedder, progress))


def _rebuild(
    settings: Settings, changes: list[Change], embedder: Embedder | None, progress: Progress | None
) -> BuildReport | None:
    if not any(c.changed for c in changes):
        return None
    if embedder is None:
        from assistant.encode.embedder import Embedder

        embedder = Embedder(settings)  # loaded only if something is to be embedded
    report = build(settings, embedder, progress, locked=True)
    if settings.store == "milvus":  # Milvus follows the new build by document (assistant/store/milvus.py)
        from assistant.store import milvus

        # Milvus Lite held by another process (a web app): that one syncs when it follows the new build.
        with contextlib.suppress(milvus.MilvusBusy):
            milvus.update(settings)
    return report


def documents(settings: Settings) -> list[Entry]:
    """Every document of the corpus folder with what the current index knows of it."""
    corpus = settings.corpus_dir
    if not corpus.is_dir():
        raise CorpusError(f"{corpus}/: no such folder")
    manifest = current_manifest(settings.index_dir)
    indexed_files = manifest.get("corpus", {}).get("files", {})
    known = manifest.get("documents", {})
    entries = []
    for name, fp in corpus_fingerprints(corpus, indexed_files).items():
        same = indexed_files.get(name, {}).get("sha256") == fp["sha256"]
        info = known.get(name) if same else None
        fmt = Path(name).suffix.lower().lstrip(".")
        if info:
            title, fmt = info.get("title") or Path(name).stem, info.get("format") or fmt
            entries.append(
                Entry(
                    name, title, fmt, info.get("pages"), info.get("passages"), info.get("added"), fp["size"], "indexed"
                )
            )
        else:
            status = "skipped" if same else "not indexed yet"  # `assistant index` says why
            entries.append(Entry(name, Path(name).stem, fmt, None, None, None, fp["size"], status))
    return entries


def _known(settings: Settings) -> dict:
    return current_manifest(settings.index_dir).get("corpus", {}).get("files", {})
