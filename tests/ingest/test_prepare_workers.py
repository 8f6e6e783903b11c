"""Preparing documents in worker processes (:mod:`longembed.ingest.prepare_workers`) writes exactly the points of
the worker thread: the same ids, payloads, passage spans, BM25 vectors and, with the same encoder, the same dense
vectors and passage multivectors to the bit. Real sample meetings, the bundled all-MiniLM-L6-v2, real stores."""

from __future__ import annotations

import shutil

import pytest

from conftest import SAMPLE_DOCS
from longembed.encoding import Encoder
from longembed.ingest import ingest
from longembed.ingest.prepare_workers import MAX_AUTO_WORKERS, auto_prepare_workers
from longembed.settings import IndexSettings, RunOptions
from longembed.store import Store
from pointtools import assert_same_points, points_of


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder(IndexSettings(extend="none", max_length=128, passage_size=24), RunOptions(device="cpu"))


def test_worker_processes_write_the_points_of_the_worker_thread(tmp_path, encoder, monkeypatch):
    from longembed.ingest.prepare_workers import PreparePool

    submitted = []
    submit = PreparePool.submit
    monkeypatch.setattr(PreparePool, "submit", lambda self, docs: submitted.append(len(docs)) or submit(self, docs))
    docs = tmp_path / "docs"
    docs.mkdir()
    for path in sorted(SAMPLE_DOCS.glob("*.txt"))[:7]:
        shutil.copy(path, docs / path.name)
    (docs / "empty.txt").write_text("")
    points, summaries = {}, {}
    for workers in (0, 2):
        with Store(path=tmp_path / f"store{workers}") as store:
            summaries[workers] = ingest(docs, encoder.settings, store, "c", encoder=encoder, progress=False,
                                        docs_per_batch=2, prepare_workers=workers)
            points[workers] = points_of(store, "c")
    threaded, pooled = summaries[0], summaries[2]
    assert (len(pooled.new), pooled.tokens, [f.path for f in pooled.failed]) == (7, threaded.tokens, ["empty.txt"])
    assert sum(submitted) == 7  # every readable file in a worker process (the encoder was given: the pool starts first)
    assert pooled.new == threaded.new and pooled.documents == threaded.documents == 7
    assert all(len(payload["passages"]) > 10 for payload, _ in points[2].values())
    assert all("bm25" in vectors and "chunks" in vectors for _, vectors in points[2].values())
    assert_same_points(points[2], points[0], tolerance=0.0)


def test_prepare_workers_below_zero_are_refused(tmp_path, encoder):
    from longembed.errors import LongEmbedError

    with Store(path=tmp_path / "store") as store, pytest.raises(LongEmbedError, match="prepare workers"):
        ingest(SAMPLE_DOCS, encoder.settings, store, "c", encoder=encoder, progress=False, prepare_workers=-1)


@pytest.mark.parametrize(
    ("device", "batches", "cpus", "want"),
    [("cpu", 100, 16, 0), ("cuda", 3, 16, 0), ("cuda", 4, 16, 4), ("cuda", 100, 16, MAX_AUTO_WORKERS),
     ("cuda", 100, 2, 1), ("cuda", 100, 1, 1), ("mps", 100, 6, 5)],
)
def test_auto_prepare_workers(device, batches, cpus, want):
    assert auto_prepare_workers(device, batches, cpus) == want
