"""Running the HTTP server (`longembed serve`): search, embed and ingest over a longembed store (FastAPI, served by uvicorn).

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

Every request goes through the one data path: texts are encoded by the :class:`~longembed.encoding.encoder.Encoder`
built from the collection's recorded settings, searches go through :class:`~longembed.retrieve.Retriever`,
ingests through :func:`longembed.ingest.ingest`. A model is loaded once per distinct collection settings and
kept. Forward passes take one fair gate (one device; :mod:`longembed.serve.fair`): a long request is a series
of forward batches that each take it once, reading and tokenizing happen outside it, and a search waits for at
most the batch running now. Every call to the Qdrant client is serialised by a lock (Qdrant's local mode is not
thread-safe). Requests are bounded (characters per text, texts per request, k, body bytes, documents per
ingest, bytes per file and PDF time and pages, see :class:`~longembed.ingest.limits.ReadLimits`); breaking a
bound is a 4xx with a message that names it, or, for one file of an ingest, a failure listed for that file.
"""


from __future__ import annotations

import logging
import os
import socket
from collections.abc import Sequence
from pathlib import Path

from longembed.errors import (
    LongEmbedError,
)
from longembed.ingest.limits import ReadLimits
from longembed.serve.address import ServerAddress, remove_address, remove_on_stop, write_address
from longembed.serve.app import create_app
from longembed.serve.schemas import DEFAULT_HOST, DEFAULT_PORT
from longembed.serve.security import SecurityPolicy
from longembed.settings import IndexSettings, RunOptions
from longembed.store import DEFAULT_COLLECTION, DEFAULT_STORE, open_store

log = logging.getLogger(__name__)


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
    run: RunOptions | None = None,
    new_collection_settings: IndexSettings | None = None,
    allow_hosts: Sequence[str] = (),
    allow_origins: Sequence[str] = (),
    token: str | None = None,
    allow_paths: Sequence[str] = (),
    read_limits: ReadLimits | None = None,
) -> None:
    """Open the store, load the default collection's model and serve the app with uvicorn until stopped.

    ``run`` says where and how models run (:class:`~longembed.settings.RunOptions`); ``new_collection_settings``
    are the settings of collections created by ``POST /ingest`` (defaults of
    :class:`IndexSettings` when omitted); existing collections keep their own.

    The address is bound first (``port`` 0 picks a free port; the line printed on start names it). A local
    store stays locked by this process while it runs (``longembed ingest`` on it then fails and says so);
    use ``POST /ingest``, or a Qdrant server (``--qdrant-url``) shared by all processes. SIGINT / SIGTERM
    stop it gracefully and close the store.

    ``allow_hosts``, ``allow_origins``, ``token`` (else ``$LONGEMBED_TOKEN``) and ``allow_paths`` build the
    :class:`~longembed.serve.security.SecurityPolicy`; a non-loopback ``host`` needs a token. ``read_limits``
    bound each file of an ingest (default :class:`~longembed.ingest.limits.ReadLimits`).

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
        db = open_store(store, qdrant_url)
        try:
            app = create_app(
                db, collection=collection, run=run, new_collection_settings=new_collection_settings,
                security=security, read_limits=read_limits,
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
        store, ServerAddress(bound_host, bound_port, os.getpid(), db.location, security.token is not None,
                             directory=str(Path(store).resolve()))
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
