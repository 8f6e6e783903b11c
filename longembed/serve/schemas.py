"""Request and response bodies of the HTTP server (pydantic models) and the bounds they enforce.

Every bound is named here once (characters per text, texts per request, documents per ingest, body bytes); breaking
one is a 422 that names it."""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from longembed.retrieve.hybrid import Fusion, Mode
from longembed.settings import EXTEND_METHODS, MAX_K, PASSAGE_MODES, TextKind, Unit
from longembed.serve.requests import (
    UTF8,
    Utf8Text,
)

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
MAX_QUERY_CHARS = 10_000
"""Longest query for ``/search``, in characters."""
MAX_TEXT_CHARS = 200_000
"""Longest text for ``/embed`` and ``/v1/embeddings``, in characters (≈40k tokens; the encoder truncates at
the collection's max length anyway, this bounds tokenisation work)."""
MAX_BATCH = 64
"""Most texts per ``/embed`` or ``/v1/embeddings`` request."""
MAX_INGEST_DOCUMENTS = 256
"""Most uploaded documents per ``/ingest`` or ``/ingest/files`` request."""
MAX_NAME_CHARS = 255
MAX_BODY_BYTES = 32 * 1024 * 1024
"""Largest request body in bytes (uploads included); larger bodies get 413."""

BoundedText = Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS), UTF8]



class SearchRequest(BaseModel):
    query: Utf8Text = Field(min_length=1, max_length=MAX_QUERY_CHARS, description="The query text.")
    k: int = Field(5, ge=1, le=MAX_K, strict=True, description="Number of documents to return (a JSON integer: "
                   "\"3\" and true are refused, as on the command line).")
    collection: str | None = Field(None, description="Collection to search; the server's default when omitted.")
    mode: Mode | None = Field(
        None, description="dense, sparse (BM25) or hybrid; default hybrid where the collection has bm25, else dense."
    )
    fusion: Fusion | None = Field(
        None, description="How hybrid fuses; default convex for collections with passages, else dbsf."
    )
    unit: Unit = Field(
        "document", description="document: the best documents, each with its best passage; passage: the best "
        "passages across documents (collections with passages)."
    )
    min_score: float | None = Field(
        None, ge=-1, le=1, allow_inf_nan=False, description="Keep only the results whose match (cosine, -1 to 1) "
        "is at least this; default: no filter (every result reports its match)."
    )


MATCH = Field(description="How strongly it matched: the cosine (-1 to 1) of the query with the best passage, else "
              "with the document vector; comparable across modes and queries (min_score filters on it).")


class Passage(BaseModel):
    """A document's best passage: the window around the matched sentence, characters ``[start_char, end_char)`` of
    its stored text (``longembed.retrieve.passages``)."""

    text: str
    start_char: int
    end_char: int
    match_start_char: int = Field(description="Start of the matched sentence in the stored text (characters).")
    match_end_char: int = Field(description="End of the matched sentence in the stored text (characters).")
    score: float = Field(description="Cosine similarity of the query with the passage vector.")


class PassageResult(Passage):
    """One ranked passage (``unit: "passage"``); the same fields as ``longembed query --unit passage --json``
    (the passage's ``text``, ``start_char``, ``end_char`` and cosine ``score``, and where it ranks)."""

    rank: int
    match: float = MATCH
    path: str | None
    title: str | None
    document_rank: int = Field(description="Rank of the passage's document among the candidate documents.")


class SearchResult(BaseModel):
    """One ranked document; the same fields as ``longembed query --json``."""

    rank: int
    score: float = Field(description="Cosine similarity (dense), BM25 score (sparse) or fused score (hybrid).")
    match: float = MATCH
    path: str | None
    title: str | None
    snippet: str
    n_tokens: int | None = Field(description="Document length in tokens before truncation.")
    truncated: bool | None
    passage: Passage | None = Field(None, description="The best passage (null in a collection without passages).")


class SearchResponse(BaseModel):
    collection: str
    results: list[SearchResult] | list[PassageResult]
    mode: str | None = Field(None, description="The mode that answered.")
    fusion: str | None = Field(None, description="The fusion that answered (hybrid only).")
    min_score: float | None = Field(None, description="The filter applied (null: none).")


