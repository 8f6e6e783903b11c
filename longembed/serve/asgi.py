"""The server's ASGI middleware shape: HTTP requests go to :meth:`HttpMiddleware.http`, other scopes (lifespan,
websockets) pass through untouched. Imports nothing heavy (``longembed query`` loads the security module)."""

from __future__ import annotations

from collections.abc import Callable


class HttpMiddleware:
    """ASGI middleware that acts on HTTP requests only; a subclass implements :meth:`http` (and may take options
    after ``app``, calling ``super().__init__(app)``)."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http":
            await self.http(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def http(self, scope: dict, receive: Callable, send: Callable) -> None:
        """Handle one HTTP request (passing it on to :attr:`app`, or answering it)."""
        raise NotImplementedError
