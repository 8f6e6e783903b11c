"""A store of the old layout (qdrant-client's local mode, which pickles its points) is checked before qdrant-client
unpickles it, also when it is opened to be converted to Qdrant Edge (issue 14 row 5); recorded vector sizes that do
not match are damage (row 17); and read-only stores of both layouts can be queried. Through the real CLI, the
bundled model and real stores built by ingest (the old layout: through qdrant-client's local mode directly)."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import sqlite3
import uuid
from pathlib import Path

import pytest
from clitools import FAST, assert_one_line_error, can_deny_reads, drop_file_read_override, run_cli

from longembed.store.safe_pickle import ForeignObject, restricted_loads
from longembed.settings import IndexSettings
from longembed.ingest import ingest
from longembed.store import StoredDocument
from longembed.store.qdrant import QdrantClientStore

NOTES = {
    "harbour.txt": "The harbour committee approved a new pier for the fishing fleet.",
    "garden.txt": "Tomatoes need sun, water and a wooden stake to climb.",
}


class RunsACommand:
    """What an attacker plants: unpickling it calls os.system."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def build_store(work: Path, layout: str = "edge") -> Path:
    """The notes ingested into ``work/s``: by the CLI (Qdrant Edge), or through qdrant-client's local mode (``old``)."""
    docs = work / "docs"
    docs.mkdir()
    for name, text in NOTES.items():
        (docs / name).write_text(text)
    if layout == "old":
        with QdrantClientStore(path=work / "s") as store:
            ingest(docs, IndexSettings(extend="none", max_length=128), store, "default", progress=False)
        return work / "s"
    done = run_cli("ingest", "docs", "--store", "s", *FAST, cwd=work)
    assert done.returncode == 0, done.stderr
    return work / "s"


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def test_real_points_round_trip_through_the_restricted_unpickler(tmp_path):
    with QdrantClientStore(path=tmp_path / "s") as db:
        db.ensure_collection("c", IndexSettings(), 3, with_multivector=True)
        db.upsert("c", [StoredDocument("a.txt", [1.0, 0.0, 0.5], {"path": "a.txt", "n": [1, 2.5, None]},
                                       multivector=[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])])
    rows = sqlite3.connect(tmp_path / "s" / "collection" / "c" / "storage.sqlite").execute(
        "SELECT point FROM points").fetchall()
    point = restricted_loads(rows[0][0])
    assert point == pickle.loads(rows[0][0])
    assert point.payload == {"path": "a.txt", "n": [1, 2.5, None]} and point.vector["doc"] == [1.0, 0.0, 0.5]
    with pytest.raises(ForeignObject, match="posix.system"):
        restricted_loads(pickle.dumps(RunsACommand(tmp_path / "x")))


def test_a_planted_pickle_is_refused_before_it_runs(tmp_path):
    store = build_store(tmp_path, "old")
    marker = tmp_path / "PWNED"
    database = store / "collection" / "default" / "storage.sqlite"
    with sqlite3.connect(database) as connection:
        connection.execute("INSERT INTO points VALUES (?, ?)", (str(uuid.uuid4()), pickle.dumps(RunsACommand(marker))))
    before = digest(store)
    for args in (["query", "pier", "--store", "s"], ["ingest", "docs", "--store", "s", *FAST]):
        done = run_cli(*args, cwd=tmp_path)
        line = assert_one_line_error(done, "contains objects qdrant-client does not write", "it was not opened")
        assert "trusted sources" in line
        assert not marker.exists()
    assert digest(store) == before


def test_recorded_vector_size_that_does_not_match_is_damage_not_run_again(tmp_path):
    store = build_store(tmp_path, "old")
    meta = json.loads((store / "meta.json").read_text())
    meta["collections"]["default"]["vectors"]["doc"]["size"] = 999
    (store / "meta.json").write_text(json.dumps(meta))
    (tmp_path / "docs" / "new.txt").write_text("A new note about the remote control budget.")
    for args in (["ingest", "docs", "--store", "s", *FAST], ["query", "pier", "--store", "s"]):
        line = assert_one_line_error(run_cli(*args, cwd=tmp_path), "is damaged", "999")
        assert "run the same command again" not in line


@pytest.mark.skipif(not can_deny_reads(), reason="this user cannot be denied writes (root with CAP_DAC_OVERRIDE)")
@pytest.mark.parametrize("layout", ["edge", "old"])
def test_a_read_only_store_can_be_queried(tmp_path, layout):
    store = build_store(tmp_path, layout)
    before = digest(store)
    paths = [store, *store.rglob("*")]
    for path in paths:
        path.chmod(path.stat().st_mode & ~0o222)
    try:
        done = run_cli("query", "pier for the fishing fleet", "-k", "2", "--json", "--store", "s", cwd=tmp_path,
                       preexec_fn=drop_file_read_override)
        assert done.returncode == 0, done.stderr
        assert [r["path"] for r in json.loads(done.stdout)] == ["harbour.txt", "garden.txt"]
    finally:
        for path in paths:
            path.chmod(path.stat().st_mode | 0o200)
    assert digest(store) == before
