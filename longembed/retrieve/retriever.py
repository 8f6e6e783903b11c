"""Searching a longembed collection with the encoder that built it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from longembed.encoding import Encoder, EncoderProtocol
from longembed.errors import LongEmbedError
from longembed.retrieve.hybrid import (
    DEFAULT_FUSION, DEFAULT_MODE, FUSIONS, MODES, convex_fusion, store_fusion, sparse_search,
)
from longembed.sparse.analyzer import Analyzer
from longembed.sparse.bm25 import query_vector
from longembed.sparse.index import length_stats, sparse_settings
from longembed.retrieve.passages import WINDOW_CHARS, best_passages, top_passages
from longembed.retrieve.results import (
    DEFAULT_MIN_SCORE, at_least, check_min_score, document_result, match_scores,
)
from longembed.settings import MAX_K, UNITS, RunOptions
from longembed.store import DEFAULT_COLLECTION, DEFAULT_STORE, DOC_VECTOR, MULTI_VECTOR, Hit, VectorStore, open_store


PASSAGES_FUSION = "convex"
"""The default fusion of ``hybrid`` on a collection with passages, whose hybrid fuses the ``chunks`` (passage)
list with ``bm25`` and leaves the whole-document ``doc`` list out: measured on ../shared at 1024 tokens
(docs/benchmarks/RESULTS.md, "Passages"), paraphrased needles Acc@1 1.00 with convex over chunks + bm25 against 0.45 for
dbsf over doc + chunks + bm25 and 0.65 for dbsf over chunks + bm25; needles 1.00 for all three."""
PASSAGE_CANDIDATES = 20
"""Documents whose passages ``unit="passage"`` ranks: the mode's best ones (at least k), and the k best by their
best passage (so the k best passages of the collection by cosine are always among them)."""
NO_PASSAGES = (
    "collection {collection!r} has no passages (it was built with --passages none or before passages existed); "
    "ingest into a new collection with --passages naive, or search documents"
)


class Retriever:
    """Query a collection; the query is encoded with the model and settings recorded in the collection.

    Args:
        store: directory of the embedded Qdrant store (ignored when ``qdrant_url`` is given), or an open
            store (a :class:`~longembed.store.VectorStore`, shared, e.g. by the HTTP server).
        collection: collection name.
        qdrant_url: URL of a Qdrant server.
        run: device, weight dtype and padded tokens per forward pass of the model it loads
            (:class:`~longembed.settings.RunOptions`; not recorded in the collection).
        encoder: an already loaded encoder to use instead of loading one; its settings must equal the
            collection's (the HTTP server shares one encoder between collections built the same way).
        load_model: load the model now (default); ``False`` leaves it to :meth:`load_model` or the first search,
            so :meth:`check` can refuse a request before the (slow) load.

    Raises:
        StoreError, CollectionNotFound: the store or collection cannot be used.
        ModelLoadError: the recorded model cannot be loaded here.
        LongEmbedError: ``encoder`` was built with other settings than the collection.
    """

    window_chars: int = WINDOW_CHARS
    """Characters of the window returned around a matched passage (:mod:`longembed.retrieve.passages`; 0: the
    passage alone); set it on an instance to change it."""

    def __init__(
        self,
        store: str | Path | VectorStore = DEFAULT_STORE,
        collection: str = DEFAULT_COLLECTION,
        qdrant_url: str | None = None,
        run: RunOptions | None = None,
        encoder: EncoderProtocol | None = None,
        load_model: bool = True,
    ) -> None:
        self.store = store if isinstance(store, VectorStore) else open_store(store, qdrant_url, create=False)
        self.collection = collection
        self.settings = self.store.settings(collection)
        self.has_passages = self.settings.has_passages and self.store.has_multivector(collection)
        """Whether the collection was built with passages (``chunks`` vectors and ``passages`` spans)."""
        if encoder is not None:
            diffs = self.settings.differences(encoder.settings, passages=False)
            if diffs:
                raise LongEmbedError(
                    f"the encoder does not match collection {collection!r} ({'; '.join(diffs)})"
                )
        self.run = run
        self.sparse_settings = sparse_settings(self.store, collection)
        """The collection's BM25 analyzer settings, ``None`` when it has no ``bm25`` vector (dense mode only)."""
        self.analyzer = Analyzer(self.sparse_settings) if self.sparse_settings else None
        self._encoder = encoder
        if load_model:
            self.load_model()

    @property
    def encoder(self) -> EncoderProtocol:
        """The collection's encoder (loaded on first use when the retriever was made with ``load_model=False``)."""
        return self.load_model()

    def load_model(self) -> EncoderProtocol:
        """Load the collection's model unless it is loaded; returns the encoder.

        Raises:
            ModelLoadError: the recorded model cannot be loaded here.
        """
        if self._encoder is None:
            self._encoder = Encoder(self.settings, self.run)
        return self._encoder

    def check(self, mode: str | None = None, fusion: str | None = None, unit: str = "document") -> None:
        """Refuse, without the model, a search this collection cannot answer with ``mode``, ``fusion``, ``unit``.

        Raises:
            LongEmbedError: as :meth:`resolve`, an unknown unit, or ``unit="passage"`` without passages.
        """
        self.resolve(mode, fusion)
        if unit not in UNITS:
            raise LongEmbedError(f"unknown unit {unit!r}; valid: {', '.join(UNITS)}")
        if unit == "passage" and not self.has_passages:
            raise LongEmbedError(NO_PASSAGES.format(collection=self.collection))

    def resolve(self, mode: str | None = None, fusion: str | None = None) -> tuple[str, str | None]:
        """The (mode, fusion) a search with these arguments runs; fusion is ``None`` unless the mode is ``hybrid``.

        ``mode=None``: ``hybrid`` on a collection with ``bm25``, ``dense`` on one without (older collections).
        ``fusion=None``: ``convex`` on a collection with passages (:data:`PASSAGES_FUSION`), else ``dbsf``.

        Raises:
            LongEmbedError: an unknown mode or fusion, or ``sparse``/``hybrid`` on a collection without ``bm25``.
        """
        if mode is None:
            mode = DEFAULT_MODE if self.sparse_settings else "dense"
        if mode not in MODES:
            raise LongEmbedError(f"unknown mode {mode!r}; valid: {', '.join(MODES)}")
        if fusion is not None and fusion not in FUSIONS:
            raise LongEmbedError(f"unknown fusion {fusion!r}; valid: {', '.join(FUSIONS)}")
        if mode != "dense" and self.sparse_settings is None:
            raise LongEmbedError(
                f"collection {self.collection!r} has no bm25 sparse vector, so --mode {mode} cannot run; add it "
                f"without re-embedding with `longembed add-bm25 --collection {self.collection}`, or use --mode dense"
            )
        default = PASSAGES_FUSION if self.has_passages else DEFAULT_FUSION
        return mode, (fusion or default) if mode == "hybrid" else None

    def close(self) -> None:
        self.store.close()

    def search_hits(
        self, text: str, k: int = 5, using: str = DOC_VECTOR, mode: str | None = None, fusion: str | None = None
    ) -> list[Hit]:
        """The ``k`` best documents for ``text``, best first, with their whole stored payload.

        Each hit's payload holds ``path``, ``title``, ``sha256``, ``n_tokens``, ``truncated`` and the
        document's full ``text``; ``score`` is the cosine similarity (``dense``), the BM25 score (``sparse``) or
        the fused score (``hybrid``, see :mod:`longembed.retrieve.hybrid`). ``mode``/``fusion`` as
        :meth:`resolve`; ``using`` picks the dense vector of ``dense`` mode.

        Raises:
            LongEmbedError: empty query, k outside 1..1000, or a mode the collection cannot answer.
            StoreError: ``using`` names a vector the collection does not have.
        """
        return self._search(text, k, using, mode, fusion)[0]

    def _search(
        self, text: str, k: int, using: str, mode: str | None, fusion: str | None, need_vector: bool = False
    ) -> tuple[list[Hit], Any]:
        """:meth:`search_hits` and the query vector (shape (d,); ``None`` for ``sparse`` unless ``need_vector``)."""
        if not text or not text.strip():
            raise LongEmbedError("the query is empty")
        if not 1 <= k <= MAX_K:
            raise LongEmbedError(f"k must be between 1 and {MAX_K}, got {k}")
        if mode is None and using != DOC_VECTOR:
            mode = "dense"  # a dense vector asked for by name (e.g. "chunks") means dense mode
        mode, fusion = self.resolve(mode, fusion)
        vector = self.encoder.encode([text], kind="query")[0].vector if mode != "sparse" or need_vector else None
        if mode == "sparse":
            return sparse_search(self.store, self.collection, query_vector(self.analyzer, text), k), vector
        if mode == "dense":
            return self.store.search(self.collection, vector.tolist(), k, using=using), vector
        sparse = query_vector(self.analyzer, text)
        multivector = self.store.has_multivector(self.collection)
        if fusion == "convex":
            n_docs = length_stats(self.store, self.collection).n_docs or self.store.count(self.collection)
            hits = convex_fusion(
                self.store, self.collection, vector.tolist(), sparse, k, multivector, self.sparse_settings, n_docs,
                with_doc=not self.has_passages,
            )
            return hits, vector
        hits = store_fusion(
            self.store, self.collection, vector.tolist(), sparse, k, fusion, multivector, with_doc=not self.has_passages
        )
        return hits, vector

    def search(
        self, text: str, k: int = 5, using: str = DOC_VECTOR, mode: str | None = None, fusion: str | None = None,
        unit: str = "document", min_score: float | None = DEFAULT_MIN_SCORE,
    ) -> list[dict[str, Any]]:
        """The ``k`` best documents (or passages) for ``text``, best first.

        ``using="chunks"`` (:data:`~longembed.store.MULTI_VECTOR`) ranks documents by their best row of the
        multivector (their passages; in the bench's ``chunked-maxp``, their L_o-token windows).
        ``mode``: ``dense``, ``sparse`` (BM25 alone) or ``hybrid``; ``None`` = ``hybrid`` where the collection has
        ``bm25``, else ``dense``. ``fusion`` (hybrid only): ``dbsf`` (default), ``rrf`` or ``convex``; see
        :meth:`resolve`. ``min_score`` (a cosine in [-1, 1], or ``None``: no filter, the default): of the ``k``
        best, only those whose ``match`` is at least this (:mod:`longembed.retrieve.results`), so fewer than ``k``,
        possibly none.

        Returns:
            ``unit="document"``: dicts with ``rank`` (1-based), ``score`` (cosine similarity, BM25 or fused
            score), ``match`` (how strongly it matched: the cosine of its best passage's matched sentence, else
            of its document vector; in [-1, 1], comparable across modes and queries), ``path``, ``title``,
            ``snippet``, ``n_tokens``, ``truncated`` and ``passage``: the document's best passage ``{"text",
            "start_char", "end_char", "match_start_char", "match_end_char", "score"}`` (``text``: the window of
            :attr:`window_chars` characters around the matched sentence, characters ``[start_char, end_char)`` of
            the stored text; ``match_*``: the matched sentence; ``score``: its cosine with the query; boilerplate
            lines are never chosen, see :mod:`longembed.retrieve.passages`), ``None`` in a collection without
            passages. The snippet is that window (else the document's first characters).
            ``unit="passage"``: the ``k`` best passages by cosine among the candidate documents
            (:data:`PASSAGE_CANDIDATES`), dicts with ``rank``, ``score``, ``match`` (both the passage's cosine),
            ``path``, ``title``, ``text``, ``start_char``, ``end_char``, ``match_start_char``, ``match_end_char``
            and ``document_rank``.

        Raises:
            LongEmbedError: empty query, k outside 1..1000, ``min_score`` not a number in [-1, 1], an unknown
                unit, or ``unit="passage"`` on a collection without passages.
            StoreError: ``using`` names a vector the collection does not have.
        """
        min_score = check_min_score(min_score)
        if unit not in UNITS:
            raise LongEmbedError(f"unknown unit {unit!r}; valid: {', '.join(UNITS)}")
        if unit == "passage":
            return at_least(self.search_passages(text, k, mode=mode, fusion=fusion), min_score)
        return at_least(
            [document_result(*found) for found in self.search_matched(text, k, using, mode, fusion)], min_score
        )

    def search_matched(
        self, text: str, k: int = 5, using: str = DOC_VECTOR, mode: str | None = None, fusion: str | None = None
    ) -> list[tuple[Hit, dict[str, Any] | None, float]]:
        """The ``k`` best documents as ``(hit, best passage or None, match)``, best first (the hits of
        :meth:`search_hits`, whole payload included; ``match`` as in :meth:`search`). Raises as :meth:`search`."""
        hits, vector = self._search(text, k, using, mode, fusion, need_vector=True)
        passages = (
            best_passages(self.store, self.collection, hits, vector, self.window_chars)
            if self.has_passages else [None] * len(hits)
        )
        return list(zip(hits, passages, match_scores(self.store, self.collection, hits, passages, vector)))

    def search_passages(
        self, text: str, k: int = 5, mode: str | None = None, fusion: str | None = None
    ) -> list[dict[str, Any]]:
        """``search(..., unit="passage")``: the ``k`` best passages across documents (see :meth:`search`)."""
        if not self.has_passages:
            raise LongEmbedError(NO_PASSAGES.format(collection=self.collection))
        hits, vector = self._search(text, max(k, PASSAGE_CANDIDATES), DOC_VECTOR, mode, fusion, need_vector=True)
        seen = {h.payload.get("path") for h in hits}
        best = self.store.search(self.collection, vector.tolist(), k, using=MULTI_VECTOR)
        for h in best:
            if h.payload.get("path") not in seen:
                hits.append(Hit(rank=len(hits) + 1, score=h.score, payload=h.payload))
        found = top_passages(self.store, self.collection, hits, vector, k, self.window_chars)
        for passage in found:
            passage["match"] = passage["score"]
        return found
