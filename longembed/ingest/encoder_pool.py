"""The model of a distributed ingest as a pool of Ray actors (:class:`EncoderActor`, one per GPU or CPU
actors), and :class:`RemoteEncoder`, the pool seen by the ingest run as an encoder
(:class:`~longembed.encoding.protocol.EncoderProtocol`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from longembed.encoding import Encoder
from longembed.errors import LongEmbedError
from longembed.settings import IndexSettings, RunOptions


class EncoderActor:
    """One :class:`~longembed.encoding.encoder.Encoder` in a Ray worker process.

    A failure to build it (a model that cannot be loaded, a bad extension method) is kept and raised by
    :meth:`describe`, so the driver gets the error itself (and Ray does not restart an actor that cannot start).

    Args:
        threads: torch's intra-op threads in this process (a CPU actor's share of its node).
    """

    def __init__(self, settings: IndexSettings, run: RunOptions, threads: int) -> None:
        import torch

        torch.set_num_threads(threads)
        logging.getLogger("longembed").setLevel(logging.WARNING)
        self.error: Exception | None = None
        try:
            self.encoder = Encoder(settings, run)
        except Exception as exc:  # noqa: BLE001 (kept for describe())
            self.error = exc

    def describe(self) -> dict[str, Any]:
        """What the driver needs: ``settings`` (resolved), ``dimension``, ``token_limit``, ``original_length``
        and ``preparer`` (the tokenizer and extender, for the CPU workers)."""
        if self.error is not None:
            raise self.error
        e = self.encoder
        return {"settings": e.settings, "dimension": e.dimension, "token_limit": e.token_limit,
                "original_length": e.original_length, "preparer": e.preparer}

    def encode(self, prepared, keep_segments: bool = False) -> list:
        """:meth:`Encoder.encode_prepared` of one batch: one ``Embedded`` per text (vectors of shape (d,))."""
        return self.encoder.encode_prepared(prepared, keep_segments=keep_segments)


@dataclass
class RemoteEncoder:
    """The pool as the ingest run's encoder: the model's facts, and :meth:`encode_prepared` on one actor
    (blocking; the driver's loop submits batches ahead through :meth:`EncoderPool.submit`)."""

    pool: EncoderPool
    settings: IndexSettings
    dimension: int
    token_limit: int
    original_length: int
    on_forward: Any = None  # the progress bar's hook: forward passes run in the actors, batches count instead

    def encode_prepared(self, prepared, keep_segments: bool = False) -> list:
        return self.pool.ray.get(self.pool.submit(prepared, keep_segments))


class EncoderPool:
    """``size`` encoder actors, created by :meth:`start` (when the first file must be read: they load the model
    while files are read) or :meth:`encoder`; batches go round-robin.

    Args:
        use_gpu: one GPU per actor (``num_gpus=1``); otherwise CPU actors of one CPU each (their torch threads:
            ``threads``).
    """

    def __init__(self, ray, settings: IndexSettings, run: RunOptions, size: int, use_gpu: bool, threads: int) -> None:
        if size < 1:
            raise LongEmbedError(f"--ray-encoders must be at least 1, got {size}")
        self.ray, self.settings, self.run, self.size = ray, settings, run, size
        self.use_gpu, self.threads = use_gpu, threads
        self.actors: list = []
        self.preparer_ref = None
        self._remote: RemoteEncoder | None = None
        self._next = 0

    def encoder(self) -> RemoteEncoder:
        """Start the actors (each loads the model) and return the pool as an encoder.

        Raises:
            ModelLoadError, ExtensionError, LongEmbedError: building the encoder failed (the actor's own error).
        """
        if self._remote is None:
            self.start()
            try:
                info = self.ray.get(self.actors[0].describe.remote())
            except Exception as exc:  # noqa: BLE001 (a RayTaskError subclassing the actor's own error)
                cause = getattr(exc, "cause", None)
                raise (cause if isinstance(cause, LongEmbedError) else LongEmbedError(str(exc).splitlines()[0])) \
                    from None
            self.preparer_ref = self.ray.put(info.pop("preparer"))
            self._remote = RemoteEncoder(self, **info)
        return self._remote

    def start(self) -> None:
        """Create the actors without waiting for them (each loads the model meanwhile); idempotent."""
        if not self.actors:
            # No runtime_env (say OMP_NUM_THREADS): it makes Ray start a fresh worker through its runtime-env agent,
            # the model ready ~7 s later on 2 cores (perf/PERF.md section 14); EncoderActor sets torch's threads.
            actor = self.ray.remote(EncoderActor).options(
                num_gpus=1 if self.use_gpu else 0, num_cpus=1, max_restarts=-1, max_task_retries=2,
            )
            self.actors = [actor.remote(self.settings, self.run, self.threads) for _ in range(self.size)]

    def submit(self, prepared, keep_segments: bool = False):
        """Encode one batch (its prepared texts, or an ObjectRef of them) on the next actor; returns the
        ObjectRef of its list of ``Embedded``."""
        actor = self.actors[self._next % self.size]
        self._next += 1
        return actor.encode.remote(prepared, keep_segments)

    def close(self) -> None:
        """Stop the actors."""
        for actor in self.actors:
            self.ray.kill(actor)
        self.actors = []
