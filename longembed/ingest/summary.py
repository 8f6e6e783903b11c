"""What one ingest run did (:class:`IngestSummary`), and the lines the CLI and the server print from it."""

from __future__ import annotations

from dataclasses import dataclass, field

from longembed.ingest.listing import ReadFailure, Skipped


@dataclass
class IngestSummary(Skipped):
    """What one ingest run did. Times in seconds, lengths in tokens; lists hold relative paths; what the listing
    skipped as :class:`~longembed.ingest.listing.Skipped` (its fields are keyword-only).

    Attributes:
        documents: documents embedded and written in this run (``new`` + ``updated``).
        tokens: tokens embedded in this run.
        new, updated, unchanged: documents by what happened to their point (unchanged ones are not embedded).
        pruned: points deleted because their file is gone (``prune`` only).
        truncated: embedded documents longer than the content limit.
        longest_truncated: tokens of the longest truncated document (``longest_clipped``: more than this, its
            text was clipped before tokenizing); ``truncated_to``: the limit they were cut to (special tokens included);
            ``truncation_hint``: how to keep more (see :meth:`truncation_line`).
        failed: files (or folders) that could not be read or embedded.
        notes: one line per document whose text was decoded with a fallback (encoding, replacement).
        seconds: wall time of the run.
        stage_seconds: time spent per step (seconds): ``read`` (files read, decoded, hashed) and ``prepare``
            (clipped, tokenized, split into model inputs) run in a worker thread, one batch ahead of ``encode``
            (the model) and ``write`` (Qdrant upserts), so their sum can exceed ``seconds``.
    """

    documents: int = 0
    tokens: int = 0
    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    truncated: list[str] = field(default_factory=list)
    failed: list[ReadFailure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    longest_truncated: int = 0
    longest_clipped: bool = False
    truncated_to: int = 0
    truncation_hint: str = ""
    seconds: float = 0.0
    sparse_seconds: float = 0.0
    """Time spent computing BM25 term counts and weights (part of ``prepare``; 0 without ``bm25``)."""
    stage_seconds: dict[str, float] = field(
        default_factory=lambda: {"read": 0.0, "prepare": 0.0, "encode": 0.0, "write": 0.0}
    )

    def line(self) -> str:
        skipped = f"{len(self.unsupported)} unsupported, {len(self.hidden)} hidden"
        if self.symlinked_folders:
            skipped += f", {len(self.symlinked_folders)} symlinked folder(s)"
        return (
            f"ingested {self.documents} document{'' if self.documents == 1 else 's'} ({self.tokens} tokens): "
            f"{len(self.new)} new, "
            f"{len(self.updated)} updated, {len(self.unchanged)} unchanged, {len(self.pruned)} pruned, "
            f"{len(self.failed)} failed; {len(self.truncated)} truncated; skipped {skipped}; in {self.seconds:.1f} s"
        )

    def note_truncated(self, path: str, n_tokens: int, clipped: bool, limit: int, hint: str) -> None:
        """Count one truncated document of ``n_tokens`` tokens (more, when its text was ``clipped``), cut to
        ``limit`` tokens; ``hint`` says how to keep more."""
        self.truncated.append(path)
        if n_tokens > self.longest_truncated:
            self.longest_truncated, self.longest_clipped = n_tokens, clipped
        self.truncated_to, self.truncation_hint = limit, hint

    def truncation_line(self, name_hint: bool = True) -> str | None:
        """One line for all truncated documents (count, longest, how to keep more; with ``name_hint``, that
        --verbose names each), ``None`` when none was."""
        n = len(self.truncated)
        if not n:
            return None
        longest = f"{'more than ' if self.longest_clipped else ''}{self.longest_truncated}"
        return (
            f"{n} document{'' if n == 1 else 's'} truncated to {self.truncated_to} tokens (longest: {longest} "
            f"tokens); {self.truncation_hint}{'; --verbose names each' if name_hint else ''}"
        )
