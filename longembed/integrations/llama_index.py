"""longembed inside LlamaIndex: an embedding model and a retriever.

- :class:`LongEmbedEmbedding` is a LlamaIndex ``BaseEmbedding`` that embeds each whole text (thousands of
  tokens) with a longembed :class:`~longembed.encoding.encoder.Encoder`, i.e. a model whose context window is
  extended by a LongEmbed method (Zhu et al. 2024, arXiv 2404.12096, §4). Use it as ``embed_model`` and as
  the only transformation so that every document stays one node.
- :class:`LongEmbedRetriever` is a LlamaIndex ``BaseRetriever`` over a collection built by
  ``longembed ingest`` (or ``POST /ingest``); it returns the stored documents as ``NodeWithScore``.
- :func:`documents_from_folder` (:mod:`longembed.integrations.llama_index_documents`) reads a folder with
  longembed's reader into LlamaIndex ``Document`` objects whose ids are the UUIDs longembed uses as point ids
  (Qdrant accepts only UUIDs or integers as ids).

Nothing here encodes, stores or searches by itself: it calls the encoder, the reader and the retriever.
"""

from __future__ import annotations

import asyncio
import threading
import warnings
from pathlib import Path
from typing import Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.embeddings.base import DEFAULT_EMBED_BATCH_SIZE, BaseEmbedding, Embedding
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.callbacks import CallbackManager
from llama_index.core.schema import NodeRelationship, NodeWithScore, QueryBundle, RelatedNodeInfo, TextNode

from longembed.encoding import Encoder
from longembed.errors import LongEmbedError
from longembed.retrieve.results import check_min_score
from longembed.retrieve.retriever import Retriever
from longembed.settings import EXTEND_METHODS, UNITS, IndexSettings, RunOptions, TextKind
from longembed.integrations.llama_index_documents import DOCUMENT_METADATA_KEYS, documents_from_folder
from longembed.store import DEFAULT_COLLECTION, DEFAULT_STORE, VectorStore, open_store, point_id

# LlamaIndex's QdrantVectorStore asks for payload indexes, which qdrant-client's local mode ignores with a
# UserWarning on every run: nothing a user of this adapter can or needs to act on.
warnings.filterwarnings("ignore", message="Payload indexes have no effect in the local Qdrant", category=UserWarning)

HIT_METADATA_KEYS = ("path", "title", "sha256", "n_tokens", "truncated")
"""Metadata of a node returned by :class:`LongEmbedRetriever` (the stored payload less the text)."""
PASSAGE_METADATA_KEYS = ("path", "title", "start_char", "end_char")
"""Metadata of a passage node (``unit="passage"``): its document and characters ``[start_char, end_char)``."""


