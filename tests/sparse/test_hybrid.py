"""BM25 sparse vectors and the dense / sparse / hybrid query modes, on real text with the bundled all-MiniLM-L6-v2.

The BM25 reference below is computed by hand from the formula (Robertson & Zaragoza 2009) with the terms listed
by hand, not by the code under test.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from conftest import REPO
from clitools import FAST, run_cli

from longembed.encoding import Encoder
from longembed.errors import LongEmbedError
from longembed.ingest import SourceDocument, ingest, ingest_documents
from longembed.retrieve import Retriever
from longembed.retrieve.hybrid import FUSIONS
from longembed.settings import IndexSettings
from longembed.sparse import Analyzer, SparseSettings
from longembed.sparse.bm25 import max_attainable, query_vector
from longembed.sparse.index import add_bm25, length_stats, sparse_settings
from longembed.store import SPARSE_VECTOR, Store, VectorQuery, point_id
from longembed.settings import RunOptions

FIXTURE = REPO / "tests" / "fixtures" / "dense_only_store"
"""A store written by longembed before bm25 existed (main at 69eb605: ``longembed ingest docs --store store
--extend none --max-length 128``): collection ``default`` with the ``doc`` vector only."""
SETTINGS = IndexSettings(extend="none", max_length=128)
DOCS = {
    "mercury.txt": "The boiling point of mercury is 356.73 degrees Celsius.",
    "water.txt": "Water boils at a lower point on a high mountain.",
    "library.txt": "The town library closes at noon on Saturdays.",
}
TERMS = {  # by hand: lower case, Lucene stop words (the, of, is, at, on) and 1-letter words out, Snowball stems
    "mercury.txt": ["boil", "point", "mercuri", "356", "73", "degre", "celsius"],
    "water.txt": ["water", "boil", "lower", "point", "high", "mountain"],
    "library.txt": ["town", "librari", "close", "noon", "saturday"],
}


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder(SETTINGS, RunOptions(device="cpu"))


@pytest.fixture()
def collection(tmp_path, encoder):
    store = Store(tmp_path / "store")
    docs = [SourceDocument(path, path, text, str(hash(text))) for path, text in DOCS.items()]
    ingest_documents(docs, SETTINGS, store, "c", encoder=encoder, progress=False)
    yield store
    store.close()


def test_analyzer_cuts_the_hand_listed_terms():
    analyzer = Analyzer()
    for path, text in DOCS.items():
        assert analyzer.terms(text) == TERMS[path]


def test_bm25_scores_equal_hand_computed_bm25(collection, encoder):
    k1, b = 1.2, 0.75
    avgdl = (7 + 6 + 5) / 3  # one ingest batch: avgdl_ref is its mean length
    assert length_stats(collection, "c").to_dict() == {"n_docs": 3, "total_length": 18, "avgdl_ref": avgdl}
    df = {"boil": 2, "point": 2, "mercuri": 1}

    def bm25(path: str) -> float:
        terms = TERMS[path]
        score = 0.0
        for t in ("boil", "point", "mercuri"):
            tf = terms.count(t)
            idf = math.log(1 + (3 - df[t] + 0.5) / (df[t] + 0.5))
            score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(terms) / avgdl))
        return score

    retriever = Retriever(store=collection, collection="c", encoder=encoder)
    hits = retriever.search("Mercury's boiling point", k=3, mode="sparse")
    assert [h["path"] for h in hits] == ["mercury.txt", "water.txt"]  # the library shares no term
    assert hits[0]["score"] == pytest.approx(bm25("mercury.txt"), rel=1e-5)
    assert hits[1]["score"] == pytest.approx(bm25("water.txt"), rel=1e-5)
    # on paper: (ln 1.6 + ln 1.6 + ln(8/3)) · 2.2 / (1 + 1.2 · (0.25 + 0.75 · 7/6)) = 1.92083 · 0.93617
    assert hits[0]["score"] == pytest.approx(1.7982, abs=1e-4)


def test_ingest_and_query_use_the_recorded_analyzer(collection, encoder):
    assert sparse_settings(collection, "c") == SparseSettings()
    retriever = Retriever(store=collection, collection="c", encoder=encoder)
    assert retriever.analyzer.settings == SparseSettings()
    (point,) = collection.retrieve("c", [point_id("mercury.txt")], payload=False, vectors=[SPARSE_VECTOR])
    stored = point.vectors[SPARSE_VECTOR]
    asked = query_vector(retriever.analyzer, DOCS["mercury.txt"])  # the document's text, analyzed as a query
    assert sorted(stored.indices) == asked.indices
    assert len(asked.indices) == 7


def test_query_sharing_no_word_returns_the_dense_ranking(collection, encoder):
    retriever = Retriever(store=collection, collection="c", encoder=encoder)
    query = "Zebras gallop quickly"  # zebra, gallop, quick: in no document
    assert not set(Analyzer().terms(query)) & {t for terms in TERMS.values() for t in terms}
    dense = [h["path"] for h in retriever.search(query, k=3, mode="dense")]
    assert retriever.search(query, k=3, mode="sparse") == []
    for fusion in FUSIONS:
        assert [h["path"] for h in retriever.search(query, k=3, mode="hybrid", fusion=fusion)] == dense, fusion


def test_hybrid_finds_the_lexical_match(collection, encoder):
    retriever = Retriever(store=collection, collection="c", encoder=encoder)
    assert retriever.has_passages  # passages by default: hybrid fuses chunks + bm25 with convex
    assert retriever.resolve() == ("hybrid", "convex")
    for fusion in FUSIONS:
        assert retriever.search("Saturdays noon library", k=1, fusion=fusion)[0]["path"] == "library.txt"


def copy_fixture(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURE, tmp_path / "old")
    (tmp_path / "old" / "store" / ".lock").unlink(missing_ok=True)
    return tmp_path / "old"


def test_old_collection_answers_dense_and_sparse_gives_one_line_error(tmp_path):
    old = copy_fixture(tmp_path)
    done = run_cli("query", "boiling mercury", "--store", "store", "--json", "-k", "1", cwd=old)
    assert done.returncode == 0, done.stderr
    (hit,) = json.loads(done.stdout)
    assert (hit["path"], hit["mode"], hit["fusion"]) == ("mercury.txt", "dense", None)
    for mode in ("sparse", "hybrid"):
        done = run_cli("query", "boiling mercury", "--store", "store", "--mode", mode, cwd=old)
        assert done.returncode == 1
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: collection 'default' has no bm25")
        assert "longembed add-bm25" in done.stderr


def test_old_collection_is_not_re_embedded_and_add_bm25_keeps_its_vectors(tmp_path, encoder):
    old = copy_fixture(tmp_path)
    with Store(old / "store") as store:
        before = {p.point_id: p for p in store.scroll("default", vectors=["doc"])}
        settings = store.settings("default")
        assert {p.payload["settings_fingerprint"] for p in before.values()} == {settings.fingerprint()}
        summary = ingest(old / "docs", settings, store, "default", encoder=encoder, progress=False)
        assert (len(summary.unchanged), summary.documents) == (3, 0)
        assert not store.has_sparse("default")  # an existing collection keeps what it has
        assert add_bm25(store, "default") == 3
        assert store.has_sparse("default")
        after = {p.point_id: p for p in store.scroll("default", vectors=["doc"])}
        assert after.keys() == before.keys()
        for pid, p in before.items():
            assert after[pid].vectors["doc"] == p.vectors["doc"]
            assert after[pid].payload["settings_fingerprint"] == p.payload["settings_fingerprint"]
        assert length_stats(store, "default").to_dict() == {"n_docs": 3, "total_length": 18, "avgdl_ref": 6.0}
        summary = ingest(old / "docs", settings, store, "default", encoder=encoder, progress=False)
        assert (len(summary.unchanged), summary.documents) == (3, 0)
        retriever = Retriever(store=store, collection="default", encoder=encoder)
        assert retriever.resolve() == ("hybrid", "dbsf")
        assert retriever.search("noon library Saturdays", k=1, mode="sparse")[0]["path"] == "library.txt"
        with pytest.raises(LongEmbedError, match="already has"):
            add_bm25(store, "default")


@pytest.mark.slow  # four CLI processes
def test_cli_sparse_none_and_add_bm25(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for path, text in DOCS.items():
        (docs / path).write_text(text)
    done = run_cli("ingest", "docs", *FAST, "--sparse", "none", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert run_cli("query", "noon", "--mode", "sparse", cwd=tmp_path).returncode == 1
    done = run_cli("add-bm25", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "added bm25 to 3 documents of collection 'default'"
    done = run_cli("query", "noon Saturdays", "--mode", "sparse", "--json", "-k", "1", cwd=tmp_path)
    (hit,) = json.loads(done.stdout)
    assert (hit["path"], hit["mode"]) == ("library.txt", "sparse")


def test_convex_solves_the_idfs_from_its_hits_and_combines_the_exact_scores(collection, encoder):
    """The IDFs of the BM25 ceiling solved from the hits' scores equal the one-term probes and the hand-computed
    ln(1 + (N - df + 0.5) / (df + 0.5)); the fused score of each document is 0.3 · min-max of its MaxSim cosine +
    0.7 · its BM25 score / the query's ceiling, from each list's exact scores."""
    from longembed.retrieve import hybrid

    retriever = Retriever(store=collection, collection="c", encoder=encoder)

    def solve(text: str):
        sparse = query_vector(retriever.analyzer, text)
        (hits,) = collection.query_batch("c", [VectorQuery(SPARSE_VECTOR, sparse, 3)], vectors=[SPARSE_VECTOR])
        return sparse, hybrid.idfs_from_scores(sparse, hits)

    sparse, solved = solve("mercury water")  # two hits, one term each: two equations, two IDFs (df 1 each)
    assert [solved[t] for t in sparse.indices] == pytest.approx(hybrid.query_idfs(collection, "c", sparse, 3), rel=1e-5)
    assert [solved[t] for t in sparse.indices] == pytest.approx([math.log(8 / 3)] * 2, rel=1e-5)
    # both hits hold "boil" and "point" once each: proportional rows leave the two IDFs undetermined, so convex
    # probes them
    assert solve("boiling point")[1] == {}
    text = "boiling point of mercury on a mountain"
    fused = retriever.search(text, k=3, mode="hybrid", fusion="convex")
    assert [h["path"] for h in fused] == ["mercury.txt", "water.txt", "library.txt"]
    vector = encoder.encode([text], kind="query")[0].vector.tolist()
    cos = {h.payload["path"]: h.score for h in collection.search("c", vector, 3, using="chunks")}
    sparse = query_vector(retriever.analyzer, text)
    bm25 = {h.payload["path"]: h.score for h in hybrid.sparse_search(collection, "c", sparse, 3)}
    ceiling = max_attainable(hybrid.query_idfs(collection, "c", sparse, 3), retriever.sparse_settings)
    low, high = min(cos.values()), max(cos.values())
    expected = {p: 0.3 * (cos[p] - low) / (high - low) + 0.7 * bm25.get(p, 0.0) / ceiling for p in cos}
    assert [h["score"] for h in fused] == pytest.approx([expected[h["path"]] for h in fused], abs=1e-6)
