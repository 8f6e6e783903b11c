"""Passage vectors, three ways, all through the :class:`~longembed.encoder.Encoder` (its pooling, Dense head and
L2 normalisation, with the collection's extension method):

- ``naive``: each passage encoded alone, like a short document (batched by token budget with everything else);
  its vector is exactly ``encoder.encode([passage])``.
- ``late``: late chunking (Günther et al. 2024, "Late Chunking: Contextual Chunk Embeddings Using Long-Context
  Embedding Models", arXiv 2409.04701): the mean of the token states of the whole-document forward pass (the one
  that makes the ``doc`` vector, so no extra forward for documents up to ``max_length``) over the passage's
  tokens. The passage tokens are mean-pooled whatever the model's pooling (a ``cls`` or ``lasttoken`` state
  summarises the whole input, not a span; late chunking is defined for mean pooling).
- ``window-late``: the same over windows of L_o tokens (the model's own positions: every extender feeds inputs
  of at most L_o tokens exactly as the original model), so each passage sees up to L_o tokens of context.

Long late chunking (jina-ai/late-chunking, ``long_late_chunking`` in its ``chunked_pooling``; paper §3.1): a
document longer than the content limit L_t is covered by overlapping macro windows of L_t tokens, overlap
L_t / 8 (:data:`MACRO_OVERLAP`); the first is the document's own forward pass, and each passage is pooled from
the window where it has the most context on both sides (the largest min(tokens before, tokens after) among the
windows that hold it whole). The ``doc`` vector keeps its meaning: the first L_t tokens (``truncated`` says so).
Passages cover at most :data:`MAX_PASSAGE_TOKENS` tokens of a document.
"""

from __future__ import annotations

from dataclasses import replace

from longembed.encoder import Encoder, PreparedTexts
from longembed.encoding.passages import Passage, TokenizedText, passage_spans
from longembed.extenders import Segment
from longembed.settings import IndexSettings

MACRO_OVERLAP = 8
"""Macro windows overlap by 1/8 of their length (jina-ai/late-chunking uses a fixed overlap; 1/8 keeps a 128-token
passage whole in some window down to L_t = 1024)."""
MAX_PASSAGE_TOKENS = 65536
"""Tokens of a document that get passages (16 macro windows at L_t = 4096); the rest of a longer text has none."""


def tokenize_with_offsets(encoder: Encoder, prefix: str, text: str) -> tuple[list[int], int, TokenizedText]:
    """Content token ids of ``prefix + text`` (as :meth:`Encoder.prepare` cuts them), how many of them belong to the
    prefix, and the text's own tokens with character offsets into ``text`` (thread-safe)."""
    with encoder._tokenizer_lock:
        out = encoder.tokenizer(
            prefix + text, add_special_tokens=False, return_attention_mask=False, return_offsets_mapping=True
        )
    ids, offsets = out["input_ids"], out["offset_mapping"]
    n_prefix = 0
    while n_prefix < len(offsets) and offsets[n_prefix][0] < len(prefix):
        n_prefix += 1
    starts = [max(0, begin - len(prefix)) for begin, _ in offsets[n_prefix:]]
    return ids, n_prefix, TokenizedText(starts=starts, length=len(text))


def windows(total: int, size: int, overlap: int) -> list[tuple[int, int]]:
    """Content ranges ``[begin, end)`` of overlapping windows of ``size`` tokens covering ``total`` tokens; the last
    one ends at ``total``.

    >>> windows(10, 4, 1)
    [(0, 4), (3, 7), (6, 10)]
    """
    step = max(1, size - overlap)
    out = [(0, min(size, total))]
    while out[-1][1] < total:
        begin = out[-1][0] + step
        out.append((begin, min(begin + size, total)))
    return out


def _segment_ranges(segments: list[Segment], first: int, n_special: int) -> list[tuple[int, int]]:
    """Content ranges of consecutive segments (each wraps the next slice of content tokens)."""
    out, begin = [], first
    for seg in segments:
        end = begin + len(seg.input_ids) - n_special
        out.append((begin, end))
        begin = end
    return out


