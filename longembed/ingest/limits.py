"""Bounded work per file: the size, PDF time and PDF page budgets of one ingested file.

A file over a budget is skipped with one failure line naming the limit and the option that changes it; the
other files are ingested. The defaults keep any one file under about 30 s on a 2-core machine:

- ``--max-file-mb`` (:data:`DEFAULT_MAX_FILE_MB`): any file larger is not opened. The costs that grow with
  size (decoding, hashing, BM25 counting at about 0.2 s per MB on one core) stay near 15 s at the limit.
- ``--pdf-seconds`` (:data:`DEFAULT_PDF_SECONDS`): wall time of a PDF's text extraction, which runs in a
  worker process that is killed at the limit (:mod:`longembed.ingest.pdf`).
- ``--pdf-pages`` (:data:`DEFAULT_PDF_PAGES`): a PDF with more pages is skipped before any page is read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from longembed.errors import LongEmbedError

DEFAULT_MAX_FILE_MB = 64.0
"""Largest file read, in MiB (2**20 bytes)."""
DEFAULT_PDF_SECONDS = 20.0
"""Longest text extraction of one PDF, in seconds of wall time."""
DEFAULT_PDF_PAGES = 2000
"""Most pages of one PDF."""
MB = 1024 * 1024


@dataclass(frozen=True)
class ReadLimits:
    """The budgets of one file (see the module docstring).

    Attributes:
        max_file_mb: largest file size in MiB; larger files are skipped unread.
        pdf_seconds: wall-time budget of one PDF's text extraction, in seconds.
        pdf_pages: most pages of one PDF.

    Raises:
        LongEmbedError: a budget that is not a positive finite number (``pdf_pages``: a positive integer).
    """

    max_file_mb: float = DEFAULT_MAX_FILE_MB
    pdf_seconds: float = DEFAULT_PDF_SECONDS
    pdf_pages: int = DEFAULT_PDF_PAGES

    def __post_init__(self) -> None:
        for name, value, option in (
            ("max_file_mb", self.max_file_mb, "--max-file-mb"),
            ("pdf_seconds", self.pdf_seconds, "--pdf-seconds"),
        ):
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise LongEmbedError(f"{option} must be a positive number, got {value!r}")
        if not isinstance(self.pdf_pages, int) or self.pdf_pages < 1:
            raise LongEmbedError(f"--pdf-pages must be a positive whole number, got {self.pdf_pages!r}")

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * MB)

    def too_large(self, size: int) -> str | None:
        """The failure reason for a file of ``size`` bytes over the size budget, else ``None``."""
        if size <= self.max_file_bytes:
            return None
        return f"skipped: too large ({size / MB:.1f} MB; the limit is {self.max_file_mb:g} MB, --max-file-mb)"

    def too_many_pages(self, pages: int) -> str:
        return f"skipped: too large ({pages} pages; the limit is {self.pdf_pages} pages, --pdf-pages)"

    def too_slow(self) -> str:
        return (
            f"skipped: too slow (extracting the PDF's text took longer than the limit of {self.pdf_seconds:g} s, "
            "--pdf-seconds)"
        )


def click_options(func):
    """The ``--max-file-mb``, ``--pdf-seconds`` and ``--pdf-pages`` options of ``ingest`` and ``serve``, passed to
    the command as one ``read_limits`` argument (a :class:`ReadLimits`)."""
    import functools

    import click

    @click.option(
        "--max-file-mb", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_MAX_FILE_MB, show_default=True,
        help="Skip any file larger than this many MiB (listed as failed: too large).",
    )
    @click.option(
        "--pdf-seconds", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_PDF_SECONDS, show_default=True,
        help="Skip a PDF whose text extraction takes longer (listed as failed: too slow).",
    )
    @click.option(
        "--pdf-pages", type=click.IntRange(min=1), default=DEFAULT_PDF_PAGES, show_default=True,
        help="Skip a PDF with more pages (listed as failed: too large).",
    )
    @functools.wraps(func)
    def wrapper(*args, max_file_mb, pdf_seconds, pdf_pages, **kwargs):
        return func(*args, read_limits=ReadLimits(max_file_mb, pdf_seconds, pdf_pages), **kwargs)

    return wrapper
