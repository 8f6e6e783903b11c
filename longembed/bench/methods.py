"""The methods a bench compares: every registered extender, two chunked baselines, and passage vectors.

- an extender name (``none``, ``pcw``, ``gp``, ``rp``, ``pi``, and any method registered later in
  ``longembed.extenders.EXTENDERS``): one whole-document vector per document, searched with the ``doc`` vector;
  ``none`` truncates at L_o (the paper's "original" row);
- ``chunked-maxp``: each document's L_o-token chunks (the windows of ``pcw``) stored as the ``chunks``
  multivector (Qdrant MAX_SIM) next to the ``doc`` vector; a document scores as its best chunk;
- ``chunked-mean``: the mean of the chunk vectors, i.e. PCW (LongEmbed §4.2 treats PCW as the chunking
  baseline), searched with the ``doc`` vector;
- passage methods, ``<passages>-maxp[:<extender>]``: the collection is ingested with ``IndexSettings.passages``
  = ``<passages>`` at the default granularity (one sentence, at most 128 tokens; see
  :mod:`longembed.encoding.late_chunking`) and a document scores as its best passage (the ``chunks`` multivector,
  MAX_SIM): ``naive-maxp`` (each passage encoded alone), ``late-maxp`` (late chunking: passages pooled from the
  whole-document forward pass of the extender, long late chunking past L_t) and ``window-late-maxp`` (pooled
  from L_o-token windows). The extender defaults to ``pi`` (:data:`PASSAGE_BASE`, the product's default
  ingest); ``late-maxp:gp`` pools late from ``gp``'s pass, ``naive-maxp:none`` encodes passages with the
  model's original positions;
- ``bm25``: BM25 alone (``--mode sparse``) on the ``bm25`` sparse vector of a collection built like ``pi``
  (its dense vectors are not searched, and come from the embedding cache);
- ``<method>+bm25`` (e.g. ``pi+bm25``, ``chunked-maxp+bm25``, ``late-maxp:gp+bm25``), optionally ``:<fusion>``
  (``pi+bm25:rrf``): ``--mode hybrid`` on a collection of ``<method>`` with ``bm25``: its ``doc`` vector,
  ``bm25`` and, for ``chunked-maxp``, the ``chunks`` multivector, fused with the given fusion (default: the
  retriever's); for a passage method the passages (``chunks``) and ``bm25`` only, by default ``convex``
  (:data:`longembed.retrieve.retriever.PASSAGES_FUSION`), as ``longembed query`` does on such a collection.

Passage methods bypass the embedding cache (:class:`~longembed.bench.cache.PlainEncoder`): their vectors
come from model inputs that :meth:`~longembed.encoding.prepare.Preparer.prepare_with_passages` cuts with the
encoder's own plans, which the cache defers until after its lookup, and the cache stores no passage vectors;
their documents are encoded again in every run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from longembed.bench.defaults import CHUNKED_METHOD_NAMES
from longembed.errors import BenchError
from longembed.extenders import EXTENDERS, Extender
from longembed.retrieve.hybrid import FUSIONS
from longembed.settings import DEFAULT_PASSAGE_SENTENCES, DEFAULT_PASSAGE_SIZE, IndexSettings
from longembed.store import DOC_VECTOR, MULTI_VECTOR

MethodKind = Literal["truncation", "long-context", "chunked", "passage", "sparse", "hybrid"]
SPARSE_METHOD = "bm25"
SPARSE_BASE = "pi"
"""The extender whose collection the ``bm25`` method is stored in (the default; its embeddings are cached)."""

CHUNKED_METHODS = dict(zip(CHUNKED_METHOD_NAMES, (MULTI_VECTOR, DOC_VECTOR), strict=True))
"""Chunked baselines -> the vector they search; both embed each document's L_o-token windows (``pcw``'s model
inputs): ``chunked-maxp`` stores them as the multivector, ``chunked-mean`` searches their mean (the ``doc``
vector)."""
PASSAGE_METHODS = {"naive-maxp": "naive", "late-maxp": "late", "window-late-maxp": "window-late"}
"""Passage methods -> the ``IndexSettings.passages`` mode their collection is ingested with."""
PASSAGE_BASE = "pi"
"""The extender of a passage method named without ``:<extender>``."""


@dataclass(frozen=True)
class BenchMethod:
    """One row of the report.

    Attributes:
        name: as given on the command line.
        extend: the extender that embeds the documents (``pcw`` for the chunked baselines).
        kind: ``truncation`` (``none``), ``long-context`` (one vector of the whole document), ``chunked``,
            ``passage``, ``sparse`` or ``hybrid``.
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
    windows: bool = False
    """Store the L_o-token window vectors as the ``chunks`` multivector (chunked-maxp's hybrid; chunked-maxp itself
    says so by searching that vector)."""
    passages: str = "none"
    """``IndexSettings.passages`` of its collection (passage methods and their hybrids; else ``none``)."""

    @property
    def has_passages(self) -> bool:
        return self.passages != "none"

    @property
    def with_windows(self) -> bool:
        """Whether its collection stores the extender's L_o-token window vectors as the ``chunks`` multivector;
        ``False`` for passage methods, whose multivector holds the passage vectors."""
        return (self.using == MULTI_VECTOR or self.windows) and not self.has_passages

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
            passages=self.passages,  # "none" for all but the passage methods: chunked rows store their own windows
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
            lists = "doc + chunks + bm25" if self.with_windows else "doc + bm25"
            lists = f"{self.passages} passages (chunks) + bm25" if self.has_passages else lists
            vectors = "passages" if self.has_passages else "doc"
            summary = f"hybrid: {lists} fused ({self.fusion or 'default'} fusion); {vectors}: {cls.summary}"
        elif self.kind == "passage":
            summary = (f"best {self.passages} passage ({DEFAULT_PASSAGE_SENTENCES} sentence, at most "
                       f"{DEFAULT_PASSAGE_SIZE} tokens; Qdrant multivector, MAX_SIM); {cls.summary}")
        elif self.kind != "chunked":
            summary = cls.summary
        elif self.with_windows:
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
            "passages": self.passages,
            "summary": summary,
        }


def known_methods() -> list[str]:
    """Every method name the bench accepts: the extender registry, the chunked baselines, the passage methods
    (``<passages>-maxp[:<extender>]``), ``bm25``, and ``<any but bm25>+bm25[:fusion]``."""
    return [*EXTENDERS, *CHUNKED_METHODS, *(f"{m}[:<extender>]" for m in PASSAGE_METHODS), SPARSE_METHOD,
            "<method>+bm25[:" + "|".join(FUSIONS) + "]"]


def _dense_method(name: str) -> BenchMethod | None:
    if name in EXTENDERS:
        return BenchMethod(name, name, "truncation" if name == "none" else "long-context")
    if name in CHUNKED_METHODS:
        return BenchMethod(name, "pcw", "chunked", CHUNKED_METHODS[name])
    head, colon, extend = name.partition(":")
    if head in PASSAGE_METHODS and (extend in EXTENDERS if colon else True):
        return BenchMethod(name, extend or PASSAGE_BASE, "passage", MULTI_VECTOR, passages=PASSAGE_METHODS[head])
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
                                   windows=inner.with_windows, passages=inner.passages))
        else:
            raise BenchError(f"unknown method {name!r}; known methods: {', '.join(known_methods())}")
    if not out:
        raise BenchError("give at least one method")
    return out
