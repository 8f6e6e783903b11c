"""The FastAPI app: a :class:`~longembed.serve.service.Service`, its middleware, the error mapping (one 4xx with a
message, never a 500 for bad input) and the routes of :mod:`longembed.serve.routes`."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
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
from longembed.serve.fair import RequestJobs
from longembed.serve.openai_errors import OpenAIErrors
from longembed.serve.requests import (
    BodySizeLimit,
    CompleteMultipart,
    UploadArea,
    printable,
    validation_error_body,
)
from longembed.serve.routes import add_routes
from longembed.serve.schemas import MAX_BODY_BYTES
from longembed.serve.security import PathNotAllowed, SecurityMiddleware, SecurityPolicy
from longembed.serve.service import IngestBusy, Service, UploadClash
from longembed.settings import IndexSettings, RunOptions
from longembed.store import DEFAULT_COLLECTION, VectorStore

log = logging.getLogger(__name__)


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

    add_routes(app, service, security)
    return app
