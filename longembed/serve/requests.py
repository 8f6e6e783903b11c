"""Request bodies the server can always answer: error bodies that serialise, names checked before the file
system sees them, multipart bodies that must be complete, and uploads kept where the next start removes them.

- :class:`BodySizeLimit`: a body over the server's limit is a 413, refused before or while it is read.
- :func:`validation_error_body`: FastAPI's 422 body echoes the offending input, which can be ``NaN``,
  ``inf`` or a lone surrogate that JSON cannot encode (a 500). Ours keeps ``loc``, ``msg`` and ``type``,
  made printable, and drops the input.
- :data:`Utf8Text`: a ``str`` that encodes to UTF-8 (a JSON ``"\\ud800"`` escape is a lone surrogate).
- :func:`check_upload_names`: NUL and control characters, more than 255 bytes in a path part or 1024 in the
  whole name, and a name that is both a file and a folder (``x.txt`` and ``x.txt/y.txt``) are 400s.
- :class:`CompleteMultipart`: a ``multipart/form-data`` body that ends before its closing boundary is a 400
  (python-multipart would keep the parts it finished and drop the rest silently).
- :class:`UploadArea`: uploaded files are written under ``$TMPDIR/longembed-uploads-<uid>/<pid>/``; a server
  starting removes the folders of server processes that are gone (killed, crashed).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from pydantic import AfterValidator

from longembed.errors import IngestError
from longembed.serve.address import pid_alive
from longembed.serve.asgi import HttpMiddleware

MAX_NAME_PART_BYTES = 255
"""Longest file or folder name in an upload name, in UTF-8 bytes (Linux NAME_MAX)."""
MAX_NAME_BYTES = 1024
"""Longest upload name in UTF-8 bytes."""


def _utf8(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"text is not valid Unicode (a lone surrogate at character {exc.start})") from None
    return value


UTF8 = AfterValidator(_utf8)
"""Validator: the string can be encoded as UTF-8 (no lone surrogates); put it after ``Field`` constraints."""
Utf8Text = Annotated[str, UTF8]
"""A string that can be encoded as UTF-8 (no lone surrogates)."""


def printable(value: Any) -> Any:
    """``value`` with every string encodable (lone surrogates escaped) and non-finite floats as strings."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [printable(v) for v in value]
    if isinstance(value, dict):
        return {printable(k): printable(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return printable(str(value))


def validation_error_body(errors: list[dict]) -> dict:
    """The 422 body for pydantic ``errors``: ``{"detail": [{loc, msg, type}, ...]}``, always JSON-encodable."""
    detail, seen = [], set()
    for e in errors:
        loc = [part for part in printable(list(e.get("loc", ()))) if not _validator_tag(part)]
        item = {"loc": loc, "msg": printable(e.get("msg", "")), "type": printable(e.get("type", ""))}
        key = json.dumps(item, sort_keys=True)
        if key not in seen:  # a union's branches often say the same thing
            seen.add(key)
            detail.append(item)
    return {"detail": detail}


def _validator_tag(part: Any) -> bool:
    """Whether a ``loc`` part names pydantic's validator rather than the input: the branches of a union
    (``function-after[_utf8(), constrained-str]``, ``list[...]``, ``str``, ``int``), never a field or an index."""
    return isinstance(part, str) and ("[" in part or "(" in part or part in ("str", "int", "float", "bool", "list"))


def check_upload_name(name: str) -> None:
    """Refuse a name the file system cannot take before it is touched.

    Raises:
        IngestError: the name holds NUL or control characters, is not valid Unicode, has a part over 255 bytes,
            or is over 1024 bytes (UTF-8).
    """
    shown = printable(name)[:80]
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise IngestError(f"document name {shown!r} holds a NUL or control character")
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:
        raise IngestError(f"document name {shown!r} is not valid Unicode") from None
    if len(encoded) > MAX_NAME_BYTES:
        raise IngestError(f"document name {shown!r}... is {len(encoded)} bytes long; at most {MAX_NAME_BYTES}")
    for part in name.replace("\\", "/").split("/"):
        if len(part.encode("utf-8")) > MAX_NAME_PART_BYTES:
            raise IngestError(
                f"document name {shown!r}... has a part of {len(part.encode('utf-8'))} bytes; at most "
                f"{MAX_NAME_PART_BYTES} per file or folder name"
            )


def check_no_file_folder_clash(names: list[str]) -> None:
    """Refuse normalised relative names where one is a folder of another (``x.txt`` and ``x.txt/y.txt``).

    Raises:
        IngestError: names the first clash.
    """
    files = set(names)
    for name in names:
        parts = name.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if folder in files:
                raise IngestError(f"document name {folder!r} is a file, and {name!r} needs it to be a folder")


class CompleteMultipart(HttpMiddleware):
    """ASGI middleware: a ``multipart/form-data`` body must end with its closing boundary, else 400."""

    async def http(self, scope: dict, receive: Callable, send: Callable) -> None:
        content_type = dict(scope.get("headers") or []).get(b"content-type", b"")
        boundary = _boundary(content_type)
        if boundary is None:
            await self.app(scope, receive, send)
            return
        closing = b"--" + boundary + b"--"
        tail = b""

        async def checked_receive() -> dict:
            nonlocal tail
            message = await receive()
            if message["type"] == "http.request":
                tail = (tail + message.get("body", b""))[-(len(closing) + 64) :]
                if not message.get("more_body", False) and not tail.rstrip(b"\r\n\t ").endswith(closing):
                    raise HTTPException(
                        400, "the multipart body ends before its closing boundary (an interrupted upload?); "
                        "nothing was ingested"
                    )
            return message

        await self.app(scope, checked_receive, send)


def _boundary(content_type: bytes) -> bytes | None:
    kind, _, params = content_type.partition(b";")
    if kind.strip().lower() != b"multipart/form-data":
        return None
    for param in params.split(b";"):
        key, _, value = param.strip().partition(b"=")
        if key.lower() == b"boundary" and value:
            return value.strip(b'"')
    return None


class UploadArea:
    """Where uploads are written: ``<root>/<pid>/``; :meth:`clean_orphans` removes the folders of dead servers.

    Args:
        root: the shared folder (default ``$TMPDIR/longembed-uploads-<uid>``).
    """

    def __init__(self, root: str | Path | None = None) -> None:
        uid = os.getuid() if hasattr(os, "getuid") else 0
        self.root = Path(root) if root else Path(tempfile.gettempdir()) / f"longembed-uploads-{uid}"
        self.folder = self.root / str(os.getpid())

    def clean_orphans(self) -> list[Path]:
        """Remove the upload folders of server processes that no longer run; returns the folders removed."""
        removed = []
        if not self.root.is_dir():
            return removed
        for child in self.root.iterdir():
            if child.name.isdigit() and int(child.name) != os.getpid() and not pid_alive(int(child.name)):
                shutil.rmtree(child, ignore_errors=True)
                removed.append(child)
        return removed

    def hide(self, message: str) -> str:
        """``message`` without this server's upload paths: a request's folder becomes ``the uploaded documents``,
        a file in it its name as uploaded (a client never learns the server's temporary paths)."""
        folder = re.escape(str(self.folder)) + r"/upload-[^/'\"\s]+"
        message = re.sub(r"(['\"]?)" + folder + r"/([^'\"]*)\1", lambda m: f"{m[1]}{m[2]}{m[1]}", message)
        message = re.sub(r"['\"]?" + folder + r"['\"]?", "the uploaded documents", message)
        return message.replace(str(self.folder), "the upload folder")

    def remove_own(self) -> None:
        """Remove this server's upload folder (a clean shutdown; requests remove their own folders as they end)."""
        shutil.rmtree(self.folder, ignore_errors=True)

    def request_folder(self) -> tempfile.TemporaryDirectory:
        """A fresh folder for one request's uploads (removed when the request ends, or by the next start)."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.folder.mkdir(exist_ok=True, mode=0o700)
        return tempfile.TemporaryDirectory(prefix="upload-", dir=self.folder)


class BodySizeLimit(HttpMiddleware):
    """ASGI middleware: refuse request bodies over ``max_bytes`` with 413 and a JSON ``detail``.

    A declared ``Content-Length`` over the limit is refused before the body is read; a streamed body is
    counted as it arrives and refused as soon as it passes the limit.
    """

    def __init__(self, app: Callable, max_bytes: int) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes
        self.detail = f"request body larger than the server's limit of {max_bytes} bytes"

    async def http(self, scope: dict, receive: Callable, send: Callable) -> None:
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
