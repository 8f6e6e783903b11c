"""The client side of a running ``longembed serve``: finding the server that holds a local store
(:func:`running_server`) and asking it ``POST /search`` (:class:`ServerClient`).

A client trusts a server only when (a) its address file can be trusted (:func:`~longembed.serve.address.read_address`:
a regular file owned by the client's own user and writable by no one else), (b) the store directory it records is
the very directory the client opened (``os.path.samefile``: a copy of a held store carries a copy of the file, which
names the original), (c) its pid is alive, and (d) the server at the address answers ``GET /health`` for the same
store. Anything else (a file left by a killed server, a refused connection, another server now on the port) counts
as no server.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from pathlib import Path

from longembed.errors import LongEmbedError
from longembed.serve.address import ServerAddress, read_address
from longembed.serve.security import TOKEN_ENV

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_S = 5.0
SEARCH_TIMEOUT_S = 600.0
"""A search on a busy server (one ingest running) may wait for the inference lock."""


class ServerError(LongEmbedError):
    """The running server refused a request or could not be reached mid-run (one line, the server's reason).

    Attributes:
        status: the HTTP status of the refusal (``None``: no answer).
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ServerClient:
    """``POST /search`` on a running server, with the same results as a local :class:`~longembed.retrieve.Retriever`.

    Args:
        address: the server's address file content.
        token: the bearer token to send (``None``: none).
    """

    def __init__(self, address: ServerAddress, token: str | None = None) -> None:
        self.address = address
        self.token = token
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy

    def _request(self, method: str, route: str, body: dict | None, timeout: float) -> dict:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(body).encode("utf-8") if body is not None else None
        request = urllib.request.Request(self.address.url + route, data=data, headers=headers, method=method)
        try:
            with self._opener.open(request, timeout=timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read()).get("detail")
            except (ValueError, AttributeError):
                detail = None
            if isinstance(detail, list):  # a 422: [{loc, msg, type}, ...]
                detail = "; ".join(str(d.get("msg", d)) if isinstance(d, dict) else str(d) for d in detail)
            raise ServerError(
                f"the server at {self.address.url} answered {exc.code}: {detail or exc.reason}", status=exc.code
            ) from None

    def health(self) -> dict:
        """``GET /health``. Raises ServerError (an HTTP error) or OSError (no connection)."""
        return self._request("GET", "/health", None, HEALTH_TIMEOUT_S)

    def search(
        self, text: str, k: int, collection: str | None = None, mode: str | None = None, fusion: str | None = None,
        unit: str = "document", min_score: float | None = None,
    ) -> tuple[list[dict], str | None, str | None]:
        """``(results, mode, fusion)`` of ``POST /search``; results have the fields of ``longembed query --json``
        (``min_score``: only those whose ``match`` is at least this).

        Raises:
            ServerError: the server refused the query (its reason) or the connection broke.
        """
        body = {"query": text, "k": k, "collection": collection, "mode": mode, "fusion": fusion, "unit": unit,
                "min_score": min_score}
        try:
            answer = self._request("POST", "/search", {key: v for key, v in body.items() if v is not None},
                                   SEARCH_TIMEOUT_S)
        except OSError as exc:
            raise ServerError(f"lost the connection to the server at {self.address.url}: {exc}") from None
        return answer["results"], answer.get("mode"), answer.get("fusion")


def running_server(store: str | Path) -> ServerClient | None:
    """A client of the ``longembed serve`` holding the local ``store``, or ``None`` when none can be trusted or
    reached (see the module docstring); the token is read from :data:`TOKEN_ENV`.

    Raises:
        ServerError: the server is there but needs a token and none is set, or refuses the one set.
    """
    address = read_address(store)
    if address is None:
        return None
    if not _same_directory(store, address.directory):
        log.info("ignoring the server address of %s: it names %r (a copied store?)", store, address.directory)
        return None
    token = (os.environ.get(TOKEN_ENV) or None) if address.token_required else None  # no token to a server without
    client = ServerClient(address, token)
    try:
        health = client.health()
    except ServerError as exc:
        if exc.status != 401:
            log.info("ignoring the server address of %s: %s", store, exc)
            return None
        given = "refuses the token in" if token else "needs a token: set"
        raise ServerError(
            f"the store {store} is held by `longembed serve` (pid {address.pid}) at {address.url}, which {given} "
            f"{TOKEN_ENV}"
        ) from None
    except (OSError, ValueError) as exc:  # refused, timed out, not JSON: not our server
        log.info("ignoring the server address of %s: %s", store, exc)
        return None
    if not isinstance(health, dict) or health.get("store") != address.location:
        log.info("ignoring the server address of %s: the server there serves another store", store)
        return None
    return client


def _same_directory(store: str | Path, directory: str) -> bool:
    """Whether ``directory`` (an address file's store) is the directory ``store`` itself, not a copy of it."""
    if not directory:
        return False
    try:
        return os.path.samefile(store, directory)
    except (OSError, ValueError):
        return False
