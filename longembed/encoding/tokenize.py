"""Tokenizing for the data path: a fast tokenizer's Rust backend (Hugging Face ``tokenizers``) called directly, and
the test that tells when a passage's tokens can be cut out of its document's tokens instead of tokenizing it again.

Calling ``tokenizers.Tokenizer.encode_batch`` skips what the ``transformers`` wrapper adds around it (a
truncation / padding reset per call and a Python dict per text: ~1.3 s per million tokens here, ``perf/PERF.md``
§13b); the ids and offsets are the wrapper's own (``tests/encoding/test_tokenize.py``). The backend is a private
copy with truncation and padding off, which no other caller mutates, so calls from several threads run at once
(``encode_batch`` releases the GIL). A slow (pure Python) tokenizer goes through the wrapper as before.

Reusing document tokens (:meth:`Tokens.splits_alone`): a BERT WordPiece tokenizer (``BertPreTokenizer``, which
splits at whitespace and at every punctuation character, then WordPiece per word) tokenizes each word on its own,
so a span of text that starts and ends at a word boundary tokenizes alone into exactly the document's tokens of
that span. Naive passages (each passage embedded as a short document of its own) then cost no second tokenization
(about 40 % of preparing a document with naive passages). Other tokenizers (SentencePiece / Metaspace, byte-level
BPE) mark a word's first piece by what precedes it, so their passages are tokenized again.
"""

from __future__ import annotations

import copy
import threading

WORD_SEPARATORS = frozenset(" \t\n\r")
"""Characters after which a BERT tokenizer always starts a new word (whitespace its normalizer keeps as such)."""
ASCII_PUNCTUATION = frozenset(chr(c) for c in (*range(33, 48), *range(58, 65), *range(91, 97), *range(123, 127)))
"""Characters ``BertPreTokenizer`` always cuts out as a word of their own (BERT's ``_is_punctuation`` for ASCII)."""


class Tokens:
    """Content token ids (and offsets) of texts, without special tokens and without truncation (thread-safe).

    Args:
        tokenizer: a Hugging Face tokenizer; a fast one is called through a private copy of its backend.
    """

    def __init__(self, tokenizer) -> None:
        backend = getattr(tokenizer, "backend_tokenizer", None) if getattr(tokenizer, "is_fast", False) else None
        if backend is not None:
            backend = copy.deepcopy(backend)
            backend.no_truncation()
            backend.no_padding()
        self.tokenizer = tokenizer
        self.backend = backend
        self.words_tokenize_alone = backend is not None and _is_bert_wordpiece(backend)
        """Whether a span between word boundaries tokenizes alone as it does in its text (see the module)."""
        self._lock = threading.Lock()  # the wrapper of a slow tokenizer is not shared across threads

    def __getstate__(self) -> dict:
        """Picklable without its lock (a Ray ingest ships the preparer to its CPU workers)."""
        return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, in order."""
        if self.backend is not None:
            return [e.ids for e in self.backend.encode_batch(texts, add_special_tokens=False)]
        with self._lock:
            return self.tokenizer(texts, add_special_tokens=False, return_attention_mask=False)["input_ids"]

    def ids_and_offsets(self, texts: list[str]) -> list[tuple[list[int], list[tuple[int, int]]]]:
        """Per text, its token ids and each token's ``(start, end)`` characters in it (a fast tokenizer's
        offsets)."""
        if self.backend is not None:
            return [(e.ids, e.offsets) for e in self.backend.encode_batch(texts, add_special_tokens=False)]
        with self._lock:
            out = self.tokenizer(
                texts, add_special_tokens=False, return_attention_mask=False, return_offsets_mapping=True
            )
        return list(zip(out["input_ids"], out["offset_mapping"]))

    def splits_alone(self, text: str, starts: list[int], token: int) -> bool:
        """Whether ``text``'s tokens ``[..token)`` and ``[token..)`` are what its two sides tokenize into alone.

        Args:
            text: the tokenized text; ``starts``: each token's first character in it (non-decreasing).
            token: a token index, ``0 ≤ token ≤ len(starts)``.

        True only for a tokenizer whose words tokenize alone (:attr:`words_tokenize_alone`) at a certain word
        boundary: the text's start or end, a token starting after a space, tab or line break, or next to an ASCII
        punctuation character, and not sharing its first character with the token before (one character that
        the normalizer expands into several tokens). False is always safe: the caller tokenizes the span again.
        """
        if not self.words_tokenize_alone:
            return False
        if token <= 0 or token >= len(starts):
            return True
        c = starts[token]
        if c <= starts[token - 1]:
            return False
        return text[c - 1] in WORD_SEPARATORS or text[c - 1] in ASCII_PUNCTUATION or text[c] in ASCII_PUNCTUATION

    def prefix_splits_alone(self, prefix: str) -> bool:
        """Whether ``prefix`` ends at a word boundary, whatever text follows it (empty, or ending in whitespace or
        ASCII punctuation): then ``prefix + span`` tokenizes into the prefix's tokens followed by the span's."""
        return self.words_tokenize_alone and (not prefix or prefix[-1] in WORD_SEPARATORS | ASCII_PUNCTUATION)


def _is_bert_wordpiece(backend) -> bool:
    """A ``BertPreTokenizer`` + ``WordPiece`` backend whose normalizer (if any) is ``BertNormalizer``."""
    from tokenizers import models, normalizers, pre_tokenizers

    normalizer = backend.normalizer
    return (
        isinstance(backend.pre_tokenizer, pre_tokenizers.BertPreTokenizer)
        and isinstance(backend.model, models.WordPiece)
        and (normalizer is None or isinstance(normalizer, normalizers.BertNormalizer))
    )
