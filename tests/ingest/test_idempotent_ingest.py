"""Idempotent ingest into a real embedded Qdrant store with the real all-MiniLM-L6-v2 model.

Unchanged documents are skipped (no embedding computed), changed ones replace their point, ``prune`` deletes
the points of files that are gone (and only under the ingested root), nothing readable means nothing deleted.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from longembed.encoding import Encoder
from longembed.models.paths import with_model_defaults
from longembed.errors import IngestError
from longembed.ingest import ingest
from longembed.settings import IndexSettings, RunOptions
from longembed.store import DOC_VECTOR, Store, point_id

SETTINGS = IndexSettings(extend="none", max_length=128)

TEXTS = {
    "cats.txt": "Cats purr and chase mice around the barn at night.",
    "rockets.txt": "The rocket engine burns liquid oxygen and kerosene at launch.",
    "budget.md": "# Budget\nThe remote control may cost at most 12.50 euros to produce.",
    "notes/harbour.txt": "The harbour committee approved a new pier for the fishing fleet.",
    "notes/garden.txt": "Tomatoes need sun, water and a stake to climb.",
}


class CountingEncoder(Encoder):
    """The real encoder, counting the texts it embeds (to prove that unchanged documents cost nothing)."""

    texts_encoded = 0

    def encode_prepared(self, prepared, keep_segments=False):  # every embedding goes through the model here
        if prepared.kind == "document":
            self.texts_encoded += len(prepared.token_ids)
        return super().encode_prepared(prepared, keep_segments)


@pytest.fixture(scope="module")
def encoder() -> CountingEncoder:
    return CountingEncoder(SETTINGS, RunOptions(device="cpu"))


def write_folder(folder: Path, texts: dict[str, str]) -> Path:
    for rel, text in texts.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)
    return folder


def points(store: Store, collection: str = "c") -> dict[str, dict]:
    """path -> payload (+ vector) of every point, checking that each point's id is the UUID5 of its path."""
    out = {}
    for p in store.scroll(collection, vectors=[DOC_VECTOR]):
        assert p.point_id == point_id(p.payload["path"])
        assert p.payload["path"] not in out
        out[p.payload["path"]] = {**p.payload, "vector": np.array(p.vectors[DOC_VECTOR])}
    return out


def run(folder, store, encoder, **kw):
    return ingest(folder, SETTINGS, store, "c", encoder=encoder, progress=False, **kw)


def test_unchanged_folder_computes_no_embedding_and_changed_file_replaces_its_point(tmp_path, encoder):
    docs = write_folder(tmp_path / "docs", TEXTS)
    with Store(path=tmp_path / "store") as store:
        before = encoder.texts_encoded
        first = run(docs, store, encoder)
        assert sorted(first.new) == sorted(TEXTS) and first.documents == 5
        assert encoder.texts_encoded - before == 5
        stored = points(store)
        assert {p: s["sha256"] for p, s in stored.items()} == {
            p: hashlib.sha256(t.encode()).hexdigest() for p, t in TEXTS.items()
        }
        assert stored["cats.txt"]["source"] == str((docs / "cats.txt").resolve())
        assert stored["cats.txt"]["settings_fingerprint"] == with_model_defaults(SETTINGS).fingerprint()

        again = run(docs, store, encoder)
        assert encoder.texts_encoded - before == 5  # not one more text embedded
        assert (again.documents, again.tokens, again.new, again.updated) == (0, 0, [], [])
        assert sorted(again.unchanged) == sorted(TEXTS)
        assert again.line().startswith("ingested 0 documents (0 tokens): 0 new, 0 updated, 5 unchanged, 0 pruned")

        (docs / "cats.txt").write_text("Dogs bark at the postman every morning.")
        changed = run(docs, store, encoder)
        assert encoder.texts_encoded - before == 6
        assert changed.updated == ["cats.txt"] and len(changed.unchanged) == 4 and changed.new == []
        after = points(store)
        assert len(after) == 5
        assert after["cats.txt"]["sha256"] == hashlib.sha256(b"Dogs bark at the postman every morning.").hexdigest()
        assert after["cats.txt"]["text"] == "Dogs bark at the postman every morning."
        assert not np.allclose(after["cats.txt"]["vector"], stored["cats.txt"]["vector"])
        np.testing.assert_array_equal(after["rockets.txt"]["vector"], stored["rockets.txt"]["vector"])
        expected = encoder.encode(["Dogs bark at the postman every morning."])[0].vector
        np.testing.assert_allclose(after["cats.txt"]["vector"], expected, atol=1e-6)

        forced = run(docs, store, encoder, force=True)
        assert sorted(forced.updated) == sorted(TEXTS) and forced.documents == 5