def _best_window(begin: int, end: int, ranges: list[tuple[int, int]]) -> int:
    """The window holding ``[begin, end)`` whole with the most context on both sides; when none holds it whole,
    the one that holds most of it."""
    best, best_key = 0, None
    for i, (c0, c1) in enumerate(ranges):
        whole = c0 <= begin and end <= c1
        key = (whole, min(begin - c0, c1 - end) if whole else min(end, c1) - max(begin, c0))
        if best_key is None or key > best_key:
            best, best_key = i, key
    return best


def prepare_passages(
    encoder: Encoder, prepared: PreparedTexts, texts: list[str], settings: IndexSettings
) -> tuple[PreparedTexts, list[list[Passage]]]:
    """Add the passages of ``texts`` (documents already :meth:`Encoder.prepare`-d into ``prepared``) to what the
    encoder computes: their spans and the model inputs their vectors come from. CPU work without the model, like
    ``prepare`` (the ingest step runs it in its worker thread).

    Args:
        texts: the documents' stored texts (``prepared`` may hold a clipped prefix of them; their first tokens are
            the same).
        settings: ``passages`` (``naive``, ``late``, ``window-late``), ``passage_size`` and ``passage_sentences``.

    Returns:
        ``prepared`` with ``extra`` and ``passage_refs`` set (then ``encode_prepared`` fills each
        ``Embedded.passage_vectors``, one row per passage), and the passages of each text.
    """
    mode = settings.passages
    framing, extender = encoder.framing, encoder.extender
    limit = extender.content_limit
    prefix = settings.document_prefix or ""
    all_passages, extras, refs = [], [], []
    naive_texts: list[str] = []
    for text, plan in zip(texts, prepared.plans):
        ids, n_prefix, tokens = tokenize_with_offsets(encoder, prefix, text)
        passages = passage_spans(
            text, tokens, settings.passage_size, settings.passage_sentences, max_tokens=MAX_PASSAGE_TOKENS
        )
        all_passages.append(passages)
        if mode == "naive":
            extras.append([])
            refs.append([(len(plan) + i, -1, -1) for i in range(len(passages))])
            naive_texts.extend(text[p.start : p.end] for p in passages)
            continue
        total = n_prefix + (passages[-1].token_end if passages else 0)
        extra: list[Segment] = []
        ranges: list[tuple[int, int]] = []
        if mode == "late":
            ranges = _segment_ranges(plan, 0, framing.n_special)
            for begin, end in windows(total, limit, limit // MACRO_OVERLAP)[1:]:
                segments = extender.segments(ids[begin:end])
                extra += segments
                ranges += _segment_ranges(segments, begin, framing.n_special)
        else:  # window-late: L_o-token windows only, the model's own positions
            size = min(encoder.original_length - framing.n_special, limit)
            for begin, end in windows(total, size, size // MACRO_OVERLAP):
                segments = extender.segments(ids[begin:end])
                extra += segments
                ranges += _segment_ranges(segments, begin, framing.n_special)
        doc_refs = []
        for p in passages:
            begin, end = n_prefix + p.token_start, n_prefix + p.token_end
            w = _best_window(begin, end, ranges)
            c0, c1 = ranges[w]
            begin, end = max(begin, c0), max(min(end, c1), max(begin, c0) + 1)
            seg = w if mode == "late" else len(plan) + w
            doc_refs.append((seg, len(framing.prefix) + begin - c0, len(framing.prefix) + end - c0))
        extras.append(extra)
        refs.append(doc_refs)
    if mode == "naive" and naive_texts:
        plans = encoder.prepare(naive_texts, kind="document").plans
        cursor = 0
        for doc, passages in enumerate(all_passages):
            extras[doc] = [seg for plan in plans[cursor : cursor + len(passages)] for seg in plan[:1]]
            cursor += len(passages)
    return replace(prepared, extra=extras, passage_refs=refs), all_passages