class LongEmbedEmbedding(BaseEmbedding):
    """A LlamaIndex embedding model that embeds whole long texts with a context-extended model.

    Each text becomes one L2-normalised vector of dimension d (384 for the default all-MiniLM-L6-v2):
    the configured prefix is put before it, it is cut at ``max_length`` tokens and turned into model inputs
    by the extension method (``pi``, ``gp``, ``rp``, ``pcw`` or ``none``, LongEmbed §4.2). A batch of
    ``embed_batch_size`` texts goes to the encoder in one call, which packs it into forward passes by tokens.

    Args:
        settings: model, extension method and parameters, max length (tokens) and prefixes; the defaults
            of :class:`~longembed.settings.IndexSettings` when omitted (ignored when ``encoder`` is given).
        encoder: an already loaded encoder to share (its settings are used).
        device: ``auto``, ``cpu`` or ``cuda`` (when no ``encoder`` is given).
        embed_batch_size: texts per encoder call (LlamaIndex's batching).
        callback_manager, num_workers: as for any LlamaIndex ``BaseEmbedding``.

    Raises:
        ModelLoadError, ExtensionError: the model cannot be loaded or the method does not fit it.

    Example::

        embed = LongEmbedEmbedding(IndexSettings(max_length=4096))
        VectorStoreIndex.from_documents(docs, embed_model=embed, transformations=[embed])
    """

    extend: str = Field(description=f"Context-window extension method ({', '.join(EXTEND_METHODS)}).")
    extend_params: dict[str, Any] = Field(default_factory=dict, description="Parameters of the method.")
    max_length: int = Field(description="Longest text in tokens; longer texts are truncated (L_t for pi).")
    query_prefix: str = Field(default="", description="Text put before every query.")
    document_prefix: str = Field(default="", description="Text put before every document.")
    device: str = Field(default="auto", description="auto, cpu or cuda.")

    _encoder: Encoder = PrivateAttr()
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def __init__(
        self,
        settings: IndexSettings | None = None,
        *,
        encoder: Encoder | None = None,
        device: str = "auto",
        embed_batch_size: int = DEFAULT_EMBED_BATCH_SIZE,
        callback_manager: CallbackManager | None = None,
        num_workers: int | None = None,
    ) -> None:
        if encoder is None:  # load first: the encoder resolves prefixes None to the model's own prompts
            encoder = Encoder(settings or IndexSettings(), RunOptions(device=device))
        settings = encoder.settings
        super().__init__(
            model_name=settings.model,
            extend=settings.extend,
            extend_params=dict(settings.extend_params),
            max_length=settings.max_length,
            query_prefix=settings.query_prefix or "",
            document_prefix=settings.document_prefix or "",
            device=str(encoder.device),
            embed_batch_size=embed_batch_size,
            callback_manager=callback_manager,
            num_workers=num_workers,
        )
        self._encoder = encoder

    @classmethod
    def from_collection(
        cls,
        store: str | Path = DEFAULT_STORE,
        collection: str = DEFAULT_COLLECTION,
        qdrant_url: str | None = None,
        **kwargs: Any,
    ) -> LongEmbedEmbedding:
        """The embedding model recorded in a longembed collection (the store is opened and closed again).

        Raises:
            StoreError, CollectionNotFound: the store or collection cannot be used.
        """
        with open_store(store, qdrant_url) as db:
            settings = db.settings(collection)
        return cls(settings, **kwargs)

    @classmethod
    def class_name(cls) -> str:
        return "LongEmbedEmbedding"

    @property
    def settings(self) -> IndexSettings:
        return self._encoder.settings

    @property
    def encoder(self) -> Encoder:
        return self._encoder

    @property
    def dimension(self) -> int:
        """d, the length of every vector."""
        return self._encoder.dimension

    def _encode(self, texts: list[str], kind: TextKind) -> list[Embedding]:
        """One encoder call for all ``texts``; serialised so that threads and async tasks can share the model."""
        with self._lock:
            return [e.vector.tolist() for e in self._encoder.encode(texts, kind=kind)]

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._encode([query], "query")[0]

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._encode([text], "document")[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self._encode(texts, "document")

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return (await asyncio.to_thread(self._encode, [query], "query"))[0]

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return (await asyncio.to_thread(self._encode, [text], "document"))[0]

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return await asyncio.to_thread(self._encode, texts, "document")


class LongEmbedRetriever(BaseRetriever):
    """A LlamaIndex retriever over a longembed collection (built by ``longembed ingest`` or ``POST /ingest``).

    The query is encoded with the model and settings recorded in the collection (see
    :class:`~longembed.retrieve.Retriever`); each hit becomes a ``NodeWithScore`` whose node holds the whole
    document text, the metadata ``path``, ``title``, ``sha256``, ``n_tokens`` (tokens before truncation) and
    ``truncated``, ``match`` (how strongly it matched: the cosine, -1 to 1, of the query with its best passage,
    else its document vector; see :mod:`longembed.retrieve.results`), and the document's point id (UUID5 of its
    path) as node id; the score is the cosine similarity.

    Args:
        retriever: an open longembed retriever to use; otherwise one is opened from ``store`` /
            ``qdrant_url`` / ``collection`` / ``device``.
        similarity_top_k: documents per query (1..1000).
        mode: ``dense``, ``sparse`` (BM25) or ``hybrid``; ``None``: hybrid where the collection has ``bm25``,
            else dense. ``fusion``: ``dbsf`` (default), ``rrf`` or ``convex`` (hybrid only). With ``sparse`` and
            ``hybrid`` the score is the BM25 or the fused score.
        unit: ``document`` (each node is a whole document, as above) or ``passage``: each node is one of the
            ``similarity_top_k`` best passages across documents (collections with passages) with its context, a
            window of at most 600 characters (:data:`longembed.retrieve.passages.WINDOW_CHARS`), so
            ``similarity_top_k=5`` fits a few thousand characters of LLM context: its text is the window, its metadata ``path``, ``title``, ``start_char``, ``end_char`` (characters of
            the document's stored text), its source relationship the document (the document's point id), and its
            score the cosine similarity with the passage vector (also its metadata ``match``).
        min_score: keep only the nodes whose ``match`` is at least this (-1 to 1); ``None`` (default): no filter.
        callback_manager, verbose: as for any LlamaIndex ``BaseRetriever``.

    Raises:
        StoreError, CollectionNotFound, ModelLoadError: from opening the collection.
        LongEmbedError: a mode the collection cannot answer (``sparse``/``hybrid`` without ``bm25``), or
            ``min_score`` not a number from -1 to 1.
    """

    def __init__(
        self,
        retriever: Retriever | None = None,
        *,
        store: str | Path | VectorStore = DEFAULT_STORE,
        collection: str = DEFAULT_COLLECTION,
        qdrant_url: str | None = None,
        device: str = "auto",
        similarity_top_k: int = 5,
        callback_manager: CallbackManager | None = None,
        verbose: bool = False,
        mode: str | None = None,
        fusion: str | None = None,
        unit: str = "document",
        min_score: float | None = None,
    ) -> None:
        self.min_score = check_min_score(min_score)
        if unit not in UNITS:
            raise LongEmbedError(f"unknown unit {unit!r}; valid: {', '.join(UNITS)}")
        self.unit = unit
        self._retriever = retriever or Retriever(
            store=store, collection=collection, qdrant_url=qdrant_url, run=RunOptions(device=device)
        )
        self.mode, self.fusion = self._retriever.resolve(mode, fusion)
        self._lock = threading.Lock()
        self.similarity_top_k = similarity_top_k
        super().__init__(callback_manager=callback_manager, verbose=verbose)

    @property
    def retriever(self) -> Retriever:
        return self._retriever

    def close(self) -> None:
        """Close the store (a local store stays locked by this process until then)."""
        self._retriever.close()

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        if self.unit == "passage":
            return self._retrieve_passages(query_bundle)
        with self._lock:
            hits = self._retriever.search_matched(
                query_bundle.query_str, self.similarity_top_k, mode=self.mode, fusion=self.fusion
            )
        nodes = []
        for hit, _, match in hits:
            if self.min_score is not None and match < self.min_score:
                continue
            payload = hit.payload
            node = TextNode(
                id_=point_id(str(payload.get("path", ""))),
                text=str(payload.get("text", "")),
                metadata={**{key: payload.get(key) for key in HIT_METADATA_KEYS}, "match": match},
            )
            nodes.append(NodeWithScore(node=node, score=hit.score))
        return nodes

    def _retrieve_passages(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        with self._lock:
            results = self._retriever.search(
                query_bundle.query_str, self.similarity_top_k, mode=self.mode, fusion=self.fusion, unit="passage",
                min_score=self.min_score,
            )
        nodes = []
        for r in results:
            document = point_id(str(r["path"] or ""))
            node = TextNode(
                id_=f"{document}:{r['start_char']}-{r['end_char']}",
                text=r["text"],
                metadata={**{key: r[key] for key in PASSAGE_METADATA_KEYS}, "match": r["match"]},
                start_char_idx=r["start_char"],
                end_char_idx=r["end_char"],
                relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=document, metadata={"path": r["path"]})},
            )
            nodes.append(NodeWithScore(node=node, score=r["score"]))
        return nodes

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return await asyncio.to_thread(self._retrieve, query_bundle)


__all__ = [
    "DOCUMENT_METADATA_KEYS", "HIT_METADATA_KEYS", "PASSAGE_METADATA_KEYS", "LongEmbedEmbedding", "LongEmbedRetriever",
    "documents_from_folder",
]
