"""Markdown helpers of the bench report: scores ×100 and pipe tables (first column left-aligned, the rest right)."""

from __future__ import annotations


def pct(value: float | None) -> str:
    """A score in [0, 1] as ×100 with one decimal; ``–`` for none."""
    return "–" if value is None else f"{100 * value:.1f}"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """The lines of a pipe table."""
    rule = "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"
    lines = ["| " + " | ".join(header) + " |", rule]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines
