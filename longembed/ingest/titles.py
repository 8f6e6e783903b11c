"""Document titles from the file itself: a Markdown file's first heading.

(HTML titles come from ``<title>``, read by :mod:`longembed.ingest.html`; a PDF's title metadata is read with its
text by :mod:`longembed.ingest.pdf_worker`.)
"""

from __future__ import annotations

import re

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
