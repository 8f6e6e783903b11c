"""Errors of the OpenAI-compatible routes (``/v1/…``) in OpenAI's shape, so OpenAI clients show the message.

OpenAI answers ``{"error": {"message": str, "type": str, "param": str | None, "code": str | None}}``
(https://platform.openai.com/docs/guides/error-codes); FastAPI answers ``{"detail": str | [validation errors]}``.
:class:`OpenAIErrors` rewrites every 4xx/5xx JSON answer under ``/v1/`` from the second shape to the first and
leaves every other route as it is. The status code is kept.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

OPENAI_PREFIX = "/v1/"
ERROR_TYPES = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}
"""OpenAI's ``type`` by status; other 4xx are ``invalid_request_error``, 5xx ``server_error``."""


def openai_error(status: int, detail: Any) -> dict[str, Any]:
    """The OpenAI error object for a FastAPI ``detail`` (a message, or pydantic's list of validation errors,
    whose first ``loc`` below ``body`` becomes ``param``)."""
    param = None
    if isinstance(detail, list):
        locs = [[str(part) for part in e.get("loc", ()) if part != "body"] for e in detail if isinstance(e, dict)]
        param = ".".join(locs[0]) if locs and locs[0] else None
        message = "; ".join(
            f"{'.'.join(loc) or 'body'}: {e.get('msg', '')}" for loc, e in zip(locs, detail)
        ) or "invalid request"
    else:
        message = str(detail)
    kind = ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    code = "model_not_found" if status == 404 else None
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


class OpenAIErrors(BaseHTTPMiddleware):
    """Rewrite ``{"detail": …}`` error answers of ``/v1/…`` routes into OpenAI's error object."""

    async def dispatch(self, request: Request, call_next) -> Response:
        response = await call_next(request)
        if response.status_code < 400 or not request.url.path.startswith(OPENAI_PREFIX):
            return response
        body = b"".join([part async for part in response.body_iterator])
        try:
            detail = json.loads(body)["detail"]
        except (ValueError, KeyError, TypeError):
            detail = body.decode("utf-8", "replace") or f"HTTP {response.status_code}"
        headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-type")}
        return JSONResponse(openai_error(response.status_code, detail), response.status_code, headers=headers)
