"""Passage-level results over a collection with passages (``chunks`` multivector + ``passages`` spans payload).

A passage's score is the cosine similarity of the query vector with its stored vector, computed here from the
vectors the store returns, so a document hit from any mode (dense, sparse, hybrid) names its best
passage, and ``unit="passage"`` ranks the passages of the candidate documents.

What a result returns is the matched passage (usually one sentence) **with its context**: a window of the
neighbouring passages up to :data:`WINDOW_CHARS` characters (sentence-window retrieval: match on the sentence,
return the sentences around it, as LlamaIndex's ``SentenceWindowNodeParser`` with its
``MetadataReplacementPostProcessor`` does; there ``window_size`` sentences each side, here a character budget).
The window is cut from the stored text with the stored spans at query time, so collections built before windows
existed get them too and nothing is re-embedded. The matched passage's own offsets stay in ``match_start_char`` /
``match_end_char`` (for highlighting).

Boilerplate passages (a version note such as "New in version 3.7: ...", a "Source code: Lib/..." line;
:data:`longembed.encoding.spans.BOILERPLATE_LINE`) are never chosen as the best passage, unless a document has
nothing else; they still appear inside windows around other passages.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from longembed.encoding.spans import is_boilerplate
from longembed.store import MULTI_VECTOR, Hit, VectorStore, point_id

WINDOW_CHARS = 600
"""Most characters of a returned passage window (the matched passage and whole neighbouring passages, trailing
whitespace not counted); a matched passage longer than this is returned alone, never cut. 600 characters are
about 150 tokens of English for the default model, 4-6 sentences of documentation, and what a snippet shows
(``longembed.retrieve.retriever.PASSAGE_SNIPPET_CHARS``). 0: the matched passage alone (the results before
issue 24)."""


def passage_vectors(store: VectorStore, collection: str, hits: list[Hit]) -> dict[str, np.ndarray]:
    """Path -> the document's passage vectors, shape (n_passages, d), for the hits whose point has them."""
    paths = [str(h.payload.get("path", "")) for h in hits if h.payload.get("passages")]
    if not paths:
        return {}
    ids = {point_id(p): p for p in paths}
    out = {}
    for record in store.retrieve(collection, list(ids), payload=False, vectors=[MULTI_VECTOR]):
        vectors = record.vectors.get(MULTI_VECTOR)
        if vectors:
            out[ids[record.point_id]] = np.asarray(vectors, dtype=np.float32)
    return out


def _trimmed(text: str, start: int, end: int) -> int:
    """``end`` moved back over trailing whitespace (never before ``start``)."""
    return start + len(text[start:end].rstrip())


def passage_window(text: str, spans: list[list[int]], index: int, budget: int = WINDOW_CHARS) -> tuple[int, int]:
    """Characters ``[start, end)`` of the window around passage ``index`` (see the module docstring).

    Neighbours are added one whole passage at a time, the next one, then the previous one, in turn, while the
    window (its trailing whitespace left out) stays within ``budget`` characters; a side stops at the first
    neighbour that does not fit. Without room for any neighbour it is the passage itself. Trailing whitespace is
    left out of the window.

    Args:
        text: the document's stored text.
        spans: its passage spans ``[[start, end], ...]`` (characters, contiguous, the ``passages`` payload).
        index: the matched passage.
        budget: most characters of the window, ≥ 0.

    Raises:
        IndexError: ``index`` is not a passage of ``spans``.
    """
    if not 0 <= index < len(spans):
        raise IndexError(f"passage {index} of a document with {len(spans)} passages")
    first = last = index
    start, end = spans[index]
    open_sides = {1, -1}
    while open_sides:
        for side in (1, -1):
            if side not in open_sides:
                continue
            j = last + 1 if side == 1 else first - 1
            if not 0 <= j < len(spans):
                open_sides.discard(side)
                continue
            new_start, new_end = min(start, spans[j][0]), max(end, spans[j][1])
            if _trimmed(text, new_start, new_end) - new_start > budget:
                open_sides.discard(side)
                continue
            start, end = new_start, new_end
            first, last = min(first, j), max(last, j)
    return int(start), _trimmed(text, int(start), int(end))


