"""The HTTP server: search, embed and ingest over a longembed store (FastAPI, served by uvicorn).

Endpoints (OpenAPI docs at ``/docs``):

- ``POST /search`` {query, k, collection?, unit?} -> the ranked results of :meth:`Retriever.search`
  (``rank``, ``score``, ``path``, ``title``, ``snippet``, ``n_tokens``, ``truncated``, ``passage``; with
  ``unit: "passage"`` the best passages across documents: ``path``, ``title``, ``text``, ``start_char``,
  ``end_char``);
- ``POST /embed`` {texts, kind: query|document, collection?} -> one vector per text;
- ``POST /v1/embeddings`` -> the OpenAI embeddings shape (``input``, ``model``, ``encoding_format``);
- ``POST /ingest`` {path} (a folder on the server machine) or {documents: [{name, text}]}, and
  ``POST /ingest/files`` (multipart upload of .txt .md .pdf .html files) -> the ingest summary;
- ``GET /health`` and ``GET /collections`` (each collection's model, extension and size).

Every request goes through the one data path: texts are encoded by the :class:`~longembed.encoder.Encoder`
built from the collection's recorded settings, searches go through :class:`~longembed.retrieve.Retriever`,
ingests through :func:`longembed.ingest.ingest`. A model is loaded once per distinct collection settings and
kept. Forward passes take one fair gate (one device; :mod:`longembed.serve.fair`): a long request is a series
of forward batches that each take it once, reading and tokenizing happen outside it, and a search waits for at
most the batch running now. Every call to the Qdrant client is serialised by a lock (Qdrant's local mode is not
thread-safe). Requests are bounded (characters per text, texts per request, k, body bytes, documents per
ingest, bytes per file and PDF time and pages, see :class:`~longembed.limits.ReadLimits`); breaking a
bound is a 4xx with a message that names it, or, for one file of an ingest, a failure listed for that file.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator

import longembed
from longembed.encoder import Encoder
from longembed.errors import (
    CollectionNotFound,
    ExtensionError,
    IngestError,
    LongEmbedError,
    ModelLoadError,
    StoreError,
)
from longembed.ingest import SUPPORTED_EXTENSIONS, IngestSummary, ingest
from longembed.limits import ReadLimits
from longembed.retrieve.openai_errors import OpenAIErrors
from longembed.retrieve.retriever import MAX_K, Retriever
from longembed.serve.address import ServerAddress, remove_address, remove_on_stop, write_address
from longembed.serve.fair import FairGate, RequestJobs, share_device
from longembed.serve.requests import (
    UTF8,
    CompleteMultipart,
    UploadArea,
    Utf8Text,
    check_no_file_folder_clash,
    check_upload_name,
    printable,
    validation_error_body,
)
from longembed.serve.security import PathNotAllowed, SecurityMiddleware, SecurityPolicy
from longembed.settings import IndexSettings
from longembed.store import DEFAULT_COLLECTION, DEFAULT_STORE, Store

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

TextKind = Literal["query", "document"]
BoundedText = Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS), UTF8]


class Serialized:
    """``target`` with every method call made while holding ``lock``; plain attributes pass through.

    The server wraps the Qdrant client (one store lock) in it.
    """

    def __init__(self, target: Any, lock: threading.RLock) -> None:
        self._target = target
        self._lock = lock

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if not callable(value):
            return value

        @functools.wraps(value)
        def locked(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return value(*args, **kwargs)

        return locked


class BodySizeLimit:
    """ASGI middleware: refuse request bodies over ``max_bytes`` with 413 and a JSON ``detail``.

    A declared ``Content-Length`` over the limit is refused before the body is read; a streamed body is
    counted as it arrives and refused as soon as it passes the limit.
    """

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.detail = f"request body larger than the server's limit of {max_bytes} bytes"

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await JSONResponse({"detail": self.detail}, status_code=413)(scope, receive, send)
            return
        received = 0

        async def counted_receive() -> dict:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, self.detail)  # FastAPI answers it as JSON
            return message

        await self.app(scope, counted_receive, send)


# -- request and response bodies -------------------------------------------------------------------------
class SearchRequest(BaseModel):
    query: Utf8Text = Field(min_length=1, max_length=MAX_QUERY_CHARS, description="The query text.")
    k: int = Field(5, ge=1, le=MAX_K, description="Number of documents to return.")
    collection: str | None = Field(None, description="Collection to search; the server's default when omitted.")
    mode: Literal["dense", "sparse", "hybrid"] | None = Field(
        None, description="dense, sparse (BM25) or hybrid; default hybrid where the collection has bm25, else dense."
    )
    fusion: Literal["convex", "rrf", "dbsf"] | None = Field(None, description="How hybrid fuses; default dbsf.")
    unit: Literal["document", "passage"] = Field(
        "document", description="document: the best documents, each with its best passage; passage: the best "
        "passages across documents (collections with passages)."
    )


class Passage(BaseModel):
    """A document's best passage: characters ``[start_char, end_char)`` of its stored text."""

    text: str
    start_char: int
    end_char: int
    score: float = Field(description="Cosine similarity of the query with the passage vector.")


