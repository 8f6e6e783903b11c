"""An on-disk cache of document embeddings, so a re-run or a new method only computes what is new.

Entries are keyed by (model fingerprint, extension method, its parameters, max length, document prefix, weight
dtype) and the sha256 of the document text. They live in one SQLite file and are committed after every
encoded batch, so an interrupted run keeps everything it finished and the next run resumes from there.
:class:`CachedEncoder` wraps a real :class:`~longembed.encoding.encoder.Encoder` and is handed to the ingest step in its
place; nothing is embedded outside the encoder. :class:`PlainEncoder` keeps the same counters without a cache,
for the bench's passage methods (see :mod:`longembed.bench.methods`).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from longembed.encoding import Embedded, Encoder, PreparedTexts
from longembed.settings import IndexSettings, TextKind


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def model_fingerprint(encoder: Encoder) -> dict[str, Any]:
    """What identifies the model's weights: its id, and for a local directory the names, sizes and
    modification times of its files (so replacing the weights in place invalidates the cache)."""
    out: dict[str, Any] = {"model": encoder.settings.model}
    path = Path(encoder.model_path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        listing = [(p.relative_to(path).as_posix(), p.stat().st_size, p.stat().st_mtime_ns) for p in files]
        out["files_sha256"] = hashlib.sha256(json.dumps(listing).encode()).hexdigest()
    return out


def settings_key(encoder: Encoder) -> str:
    """The part of a cache key that depends on how documents are embedded (not on the text)."""
    s = encoder.settings
    ident = {
        **model_fingerprint(encoder),
        "extend": s.extend,
        "extend_params": encoder.extender.params,
        "max_length": s.max_length,
        "document_prefix": s.document_prefix,
        "dtype": getattr(encoder, "dtype", "float32"),
    }
    return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()


class EmbeddingCache:
    """Document embeddings in a SQLite file (created with its folder when missing).

    Each entry holds the document vector (float32, shape (d,)), the vectors of its model inputs when there
    are several (shape (n_segments, d)), ``n_tokens``, ``truncated`` and the encode time (seconds, the
    batch's time shared by token count) measured when it was computed.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS embeddings (settings TEXT, text_sha256 TEXT, dim INTEGER, vector BLOB, "
            "segments BLOB, n_segments INTEGER, n_tokens INTEGER, truncated INTEGER, seconds REAL, "
            "PRIMARY KEY (settings, text_sha256))"
        )
        self.db.commit()

    def close(self) -> None:
        self.db.close()

    def __len__(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]

    def get(self, settings: str, shas: list[str]) -> dict[str, tuple[Embedded, float]]:
        """The cached entries among ``shas``: sha -> (embedding with its segment vectors, encode seconds)."""
        found: dict[str, tuple[Embedded, float]] = {}
        for start in range(0, len(shas), 500):
            part = shas[start : start + 500]
            rows = self.db.execute(
                f"SELECT text_sha256, dim, vector, segments, n_segments, n_tokens, truncated, seconds FROM embeddings "
                f"WHERE settings = ? AND text_sha256 IN ({','.join('?' * len(part))})",
                [settings, *part],
            )
            for sha, dim, vector, segments, n_segments, n_tokens, truncated, seconds in rows:
                vec = np.frombuffer(vector, dtype=np.float32).copy()
                segs = (
                    np.frombuffer(segments, dtype=np.float32).reshape(n_segments, dim).copy()
                    if segments is not None
                    else vec[None, :].copy()
                )
                found[sha] = (Embedded(vec, n_tokens, bool(truncated), n_segments, segs), seconds)
        return found

    def put(self, settings: str, entries: list[tuple[str, Embedded, float]]) -> None:
        """Store (sha, embedding with segment vectors, seconds) entries and commit."""
        self.db.executemany(
            "INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    settings,
                    sha,
                    int(e.vector.shape[0]),
                    np.ascontiguousarray(e.vector, dtype=np.float32).tobytes(),
                    np.ascontiguousarray(e.segment_vectors, dtype=np.float32).tobytes() if e.n_segments > 1 else None,
                    e.n_segments,
                    e.n_tokens,
                    int(e.truncated),
                    seconds,
                )
                for sha, e, seconds in entries
            ],
        )
        self.db.commit()


@dataclass(frozen=True)
class _Deferred:
    texts: list[str]
    kind: TextKind


def _forwarded(name: str) -> property:
    """A read-only property that answers the wrapped encoder's ``name``."""
    return property(lambda self: getattr(self.encoder, name), doc=f"The wrapped encoder's ``{name}``.")


