"""Reading ahead: the next batches are read and prepared in a worker thread while the caller handles this one."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def read_ahead(batches: Iterable[T], work: Callable[[T], R], depth: int = 1) -> Iterator[R]:
    """Yield ``work(batch)`` for each batch, in order, computing the next ``depth`` ones in a worker thread
    while the caller handles the current one (reading and tokenizing overlap encoding; a ``work`` that hands its
    batch to worker processes keeps ``depth`` of them busy). An exception in ``work`` is raised when its batch is
    due; on exit the worker finishes its batch and nothing more is started."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="longembed-read") as pool:
        ahead: deque[Future] = deque()
        try:
            for batch in batches:
                ahead.append(pool.submit(work, batch))
                if len(ahead) > depth:
                    yield ahead.popleft().result()
            while ahead:
                yield ahead.popleft().result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

