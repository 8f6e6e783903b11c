"""Sorting reads against what a collection holds: unchanged (skipped), new or updated (to embed), and, at the end
of a folder run, points whose file is gone (``prune``). No model, no writes except :func:`prune`'s delete."""

from __future__ import annotations

import logging
import os
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from longembed.ingest.identity import UPLOAD_SOURCE, identify, is_gone
from longembed.ingest.reader import Listing, ReadFailure, SourceDocument
from longembed.store import StoredState, VectorStore, point_id

log = logging.getLogger(__name__)


@dataclass
class Triaged:
    """One document as read, matched with what the collection holds for it."""

    read: SourceDocument
    """The read, re-pathed when the same file is stored under another relative path."""
    point_id: str
    old: StoredState | None
    unchanged: bool


@dataclass
class Batch:
    """One batch of reads, sorted against the collection in the worker thread, and (once the encoder is loaded)
    the documents that need the model made ready (``ready``: the encoder's prepared texts)."""

    failures: list[ReadFailure]
    triaged: list[Triaged]
    ready: object | None = None
    pending: Future | None = None
    """The prepared texts and term counts being made in a prepare worker process (``ready`` is then ``None``)."""
    term_counts: list[tuple[dict[int, int], int]] | None = None
    """BM25 term counts and length of each document of :attr:`to_embed` (collections with ``bm25``)."""

    @property
    def size(self) -> int:
        return len(self.failures) + len(self.triaged)

    @property
    def to_embed(self) -> list[SourceDocument]:
        return [t.read for t in self.triaged if not t.unchanged]


@dataclass
class Triage:
    """What the collection held when the run started, and the identity rule applied to each read.

    Attributes:
        stored: point id -> the state of every point at the start.
        fingerprint: the settings fingerprint of this run (a point written under another is re-embedded).
        by_name: uploads: the relative path is the identity (see :func:`~longembed.ingest.identity.identify`).
        seen: point ids of the documents read in this run (written or confirmed unchanged).
        claimed: point id -> source file of every document triaged in this run (two files never share a point).
        read_files: source file -> (point id, stored path, text sha256) of every document triaged in this run.
    """

    stored: dict[str, StoredState]
    fingerprint: str
    by_name: bool = False
    seen: set[str] = field(default_factory=set)
    claimed: dict[str, str] = field(default_factory=dict)
    read_files: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    by_source: dict[str, StoredState] = field(init=False)
    by_text: dict[str, list[StoredState]] = field(init=False)
    _reads_by_text: dict | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        self.by_source = {s.source: s for s in self.stored.values() if s.source}
        self.by_text = {}
        for state in self.stored.values():
            if state.source and not state.source.startswith(UPLOAD_SOURCE):
                self.by_text.setdefault(state.sha256, []).append(state)

    def reads_by_text(self) -> dict[tuple[str, str], list[tuple[str, str, str]]]:
        """(file name, text sha256) -> the :attr:`read_files` entries of the documents read with them."""
        if self._reads_by_text is None:
            self._reads_by_text = {}
            for source, held in self.read_files.items():
                self._reads_by_text.setdefault((PurePath(source).name, held[2]), []).append(held)
        return self._reads_by_text

    def unchanged_stamp(self, base: Path, file: Path) -> SourceDocument | None:
        """The stored document of ``file`` as a text-less :class:`SourceDocument` when the file's (size,
        mtime_ns) and the settings fingerprint equal those recorded with its point; ``None`` otherwise (then
        the file is read and its sha256 decides)."""
        rel = file.relative_to(base).as_posix()
        source = str(base / rel)
        old = self.by_source.get(source)  # the same file only: another root's file of the same relative path
        if old is None and (same := self.stored.get(point_id(rel))) is not None and same.source == source:
            old = same  # is read and triaged (the identity rule), never skipped by its stamp
        if old is None or old.settings_fingerprint != self.fingerprint or old.file_size < 0:
            return None
        try:
            info = os.stat(file)
        except OSError:
            return None
        if (info.st_size, info.st_mtime_ns) != (old.file_size, old.file_mtime_ns):
            return None
        return SourceDocument(path=rel, title="", text="", sha256=old.sha256, source=source,
                              file_size=info.st_size, file_mtime_ns=info.st_mtime_ns)

    def triage(self, read: SourceDocument, force: bool) -> Triaged:
        """Match ``read`` with its point (the identity rule, see :func:`~longembed.ingest.identity.identify`)."""
        read, old = identify(read, self.stored, self.by_source, self.claimed, by_name=self.by_name,
                             by_text=self.by_text)
        pid = point_id(read.path)
        self.claimed[pid] = read.source
        if read.source and not self.by_name:
            self.read_files[read.source] = (pid, read.path, read.sha256)
            self._reads_by_text = None
        unchanged = bool(
            old and not force and old.sha256 == read.sha256 and old.settings_fingerprint == self.fingerprint
        )
        return Triaged(read, pid, old, unchanged)

    def sort(self, reads: list[SourceDocument | ReadFailure], force: bool) -> Batch:
        """``reads`` as a :class:`Batch`: failures apart, every document triaged."""
        return Batch(
            failures=[r for r in reads if isinstance(r, ReadFailure)],
            triaged=[self.triage(r, force) for r in reads if isinstance(r, SourceDocument)],
        )


