"""Searching a longembed collection with the encoder that built it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from longembed.encoder import Encoder
from longembed.errors import LongEmbedError
from longembed.store import DEFAULT_COLLECTION, DEFAULT_STORE, DOC_VECTOR, Hit, Store


SNIPPET_CHARS = 200
MAX_K = 1000


class Retriever:
    """Query a collection; the query is encoded with the model and settings recorded in the collection.

    Args:
        store: directory of the embedded Qdrant store (ignored when ``qdrant_url`` is given), or an open
            :class:`Store` (shared, e.g. by the HTTP server).
        collection: collection name.
        qdrant_url: URL of a Qdrant server.
        device: ``auto``, ``cpu`` or ``cuda``.
        dtype, batch_tokens: model weight dtype and padded tokens per forward pass (see
            :class:`~longembed.encoder.Encoder`); like ``device``, not recorded in the collection.
        encoder: an already loaded encoder to use instead of loading one; its settings must equal the
            collection's (the HTTP server shares one encoder between collections built the same way).

    Raises:
        StoreError, CollectionNotFound: the store or collection cannot be used.
        ModelLoadError: the recorded model cannot be loaded here.
        LongEmbedError: ``encoder`` was built with other settings than the collection.
    """

    def __init__(
        self,
        store: str | Path | Store = DEFAULT_STORE,
        collection: str = DEFAULT_COLLECTION,
        qdrant_url: str | None = None,
        device: str = "auto",
        encoder: Encoder | None = None,
        dtype: str = "auto",
        batch_tokens: int | None = None,
    ) -> None:
        self.store = store if isinstance(store, Store) else Store(path=store, url=qdrant_url, create=False)
        self.collection = collection
        self.settings = self.store.settings(collection)
        if encoder is not None:
            diffs = self.settings.differences(encoder.settings)
            if diffs:
                raise LongEmbedError(
                    f"the encoder does not match collection {collection!r} ({'; '.join(diffs)})"
                )
        self.encoder = encoder if encoder is not None else Encoder(
            self.settings, device=device, dtype=dtype, batch_tokens=batch_tokens
        )

    def close(self) -> None:
        self.store.close()

    def search_hits(self, text: str, k: int = 5, using: str = DOC_VECTOR) -> list[Hit]:
        """The ``k`` best documents for ``text``, best first, with their whole stored payload.

        Each hit's payload holds ``path``, ``title``, ``sha256``, ``n_tokens``, ``truncated`` and the
        document's full ``text``; ``score`` is the cosine similarity.

        Raises:
            LongEmbedError: empty query or k outside 1..1000.
            StoreError: ``using`` names a vector the collection does not have.
        """
        if not text or not text.strip():
            raise LongEmbedError("the query is empty")
        if not 1 <= k <= MAX_K:
            raise LongEmbedError(f"k must be between 1 and {MAX_K}, got {k}")
        vector = self.encoder.encode([text], kind="query")[0].vector
        return self.store.search(self.collection, vector.tolist(), k, using=using)

    def search(self, text: str, k: int = 5, using: str = DOC_VECTOR) -> list[dict[str, Any]]:
        """The ``k`` best documents for ``text``, best first.

        ``using="chunks"`` ranks documents by their best chunk (collections ingested with chunks).

        Returns:
            dicts with ``rank`` (1-based), ``score`` (cosine similarity), ``path``, ``title``, ``snippet``
            (first characters of the document), ``n_tokens`` and ``truncated``.

        Raises:
            LongEmbedError: empty query or k outside 1..1000.
            StoreError: ``using`` names a vector the collection does not have.
        """
        return [
            {
                "rank": h.rank,
                "score": h.score,
                "path": h.payload.get("path"),
                "title": h.payload.get("title"),
                "snippet": " ".join(str(h.payload.get("text", "")).split())[:SNIPPET_CHARS],
                "n_tokens": h.payload.get("n_tokens"),
                "truncated": h.payload.get("truncated"),
            }
            for h in self.search_hits(text, k, using=using)
        ]
