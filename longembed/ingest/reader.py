"""Reading the files of a folder (or one file) into whole documents, each within the read budgets.

The folder is listed by :func:`~longembed.ingest.listing.scan` (re-exported here with :class:`Listing`,
:class:`ReadFailure`, :data:`SUPPORTED_EXTENSIONS` and :func:`list_files`). Each file is then read with LlamaIndex's
``SimpleDirectoryReader.load_file`` and the reader registered for its extension (plain text with encoding detection,
HTML); PDFs are read by pypdf in a worker process with a time and a page budget (:mod:`longembed.ingest.pdf`), and
no file over the size budget is opened (:class:`~longembed.ingest.limits.ReadLimits`).
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from llama_index.core import SimpleDirectoryReader

from longembed.errors import first_line
from longembed.ingest.html import HtmlTextReader
from longembed.ingest.limits import ReadLimits
from longembed.ingest.listing import SUPPORTED_EXTENSIONS, Listing, ReadFailure, list_files, scan
from longembed.ingest.pdf import PdfSkipped, read_pdf
from longembed.ingest.text import NotTextError, PlainTextReader
from longembed.ingest.titles import markdown_title

__all__ = [
    "SUPPORTED_EXTENSIONS", "Listing", "ReadFailure", "SourceDocument", "file_bytes", "list_files", "read_documents",
    "read_file", "scan", "shown_path",
]


@dataclass(frozen=True)
class SourceDocument:
    """One file read as a whole document.

    Attributes:
        path: path relative to the ingested root, POSIX separators (the point id derives from it).
        title: HTML ``<title>``, a Markdown file's first heading outside code blocks, a PDF's ``/Title``
            metadata, else the file name without extension.
        text: the full text (PDF pages joined, HTML converted to text).
        sha256: hex digest of ``text`` encoded as UTF-8.
        source: absolute path of the file (the ingested root resolved, then ``path``).
        encoding: the encoding the text was decoded with (``utf-8`` for PDF and HTML).
        note: how the text was decoded when that was not plain UTF-8 (empty otherwise).
        file_size, file_mtime_ns: ``os.stat`` of the file before it was read (``-1`` when not from a file).
    """

    path: str
    title: str
    text: str
    sha256: str
    source: str = ""
    encoding: str = "utf-8"
    note: str = ""
    file_size: int = -1
    file_mtime_ns: int = -1

    @property
    def size(self) -> int:
        """Bytes of the file, or characters of the text when not from a file (the progress bar's ETA scale)."""
        return self.file_size if self.file_size >= 0 else len(self.text)


def shown_path(path: str) -> str:
    """A file name as printed in messages: as is when printable, else escaped repr-style, so a name holding a
    newline cannot forge a line of output."""
    return path if path.isprintable() else repr(path)


def _file_extractor() -> dict:
    html, text = HtmlTextReader(), PlainTextReader()
    return {".html": html, ".htm": html, ".txt": text, ".md": text}


def _title(path: Path, text: str, metadata: dict) -> str:
    if metadata.get("title"):
        return str(metadata["title"])
    title = markdown_title(text) if path.suffix.lower() == ".md" else ""
    return title or path.stem


def _os_reason(exc: OSError, file: Path) -> str:
    if exc.errno == errno.ELOOP:
        return "symlink loop (the link points back to itself)"
    if exc.errno == errno.ENOENT:
        return "broken symlink (its target does not exist)" if file.is_symlink() else "file disappeared during the run"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "no permission to read the file"
    return f"cannot read the file: {exc.strerror or exc}"


def _root_cause(exc: BaseException) -> BaseException:
    """The error underneath LlamaIndex's "Error loading file" and tenacity's ``RetryError`` (PDFReader retries)."""
    for _ in range(10):
        attempt = getattr(exc, "last_attempt", None)
        inner = attempt.exception() if attempt is not None and hasattr(attempt, "exception") else None
        inner = inner or exc.__cause__
        if inner is None:
            break
        exc = inner
    return exc


def read_file(base: Path, file: Path, limits: ReadLimits | None = None) -> SourceDocument | ReadFailure:
    """Read one file with the reader LlamaIndex picks for its extension (PDFs: :func:`~longembed.ingest.pdf.read_pdf`);
    never raises for a bad file.

    Returns a :class:`ReadFailure` for: a file that is missing, unreadable (permissions), a symlink loop, not a
    regular file (a FIFO or device must not block the run), empty or whitespace only, binary, that its
    reader cannot parse (e.g. a corrupt PDF), or over a budget of ``limits`` (default :class:`ReadLimits`):
    larger than ``max_file_mb``, a PDF with more than ``pdf_pages`` pages or whose text takes longer than
    ``pdf_seconds`` ("skipped: too large / too slow (… limit …)").
    """
    limits = limits or ReadLimits()
    rel = file.relative_to(base).as_posix()
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return ReadFailure(rel.encode("utf-8", "replace").decode(), "file name is not valid UTF-8")
    try:
        info = os.stat(file)
    except OSError as exc:
        missing = exc.errno == errno.ENOENT and not file.is_symlink()
        return ReadFailure(rel, _os_reason(exc, file), missing=missing)
    if not stat.S_ISREG(info.st_mode):
        return ReadFailure(rel, "not a regular file")
    if info.st_size == 0:
        return ReadFailure(rel, "empty file")
    if (too_large := limits.too_large(info.st_size)) is not None:
        return ReadFailure(rel, too_large)
    if file.suffix.lower() == ".pdf":
        return _read_pdf(rel, base, file, info, limits)
    try:
        parts = SimpleDirectoryReader.load_file(
            file, file_metadata=lambda _: {}, file_extractor=_file_extractor(), raise_on_error=True
        )
    except Exception as exc:  # load_file wraps the reader's error ("Error loading file") in its cause
        cause = _root_cause(exc)
        if isinstance(cause, OSError) and cause.errno is not None:
            return ReadFailure(rel, _os_reason(cause, file), missing=cause.errno == errno.ENOENT)
        if isinstance(cause, NotTextError):
            return ReadFailure(rel, str(cause))
        return ReadFailure(rel, f"cannot parse the file: {first_line(cause)}")
    text = "\n\n".join(p.text for p in parts if p.text)
    if not text.strip():
        reason = {".html": "no text outside tags, scripts and styles"}
        return ReadFailure(rel, reason.get(file.suffix.lower(), "whitespace only, no text"))
    metadata = parts[0].metadata if parts else {}
    return _document(rel, base, text, _title(file, text, metadata), info, metadata)


def _read_pdf(rel: str, base: Path, file: Path, info: os.stat_result, limits: ReadLimits) -> SourceDocument | ReadFailure:
    try:
        pdf = read_pdf(file, limits)
    except PdfSkipped as exc:
        return ReadFailure(rel, str(exc))
    if not pdf.text.strip():
        return ReadFailure(rel, "no extractable text (a scanned PDF?)")
    return _document(rel, base, pdf.text, pdf.title or file.stem, info, {})


def _document(rel: str, base: Path, text: str, title: str, info: os.stat_result, metadata: dict) -> SourceDocument:
    return SourceDocument(
        path=rel,
        title=title,
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        source=str(base / rel),
        encoding=str(metadata.get("encoding", "utf-8")),
        note=str(metadata.get("decode_note", "")),
        file_size=info.st_size,
        file_mtime_ns=info.st_mtime_ns,
    )


def read_documents(root: str | Path, limits: ReadLimits | None = None) -> Iterator[SourceDocument | ReadFailure]:
    """Read every supported file under ``root`` lazily, one whole document per file, in path order, each within
    ``limits`` (see :func:`read_file`).

    Unreadable folders found while listing come first, as :class:`ReadFailure`.
    """
    listing = scan(root)
    yield from listing.problems
    for file in listing.files:
        yield read_file(listing.base, file, limits)


def file_bytes(path: Path) -> int:
    """Bytes of ``path`` on disk, 0 when it cannot be stat'ed (its read then reports why)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0
