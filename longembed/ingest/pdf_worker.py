"""The PDF extraction process of :mod:`longembed.ingest.pdf` (stdlib and pypdf only; run as a script).

``python -I pdf_worker.py PATHS_JSON PARENT_PID MEMORY_MB``: prints ``{"ready": true}``, then answers one
JSON line per request line ``{"path", "max_pages"}`` on stdin: ``{"text", "title", "pages"}`` or
``{"error": "pages"|"memory"|"unreadable", ...}``. It ends at the end of stdin or when its parent is gone.
"""

from __future__ import annotations

import json
import os
import sys


def _die_with_parent(parent: int) -> None:
    """Linux: be killed when the parent ends (prctl PR_SET_PDEATHSIG); elsewhere stdin's end stops the loop."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent ended before prctl
        sys.exit(0)


def _limit_memory(megabytes: int) -> None:
    try:
        import resource

        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass


def _first_line(exc: BaseException) -> str:
    """:func:`longembed.errors.first_line`, restated: this script runs isolated and imports nothing of longembed."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def extract(path: str, max_pages: int) -> dict:
    """What LlamaIndex's ``PDFReader(return_full_document=True)`` extracted, and the ``/Title``."""
    from pypdf import PdfReader

    reader = PdfReader(path)
    pages = len(reader.pages)
    if pages > max_pages:
        return {"error": "pages", "pages": pages}
    text = "\n".join(reader.pages[i].extract_text() for i in range(pages))
    try:
        info = reader.metadata
        title = info.title if info is not None else None
    except Exception:  # noqa: BLE001 - metadata is optional
        title = None
    return {"text": text, "title": " ".join(str(title).split()) if title else "", "pages": pages}


def main() -> None:
    sys.path.extend(p for p in json.loads(sys.argv[1]) if p not in sys.path)  # after the standard library
    _die_with_parent(int(sys.argv[2]))
    _limit_memory(int(sys.argv[3]))
    import logging

    logging.disable(logging.WARNING)  # pypdf's warnings about damaged files; errors are answered
    out = sys.stdout.buffer
    out.write(b'{"ready": true}\n')
    out.flush()
    for line in sys.stdin.buffer:
        request = json.loads(line)
        try:
            answer = extract(request["path"], request["max_pages"])
        except MemoryError:
            answer = {"error": "memory"}
        except RecursionError:
            answer = {"error": "unreadable", "reason": "nested too deeply"}
        except Exception as exc:  # noqa: BLE001 - any parse error is this file's failure
            answer = {"error": "unreadable", "reason": _first_line(exc)}
        out.write(json.dumps(answer).encode() + b"\n")
        out.flush()


if __name__ == "__main__":
    main()
