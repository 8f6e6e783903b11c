"""The server's routes: ``/health``, ``/collections``, ``/search``, ``/embed``, ``/v1/embeddings`` (OpenAI-compatible),
``/ingest`` and ``/ingest/files``, added to an app by :func:`add_routes` (:func:`~longembed.serve.app.create_app`)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Annotated

import numpy as np
from fastapi import FastAPI, File, Form, HTTPException, UploadFile
from fastapi.concurrency import run_in_threadpool

import longembed
from longembed.errors import CollectionNotFound
from longembed.serve.schemas import (
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
from longembed.serve.security import SecurityPolicy
from longembed.serve.service import Service


def add_routes(app: FastAPI, service: Service, security: SecurityPolicy) -> None:
    """Add every route to ``app``; each answers from ``service`` (its store, default collection, encoders and
    ingests); ``/ingest {"path"}`` reads only where ``security`` allows."""
    store, collection = service.store, service.default_collection

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