def test_prune_removes_deleted_and_renamed_files_only_under_the_root(tmp_path, encoder):
    docs = write_folder(tmp_path / "docs", TEXTS)
    other = write_folder(tmp_path / "other", {"elsewhere.txt": "Penguins live in the southern hemisphere."})
    with Store(path=tmp_path / "store") as store:
        run(docs, store, encoder)
        run(other, store, encoder)
        (docs / "rockets.txt").unlink()
        (docs / "notes" / "garden.txt").rename(docs / "notes" / "vegetables.txt")
        (other / "elsewhere.txt").unlink()  # gone too, but outside the root ingested below

        kept = run(docs, store, encoder)  # without --prune stale points stay
        assert kept.new == ["notes/vegetables.txt"] and kept.pruned == []
        assert len(points(store)) == 7

        pruned = run(docs, store, encoder, prune=True)
        assert pruned.pruned == ["notes/garden.txt", "rockets.txt"]
        assert pruned.documents == 0 and len(pruned.unchanged) == 4
        assert sorted(points(store)) == [
            "budget.md", "cats.txt", "elsewhere.txt", "notes/harbour.txt", "notes/vegetables.txt"
        ]

        # a single file as the root: only that file is in scope, its siblings' points stay
        single = run(docs / "cats.txt", store, encoder, prune=True)
        assert single.pruned == [] and single.unchanged == ["cats.txt"]
        # a sub-folder as the root: its files keep the points they have (no second point under a shorter
        # path), the file deleted there is pruned, the rest of the collection stays
        (docs / "notes" / "harbour.txt").unlink()
        sub = run(docs / "notes", store, encoder, prune=True)
        assert (sub.pruned, sub.unchanged, sub.new) == (["notes/harbour.txt"], ["notes/vegetables.txt"], [])
        assert sorted(points(store)) == ["budget.md", "cats.txt", "elsewhere.txt", "notes/vegetables.txt"]
        (docs / "notes" / "vegetables.txt").write_text("Carrots and leeks grow in cold soil.")
        sub = run(docs / "notes", store, encoder)
        assert sub.updated == ["notes/vegetables.txt"] and sub.new == []
        assert points(store)["notes/vegetables.txt"]["text"] == "Carrots and leeks grow in cold soil."


def test_nothing_readable_prunes_nothing_and_unreadable_file_keeps_its_point(tmp_path, encoder):
    docs = write_folder(tmp_path / "docs", {"a.txt": "Alpha text about owls.", "b.txt": "Beta text about bees."})
    with Store(path=tmp_path / "store") as store:
        run(docs, store, encoder)
        (docs / "a.txt").write_text("   \n")  # still there, no longer readable
        summary = run(docs, store, encoder, prune=True)
        assert [(f.path, f.reason) for f in summary.failed] == [("a.txt", "whitespace only, no text")]
        assert summary.pruned == [] and sorted(points(store)) == ["a.txt", "b.txt"]
        assert points(store)["a.txt"]["text"] == "Alpha text about owls."
        (docs / "b.txt").write_text("")
        with pytest.raises(IngestError, match="no document could be ingested"):
            run(docs, store, encoder, prune=True)
        assert sorted(points(store)) == ["a.txt", "b.txt"]  # an empty-looking folder deletes nothing


def test_prune_keeps_the_points_under_a_folder_that_cannot_be_listed(tmp_path, encoder, monkeypatch):
    """``chmod 000 d/sub`` as a user without DAC override (the tests may run as root, so the walk's error is
    injected): sub/'s files are unknown, not gone, and keep their points."""
    import os

    docs = write_folder(tmp_path / "docs", {"a.txt": "Alpha text about owls.", "sub/e.txt": "Echo text about eels."})
    with Store(path=tmp_path / "store") as store:
        run(docs, store, encoder)
        walk = os.walk

        def denied(top, onerror=None, **kw):
            for dirpath, dirnames, filenames in walk(top, onerror=onerror, **kw):
                if Path(dirpath).name == "sub":
                    onerror(PermissionError(13, "Permission denied", dirpath))
                    dirnames.clear()
                    continue
                yield dirpath, dirnames, filenames

        monkeypatch.setattr(os, "walk", denied)
        summary = run(docs, store, encoder, prune=True)
        assert [(f.path, f.reason) for f in summary.failed] == [("sub/", "cannot list this folder: Permission denied")]
        assert summary.pruned == [] and sorted(points(store)) == ["a.txt", "sub/e.txt"]
        monkeypatch.setattr(os, "walk", walk)
        (docs / "sub" / "e.txt").unlink()  # listed again and really gone: pruned
        assert run(docs, store, encoder, prune=True).pruned == ["sub/e.txt"]


def test_uploads_and_files_never_take_each_others_points(tmp_path, encoder):
    """Issue 24 row 4: an upload records ``upload:NAME`` as its source; a file whose relative path an upload holds
    is stored under its absolute path (the server refuses the other way round: tests/serve)."""
    upload = write_folder(tmp_path / "upload", {"doc1.txt": "Uploaded note about owls in the barn."})
    corpus = write_folder(tmp_path / "corpus", {"doc1.txt": "A file about eels in the harbour."})
    absolute = str((corpus / "doc1.txt").resolve())
    with Store(path=tmp_path / "store") as store:
        assert run(upload, store, encoder, by_name=True).new == ["doc1.txt"]
        assert run(corpus, store, encoder).new == [absolute]  # the name is held by the upload
        stored = points(store)
        assert stored["doc1.txt"]["source"] == "upload:doc1.txt"
        assert stored["doc1.txt"]["text"] == "Uploaded note about owls in the barn."
        assert stored[absolute]["text"] == "A file about eels in the harbour."
        again = run(corpus, store, encoder)
        assert (again.new, again.updated, again.unchanged) == ([], [], [absolute])
        (upload / "doc1.txt").write_text("A newer upload about owls.")
        assert run(upload, store, encoder, by_name=True).updated == ["doc1.txt"]  # an upload replaces an upload
        assert sorted(points(store)) == sorted(["doc1.txt", absolute])
