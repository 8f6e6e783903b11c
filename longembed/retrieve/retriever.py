"""Searching a longembed collection with the encoder that built it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from longembed.encoder import Encoder
from longembed.errors import LongEmbedError
from longembed.store import DEFAULT_COLLECTION, DEFAULT_STORE, DOC_VECTOR, Store

SNIPPET_CHARS = 200
MAX_K = 1000


class Retriever:
    """Query a collection; the query is encoded with the model and settings recorded in the collection.

    Args:
        store: directory of the embedded Qdrant store (ignored when ``qdrant_url`` is given).
        collection: collection name.
        qdrant_url: URL of a Qdrant server.
        device: ``auto``, ``cpu`` or ``cuda``.
        encoder: an already loaded encoder to reuse (e.g. the one that just ingested the collection); its
            settings must equal the collection's.

    Raises:
        StoreError, CollectionNotFound: the store or collection cannot be used.
        ModelLoadError: the recorded model cannot be loaded here.
        LongEmbedError: ``encoder`` was built with other settings than the collection's.
    """

    def __init__(
        self,
        store: str | Path | Store = DEFAULT_STORE,
        collection: str = DEFAULT_COLLECTION,
        qdrant_url: str | None = None,
        device: str = "auto",
        encoder: Encoder | None = None,
    ) -> None:
        self.store = store if isinstance(store, Store) else Store(path=store, url=qdrant_url)
        self.collection = collection
        self.settings = self.store.settings(collection)
        if encoder is not None and encoder.settings != self.settings:
            diffs = "; ".join(self.settings.differences(encoder.settings))
            raise LongEmbedError(f"the encoder does not match collection {collection!r} ({diffs})")
        self.encoder = encoder or Encoder(self.settings, device=device)

    def close(self) -> None:
        self.store.close()

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
        if not text or not text.strip():
            raise LongEmbedError("the query is empty")
        if not 1 <= k <= MAX_K:
            raise LongEmbedError(f"k must be between 1 and {MAX_K}, got {k}")
        vector = self.encoder.encode([text], kind="query")[0].vector
        hits = self.store.search(self.collection, vector.tolist(), k, using=using)
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
            for h in hits
        ]