class PassageResult(BaseModel):
    """One ranked passage (``unit: "passage"``); the same fields as ``longembed query --unit passage --json``."""

    rank: int
    score: float = Field(description="Cosine similarity of the query with the passage vector.")
    path: str | None
    title: str | None
    text: str
    start_char: int
    end_char: int
    document_rank: int = Field(description="Rank of the passage's document among the candidate documents.")


class SearchResult(BaseModel):
    """One ranked document; the same fields as ``longembed query --json``."""

    rank: int
    score: float = Field(description="Cosine similarity (dense), BM25 score (sparse) or fused score (hybrid).")
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
        "path and the point id, so the same name replaces the document).",
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
    extension: str = Field(description="Context-window extension method (none, pcw, gp, rp, pi, ntk, yarn, se).")
    extend_params: dict[str, Any]
    max_length: int
    query_prefix: str | None = Field(description="Put before queries; null: the model's own prompt.")
    document_prefix: str | None = Field(description="Put before documents; null: the model's own prompt.")


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
class Service:
    """What all requests of one server share: the store, loaded encoders and the locks.

    Args:
        store: the open store; from now on every call to its Qdrant client is serialised.
        collection: the default collection of requests that name none.
        device: where models run (``auto``, ``cpu``, ``cuda``).
        new_collection_settings: settings of collections created by ``/ingest``.
        dtype, batch_tokens: model weight dtype and padded tokens per forward pass (see
            :class:`~longembed.encoder.Encoder`).
    """

    def __init__(
        self,
        store: Store,
        collection: str = DEFAULT_COLLECTION,
        device: str = "auto",
        new_collection_settings: IndexSettings | None = None,
        dtype: str = "auto",
        batch_tokens: int | None = None,
        uploads: UploadArea | None = None,
        read_limits: ReadLimits | None = None,
    ) -> None:
        self.store = store
        self.uploads = uploads or UploadArea()
        self.store.client = Serialized(store.client, threading.RLock())
        self.default_collection = collection
        self.device = device
        self.dtype = dtype
        self.batch_tokens = batch_tokens
        self.new_collection_settings = new_collection_settings or IndexSettings()
        self.gate = FairGate()  # one forward batch at a time, fewest pieces first (see longembed.serve.fair)
        self.read_limits = read_limits or ReadLimits()
        self._load_lock = threading.Lock()
        self._ingest_lock = threading.Lock()
        self._encoders: dict[str, Encoder] = {}

    def collection(self, name: str | None) -> str:
        return name or self.default_collection

    def encoder(self, settings: IndexSettings) -> Encoder:
        """The encoder for ``settings``, loaded on first use and kept; it takes :attr:`gate` per forward batch."""
        key = json.dumps(settings.to_dict(), sort_keys=True)
        with self._load_lock:
            if key not in self._encoders:
                log.info("loading %s", settings.describe())
                self._encoders[key] = share_device(
                    Encoder(settings, device=self.device, dtype=self.dtype, batch_tokens=self.batch_tokens),
                    self.gate, batch_tokens_given=self.batch_tokens is not None,
                )
            return self._encoders[key]

    def models_loaded(self) -> list[str]:
        with self._load_lock:
            return [e.settings.describe() for e in self._encoders.values()]

    def retriever(self, collection: str | None) -> Retriever:
        """A retriever on the shared store and encoder (cheap: nothing is loaded twice).

        Raises:
            CollectionNotFound: no such collection.
        """
        name = self.collection(collection)
        return Retriever(store=self.store, collection=name, encoder=self.encoder(self.store.settings(name)))

    def collections(self) -> list[CollectionInfo]:
        """Every collection made by longembed, with its recorded settings (others are left out)."""
        out = []
        for name in self.store.collections():
            try:
                settings = self.store.settings(name)
            except CollectionNotFound:
                continue  # dropped meanwhile
            except StoreError:
                continue  # not made by longembed
            out.append(
                CollectionInfo(
                    name=name,
                    documents=self.store.count(name),
                    model=settings.model,
                    extension=settings.extend,
                    extend_params=settings.extend_params,
                    max_length=settings.max_length,
                    query_prefix=settings.query_prefix,
                    document_prefix=settings.document_prefix,
                )
            )
        return out

    def ingest(self, root: str | Path, collection: str | None, by_name: bool = False) -> IngestResponse:
        """Ingest ``root`` into ``collection`` (created with :attr:`new_collection_settings` when missing).

        One ingest runs at a time; searches go on between its batches.

        Raises:
            LongEmbedError: another ingest is running (``busy``), or from :func:`longembed.ingest.ingest`.
        """
        name = self.collection(collection)
        if not self._ingest_lock.acquire(blocking=False):
            raise IngestBusy("another ingest is running on this server; retry when it has finished")
        try:
            settings = self.store.settings(name) if self.store.exists(name) else self.new_collection_settings
            summary: IngestSummary = ingest(
                root, settings, self.store, name, encoder=self.encoder(settings), progress=False, by_name=by_name,
                limits=self.read_limits,
            )
        finally:
            self._ingest_lock.release()
        return IngestResponse(
            collection=name,
            documents=summary.documents,
            new=len(summary.new),
            updated=len(summary.updated),
            unchanged=len(summary.unchanged),
            tokens=summary.tokens,
            truncated=summary.truncated,
            failed=[IngestFailure(path=f.path, reason=f.reason) for f in summary.failed],
            seconds=summary.seconds,
        )

    def ingest_uploads(self, documents: list[tuple[str, bytes]], collection: str | None) -> IngestResponse:
        """Write uploaded ``(name, content)`` documents to a temporary folder and ingest it.

        Raises:
            IngestError: a name is not a safe relative path with a supported extension, or is repeated.
        """
        names = [safe_relative_name(name) for name, _ in documents]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise IngestError(f"document names must be unique; repeated: {', '.join(repeated)}")
        check_no_file_folder_clash(names)
        with self.uploads.request_folder() as folder:
            for name, (_, content) in zip(names, documents):
                target = Path(folder, name)
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(content)
                except OSError as exc:
                    raise IngestError(f"cannot store the upload {printable(name)[:80]!r}: {exc.strerror}") from None
            return self.ingest(folder, collection, by_name=True)