def passage_result(payload: dict[str, Any], index: int, score: float, budget: int = WINDOW_CHARS) -> dict[str, Any]:
    """``{"text", "start_char", "end_char", "match_start_char", "match_end_char", "score"}`` of passage ``index``
    of a point's ``payload``: ``text`` is the window (characters ``[start_char, end_char)`` of the stored text,
    :func:`passage_window`), ``match_*`` the matched passage's characters (trailing whitespace left out), ``score``
    the cosine with the query."""
    text = str(payload.get("text", ""))
    spans = payload["passages"]
    start, end = passage_window(text, spans, index, budget)
    match_start = int(spans[index][0])
    return {"text": text[start:end], "start_char": start, "end_char": end, "match_start_char": match_start,
            "match_end_char": _trimmed(text, match_start, int(spans[index][1])), "score": float(score)}


def content_mask(payload: dict[str, Any]) -> np.ndarray:
    """Per passage of a point's ``payload``, whether it may be a best passage: not boilerplate
    (:func:`longembed.encoding.spans.is_boilerplate`); all ``True`` when every passage is boilerplate."""
    text = str(payload.get("text", ""))
    mask = np.array([not is_boilerplate(text, int(s), int(e)) for s, e in payload.get("passages") or []], dtype=bool)
    return mask if mask.any() else np.ones_like(mask)


def best_passages(
    store: VectorStore, collection: str, hits: list[Hit], query: np.ndarray, budget: int = WINDOW_CHARS
) -> list[dict[str, Any] | None]:
    """Per hit, its best passage (:func:`passage_result`: the window around the non-boilerplate passage of highest
    cosine with ``query``, shape (d,), L2-normalised); ``None`` for a document stored without passages."""
    vectors = passage_vectors(store, collection, hits)
    out: list[dict[str, Any] | None] = []
    for hit in hits:
        found = vectors.get(str(hit.payload.get("path", "")))
        spans = hit.payload.get("passages") or []
        if found is None or len(found) != len(spans):
            out.append(None)
            continue
        scores = np.where(content_mask(hit.payload), found @ query, -np.inf)
        best = int(np.argmax(scores))
        out.append(passage_result(hit.payload, best, scores[best], budget))
    return out


def top_passages(
    store: VectorStore, collection: str, hits: list[Hit], query: np.ndarray, k: int, budget: int = WINDOW_CHARS
) -> list[dict[str, Any]]:
    """The ``k`` best passages of the documents ``hits`` by cosine with ``query`` (shape (d,)), best first: dicts
    with ``rank``, ``score``, ``path``, ``title``, the fields of :func:`passage_result` and ``document_rank`` (the
    rank of its document among ``hits``). Boilerplate passages are left out, and so is a passage that lies inside
    the window of a better one of the same document (its text is already returned)."""
    vectors = passage_vectors(store, collection, hits)
    scored = []
    for hit in hits:
        found = vectors.get(str(hit.payload.get("path", "")))
        if found is None or len(found) != len(hit.payload.get("passages") or []):
            continue
        for index, (score, keep) in enumerate(zip(found @ query, content_mask(hit.payload))):
            if keep:
                scored.append((float(score), hit, index))
    scored.sort(key=lambda item: -item[0])
    out: list[dict[str, Any]] = []
    windows: dict[Any, list[tuple[int, int]]] = {}
    for score, hit, index in scored:
        if len(out) == k:
            break
        path = hit.payload.get("path")
        match_start = int(hit.payload["passages"][index][0])
        if any(a <= match_start < b for a, b in windows.get(path, [])):
            continue
        passage = passage_result(hit.payload, index, score, budget)
        windows.setdefault(path, []).append((passage["start_char"], passage["end_char"]))
        out.append({"rank": len(out) + 1, "score": score, "path": path, "title": hit.payload.get("title"),
                    **{key: value for key, value in passage.items() if key != "score"},
                    "document_rank": hit.rank})
    return out
