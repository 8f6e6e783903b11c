"""What the rest of longembed needs from an encoder (:class:`EncoderProtocol`): the ingest step, the retriever,
the server, the bench cache (:class:`~longembed.bench.cache.CachedEncoder`) and the LlamaIndex adapter depend on
this, not on :class:`~longembed.encoding.encoder.Encoder`."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from longembed.settings import IndexSettings, TextKind


@runtime_checkable
class EncoderProtocol(Protocol):
    """Texts in, L2-normalised float32 vectors out.

    Attributes:
        settings: the resolved settings the vectors were made with (prefixes never ``None``).
        dimension: d, the length of every vector.
        original_length: L_o of the model (tokens).
        token_limit: tokens kept per text, special tokens included; longer texts are truncated.
    """

    settings: IndexSettings
    dimension: int

    @property
    def original_length(self) -> int: ...

    @property
    def token_limit(self) -> int: ...

    def prepare(
        self, texts: list[str], kind: TextKind = "document", clip: bool = False,
        passages: IndexSettings | None = None,
    ) -> Any:
        """Everything before the model for ``texts`` (CPU work; may run in another thread): ``clip`` cuts long
        documents first, ``passages`` (a collection's settings) adds the passages they ask for. Returns what :meth:`encode_prepared`
        takes, with ``texts`` (as kept), ``clipped`` (per text) and ``passages`` (per text, or ``None``)."""

    def encode_prepared(self, prepared: Any, keep_segments: bool = False) -> list[Any]:
        """One ``Embedded`` per prepared text: ``vector`` shape (d,), ``n_tokens``, ``truncated``, ``n_segments``,
        ``segment_vectors`` shape (n_segments, d) when ``keep_segments``, ``passage_vectors`` shape
        (n_passages, d) when prepared with passages."""

    def encode(self, texts: list[str], kind: TextKind = "document", keep_segments: bool = False) -> list[Any]:
        """:meth:`prepare` then :meth:`encode_prepared`."""
