"""Reading every point of a collection and comparing two collections point by point (ids, payloads, vectors)."""

from __future__ import annotations

import numpy as np

VECTORS = ("doc", "chunks", "bm25")


def points_of(store, collection: str) -> dict[str, tuple[dict, dict]]:
    """Point id -> (payload, named vectors) of every point of ``collection`` of an open store."""
    names = [v for v in VECTORS if v != "chunks" or store.has_multivector(collection)]
    names = [v for v in names if v != "bm25" or store.has_sparse(collection)]
    return {r.point_id: (r.payload, r.vectors) for r in store.scroll(collection, vectors=names)}


def assert_same_points(got: dict, want: dict, tolerance: float = 1e-5) -> None:
    """The same ids and payloads, identical sparse vectors, dense and multivectors within ``tolerance``."""
    assert sorted(got) == sorted(want)
    for pid, (payload, vectors) in want.items():
        other_payload, other_vectors = got[pid]
        assert other_payload == payload, payload["path"]
        assert sorted(other_vectors) == sorted(vectors)
        for name, vector in vectors.items():
            if name == "bm25":
                assert other_vectors[name] == vector, payload["path"]
            else:
                a, b = np.asarray(other_vectors[name], dtype=np.float64), np.asarray(vector, dtype=np.float64)
                assert a.shape == b.shape, (payload["path"], name)
                assert np.abs(a - b).max() <= tolerance, (payload["path"], name, np.abs(a - b).max())