def _is_under(source: str, root: Path) -> bool:
    path = PurePath(source)
    return path == root or root in path.parents


def prune_gone(
    listing: Listing, triage: Triage, failed: list[ReadFailure], store: VectorStore, collection: str
) -> list[str]:
    """Delete the points whose source file lies under the ingested root but is no longer listed (or vanished
    while the run read it: ``failed`` entries marked ``missing``), and the points of files that moved under the
    root and were stored in this run under another point (:func:`moved_away`); returns their paths, sorted.

    Points without a recorded source (written by older versions) are never pruned, nor those under a folder that
    could not be listed (``listing.problems``, e.g. permission denied): their files may still be there.
    """
    present = {str(f) for f in listing.files}
    vanished = {f.path for f in failed if f.missing}
    unlisted = [listing.root / p.path.rstrip("/") for p in listing.problems if p.path.endswith("/")]
    kept = {f.path for f in failed}  # a document whose embedding failed holds no new point
    gone = [
        state
        for pid, state in triage.stored.items()
        if state.source
        and pid not in triage.seen
        and (
            _is_under(state.source, listing.root)
            and not any(_is_under(state.source, folder) for folder in unlisted)
            and (state.source not in present or state.path in vanished)
            or moved_away(state, triage, listing.base, kept)
        )
    ]
    gone.sort(key=lambda s: s.path)
    if gone:
        store.delete(collection, [s.point_id for s in gone])
        for state in gone:
            log.info("pruned %s (file gone)", state.path)
    return [s.path for s in gone]


def moved_away(state: StoredState, triage: Triage, base: Path, failed_paths: set[str] = frozenset()) -> bool:
    """Whether ``state`` is the stale point of a file that moved: its source file is gone (a moved or renamed
    root) and this run stored the file under another point, found either

    - **at its relative path**: ``state.source`` is ``OLD_ROOT/state.path``, ``OLD_ROOT`` is gone too, and the
      run read ``base/state.path`` (the moved-root rule of :mod:`longembed.ingest.identity` would have given it
      this point, had it not had its own already); or
    - **by its text**: the run read a file with the same file name and the same text (sha256).

    Such a point duplicates a document the collection holds; ``--prune`` removes it. A file that exists but
    cannot be checked is not gone, and a document whose embedding failed (``failed_paths``) does not count.
    """
    if not state.source or state.source.startswith(UPLOAD_SOURCE):
        return False

    def elsewhere(held: tuple[str, str, str] | None) -> bool:  # stored in this run under another point
        return held is not None and held[0] != state.point_id and held[1] not in failed_paths

    source, rel = PurePath(state.source), PurePath(state.path)
    at_path = (
        not rel.is_absolute()
        and source.parts[-len(rel.parts):] == rel.parts
        and elsewhere(triage.read_files.get(str(base / rel)))
    )
    same_text = any(elsewhere(held) for held in triage.reads_by_text().get((source.name, state.sha256), ()))
    if not (at_path or same_text) or not is_gone(state.source):
        return False
    return same_text or is_gone(str(PurePath(*source.parts[: -len(rel.parts)])))