class _CountingEncoder:
    """A wrapper of a real :class:`~longembed.encoding.encoder.Encoder` that counts the documents it returns and their
    encode time (see the subclasses' attributes); it implements
    :class:`~longembed.encoding.protocol.EncoderProtocol`, which is all the ingest step asks of it."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self.reset_counters()

    def reset_counters(self) -> None:
        self.computed = 0
        self.reused = 0
        self.seconds = 0.0
        self.computed_seconds = 0.0

    settings: IndexSettings = _forwarded("settings")
    dimension: int = _forwarded("dimension")
    original_length: int = _forwarded("original_length")
    token_limit: int = _forwarded("token_limit")


class CachedEncoder(_CountingEncoder):
    """An :class:`~longembed.encoding.encoder.Encoder` whose document embeddings come from an :class:`EmbeddingCache`
    when present; queries always go to the encoder.

    Attributes:
        computed, reused: documents embedded by the model / taken from the cache, since construction.
        seconds: encode time of every document returned, as measured when it was computed (seconds).
        computed_seconds: encode time spent in this process.
    """

    def __init__(self, encoder: Encoder, cache: EmbeddingCache) -> None:
        super().__init__(encoder)
        self.cache = cache
        self.key = settings_key(encoder)

    def prepare(
        self, texts: list[str], kind: TextKind = "document", clip: bool = False,
        passages: IndexSettings | None = None,
    ) -> _Deferred:
        """Nothing to do ahead: which documents need the model is known only after the cache lookup. ``clip`` is
        ignored (the whole text is encoded, as :meth:`encode` does: nothing is clipped, ``clipped`` is absent).

        Raises:
            ValueError: ``passages`` asked for (the cache holds no passage vectors; see :class:`PlainEncoder`).
        """
        if passages is not None and passages.has_passages:
            raise ValueError("CachedEncoder stores no passage vectors; encode passages with PlainEncoder")
        return _Deferred(list(texts), kind)

    def encode_prepared(self, prepared: _Deferred | PreparedTexts, keep_segments: bool = False) -> list[Embedded]:
        """As :meth:`encode` for texts from :meth:`prepare`."""
        if not isinstance(prepared, _Deferred):
            raise TypeError("CachedEncoder.encode_prepared takes what CachedEncoder.prepare returned")
        return self.encode(prepared.texts, kind=prepared.kind, keep_segments=keep_segments)

    def encode(self, texts: list[str], kind: TextKind = "document", keep_segments: bool = False) -> list[Embedded]:
        """As :meth:`Encoder.encode`; documents are looked up first and only the missing ones are encoded
        (with their segment vectors, which are cached too). Queries are never cached."""
        if kind != "document":
            return self.encoder.encode(texts, kind=kind, keep_segments=keep_segments)
        shas = [text_sha256(t) for t in texts]
        found = self.cache.get(self.key, sorted(set(shas)))
        todo = sorted({sha: t for sha, t in zip(shas, texts) if sha not in found}.items())
        if todo:
            started = time.perf_counter()
            fresh = self.encoder.encode([t for _, t in todo], kind="document", keep_segments=True)
            elapsed = time.perf_counter() - started
            kept = self.encoder.token_limit
            weights = [min(e.n_tokens, kept) for e in fresh]
            shares = [elapsed * w / max(sum(weights), 1) for w in weights]
            entries = [(sha, e, share) for (sha, _), e, share in zip(todo, fresh, shares)]
            self.cache.put(self.key, entries)
            found.update({sha: (e, share) for sha, e, share in entries})
            self.computed += len(todo)
            self.computed_seconds += elapsed
        self.reused += len(texts) - len(todo)
        out = []
        for sha in shas:
            embedded, seconds = found[sha]
            self.seconds += seconds
            if not keep_segments:
                embedded = Embedded(embedded.vector, embedded.n_tokens, embedded.truncated, embedded.n_segments)
            out.append(embedded)
        return out


class PlainEncoder(_CountingEncoder):
    """A real :class:`~longembed.encoding.encoder.Encoder` with :class:`CachedEncoder`'s counters and no cache: for the
    passage methods, whose passage vectors come from this encoder's own ``prepare(..., passages=settings)`` plans
    (:meth:`~longembed.encoding.prepare.Preparer.prepare_with_passages`; a :class:`CachedEncoder` defers ``prepare``
    until its lookup, and its entries hold no passage vectors).

    Attributes:
        computed: documents embedded since the last :meth:`reset_counters` (all of them; ``reused`` stays 0).
        seconds, computed_seconds: the time of those document encodes (seconds; equal here).
    """

    def prepare(
        self, texts: list[str], kind: TextKind = "document", clip: bool = False,
        passages: IndexSettings | None = None,
    ) -> PreparedTexts:
        return self.encoder.prepare(texts, kind=kind, clip=clip, passages=passages)

    def encode_prepared(self, prepared: PreparedTexts, keep_segments: bool = False) -> list[Embedded]:
        """:meth:`Encoder.encode_prepared`, documents timed and counted."""
        started = time.perf_counter()
        out = self.encoder.encode_prepared(prepared, keep_segments=keep_segments)
        if prepared.kind == "document":
            elapsed = time.perf_counter() - started
            self.computed += len(out)
            self.seconds += elapsed
            self.computed_seconds += elapsed
        return out

    def encode(self, texts: list[str], kind: TextKind = "document", keep_segments: bool = False) -> list[Embedded]:
        """:meth:`Encoder.encode`, documents timed and counted."""
        return self.encode_prepared(self.encoder.prepare(texts, kind=kind), keep_segments=keep_segments)
