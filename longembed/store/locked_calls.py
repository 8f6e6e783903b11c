"""One lock around every method call of an object: (a Qdrant client shared by a server's request threads)."""

from __future__ import annotations

import functools
import threading
from typing import Any


class LockedCalls:
    """``target`` with every method call made while holding ``lock``; plain attributes pass through.

    :meth:`Store.serialize_calls` wraps the Qdrant client in it (one lock for a server's threads).
    """

    def __init__(self, target: Any, lock: threading.RLock) -> None:
        self._target = target
        self._lock = lock

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if not callable(value):
            return value

        @functools.wraps(value)
        def locked(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return value(*args, **kwargs)

        return locked
