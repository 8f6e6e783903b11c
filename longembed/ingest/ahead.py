"""Reading ahead: the next batch is read and prepared in a worker thread while the caller handles the current one."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def one_ahead(batches: Iterable[T], work: Callable[[T], R]) -> Iterator[R]:
    """Yield ``work(batch)`` for each batch, in order, computing the next one in a worker thread while the
    caller handles the current one (reading and tokenizing overlap encoding). An exception in ``work`` is
    raised when its batch is due; on exit the worker finishes its batch and nothing more is started."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="longembed-read") as pool:
        ahead: Future | None = None
        try:
            for batch in batches:
                submitted = pool.submit(work, batch)
                if ahead is not None:
                    yield ahead.result()
                ahead = submitted
            if ahead is not None:
                yield ahead.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
