"""Searching a longembed collection with the encoder that built it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from longembed.encoder import Encoder
from longembed.errors import LongEmbedError
from longembed.store import DEFAULT_COLLECTION, DEFAULT_STORE, Store

log = logging.getLogger(__name__)

SNIPPET_CHARS = 200
MAX_K = 1000


class Retriever:
    """Query a collection; the query is encoded with the model and settings recorded in the collection.

    Args:
        store: directory of the embedded Qdrant store (ignored when ``qdrant_url`` is given).
        collection: collection name.
        qdrant_url: URL of a Qdrant server.
        device: ``auto``, ``cpu`` or ``cuda``.

    Raises:
        StoreError, CollectionNotFound: the store or collection cannot be used.
        ModelLoadError: the recorded model cannot be loaded here.
    """

    def __init__(
        self,
        store: str | Path | Store = DEFAULT_STORE,
        collection: str = DEFAULT_COLLECTION,
        qdrant_url: str | None = None,
        device: str = "auto",
    ) -> None:
        self.store = store if isinstance(store, Store) else Store(path=store, url=qdrant_url, create=False)
        self.collection = collection
        self.settings = self.store.settings(collection)
        self.encoder = Encoder(self.settings, device=device)

    def close(self) -> None:
        self.store.close()

    def search(self, text: str, k: int = 5) -> list[dict[str, Any]]:
        """The ``k`` best documents for ``text``, best first.

        Returns:
            dicts with ``rank`` (1-based), ``score`` (cosine similarity), ``path``, ``title``, ``snippet``
            (first characters of the document), ``n_tokens`` and ``truncated``.

        Raises:
            LongEmbedError: empty query or k outside 1..1000.
        """
        if not text or not text.strip():
            raise LongEmbedError("the query is empty")
        if not 1 <= k <= MAX_K:
            raise LongEmbedError(f"k must be between 1 and {MAX_K}, got {k}")
        embedded = self.encoder.encode([text], kind="query")[0]
        if embedded.truncated:
            log.warning(
                "the query has %d tokens; only the first %d are used",
                embedded.n_tokens,
                self.encoder.extender.content_limit + self.encoder.framing.n_special,
            )
        vector = embedded.vector
        hits = self.store.search(self.collection, vector.tolist(), k)
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
