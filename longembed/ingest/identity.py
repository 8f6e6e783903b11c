"""Which point a document read from disk is: the identity rule of ingest.

A document's point id is the UUID5 of its stored ``path`` (:func:`longembed.store.point_id`). The stored path is
the file's path relative to the ingested root (``notes.txt``), with two exceptions, so that two different
files never share a point:

1. **the same file again**: a file already stored (same absolute ``source``), reached through another root,
   keeps its point and its stored path (ingesting ``root/sub`` and then ``root`` does not duplicate
   ``root/sub/a.txt``);
2. **another file with the same relative path**: when the relative path is already held by a *different*
   file that still exists (``projA/notes.txt`` stored, now ``projB/notes.txt``), or by another file of the same
   run, the new file is stored under its absolute path (``/home/me/projB/notes.txt``); both are kept.

A stored point whose source file no longer exists (the root was moved or renamed) is taken over by the file
now at its relative path, as before. Points written before sources were recorded (no ``source``) are taken
over by relative path. Stores written by earlier versions therefore keep their point ids.

3. **a moved file reached through another root**: a file that would otherwise get a new point takes over a
   stored point whose source file is gone and which holds the same text (sha256) under the same file name
   (``r/sub/b.txt`` stored as ``sub/b.txt``, then ``mv r r2`` and ``ingest r2/sub``: ``b.txt`` keeps the point
   ``sub/b.txt`` instead of getting a second one). Points that such a rule could not catch (a store that holds
   the duplicate already, or a file edited after the move) are removed by ``--prune``
   (:func:`longembed.ingest.triage.moved_away`).

Uploads (``POST /ingest`` documents and files) use ``by_name``: the name given is the identity, and the same
name replaces an earlier upload. An upload records ``upload:NAME`` as its source (:data:`UPLOAD_SOURCE`), so uploads
and files never take each other's points: a file whose relative path is held by an upload is stored under its
absolute path (as in rule 2), and the server refuses an upload whose name is held by a file that still exists
(:func:`upload_clashes`). Uploads written before this rule record their deleted temporary path, and a file takes
their point over as the point of a moved root.
"""

from __future__ import annotations

import errno
import os
from dataclasses import replace
from pathlib import PurePath

from longembed.ingest.reader import SourceDocument
from longembed.store import StoredState, point_id

UPLOAD_SOURCE = "upload:"
"""Prefix of the ``source`` an uploaded document records (``upload:notes.txt``): no file on disk."""


def identify(
    read: SourceDocument,
    stored: dict[str, StoredState],
    by_source: dict[str, StoredState],
    claimed: dict[str, str],
    by_name: bool = False,
    by_text: dict[str, list[StoredState]] | None = None,
) -> tuple[SourceDocument, StoredState | None]:
    """``read`` with the path its point derives from, and the stored state of that point (``None``: new).

    Args:
        read: a document as read (``path`` relative to its root, ``source`` its absolute path or ``""``).
        stored: point id -> state of every point the collection held when the run started.
        by_source: source path -> state, for the stored points that record one.
        claimed: point id -> source of the documents already triaged in this run.
        by_name: uploads: the relative path is the identity whatever file held it.
        by_text: text sha256 -> the stored points with that text (rule 3); ``None``: rule 3 is off.
    """
    found, old = _by_path(read, stored, by_source, claimed, by_name)
    if old is None and by_text and not by_name and read.source:
        moved = _moved_copy(read, by_text, claimed)
        if moved is not None:
            return replace(read, path=moved.path), moved
    return found, old


def _by_path(
    read: SourceDocument, stored: dict[str, StoredState], by_source: dict[str, StoredState],
    claimed: dict[str, str], by_name: bool,
) -> tuple[SourceDocument, StoredState | None]:
    """Rules 1 and 2 and the take-over of a gone file's point at the same relative path."""
    if not by_name and read.source and read.source in by_source:  # rule 1: the same file again
        old = by_source[read.source]
        if claimed.get(old.point_id, read.source) == read.source:
            return replace(read, path=old.path), old
    pid = point_id(read.path)
    old = stored.get(pid)
    if by_name:
        return replace(read, source=UPLOAD_SOURCE + read.path), old
    if not read.source:
        return read, old
    taken = claimed.get(pid, read.source) != read.source
    held = old is not None and old.source and old.source != read.source
    if taken or (held and (old.source.startswith(UPLOAD_SOURCE) or _other_file(old.source, read.source))):
        moved = replace(read, path=read.source)  # rule 2: the absolute path keeps the two apart
        return moved, stored.get(point_id(moved.path))
    return read, old


def _moved_copy(read: SourceDocument, by_text: dict[str, list[StoredState]], claimed: dict[str, str]
                ) -> StoredState | None:
    """Rule 3: the stored point of a gone file with ``read``'s text and file name, not taken in this run."""
    name = PurePath(read.source).name
    for state in by_text.get(read.sha256, ()):
        if (
            state.source
            and not state.source.startswith(UPLOAD_SOURCE)
            and PurePath(state.source).name == name
            and claimed.get(state.point_id, read.source) == read.source
            and is_gone(state.source)
        ):
            return state
    return None


def is_gone(source: str) -> bool:
    """Whether the file ``source`` no longer exists (missing, or a missing folder on its way). A file that exists
    but cannot be checked (permission denied, I/O error) is not gone."""
    try:
        os.stat(source)
    except OSError as exc:
        return exc.errno in _GONE
    return False


_GONE = (errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.ENAMETOOLONG)
"""The ``stat`` errors of a path that names no file (a symlink loop and an over-long name included)."""


def _other_file(old_source: str, new_source: str) -> bool:
    """Whether ``old_source`` is a file other than ``new_source`` that still exists (or cannot be checked)."""
    try:
        old_stat = os.stat(old_source)
    except OSError as exc:
        return exc.errno not in _GONE
    try:
        new_stat = os.stat(new_source)
    except OSError:
        return True
    return (old_stat.st_dev, old_stat.st_ino) != (new_stat.st_dev, new_stat.st_ino)


def upload_clashes(names: list[str], sources: dict[str, str]) -> list[str]:
    """Of the upload ``names``, those whose point is held by a file that still exists (``sources``: stored path ->
    recorded source of the points under those names), as ``"NAME (from SOURCE)"``: an upload must not replace
    them."""
    return [
        f"{name} (from {sources[name]})"
        for name in names
        if sources.get(name) and not sources[name].startswith(UPLOAD_SOURCE) and os.path.exists(sources[name])
    ]
