"""The methods a bench compares: every registered extender, and two chunked baselines.

- an extender name (``none``, ``pcw``, ``gp``, ``rp``, ``pi``, and any method registered later in
  ``longembed.extenders.EXTENDERS``): one whole-document vector per document, searched with the ``doc`` vector;
  ``none`` truncates at L_o (the paper's "original" row);
- ``chunked-maxp``: each document's L_o-token chunks (the windows of ``pcw``) stored as the ``chunks``
  multivector (Qdrant MAX_SIM) next to the ``doc`` vector; a document scores as its best chunk;
- ``chunked-mean``: the mean of the chunk vectors, i.e. PCW (LongEmbed §4.2 treats PCW as the chunking
  baseline), searched with the ``doc`` vector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from longembed.errors import BenchError
from longembed.extenders import EXTENDERS, Extender
from longembed.settings import IndexSettings
from longembed.store import CHUNKS_VECTOR, DOC_VECTOR

MethodKind = Literal["truncation", "long-context", "chunked"]

CHUNKED_METHODS = {"chunked-maxp": CHUNKS_VECTOR, "chunked-mean": DOC_VECTOR}
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

    @property
    def with_chunks(self) -> bool:
        """Whether its collection stores the ``chunks`` multivector."""
        return self.using == CHUNKS_VECTOR

    def settings(
        self, model: str, max_length: int, query_prefix: str | None = None, document_prefix: str | None = None
    ) -> IndexSettings:
        return IndexSettings(
            model=model,
            extend=self.extend,
            max_length=max_length,
            query_prefix=query_prefix,
            document_prefix=document_prefix,
        )

    def describe(self, extender: Extender | None = None) -> dict[str, Any]:
        """What results.json records about the method: its extender, parameters and searched vector.

        With the ``extender`` built for the model, its own summary (APE or RoPE) and its effective parameters
        (defaults resolved for L_o and L_t, e.g. ntk's lambda, se's w and g); without, the extender's defaults.
        """
        per_kind = EXTENDERS[self.extend]  # position-encoding kind -> extender class; APE first (the default model's)
        cls = type(extender) if extender is not None else per_kind.get("ape") or next(iter(per_kind.values()))
        params = extender.effective_params() if extender is not None else dict(cls.param_defaults)
        if self.kind != "chunked":
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
            "summary": summary,
        }


def known_methods() -> list[str]:
    """Every method name the bench accepts: the extender registry, then the chunked baselines."""
    return [*EXTENDERS, *CHUNKED_METHODS]


def resolve_methods(names: Sequence[str]) -> list[BenchMethod]:
    """The :class:`BenchMethod` of each name, in the given order, duplicates dropped.

    Raises:
        BenchError: an unknown name (the message lists the known ones) or an empty list.
    """
    out: list[BenchMethod] = []
    for name in dict.fromkeys(n.strip() for n in names if n.strip()):
        if name in EXTENDERS:
            out.append(BenchMethod(name, name, "truncation" if name == "none" else "long-context"))
        elif name in CHUNKED_METHODS:
            out.append(BenchMethod(name, "pcw", "chunked", CHUNKED_METHODS[name]))
        else:
            raise BenchError(f"unknown method {name!r}; known methods: {', '.join(known_methods())}")
    if not out:
        raise BenchError("give at least one method")
    return out
