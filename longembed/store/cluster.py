"""How a new collection is laid out on a Qdrant server or cluster: shards, replication factor, vectors and
payload on disk (Qdrant's collection parameters ``shard_number``, ``replication_factor``, ``on_disk`` and
``on_disk_payload``; https://qdrant.tech/documentation/guides/distributed_deployment/). An embedded store has one
shard in this process, so a layout applies to servers only; an existing collection keeps its own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from longembed.errors import StoreError


@dataclass(frozen=True)
class ClusterLayout:
    """The layout of a collection a server creates.

    Attributes:
        shards: shards the collection is split into (``None``: the server's default, one per node of a cluster).
        replication_factor: copies of each shard (``None``: the server's default, 1).
        on_disk: keep the dense vectors (``doc``, ``chunks``) and the payload on disk, memory-mapped, rather than
            in RAM.
    """

    shards: int | None = None
    replication_factor: int | None = None
    on_disk: bool = False

    def __post_init__(self) -> None:
        for name in ("shards", "replication_factor"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise StoreError(f"{name.replace('_', ' ')} must be a whole number of at least 1, got {value!r}")

    @property
    def is_default(self) -> bool:
        """Whether nothing is asked beyond the server's defaults."""
        return self == ClusterLayout()

    def collection_params(self) -> dict[str, Any]:
        """The keyword arguments of qdrant-client's ``create_collection`` this layout sets (none by default)."""
        params: dict[str, Any] = {}
        if self.shards is not None:
            params["shard_number"] = self.shards
        if self.replication_factor is not None:
            params["replication_factor"] = self.replication_factor
        if self.on_disk:
            params["on_disk_payload"] = True
        return params

    def describe(self) -> str:
        """E.g. ``3 shards, replication factor 2, on disk``."""
        parts = [f"{self.shards} shards" if self.shards else "", f"replication factor {self.replication_factor}"
                 if self.replication_factor else "", "on disk" if self.on_disk else ""]
        return ", ".join(p for p in parts if p) or "the server's defaults"