class IngestBusy(LongEmbedError):
    """An ingest is already running on this server."""


def safe_relative_name(name: str) -> str:
    """``name`` as a normalised relative POSIX path with a supported extension.

    Raises:
        IngestError: absolute, empty, containing ``..`` or hidden parts, an unsupported extension, or a name the
            file system cannot take (see :func:`~longembed.serve.requests.check_upload_name`).
    """
    check_upload_name(name)
    path = PurePosixPath(name.replace("\\", "/"))
    parts = [p for p in path.parts if p not in ("", ".")]
    if path.is_absolute() or not parts or any(p == ".." or p.startswith(".") for p in parts):
        raise IngestError(f"document name {name!r} must be a relative path without '..' or hidden parts")
    if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
        raise IngestError(
            f"document name {name!r} needs one of the extensions {', '.join(SUPPORTED_EXTENSIONS)}"
        )
    return "/".join(parts)


# -- the app -----------------------------------------------------------------------------------------------
def _status_for(exc: LongEmbedError) -> int:
    if isinstance(exc, CollectionNotFound):
        return 404
    if isinstance(exc, IngestBusy):
        return 409
    if isinstance(exc, PathNotAllowed):
        return 403
    if isinstance(exc, (ModelLoadError, ExtensionError)):
        return 500  # the collection's recorded model cannot run here: the server's problem, not the request's
    if isinstance(exc, StoreError):
        return 409  # e.g. a collection made by something else, or other settings
    return 400


