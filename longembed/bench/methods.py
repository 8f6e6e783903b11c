"""The methods a bench compares: every registered extender, and two chunked baselines.

- an extender name (``none``, ``pcw``, ``gp``, ``rp``, ``pi``, and any method registered later in
  ``longembed.extenders.EXTENDERS``): one whole-document vector per document, searched with the ``doc`` vector;
  ``none`` truncates at L_o (the paper's "original" row);
- ``chunked-maxp``: each document's L_o-token chunks (the windows of ``pcw``) stored as the ``chunks``
  multivector (Qdrant MAX_SIM) next to the ``doc`` vector; a document scores as its best chunk;
- ``chunked-mean``: the mean of the chunk vectors, i.e. PCW (LongEmbed §4.2 treats PCW as the chunking
  baseline), searched with the ``doc`` vector;
- ``bm25``: BM25 alone (``--mode sparse``) on the ``bm25`` sparse vector of a collection built like ``pi``
  (its dense vectors are not searched, and come from the embedding cache);
- ``<method>+bm25`` (e.g. ``pi+bm25``, ``chunked-maxp+bm25``), optionally ``:<fusion>`` (``pi+bm25:rrf``):
  ``--mode hybrid`` on a collection of ``<method>`` with ``bm25``: its ``doc`` vector, ``bm25`` and, for
  ``chunked-maxp``, the ``chunks`` multivector, fused with the given fusion (default: the retriever's).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from longembed.bench.defaults import CHUNKED_METHOD_NAMES
from longembed.errors import BenchError
from longembed.extenders import EXTENDERS, Extender
from longembed.settings import IndexSettings
from longembed.retrieve.hybrid import FUSIONS
from longembed.store import CHUNKS_VECTOR, DOC_VECTOR

MethodKind = Literal["truncation", "long-context", "chunked", "sparse", "hybrid"]
SPARSE_METHOD = "bm25"
SPARSE_BASE = "pi"
"""The extender whose collection the ``bm25`` method is stored in (the default; its embeddings are cached)."""

CHUNKED_METHODS = dict(zip(CHUNKED_METHOD_NAMES, (CHUNKS_VECTOR, DOC_VECTOR), strict=True))
"""Chunked baselines -> the vector they search; both embed chunks with ``pcw``'s windows."""


@dataclass(frozen=True)
class BenchMethod:
    """One row of the report.

    Attributes:
        name: as given on the command line.
        extend: the extender that embeds the documents (``pcw`` for the chunked baselines).
        kind: ``truncation`` (``none``), ``long-context`` (one vector of the whole document) or ``chunked``.
        using: the named vector searched (``doc`` or ``chunks``).
    """

    name: str
    extend: str
    kind: MethodKind
    using: str = DOC_VECTOR
    mode: str = "dense"
    """Query mode: ``dense``, ``sparse`` or ``hybrid``."""
    fusion: str | None = None
    """Fusion of ``hybrid`` (``None``: the retriever's default)."""
    chunks: bool = False
    """Store the ``chunks`` multivector (chunked-maxp and its hybrid)."""

    @property
    def with_chunks(self) -> bool:
        """Whether its collection stores the ``chunks`` multivector."""
        return self.using == CHUNKS_VECTOR or self.chunks

    @property
    def sparse(self) -> str:
        """``bm25`` when its collection needs the sparse vector, else ``none``."""
        return "none" if self.mode == "dense" else "bm25"

    def settings(
        self, model: str, max_length: int, query_prefix: str | None = None, document_prefix: str | None = None
    ) -> IndexSettings:
        return IndexSettings(
            model=model,
            extend=self.extend,
            max_length=max_length,
            query_prefix=query_prefix,
            document_prefix=document_prefix,
            passages="none",  # the bench's chunked rows store their own chunks
        )

    def describe(self, extender: Extender | None = None) -> dict[str, Any]:
        """What results.json records about the method: its extender, parameters and searched vector.

        With the ``extender`` built for the model, its own summary (APE or RoPE) and its effective parameters
        (defaults resolved for L_o and L_t, e.g. ntk's lambda, se's w and g); without, the extender's defaults.
        """
        per_kind = EXTENDERS[self.extend]  # position-encoding kind -> extender class; APE first (the default model's)
        cls = type(extender) if extender is not None else per_kind.get("ape") or next(iter(per_kind.values()))
        params = extender.effective_params() if extender is not None else dict(cls.param_defaults)
        if self.kind == "sparse":
            summary = "BM25 alone (bm25 sparse vector, Qdrant IDF; k1=1.2, b=0.75)"
        elif self.kind == "hybrid":
            lists = "doc + chunks + bm25" if self.with_chunks else "doc + bm25"
            summary = f"hybrid: {lists} fused ({self.fusion or 'default'} fusion); doc: {cls.summary}"
        elif self.kind != "chunked":
            summary = cls.summary
        elif self.with_chunks:
            summary = "best L_o-token chunk (Qdrant multivector, MAX_SIM)"
        else:
            summary = "mean of L_o-token chunks = PCW"
        return {
            "extend": self.extend,
            "extend_params": params,
            "kind": self.kind,
            "vector": self.using,
            "mode": self.mode,
            "fusion": self.fusion,
            "summary": summary,
        }


def known_methods() -> list[str]:
    """Every method name the bench accepts: the extender registry, the chunked baselines, ``bm25``, and
    ``<any of those>+bm25[:fusion]``."""
    return [*EXTENDERS, *CHUNKED_METHODS, SPARSE_METHOD, "<method>+bm25[:" + "|".join(FUSIONS) + "]"]


def _dense_method(name: str) -> BenchMethod | None:
    if name in EXTENDERS:
        return BenchMethod(name, name, "truncation" if name == "none" else "long-context")
    if name in CHUNKED_METHODS:
        return BenchMethod(name, "pcw", "chunked", CHUNKED_METHODS[name])
    return None


def resolve_methods(names: Sequence[str]) -> list[BenchMethod]:
    """The :class:`BenchMethod` of each name, in the given order, duplicates dropped.

    Raises:
        BenchError: an unknown name (the message lists the known ones) or an empty list.
    """
    out: list[BenchMethod] = []
    for name in dict.fromkeys(n.strip() for n in names if n.strip()):
        dense = _dense_method(name)
        base, plus, fusion = name.partition("+bm25")
        fusion = fusion.removeprefix(":") or None
        if dense is not None:
            out.append(dense)
        elif name == SPARSE_METHOD:
            out.append(BenchMethod(name, SPARSE_BASE, "sparse", mode="sparse"))
        elif plus and _dense_method(base) and (fusion is None or fusion in FUSIONS):
            inner = _dense_method(base)
            out.append(BenchMethod(name, inner.extend, "hybrid", mode="hybrid", fusion=fusion,
                                   chunks=inner.with_chunks))
        else:
            raise BenchError(f"unknown method {name!r}; known methods: {', '.join(known_methods())}")
    if not out:
        raise BenchError("give at least one method")
    return out
