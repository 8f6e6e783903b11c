"""The address file: where a running ``longembed serve`` can be reached, written next to the local store it holds, so
that ``longembed query`` on that store asks the server (:mod:`longembed.serve.client`) instead of failing ("in use by
another longembed process").

The server writes :data:`ADDRESS_FILE` into the store directory after it has bound its socket, and removes it
when it shuts down cleanly. The file holds the address (host, port), the server's pid, the store as the server
names it (``/health`` reports the same), and whether a token is required; **never the token itself**: a client
sends the token it finds in :data:`~longembed.serve.security.TOKEN_ENV`.

:func:`read_address` trusts the file only when it is a regular file owned by the reader's own user and writable by
no one else (another user's file could send queries, and a token, to a port of that user's choosing) and its pid is
alive; :func:`~longembed.serve.client.running_server` checks the rest. ``ServerClient``, ``ServerError`` and
``running_server`` still import from here (loaded from :mod:`longembed.serve.client` on first use).
"""

from __future__ import annotations

import json
import logging
import os
import stat
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import longembed
from longembed.lazy import lazy_exports
from longembed.serve.security import WILDCARD_HOSTS

log = logging.getLogger(__name__)

ADDRESS_FILE = ".longembed-server.json"
"""Name of the address file in a local store directory (the store's checks accept it, see ``longembed.store.local``)."""


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


_MOVED = {name: "longembed.serve.client" for name in ("ServerClient", "ServerError", "running_server")}
__getattr__ = lazy_exports(__name__, _MOVED)  # loaded on use: the client imports this module
