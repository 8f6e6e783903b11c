"""Fair sharing of the one model device between the requests of a server.

The model runs one forward pass at a time (one device), but a request is never one indivisible unit of work:
an encoder given a :class:`FairGate` takes it for each forward batch only (see ``Encoder.forward_gate``), so a
long ``/ingest`` or ``/v1/embeddings`` request is a sequence of *pieces* that each take the gate once.
Reading files, decoding, tokenizing and BM25 counting happen outside the gate.

Who goes next: among the requests waiting, the one that has run the fewest pieces so far (ties: the one that
asked first). A search needs one piece, so it runs as soon as the piece running now ends, whatever number of
long requests are queued; two long requests alternate piece by piece. A piece is one forward batch of at most
``batch_tokens`` padded tokens; :func:`share_device` bounds it on CPU to :data:`CPU_PIECE_TOKENS` (one
4096-token document of the default settings: about 4.4 s of all-MiniLM-L6-v2 on one core), and a forward pass
of the model as prepared is also offered between its transformer layers (a sixth of that for MiniLM's six
layers; perf/PERF.md §7).

Requests are told apart by :class:`RequestJobs`, an ASGI middleware that gives each HTTP request its own
:class:`Job` in a context variable (FastAPI copies it into the worker thread that runs a synchronous endpoint).
Work outside a request (the library, the CLI) counts as a new job per piece: first come, first served.
"""

from __future__ import annotations

import contextlib
import contextvars
import heapq
import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from longembed.serve.asgi import HttpMiddleware

CPU_PIECE_TOKENS = 4096
"""Largest forward batch (padded tokens) of a server encoder on CPU unless ``--batch-tokens`` says otherwise:
one longest input of the default settings (``max_length`` 4096) per piece."""


@dataclass
class Job:
    """The work of one request: ``pieces`` forward batches run so far."""

    pieces: int = 0


CURRENT_JOB: contextvars.ContextVar[Job | None] = contextvars.ContextVar("longembed_job", default=None)


class FairGate:
    """A lock for forward passes, granted to the waiter with the fewest pieces run so far (then first come).

    Re-entrant in the thread that holds it (a nested forward runs inside the outer piece). Use as a context
    manager: ``with gate: ...`` runs one piece.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._waiting: list[tuple[int, int]] = []  # heap of (pieces so far, arrival number)
        self._arrivals = itertools.count()
        self._owner: int | None = None
        self._depth = 0
        self.pieces_run = 0
        """Pieces granted since the gate was made (for tests and the /health page)."""

    def __enter__(self) -> FairGate:
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
                return self
            job = CURRENT_JOB.get()
            ticket = (job.pieces if job is not None else 0, next(self._arrivals))
            heapq.heappush(self._waiting, ticket)
            while self._owner is not None or self._waiting[0] != ticket:
                self._cond.wait()
            heapq.heappop(self._waiting)
            self._owner, self._depth = me, 1
            self.pieces_run += 1
            if job is not None:
                job.pieces += 1
        return self

    def pause_if_waiting(self) -> None:
        """Called by the holder between two steps of a piece (e.g. between transformer layers): when a waiter has
        run fewer pieces than the holder's job, hand the gate over and queue again (the rest counts as a new
        piece). Does nothing outside the gate, inside a nested hold, or when nobody more deserving waits."""
        me = threading.get_ident()
        with self._cond:
            if self._owner != me or self._depth != 1 or not self._waiting:
                return
            job = CURRENT_JOB.get()
            if self._waiting[0][0] >= (job.pieces if job is not None else 0):
                return
            self._owner, self._depth = None, 0
            self._cond.notify_all()
        self.__enter__()

    def __exit__(self, *_: Any) -> None:
        with self._cond:
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._cond.notify_all()

    @property
    def waiting(self) -> int:
        """Pieces waiting for the gate now."""
        with self._cond:
            return len(self._waiting)


class RequestJobs(HttpMiddleware):
    """ASGI middleware: each HTTP request runs as its own :class:`Job` (see :class:`FairGate`)."""

    async def http(self, scope: dict, receive: Callable, send: Callable) -> None:
        token = CURRENT_JOB.set(Job())
        try:
            await self.app(scope, receive, send)
        finally:
            CURRENT_JOB.reset(token)


@contextlib.contextmanager
def job() -> Iterator[Job]:
    """Run the enclosed work as one job (what :class:`RequestJobs` does per request), e.g. in a thread."""
    token = CURRENT_JOB.set(Job())
    try:
        yield CURRENT_JOB.get()  # type: ignore[misc]
    finally:
        CURRENT_JOB.reset(token)


def share_device(encoder: Any, gate: FairGate, batch_tokens_given: bool) -> Any:
    """Make ``encoder`` take ``gate`` for each forward batch; on CPU, unless the batch size was given, bound a
    forward batch to :data:`CPU_PIECE_TOKENS` padded tokens (one long document per piece). Returns ``encoder``.

    Between transformer layers the forward pass offers the gate to a more deserving waiter
    (:meth:`FairGate.pause_if_waiting`) when the encoder says its forward is interruptible there
    (``Encoder.interruptible``: the model as prepared, no per-batch set-up), so a search waits for one layer of a
    long document rather than its whole forward pass. The interrupting forward runs to its end (and undoes its
    own set-up) before the paused one goes on, on the same, unchanged model."""
    encoder.forward_gate = gate
    if not batch_tokens_given and getattr(encoder.device, "type", "cpu") == "cpu":
        encoder.batch_tokens = min(encoder.batch_tokens, CPU_PIECE_TOKENS)
    layers = _layer_list(getattr(encoder, "model", None))

    def between_layers(_module: Any, _args: Any) -> None:
        if getattr(encoder, "interruptible", False):
            gate.pause_if_waiting()

    for layer in layers:
        layer.register_forward_pre_hook(between_layers)
    return encoder


def _layer_list(model: Any) -> list:
    """The transformer layers of ``model``: its first ``nn.ModuleList`` of ``config.num_hidden_layers`` modules
    (``[]`` when there is none)."""
    import torch

    count = getattr(getattr(model, "config", None), "num_hidden_layers", None)
    if model is None or not count:
        return []
    for module in model.modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) == count:
            return list(module)
    return []