def create_app(
    store: Store,
    collection: str = DEFAULT_COLLECTION,
    device: str = "auto",
    new_collection_settings: IndexSettings | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    preload: bool = True,
    dtype: str = "auto",
    batch_tokens: int | None = None,
    security: SecurityPolicy | None = None,
    uploads: UploadArea | None = None,
    read_limits: ReadLimits | None = None,
) -> FastAPI:
    """The FastAPI app over ``store``; the app owns the store and closes it when it shuts down.

    Args:
        store: an open store (local directory or Qdrant server).
        collection: default collection of requests that name none.
        device: ``auto``, ``cpu`` or ``cuda``.
        new_collection_settings: settings of collections created by ``/ingest`` (defaults of
            :class:`IndexSettings` when omitted).
        max_body_bytes: largest request body; larger ones get 413.
        preload: load the default collection's model now (when the collection exists).
        dtype, batch_tokens: model weight dtype and padded tokens per forward pass of every model loaded.
        security: Host / Origin / token checks and the folders ``/ingest {"path"}`` may read (default: loopback
            Host names only, no Origin, no token, ingest by path off); see :mod:`longembed.serve.security`.
        uploads: where uploads are written (default ``$TMPDIR/longembed-uploads-<uid>/<pid>``); the folders of
            servers that are gone are removed now.
        read_limits: bytes per file, seconds and pages per PDF of every ingest (default :class:`ReadLimits`).

    Raises:
        ModelLoadError, ExtensionError: the default collection's model cannot be loaded (with ``preload``).
    """
    security = security or SecurityPolicy()
    uploads = uploads or UploadArea()
    for orphan in uploads.clean_orphans():
        log.info("removed the uploads left by a server that is gone: %s", orphan)
    service = Service(
        store, collection, device, new_collection_settings, dtype=dtype, batch_tokens=batch_tokens, uploads=uploads,
        read_limits=read_limits,
    )
    if preload and store.exists(collection):
        service.encoder(store.settings(collection))

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        store.close()

    app = FastAPI(
        title="longembed",
        version=longembed.__version__,
        summary="Search, embed and ingest whole long documents (LongEmbed context extension + Qdrant).",
        lifespan=lifespan,
    )
    app.add_middleware(RequestJobs)  # each request one job of the fair gate (innermost: sees the endpoint)
    app.add_middleware(CompleteMultipart)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    app.add_middleware(OpenAIErrors)  # /v1/... errors in OpenAI's {"error": {...}} shape
    app.add_middleware(SecurityMiddleware, policy=security)  # added last: runs first
    app.state.service = service
    app.state.security = security

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_error_body(list(exc.errors())), status_code=422)

    @app.exception_handler(LongEmbedError)
    async def user_error(_: Request, exc: LongEmbedError) -> JSONResponse:
        status = _status_for(exc)
        detail = printable(str(exc))
        if isinstance(exc, CollectionNotFound):
            detail += " or POST /ingest to this server"
        return JSONResponse({"detail": detail}, status_code=status)

    @app.get("/health", response_model=HealthResponse, tags=["service"])
    def health() -> HealthResponse:
        """Liveness, the store, the default collection and the models loaded so far."""
        return HealthResponse(
            version=longembed.__version__,
            store=store.location,
            default_collection=collection,
            models_loaded=service.models_loaded(),
        )

    @app.get("/collections", response_model=CollectionsResponse, tags=["service"])
    def collections() -> CollectionsResponse:
        """The longembed collections of the store with their size and recorded settings."""
        return CollectionsResponse(default=collection, collections=service.collections())

    @app.post("/search", response_model=SearchResponse, tags=["search"])
    def search(request: SearchRequest) -> SearchResponse:
        """The ``k`` documents that best match ``query``, encoded with the collection's model and settings."""
        retriever = service.retriever(request.collection)
        mode, fusion = retriever.resolve(request.mode, request.fusion)
        results = retriever.search(request.query, request.k, mode=mode, fusion=fusion, unit=request.unit)
        shape = PassageResult if request.unit == "passage" else SearchResult
        return SearchResponse(
            collection=retriever.collection, results=[shape(**r) for r in results], mode=mode, fusion=fusion
        )

    @app.post("/embed", response_model=EmbedResponse, tags=["embed"])
    def embed(request: EmbedRequest) -> EmbedResponse:
        """Vectors of ``texts`` from the collection's model, method, max length and ``kind`` prefix."""
        name = service.collection(request.collection)
        encoder = service.encoder(store.settings(name))
        embedded = encoder.encode(request.texts, kind=request.kind)
        return EmbedResponse(
            collection=name,
            model=encoder.settings.model,
            dimension=encoder.dimension,
            kind=request.kind,
            embeddings=[e.vector.tolist() for e in embedded],
            n_tokens=[e.n_tokens for e in embedded],
            truncated=[e.truncated for e in embedded],
        )

    @app.post("/v1/embeddings", response_model=OpenAIEmbeddingResponse, tags=["embed"])
    def openai_embeddings(request: OpenAIEmbeddingRequest) -> OpenAIEmbeddingResponse:
        """OpenAI-compatible embeddings. ``model`` is a collection name or a collection's model id (the default
        collection when omitted); ``encoding_format=base64`` returns little-endian float32 bytes, base64-encoded.
        """
        name = _collection_for_model(service, request.model)
        encoder = service.encoder(store.settings(name))
        if request.dimensions is not None and request.dimensions != encoder.dimension:
            raise HTTPException(
                422,
                f"dimensions={request.dimensions} is not supported; {encoder.settings.model} returns "
                f"{encoder.dimension}",
            )
        texts = [request.input] if isinstance(request.input, str) else request.input
        embedded = encoder.encode(texts, kind=request.kind)
        limit = encoder.extender.content_limit + encoder.framing.n_special
        used = sum(min(e.n_tokens, limit) for e in embedded)
        encode: Callable[[np.ndarray], list[float] | str] = (
            (lambda v: base64.b64encode(v.astype("<f4").tobytes()).decode("ascii"))
            if request.encoding_format == "base64"
            else (lambda v: v.tolist())
        )
        return OpenAIEmbeddingResponse(
            data=[OpenAIEmbedding(index=i, embedding=encode(e.vector)) for i, e in enumerate(embedded)],
            model=encoder.settings.model,
            usage=OpenAIUsage(prompt_tokens=used, total_tokens=used),
        )

    @app.post("/ingest", response_model=IngestResponse, tags=["ingest"])
    def ingest_json(request: IngestRequest) -> IngestResponse:
        """Ingest a file or folder on the server machine (``path``), or the ``documents`` sent with the request.

        A missing collection is created with the server's settings for new collections; an existing one keeps
        its recorded settings. A document whose path (or name) is already stored is replaced.
        """
        if request.path is not None:
            return service.ingest(security.readable_path(request.path), request.collection)
        assert request.documents is not None
        return service.ingest_uploads(
            [(d.name, d.text.encode("utf-8")) for d in request.documents], request.collection
        )

    @app.post("/ingest/files", response_model=IngestResponse, tags=["ingest"])
    async def ingest_files(
        files: Annotated[list[UploadFile], File(description="Documents (.txt .md .pdf .html); the file name is "
                                                            "the stored path.")],
        collection: Annotated[str | None, Form()] = None,
    ) -> IngestResponse:
        """Ingest uploaded files (multipart/form-data, field ``files``, optional field ``collection``)."""
        if len(files) > MAX_INGEST_DOCUMENTS:
            raise HTTPException(422, f"{len(files)} files; at most {MAX_INGEST_DOCUMENTS} per request")
        documents = [(f.filename or "", await f.read()) for f in files]
        return await run_in_threadpool(service.ingest_uploads, documents, collection)

    return app


