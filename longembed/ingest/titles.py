"""Document titles from the file itself: a Markdown file's first heading, a PDF's title metadata.

(HTML titles come from ``<title>``, read by :mod:`longembed.ingest.html`.)
"""

from __future__ import annotations

import re
from pathlib import Path

ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def markdown_title(text: str) -> str:
    """The first ATX heading (``#`` … ``######``) outside fenced code blocks (CommonMark §4.2, §4.5), or ``''``.

    A fence closes on a line that starts with at least as many of the same fence character; a file whose
    fence never closes has no heading after it.
    """
    fence = ""
    for line in text.splitlines():
        opening = FENCE.match(line)
        if fence:
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                if not line.strip().strip(fence[0]):
                    fence = ""
            continue
        if opening:
            fence = opening.group(1)
            continue
        heading = ATX_HEADING.match(line)
        if heading:
            return heading.group(2).strip()
    return ""


def pdf_title(path: str | Path) -> str:
    """The ``/Title`` of a PDF's document information (pypdf), whitespace collapsed; ``''`` when absent or
    unreadable (the caller falls back to the file name)."""
    try:
        from pypdf import PdfReader

        info = PdfReader(str(path)).metadata
        title = info.title if info is not None else None
    except Exception:  # noqa: BLE001 - metadata is optional; the text was already read
        return ""
    return " ".join(str(title).split()) if title else ""
