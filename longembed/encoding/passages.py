"""Old import path of :mod:`longembed.encoding.spans` (sentence and passage spans; renamed in issue 21 so that it
no longer shares a name with :mod:`longembed.retrieve.passages`, the passage results)."""

from longembed.encoding.spans import (
    ABBREVIATIONS, Passage, TokenizedText, passage_spans, sentence_starts,
)

__all__ = ["ABBREVIATIONS", "Passage", "TokenizedText", "passage_spans", "sentence_starts"]