def _collection_for_model(service: Service, model: str | None) -> str:
    """The collection an OpenAI ``model`` field names: a collection, else a collection with that model id.

    Raises:
        CollectionNotFound: neither (the message lists the collections and their models).
    """
    if not model or model == service.default_collection or service.store.exists(model):
        return service.collection(model)
    infos = service.collections()
    for info in sorted(infos, key=lambda i: i.name != service.default_collection):
        if info.model == model:
            return info.name
    have = ", ".join(f"{i.name} ({i.model})" for i in infos) or "none"
    raise CollectionNotFound(
        f"model {model!r} is neither a collection nor the model of one (collections: {have}); "
        "create one with `longembed ingest`"
    )


def listen_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host``:``port`` (port 0: a free port chosen by the system).

    Raises:
        LongEmbedError: the address cannot be used (e.g. the port is taken).
    """
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as exc:
        raise LongEmbedError(f"cannot listen on {host}:{port}: {exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise LongEmbedError(f"cannot listen on {host}:{port}: {exc.strerror}; choose another --port") from None
    return sock


def serve(
    store: str | Path = DEFAULT_STORE,
    qdrant_url: str | None = None,
    collection: str = DEFAULT_COLLECTION,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    device: str = "auto",
    dtype: str = "auto",
    batch_tokens: int | None = None,
    new_collection_settings: IndexSettings | None = None,
    allow_hosts: Sequence[str] = (),
    allow_origins: Sequence[str] = (),
    token: str | None = None,
    allow_paths: Sequence[str] = (),
    read_limits: ReadLimits | None = None,
) -> None:
    """Open the store, load the default collection's model and serve the app with uvicorn until stopped.

    ``new_collection_settings`` are the settings of collections created by ``POST /ingest`` (defaults of
    :class:`IndexSettings` when omitted); existing collections keep their own.

    The address is bound first (``port`` 0 picks a free port; the line printed on start names it). A local
    store stays locked by this process while it runs (``longembed ingest`` on it then fails and says so);
    use ``POST /ingest``, or a Qdrant server (``--qdrant-url``) shared by all processes. SIGINT / SIGTERM
    stop it gracefully and close the store.

    ``allow_hosts``, ``allow_origins``, ``token`` (else ``$LONGEMBED_TOKEN``) and ``allow_paths`` build the
    :class:`~longembed.serve.security.SecurityPolicy`; a non-loopback ``host`` needs a token. ``read_limits``
    bound each file of an ingest (default :class:`~longembed.limits.ReadLimits`).

    Raises:
        LongEmbedError: the address cannot be bound, or the security options are invalid (e.g. no token for a
            non-loopback ``host``).
        StoreError: the store cannot be opened (e.g. held by another process).
        ModelLoadError, ExtensionError: the default collection's model cannot be loaded.
    """
    import uvicorn

    security = SecurityPolicy.build(host, allow_hosts, allow_origins, token, allow_paths)
    sock = listen_socket(host, port)
    try:
        db = Store(path=store, url=qdrant_url)
        try:
            app = create_app(
                db, collection=collection, device=device, new_collection_settings=new_collection_settings,
                dtype=dtype, batch_tokens=batch_tokens, security=security, read_limits=read_limits,
            )
        except BaseException:
            db.close()
            raise
    except BaseException:
        sock.close()
        raise
    if not db.exists(collection):
        log.warning("collection %r does not exist yet in %s; POST /ingest creates it", collection, db.location)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    server = uvicorn.Server(uvicorn.Config(app, log_level="info", access_log=False))
    address = None if qdrant_url else write_address(  # `longembed query` on this store then asks this server
        store, ServerAddress(bound_host, bound_port, os.getpid(), db.location, security.token is not None)
    )
    remove_on_stop(server, address)  # written before the start line, removed as soon as the server stops
    print(
        f"longembed: serving {db.location} (default collection {collection!r}) at http://{shown}:{bound_port} "
        "(API docs at /docs)",
        flush=True,
    )
    try:
        server.run(sockets=[sock])
    finally:
        remove_address(address)
