"""Collect the runnable examples of README.md (fenced ``python`` and ``bash``/``sh``/``shell`` blocks) and of
``examples/`` (every ``*.py`` and ``*.sh``), for ``tests/e2e/test_docs_examples.py``.

The marking convention (one HTML comment on the line right before the opening fence, invisible on GitHub):

    <!-- test: skip — needs a GPU -->          never run; the reason after the dash is shown by pytest -rs
    <!-- test: skip: needs network -->        (``—``, ``-``, ``:`` all separate the reason)

Every other ``python``/``bash`` block runs, top to bottom, in one temporary folder that holds a copy of the
repository's ``examples/`` (six of the sample meetings) and ``my-docs/`` (three of those meetings), as a reader would
run them on a fresh clone; ``longembed`` and ``python`` on the PATH are this checkout's. Blocks of other
languages (``text``, ``console``, ``toml``) are never run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

FENCE = re.compile(r"^```([A-Za-z0-9_+-]*)\s*$")
MARK = re.compile(r"^<!--\s*test:\s*(?P<verb>skip)\b\s*[—:-]?\s*(?P<reason>.*?)\s*-->\s*$")
RUNNABLE = {"python": "python", "py": "python", "bash": "bash", "sh": "bash", "shell": "bash"}


@dataclass(frozen=True)
class Block:
    """One fenced block of a Markdown file: ``language`` is ``python`` or ``bash``; ``skip`` is the reason of
    its ``<!-- test: skip … -->`` mark, ``None`` when it runs."""

    source: str
    line: int
    language: str
    code: str
    skip: str | None

    @property
    def name(self) -> str:
        first = next((ln.strip() for ln in self.code.splitlines() if ln.strip()), "")
        return f"{self.source}:{self.line}:{self.language}:{first[:40]}"


def markdown_blocks(path: Path) -> list[Block]:
    """The runnable fenced blocks of ``path`` in order (line = the opening fence's 1-based line number)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        start, language = i, opening.group(1).lower()
        i += 1
        body = []
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        if language not in RUNNABLE:
            continue
        previous = next((lines[j].strip() for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        mark = MARK.match(previous)
        reason = (mark.group("reason") or "marked skip") if mark else None
        blocks.append(Block(path.name, start + 1, RUNNABLE[language], "\n".join(body) + "\n", reason))
    return blocks


def example_files(folder: Path) -> list[Path]:
    """Every ``*.py`` and ``*.sh`` under ``folder`` (the example programs), sorted."""
    return sorted(p for p in folder.rglob("*") if p.suffix in (".py", ".sh") and p.is_file())
