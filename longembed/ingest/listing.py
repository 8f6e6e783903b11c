"""Listing a folder (or one file) to ingest: the supported files, each skipped entry counted (:func:`scan`).

The walk is our own so that nothing can hang or loop: hidden files and folders are skipped without being entered,
symlinked folders are not followed, file symlinks leaving the root are skipped, unreadable folders are reported as
:class:`ReadFailure` entries.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from longembed.errors import IngestError

SUPPORTED_EXTENSIONS = (".txt", ".md", ".pdf", ".html", ".htm")


@dataclass(frozen=True)
class ReadFailure:
    """A file (or folder, path ending in ``/``) that could not be read, and why.

    ``missing`` is true when the file was listed but gone when read (``--prune`` treats it as deleted).
    """

    path: str
    reason: str
    missing: bool = False


@dataclass(kw_only=True)
class Skipped:
    """Entries skipped while listing, as relative paths (a folder's ends in ``/``); shared by :class:`Listing` and
    :class:`~longembed.ingest.summary.IngestSummary`.

    Attributes:
        unsupported: files skipped for their extension.
        hidden: hidden files and folders (name starting with ``.``), skipped unentered.
        symlinked_folders: symlinks to folders, not followed.
    """

    unsupported: list[str] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)
    symlinked_folders: list[str] = field(default_factory=list)


@dataclass
class Listing(Skipped):
    """What :func:`scan` found under a root; what it skipped as :class:`Skipped` (its fields are keyword-only).

    Attributes:
        root: the scanned path, resolved (a folder, or the single file given).
        base: the folder that document paths are relative to (``root``, or a single file's folder).
        files: supported files to read, sorted by relative path.
        outside_links: relative paths of file symlinks whose target lies outside the root, not followed
            (unless ``follow_links``).
        problems: entries that cannot be read at all (unreadable folders, paths too long).
    """

    root: Path
    base: Path
    files: list[Path] = field(default_factory=list)
    outside_links: list[str] = field(default_factory=list)
    problems: list[ReadFailure] = field(default_factory=list)

    def describe(self) -> str:
        """e.g. ``120 file(s) under /docs (skipped: 3 unsupported, 1 hidden, 1 symlinked folder)``."""
        skipped = [
            f"{n} {what}"
            for n, what in (
                (len(self.unsupported), "unsupported"),
                (len(self.hidden), "hidden"),
                (len(self.symlinked_folders), "symlinked folder(s)"),
                (len(self.outside_links), "symlink(s) leaving the folder"),
                (len(self.problems), "unreadable folder(s)"),
            )
            if n
        ]
        return f"{len(self.files)} file(s) under {self.root}" + (
            f" (skipped: {', '.join(skipped)})" if skipped else ""
        )


def _is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED_EXTENSIONS


def _outside(path: Path, root: Path) -> bool:
    """Whether the symlink ``path`` points to a file outside ``root`` (broken links and loops count as inside:
    reading them gives their own failure)."""
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    return target != root and root not in target.parents


def scan(root: str | Path, follow_links: bool = False) -> Listing:
    """List the supported files under ``root`` (a folder, searched recursively, or one file).

    File symlinks whose target lies outside ``root`` are skipped (``outside_links``) unless ``follow_links``.
    An entry whose path the system refuses (e.g. longer than PATH_MAX) is one ``problems`` entry; the rest is
    listed.

    Raises:
        IngestError: ``root`` does not exist, is neither a file nor a folder, cannot be listed, is an
            unsupported single file, or holds no supported file.
    """
    given = Path(root).expanduser()
    exts = ", ".join(SUPPORTED_EXTENSIONS)
    if not given.exists():
        if given.is_symlink():
            raise IngestError(f"path {str(given)!r} is a broken symlink or a symlink loop")
        raise IngestError(f"path {str(given)!r} does not exist")
    resolved = given.resolve()
    if given.is_file():
        if not _is_supported(given):
            raise IngestError(f"{str(given)!r} is not a supported file type ({exts})")
        return Listing(root=resolved, base=resolved.parent, files=[resolved])
    if not given.is_dir():
        raise IngestError(f"path {str(given)!r} is neither a file nor a folder")
    listing = Listing(root=resolved, base=resolved)
    listing_errors: list[OSError] = []
    for dirpath, dirnames, filenames in os.walk(resolved, onerror=listing_errors.append, followlinks=False):
        folder = Path(dirpath)
        kept = []
        for name in sorted(dirnames):
            rel = (folder / name).relative_to(resolved).as_posix()
            try:
                is_link = (folder / name).is_symlink()
            except OSError as exc:
                listing.problems.append(ReadFailure(rel + "/", f"cannot list this folder: {exc.strerror or exc}"))
                continue
            if name.startswith("."):
                listing.hidden.append(rel + "/")
            elif is_link:
                listing.symlinked_folders.append(rel + "/")
            else:
                kept.append(name)
        dirnames[:] = kept  # os.walk descends only into these
        for name in filenames:
            path = folder / name
            rel = path.relative_to(resolved).as_posix()
            if name.startswith("."):
                listing.hidden.append(rel)
            elif not _is_supported(path):
                listing.unsupported.append(rel)
            elif not follow_links and _is_link(path) and _outside(path, resolved):
                listing.outside_links.append(rel)
            else:
                listing.files.append(path)
    for exc in listing_errors:
        where = Path(exc.filename) if exc.filename else resolved
        if where == resolved:
            raise IngestError(f"cannot list the folder {str(given)!r}: {exc.strerror or exc}")
        try:
            rel = where.relative_to(resolved).as_posix() + "/"
        except ValueError:
            rel = str(where) + "/"
        listing.problems.append(ReadFailure(rel, f"cannot list this folder: {exc.strerror or exc}"))
    listing.files.sort(key=lambda p: p.relative_to(resolved).as_posix())
    if not listing.files and not listing.problems:
        raise IngestError(f"no supported files ({exts}) under {str(given)!r}")
    return listing


def _is_link(path: Path) -> bool:
    try:
        return path.is_symlink()
    except OSError:
        return False  # read_file reports the path


def list_files(root: str | Path) -> tuple[Path, list[Path]]:
    """The base directory and the supported, non-hidden files under ``root`` (see :func:`scan`)."""
    listing = scan(root)
    return listing.base, listing.files