class EmbedRequest(BaseModel):
    texts: list[BoundedText] = Field(min_length=1, max_length=MAX_BATCH)
    kind: TextKind = Field("document", description="query or document: selects the collection's prefix.")
    collection: str | None = Field(None, description="Collection whose model and settings to use.")


class EmbedResponse(BaseModel):
    collection: str
    model: str
    dimension: int
    kind: TextKind
    embeddings: list[list[float]] = Field(description="One L2-normalised vector per text, in input order.")
    n_tokens: list[int] = Field(description="Length of each text in tokens before truncation.")
    truncated: list[bool]


class OpenAIEmbeddingRequest(BaseModel):
    """The OpenAI embeddings request; ``model`` names a collection or a collection's model id."""

    input: BoundedText | Annotated[list[BoundedText], Field(min_length=1, max_length=MAX_BATCH)]
    model: str | None = Field(None, description="A collection name or the model id of a collection.")
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(None, description="Must equal the model's dimension when given.")
    user: str | None = None
    kind: TextKind = Field("document", description="longembed extension: query or document prefix.")


class OpenAIEmbedding(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str = Field(description="floats, or base64 of little-endian float32 values.")


class OpenAIUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class OpenAIEmbeddingResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[OpenAIEmbedding]
    model: str
    usage: OpenAIUsage


class TextDocument(BaseModel):
    name: Utf8Text = Field(
        min_length=1,
        max_length=MAX_NAME_CHARS,
        description="Relative path such as notes/meeting.txt (its extension picks the reader; it is the stored "
        "path and the point id, so the same name replaces an earlier upload; a name held by a file ingested from disk "
        "is refused with 409).",
    )
    text: Utf8Text = Field(min_length=1)


class IngestRequest(BaseModel):
    """Either ``path`` (a file or folder on the server machine) or ``documents`` (texts sent with the request)."""

    path: Utf8Text | None = Field(
        None, description="A file or folder under a folder the server may read (--allow-path; off by default)."
    )
    documents: list[TextDocument] | None = Field(None, min_length=1, max_length=MAX_INGEST_DOCUMENTS)
    collection: str | None = Field(None, description="Target collection; the server's default when omitted.")

    @model_validator(mode="after")
    def one_source(self) -> IngestRequest:
        if (self.path is None) == (self.documents is None):
            raise ValueError("give exactly one of 'path' and 'documents'")
        return self


class IngestFailure(BaseModel):
    path: str
    reason: str


class IngestResponse(BaseModel):
    collection: str
    documents: int = Field(description="Documents embedded and written by this request (new + updated).")
    new: int = Field(description="Documents not in the collection before.")
    updated: int = Field(description="Documents whose text (or settings) changed: their point was replaced.")
    unchanged: int = Field(description="Documents already stored with the same text and settings (not embedded).")
    tokens: int
    truncated: list[str]
    failed: list[IngestFailure]
    seconds: float


class CollectionInfo(BaseModel):
    name: str
    documents: int
    model: str
    extend: str = Field(description=f"Context-window extension method (--extend): {', '.join(EXTEND_METHODS)}.")
    extension: str = Field(deprecated="the same as extend, the one name used everywhere else; kept for clients of "
                           "earlier versions", description="Deprecated: the same as extend.")
    extend_params: dict[str, Any]
    max_length: int
    query_prefix: str | None = Field(description="Put before queries; null: the model's own prompt.")
    document_prefix: str | None = Field(description="Put before documents; null: the model's own prompt.")
    passages: str = Field(
        description=f"How passage vectors are made: {', '.join(PASSAGE_MODES[:-1])} or {PASSAGE_MODES[-1]}."
    )
    passage_size: int | None = Field(description="Longest passage in tokens; null without passages.")
    passage_sentences: int | None = Field(
        description="Sentences per passage (0: windows of passage_size tokens); null without passages."
    )


class CollectionsResponse(BaseModel):
    default: str
    collections: list[CollectionInfo]


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"
    version: str
    store: str
    default_collection: str
    models_loaded: list[str]


# -- the shared state of one server ------------------------------------------------------------------------
