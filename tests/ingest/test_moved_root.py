"""A moved root never leaves a point that no prune can remove (issue 24, row 3), through the real CLI.

``r/a.txt`` and ``r/sub/b.txt`` ingested from ``r``; ``mv r r2``; ``ingest r2/sub``; ``ingest r2 --prune``: before
the rule, ``b.txt`` was stored twice (``sub/b.txt`` with the gone source ``r/sub/b.txt``, and ``b.txt``) and no
prune under ``r2`` removed the stale one. The rule (``longembed/ingest/identity.py`` rule 3 and
``longembed/ingest/triage.py`` ``moved_away``): the moved file takes over its stale point, and ``--prune``
removes a stale point whose file moved under the root and was stored under another point.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clitools import FAST, run_cli
from test_document_identity import stored, summary

from longembed.ingest.reader import SourceDocument
from longembed.ingest.triage import Triage, moved_away
from longembed.store import StoredState, point_id

A_TEXT = "The harbour committee approved a new pier for the fishing boats."
B_TEXT = "Cats purr and chase mice around the barn at night."


def make_root(tmp_path: Path) -> Path:
    root = tmp_path / "r"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text(A_TEXT)
    (root / "sub" / "b.txt").write_text(B_TEXT)
    return root


def ingest(tmp_path: Path, folder: str, *extra: str) -> str:
    return summary(run_cli("ingest", folder, "--store", str(tmp_path / "s"), *FAST, *extra, cwd=tmp_path))


@pytest.mark.slow  # four CLI processes: ~50 s on 2 shared cores
def test_moved_root_ingested_through_its_subfolder_keeps_one_point_per_file(tmp_path):
    make_root(tmp_path)
    assert "2 new" in ingest(tmp_path, "r")
    (tmp_path / "r").rename(tmp_path / "r2")
    line = ingest(tmp_path, "r2/sub")
    assert "0 new" in line and "1 unchanged" in line, line  # b.txt takes over its own point, nothing embedded
    line = ingest(tmp_path, "r2", "--prune")
    assert "0 new" in line and "2 unchanged" in line and "0 pruned" in line, line
    points = stored(tmp_path / "s")
    assert sorted(points) == ["a.txt", "sub/b.txt"]
    assert points["sub/b.txt"]["source"] == str((tmp_path / "r2" / "sub" / "b.txt").resolve())
    assert points["a.txt"]["source"] == str((tmp_path / "r2" / "a.txt").resolve())
    done = run_cli("query", "cats chasing mice", "-k", "5", "--json", "--store", str(tmp_path / "s"), cwd=tmp_path)
    assert [hit["path"] for hit in json.loads(done.stdout)].count("sub/b.txt") == 1


@pytest.mark.slow  # four CLI processes: ~50 s
def test_prune_removes_the_stale_point_of_a_file_edited_after_its_root_moved(tmp_path):
    """The edited file cannot take over its old point (other text): it is stored anew, and the prune of the new
    root removes the old point, whose source and root are gone."""
    make_root(tmp_path)
    ingest(tmp_path, "r")
    (tmp_path / "r").rename(tmp_path / "r2")
    (tmp_path / "r2" / "sub" / "b.txt").write_text("Cats sleep all day in the sun by the window.")
    assert "1 new" in ingest(tmp_path, "r2/sub")
    assert sorted(stored(tmp_path / "s")) == ["a.txt", "b.txt", "sub/b.txt"]  # the duplicate, until a prune
    line = ingest(tmp_path, "r2", "--prune")
    assert "1 pruned" in line and "0 new" in line, line
    points = stored(tmp_path / "s")
    assert sorted(points) == ["a.txt", "b.txt"]
    assert points["b.txt"]["text"].startswith("Cats sleep")


@pytest.mark.slow  # four CLI processes: ~50 s
def test_a_copied_root_keeps_every_point(tmp_path):
    """``cp -r r r2`` (the old files still exist): nothing is taken over or pruned, nothing is lost."""
    make_root(tmp_path)
    ingest(tmp_path, "r")
    (tmp_path / "r2" / "sub").mkdir(parents=True)
    (tmp_path / "r2" / "a.txt").write_text(A_TEXT)
    (tmp_path / "r2" / "sub" / "b.txt").write_text(B_TEXT)
    assert "1 new" in ingest(tmp_path, "r2/sub")
    line = ingest(tmp_path, "r2", "--prune")
    assert "0 pruned" in line, line
    r2a = str((tmp_path / "r2" / "a.txt").resolve())
    assert sorted(stored(tmp_path / "s")) == sorted(["a.txt", "sub/b.txt", "b.txt", r2a])


def state(path: str, source: str, sha: str) -> StoredState:
    return StoredState(point_id(path), path, sha, "fp", source)


def read(base: Path, rel: str, sha: str) -> SourceDocument:
    return SourceDocument(path=rel, title="", text="x", sha256=sha, source=str(base / rel))


def test_moved_away_needs_a_gone_file_and_the_document_stored_elsewhere(tmp_path):
    new = tmp_path / "new"
    (new / "sub").mkdir(parents=True)
    (new / "sub" / "b.txt").write_text("b")
    stale = state("sub/b.txt", str(tmp_path / "old" / "sub" / "b.txt"), "s1")  # old root gone
    held = state("b.txt", str(new / "sub" / "b.txt"), "s2")
    triage = Triage({s.point_id: s for s in (stale, held)}, "fp")
    triage.triage(read(new, "sub/b.txt", "s2"), force=False)  # rule 1: the file keeps the point b.txt
    assert moved_away(stale, triage, new)  # at its relative path, old root gone (the texts differ)
    assert not moved_away(stale, triage, new, failed_paths={"b.txt"})  # its new point was not written
    assert not moved_away(held, triage, new)
    (tmp_path / "old").mkdir()
    assert not moved_away(stale, triage, new)  # the old root exists: maybe unmounted or another layout
    same_text = state("sub/b.txt", str(tmp_path / "old" / "sub" / "b.txt"), "s2")
    assert moved_away(same_text, triage, new)  # same text, same file name, file gone
    renamed = state("sub/c.txt", str(tmp_path / "old" / "sub" / "c.txt"), "s2")
    assert not moved_away(renamed, triage, new)  # same text under another name: another document
    (tmp_path / "old" / "sub").mkdir()
    (tmp_path / "old" / "sub" / "b.txt").write_text("b")
    assert not moved_away(same_text, triage, new)  # the file exists: never pruned from another root


def test_a_moved_file_takes_over_the_point_of_its_gone_copy_only(tmp_path):
    new = tmp_path / "new"
    new.mkdir()
    (new / "b.txt").write_text("b")
    stale = state("sub/b.txt", str(tmp_path / "old" / "sub" / "b.txt"), "s1")
    triage = Triage({stale.point_id: stale}, "fp")
    moved = triage.triage(read(new, "b.txt", "s1"), force=False)
    assert (moved.read.path, moved.point_id, moved.unchanged) == ("sub/b.txt", stale.point_id, True)
    other = triage.triage(read(tmp_path / "other", "b.txt", "s1"), force=False)  # the point is claimed now
    assert other.old is None and other.read.path == "b.txt"
    fresh = Triage({stale.point_id: stale}, "fp").triage(read(new, "b.txt", "s9"), force=False)
    assert fresh.old is None and fresh.read.path == "b.txt"  # other text: a new point
