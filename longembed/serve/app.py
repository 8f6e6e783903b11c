"""The FastAPI app: routes over a :class:`~longembed.serve.service.Service`, error mapping (one 4xx with a message,
never a 500 for bad input), the body-size middleware."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

import numpy as np
from fastapi import FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

import longembed
from longembed.errors import (
    CollectionNotFound,
    ExtensionError,
    LongEmbedError,
    ModelLoadError,
    StoreError,
)
from longembed.ingest.limits import ReadLimits
from longembed.retrieve.openai_errors import OpenAIErrors
from longembed.serve.fair import RequestJobs
from longembed.serve.requests import (
    CompleteMultipart,
    UploadArea,
    printable,
    validation_error_body,
)
from longembed.serve.schemas import (
    MAX_BODY_BYTES,
    MAX_INGEST_DOCUMENTS,
    CollectionsResponse,
    EmbedRequest,
    EmbedResponse,
    HealthResponse,
    IngestRequest,
    IngestResponse,
    OpenAIEmbedding,
    OpenAIEmbeddingRequest,
    OpenAIEmbeddingResponse,
    OpenAIUsage,
    PassageResult,
    SearchRequest,
    SearchResponse,
    SearchResult,
)
from longembed.serve.security import PathNotAllowed, SecurityMiddleware, SecurityPolicy
from longembed.serve.service import IngestBusy, Service, UploadClash
from longembed.settings import IndexSettings, RunOptions
from longembed.store import DEFAULT_COLLECTION, VectorStore

log = logging.getLogger(__name__)


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


def _status_for(exc: LongEmbedError) -> int:
    if isinstance(exc, CollectionNotFound):
        return 404
    if isinstance(exc, (IngestBusy, UploadClash)):
        return 409
    if isinstance(exc, PathNotAllowed):
        return 403
    if isinstance(exc, (ModelLoadError, ExtensionError)):
        return 500  # the collection's recorded model cannot run here: the server's problem, not the request's
    if isinstance(exc, StoreError) and str(exc).startswith("invalid collection name"):
        return 400  # the store refuses the name (EdgeStore's rule): the request's fault, not a conflict
    if isinstance(exc, StoreError):
        return 409  # e.g. a collection made by something else, or other settings
    return 400


def create_app(
    store: VectorStore,
    collection: str = DEFAULT_COLLECTION,
    run: RunOptions | None = None,
    new_collection_settings: IndexSettings | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    preload: bool = True,
    security: SecurityPolicy | None = None,
    uploads: UploadArea | None = None,
    read_limits: ReadLimits | None = None,
) -> FastAPI:
    """The FastAPI app over ``store``; the app owns the store and closes it when it shuts down.

    Args:
        store: an open store (local directory or Qdrant server).
        collection: default collection of requests that name none.
        run: device, weight dtype and padded tokens per forward pass of every model loaded
            (:class:`~longembed.settings.RunOptions`).
        new_collection_settings: settings of collections created by ``/ingest`` (defaults of
            :class:`IndexSettings` when omitted).
        max_body_bytes: largest request body; larger ones get 413.
        preload: load the default collection's model now (when the collection exists).
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
    service = Service(store, collection, run, new_collection_settings, uploads=uploads, read_limits=read_limits)
    if preload and store.exists(collection):
        service.encoder(store.settings(collection))

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        store.close()
        uploads.remove_own()

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
        detail = uploads.hide(printable(str(exc)))
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
        results = retriever.search(request.query, request.k, mode=mode, fusion=fusion, unit=request.unit,
                                   min_score=request.min_score)
        shape = PassageResult if request.unit == "passage" else SearchResult
        return SearchResponse(collection=retriever.collection, results=[shape(**r) for r in results], mode=mode,
                              fusion=fusion, min_score=request.min_score)

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
