"""PDF text extraction with a time and a page budget, in a worker process that is killed at the deadline.

Why a process: pypdf is pure Python, and one page can take minutes (issue 14 row 7: 20 pages that share one
1 MB content stream took 124 s). A thread cannot be stopped, keeps the GIL busy after it is abandoned, and a
per-page check cannot interrupt the page being read. A process is stopped at the deadline whatever it is
doing, its CPU and memory go with it, and it holds no lock of the server. One worker is kept for the whole
run (one start, about 0.3 s, not counted in the budget); a killed worker is replaced for the next PDF.

The worker is :mod:`longembed.ingest.pdf_worker`, run as a script in isolated mode (``python -I``: neither its
folder nor the current directory is on its path, so no file of the ingested folder can shadow a module). It
extracts exactly what LlamaIndex's ``PDFReader(return_full_document=True)`` did (pages' ``extract_text()``
joined by ``\\n``), so documents stored before keep their sha256, and the ``/Title`` metadata.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from longembed.ingest.limits import ReadLimits

WORKER = Path(__file__).with_name("pdf_worker.py")
START_TIMEOUT_S = 60.0
"""Longest start of a worker (not part of any file's budget)."""
MEMORY_LIMIT_MB = 2048
"""Address space of the worker; a PDF that needs more is skipped as too large."""


@dataclass(frozen=True)
class PdfText:
    """A PDF's text (pages joined by ``\\n``), its ``/Title`` (whitespace collapsed, ``''`` if none), pages."""

    text: str
    title: str
    pages: int


class PdfSkipped(Exception):
    """The PDF is over a budget, or unreadable; ``str()`` is the one-line reason for the failure list."""


class PdfWorker:
    """One extraction process, started on first use, reused, replaced after a kill; thread-safe (one PDF at a
    time)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None

    def extract(self, path: str | Path, limits: ReadLimits) -> PdfText:
        """The text of the PDF at ``path`` within ``limits`` (``pdf_seconds`` from the request to the answer).

        Raises:
            PdfSkipped: too many pages, too slow (the worker is killed), too much memory, or not a readable PDF.
        """
        request = json.dumps({"path": str(path), "max_pages": limits.pdf_pages}).encode() + b"\n"
        with self._lock:
            process = self._ready()
            try:
                process.stdin.write(request)
                process.stdin.flush()
            except OSError:
                self._stop(kill=True)
                raise PdfSkipped("not a readable PDF: the PDF reader stopped") from None
            answer = self._answer(process, time.monotonic() + limits.pdf_seconds)
            if answer is None:
                self._stop(kill=True)
                raise PdfSkipped(limits.too_slow())
            if answer == b"":
                code = self._stop(kill=True)
                raise PdfSkipped(f"not a readable PDF: the PDF reader stopped (exit status {code})")
        result = json.loads(answer)
        if "error" not in result:
            return PdfText(result["text"], result["title"], result["pages"])
        if result["error"] == "pages":
            raise PdfSkipped(limits.too_many_pages(result["pages"]))
        if result["error"] == "memory":
            raise PdfSkipped(f"skipped: too large (the PDF reader needed more than {MEMORY_LIMIT_MB} MB of memory)")
        raise PdfSkipped(f"not a readable PDF: {result['reason']}")

    def close(self) -> None:
        """Stop the worker (it also stops by itself when this process ends)."""
        with self._lock:
            self._stop(kill=False)

    def _ready(self) -> subprocess.Popen:
        if self._process is not None and self._process.poll() is None:
            return self._process
        paths = [p for p in sys.path if p and os.path.isabs(p)]  # appended after the standard library there
        process = subprocess.Popen(
            [sys.executable, "-I", str(WORKER), json.dumps(paths), str(os.getpid()), str(MEMORY_LIMIT_MB)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0,
        )
        self._process = process
        if self._answer(process, time.monotonic() + START_TIMEOUT_S) != b'{"ready": true}':
            code = self._stop(kill=True)
            raise PdfSkipped(f"not a readable PDF: the PDF reader could not start (exit status {code})")
        return process

    @staticmethod
    def _answer(process: subprocess.Popen, deadline: float) -> bytes | None:
        """One line from the worker without its newline; ``b''`` if it ended, ``None`` at the deadline."""
        fd = process.stdout.fileno()
        received = bytearray()
        while not received.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            readable, _, _ = select.select([fd], [], [], remaining)
            if readable:
                block = os.read(fd, 1 << 20)
                if not block:
                    return b""
                received += block
        return bytes(received[:-1])

    def _stop(self, kill: bool) -> int | None:
        process, self._process = self._process, None
        if process is None:
            return None
        if kill:
            process.kill()
        else:
            process.stdin.close()
        try:
            code = process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait(timeout=5)
        for stream in (process.stdin, process.stdout):
            if not stream.closed:
                stream.close()
        return code


_WORKER = PdfWorker()
atexit.register(_WORKER.close)


def read_pdf(path: str | Path, limits: ReadLimits) -> PdfText:
    """The text and title of one PDF within ``limits``, through the shared :class:`PdfWorker`.

    Raises:
        PdfSkipped: see :meth:`PdfWorker.extract`.
    """
    return _WORKER.extract(path, limits)
