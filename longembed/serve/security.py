"""What a request must show before the server acts on it: its Host, its Origin, its token; and which folders
``POST /ingest {"path"}`` may read.

Why each check (all ASGI, before any route runs):

- **Host allowlist** (DNS rebinding): a web page on ``attacker.example`` that rebinds its name to 127.0.0.1
  reaches a loopback server with ``Host: attacker.example``. Only loopback names (``localhost``, ``127.0.0.1``,
  ``::1``), the address the server binds (when it is a specific one) and ``--allow-host`` names are accepted;
  anything else is 403 (a missing Host too).
- **Origin** (cross-site requests): a browser sends ``Origin`` with every cross-site POST, and a multipart form
  POST needs no CORS preflight. A request that carries an ``Origin`` not listed by ``--allow-origin`` (none by
  default) is 403, whatever its method; clients that are not browsers send none.
- **Token**: with ``--token`` (or the environment variable :data:`TOKEN_ENV`) every request needs
  ``Authorization: Bearer <token>`` (401 otherwise, compared in constant time). Binding an address other than
  loopback requires a token.
- **Paths**: ``POST /ingest {"path"}`` is off unless ``--allow-path DIR`` names folders; the resolved path must
  lie under one of them, and the refusal says the same whether the path exists or not.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from longembed.errors import LongEmbedError
from longembed.serve.asgi import HttpMiddleware

TOKEN_ENV = "LONGEMBED_TOKEN"
"""Environment variable holding the bearer token (used when ``--token`` is not given; clients read it too)."""
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")


class PathNotAllowed(LongEmbedError):
    """``POST /ingest {"path"}`` named a path outside the folders the server may read (403)."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 with or without brackets) is the loopback interface."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The host part of a ``Host`` header value, lower case, without port or IPv6 brackets."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header[1:]
    if header.count(":") == 1:
        return header.split(":", 1)[0]
    return header


@dataclass(frozen=True)
class SecurityPolicy:
    """The checks of one server (see the module docstring).

    Attributes:
        allowed_hosts: Host names accepted besides the loopback names (lower case, no port).
        allowed_origins: ``Origin`` values accepted (``scheme://host[:port]``); none by default.
        token: the bearer token every request must carry; ``None``: no token needed.
        allowed_paths: folders ``POST /ingest {"path"}`` may read (resolved); empty: ingest by path is off.
    """

    allowed_hosts: frozenset[str] = field(default_factory=frozenset)
    allowed_origins: frozenset[str] = field(default_factory=frozenset)
    token: str | None = None
    allowed_paths: tuple[Path, ...] = ()

    @classmethod
    def build(
        cls,
        bind_host: str = "127.0.0.1",
        allow_hosts: Iterable[str] = (),
        allow_origins: Iterable[str] = (),
        token: str | None = None,
        allow_paths: Iterable[str | Path] = (),
    ) -> SecurityPolicy:
        """The policy of a server bound to ``bind_host``; ``token`` falls back to ``$LONGEMBED_TOKEN``.

        Raises:
            LongEmbedError: ``bind_host`` is not loopback and there is no token; an ``--allow-path`` folder does
                not exist; an origin is not ``scheme://host[:port]``.
        """
        token = token or os.environ.get(TOKEN_ENV) or None
        if not is_loopback(bind_host) and not token:
            raise LongEmbedError(
                f"--host {bind_host} is reachable from other machines: give a token with --token or the "
                f"{TOKEN_ENV} environment variable (clients send it as 'Authorization: Bearer <token>')"
            )
        hosts = {host_name(h) for h in allow_hosts if h.strip()}
        if bind_host not in WILDCARD_HOSTS:
            hosts.add(host_name(bind_host) if not bind_host.count(":") > 1 else bind_host.lower())
        origins = set()
        for origin in allow_origins:
            origin = origin.strip().rstrip("/").lower()
            if "://" not in origin or "/" in origin.split("://", 1)[1]:
                raise LongEmbedError(f"--allow-origin {origin!r} must look like http://host[:port]")
            origins.add(origin)
        folders = []
        for folder in allow_paths:
            resolved = Path(folder).expanduser().resolve()
            if not resolved.is_dir():
                raise LongEmbedError(f"--allow-path {str(folder)!r} is not a folder")
            folders.append(resolved)
        return cls(frozenset(hosts), frozenset(origins), token, tuple(folders))

    def host_allowed(self, header: str | None) -> bool:
        if not header:
            return False
        name = host_name(header)
        return name in LOOPBACK_HOSTS or name in self.allowed_hosts

    def origin_allowed(self, origin: str | None) -> bool:
        return origin is None or origin.strip().rstrip("/").lower() in self.allowed_origins

    def token_ok(self, authorization: str | None) -> bool:
        if self.token is None:
            return True
        scheme, _, given = (authorization or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self.token.encode())

    def readable_path(self, path: str) -> Path:
        """``path`` resolved, when it lies under an allowed folder.

        Raises:
            PathNotAllowed: ingest by path is off, or the path is not under an allowed folder (the message is the
                same whether the path exists or not).
        """
        if not self.allowed_paths:
            raise PathNotAllowed(
                "ingest by path is off on this server; upload the documents (POST /ingest/files or "
                '{"documents": [...]}) or start the server with --allow-path DIR'
            )
        try:
            resolved = Path(path).expanduser().resolve()
        except (OSError, RuntimeError, ValueError):
            resolved = None
        if resolved is None or not any(resolved == f or f in resolved.parents for f in self.allowed_paths):
            raise PathNotAllowed("the path is not under a folder this server may read (--allow-path)")
        return resolved


class SecurityMiddleware(HttpMiddleware):
    """ASGI middleware applying a :class:`SecurityPolicy` to every HTTP request (403 Host / Origin, 401 token)."""

    def __init__(self, app: Callable, policy: SecurityPolicy) -> None:
        super().__init__(app)
        self.policy = policy

    async def http(self, scope: dict, receive: Callable, send: Callable) -> None:
        headers = _headers(scope.get("headers") or [])
        refusal = self.refusal(headers)
        if refusal is not None:
            status, detail = refusal
            extra = {"WWW-Authenticate": "Bearer"} if status == 401 else None
            from fastapi.responses import JSONResponse  # here: `longembed query` reads this module's names only

            await JSONResponse({"detail": detail}, status_code=status, headers=extra)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def refusal(self, headers: dict[str, str]) -> tuple[int, str] | None:
        """``(status, detail)`` of a refused request, or ``None`` when it may go on."""
        host = headers.get("host")
        if not self.policy.host_allowed(host):
            shown = repr(host_name(host))[:80] if host else "missing"
            return 403, f"Host {shown} is not allowed; start the server with --allow-host NAME to accept it"
        if not self.policy.origin_allowed(headers.get("origin")):
            return 403, (
                f"requests from the web page origin {headers['origin'][:80]!r} are refused; start the server with "
                "--allow-origin ORIGIN to accept them"
            )
        if not self.policy.token_ok(headers.get("authorization")):
            return 401, "missing or wrong token: send 'Authorization: Bearer <token>'"
        return None


def _headers(raw: Sequence[tuple[bytes, bytes]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in raw:
        out.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return out
