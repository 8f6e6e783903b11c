"""Where a running ``longembed serve`` can be reached, written next to the local store it holds, so that
``longembed query`` on that store asks the server instead of failing ("in use by another longembed process").

The server writes :data:`ADDRESS_FILE` into the store directory after it has bound its socket, and removes it
when it shuts down cleanly. The file holds the address (host, port), the server's pid, the store as the server
names it (``/health`` reports the same), and whether a token is required; **never the token itself**: a client
sends the token it finds in :data:`~longembed.serve.security.TOKEN_ENV`.

A client trusts the file only when (a) it is a regular file owned by the client's own user and writable by no one
else (another user's file could send queries, and a token, to a port of that user's choosing), (b) the store
directory it records is the very directory the client opened (``os.path.samefile``: a copy of a held store carries
a copy of the file, which names the original), (c) its pid is alive, and (d) the server at the address answers
``GET /health`` for the same store. Anything else (a file left by a killed server, a refused connection, another
server now on the port) counts as no server.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import longembed
from longembed.errors import LongEmbedError
from longembed.serve.security import TOKEN_ENV, WILDCARD_HOSTS

log = logging.getLogger(__name__)

ADDRESS_FILE = ".longembed-server.json"
"""Name of the address file in a local store directory (the store's checks accept it, see ``longembed.store.local``)."""
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


@dataclass(frozen=True)
class ServerAddress:
    """The content of an address file.

    Attributes:
        host, port: the bound address (a wildcard host is reached through loopback, see :attr:`url`).
        pid: the server's process id.
        location: the store as the server names it (``/health``'s ``store``).
        token_required: whether every request needs ``Authorization: Bearer <token>``.
        version: the longembed version of the server.
        directory: the store directory the server holds, absolute (``""`` in files of older servers: untrusted).
    """

    host: str
    port: int
    pid: int
    location: str
    token_required: bool
    version: str = longembed.__version__
    directory: str = ""

    @property
    def url(self) -> str:
        """``http://host:port`` to connect to: ``0.0.0.0`` -> ``127.0.0.1``, ``::`` -> ``[::1]``."""
        host = self.host
        if host in WILDCARD_HOSTS:
            host = "::1" if ":" in host else "127.0.0.1"
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"


def address_path(store: str | Path) -> Path:
    return Path(store) / ADDRESS_FILE


def write_address(store: str | Path, address: ServerAddress) -> Path | None:
    """Write ``address`` into the store directory (atomically: a temporary file, then a rename; mode 0644, no
    secret in it). Returns its path, or ``None`` when it cannot be written (logged; the server runs anyway and
    ``longembed query`` then fails with the store's "in use" message)."""
    path = address_path(store)
    temporary = path.with_name(f"{ADDRESS_FILE}.{os.getpid()}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(asdict(address), out)
        os.replace(temporary, path)
    except OSError as exc:
        log.warning("could not write the server address to %s (%s); `longembed query` will not find it", path,
                    exc.strerror or exc)
        temporary.unlink(missing_ok=True)
        return None
    return path


def remove_address(path: Path | None) -> None:
    """Remove the address file at ``path`` if it is still this process's (a newer server may have replaced it)."""
    if path is None:
        return
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass


def remove_on_stop(server: Any, path: Path | None) -> None:
    """Make ``server`` (a ``uvicorn.Server``) remove the address file at ``path`` as soon as SIGINT / SIGTERM asks it
    to stop: after its graceful shutdown uvicorn raises SIGTERM again, which ends the process before any
    ``finally`` of the caller runs."""
    if path is None:
        return
    handle_exit = server.handle_exit

    def stopping(sig: int, frame: Any) -> None:
        remove_address(path)
        handle_exit(sig, frame)

    server.handle_exit = stopping


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (signal 0; a process of another user exists too)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OverflowError:
        return False
    return True


def read_address(store: str | Path) -> ServerAddress | None:
    """The address in the store's address file when it can be trusted and its pid is alive, else ``None``
    (no file, unreadable or malformed, not owned by this user or writable by others, or a dead pid)."""
    path = address_path(store)
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        log.warning("ignoring %s: not a regular file of this user writable only by them", path)
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        address = ServerAddress(
            host=str(raw["host"]), port=int(raw["port"]), pid=int(raw["pid"]), location=str(raw["location"]),
            token_required=bool(raw["token_required"]), version=str(raw.get("version", "")),
            directory=str(raw.get("directory", "")),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        log.info("ignoring the malformed server address file %s", path)
        return None
    if not (0 < address.port < 65536) or not pid_alive(address.pid):
        log.info("ignoring %s: the server (pid %s) is gone", path, address.pid)
        return None
    return address


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
