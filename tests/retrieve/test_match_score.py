"""The no-match signal (issue 24): every hit's ``match`` (the cosine of the query with its best passage, else its
document vector) and the ``min_score`` filter, through Python, the CLI (``query``, ``query --file``), the HTTP API
and the LlamaIndex adapter, on real text with the bundled all-MiniLM-L6-v2 in float32.

The reference cosines come from sentence-transformers (``SentenceTransformer(model).encode``, normalised), not from
the code under test: each document is one sentence, so its one passage is its whole text.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from clitools import run_cli
from fastapi.testclient import TestClient

from longembed.encoding import Encoder
from longembed.errors import LongEmbedError
from longembed.ingest import SourceDocument, ingest_documents
from longembed.retrieve import Retriever
from longembed.retrieve.results import SUGGESTED_MIN_SCORE, check_min_score
from longembed.serve.app import create_app
from longembed.settings import IndexSettings, RunOptions
from longembed.store import Store

RUN = RunOptions(device="cpu", dtype="float32")
WITH_PASSAGES = IndexSettings(extend="none", max_length=128)
DOC_ONLY = IndexSettings(extend="none", max_length=128, passages="none")
DOCS = {
    "mercury.txt": "The boiling point of mercury is 356.73 degrees Celsius.",
    "water.txt": "Water boils at a lower point on a high mountain.",
    "library.txt": "The town library closes at noon on Saturdays.",
}
ON_TOPIC = "What is the boiling point of mercury?"
OFF_TOPIC = "best recipe for chocolate chip cookies"


@pytest.fixture(scope="module")
def reference(model_path) -> dict[str, dict[str, float]]:
    """query -> path -> cosine, from sentence-transformers."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_path, device="cpu")
    docs = model.encode(list(DOCS.values()), normalize_embeddings=True)
    out = {}
    for query in (ON_TOPIC, OFF_TOPIC):
        q = model.encode([query], normalize_embeddings=True)[0]
        out[query] = {path: float(np.dot(q, d)) for path, d in zip(DOCS, docs)}
    return out


@pytest.fixture(scope="module")
def store_path(tmp_path_factory) -> Path:
    """Collections ``c`` (naive passages, bm25) and ``plain`` (no passages) holding DOCS."""
    path = tmp_path_factory.mktemp("match") / "store"
    docs = [SourceDocument(p, p, text, str(hash(text))) for p, text in DOCS.items()]
    with Store(path) as store:
        for name, settings in (("c", WITH_PASSAGES), ("plain", DOC_ONLY)):
            ingest_documents(docs, settings, store, name, encoder=Encoder(settings, RUN), progress=False)
    return path


@pytest.fixture(scope="module")
def store(store_path):
    with Store(store_path, create=False) as opened:
        yield opened


@pytest.mark.parametrize("collection", ["c", "plain"])
def test_match_is_the_cosine_in_every_mode_and_fusion(store, reference, collection):
    retriever = Retriever(store=store, collection=collection, run=RUN)
    for query in (ON_TOPIC, OFF_TOPIC):
        answers = [retriever.search(query, k=3, mode="dense")]
        answers += [retriever.search(query, k=3, mode="hybrid", fusion=f) for f in ("rrf", "dbsf", "convex")]
        answers.append(retriever.search(query, k=3, mode="sparse"))  # BM25 lists only documents with a query term
        for results in answers:
            for r in results:
                assert r["match"] == pytest.approx(reference[query][r["path"]], abs=2e-4), (query, r)
                if r["passage"] is not None:
                    assert r["match"] == pytest.approx(r["passage"]["score"], abs=1e-5)
    dense = retriever.search(ON_TOPIC, k=3, mode="dense")
    assert dense[0]["path"] == "mercury.txt" and dense[0]["match"] > 0.7
    fused = retriever.search(ON_TOPIC, k=3, mode="hybrid", fusion="rrf")
    assert fused[0]["score"] != pytest.approx(fused[0]["match"], abs=0.05)  # rrf's score is rank-based, match not


def test_min_score_keeps_the_results_that_match_at_least_it(store, reference):
    retriever = Retriever(store=store, collection="c", run=RUN)
    cosines = reference[ON_TOPIC]
    cut = (sorted(cosines.values())[1] + sorted(cosines.values())[2]) / 2  # between the 2nd and the best
    kept = retriever.search(ON_TOPIC, k=3, min_score=cut)
    assert [r["path"] for r in kept] == ["mercury.txt"] and kept[0]["rank"] == 1
    assert len(retriever.search(ON_TOPIC, k=3, min_score=-1)) == 3
    assert max(reference[OFF_TOPIC].values()) < SUGGESTED_MIN_SCORE < cosines["mercury.txt"]
    assert retriever.search(OFF_TOPIC, k=3, min_score=SUGGESTED_MIN_SCORE) == []
    passages = retriever.search(ON_TOPIC, k=3, unit="passage", min_score=cut)
    assert [(p["path"], p["match"]) for p in passages] == [("mercury.txt", passages[0]["score"])]


@pytest.mark.parametrize("bad", ["abc", 1.5, -1.01, float("nan"), float("inf"), True, "0.3x", [0.3]])
def test_a_min_score_that_is_not_a_cosine_is_refused(store, bad):
    with pytest.raises(LongEmbedError, match="must be a number from -1 to 1"):
        Retriever(store=store, collection="c", run=RUN).search(ON_TOPIC, k=3, min_score=bad)
    assert check_min_score("0.25") == 0.25 and check_min_score(None) is None


def test_http_search_reports_match_and_filters(store_path, reference, tmp_path):
    shutil.copytree(store_path, tmp_path / "store")  # the server owns its store (the module holds store_path)
    app = create_app(Store(tmp_path / "store", create=False), collection="c", run=RunOptions(device="cpu"))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        answer = client.post("/search", json={"query": ON_TOPIC, "k": 3}).json()
        assert [r["match"] for r in answer["results"]] == pytest.approx(
            [reference[ON_TOPIC][r["path"]] for r in answer["results"]], abs=2e-4)
        assert answer["min_score"] is None
        off = client.post("/search", json={"query": OFF_TOPIC, "k": 3, "min_score": SUGGESTED_MIN_SCORE})
        assert off.status_code == 200 and off.json()["results"] == [], off.text
        passages = client.post("/search", json={"query": ON_TOPIC, "k": 2, "unit": "passage", "min_score": 0.5})
        assert [p["path"] for p in passages.json()["results"]] == ["mercury.txt"]
        for bad in ("abc", 2, -3, None):
            body = f'{{"query": "x", "min_score": {json.dumps(bad) if bad is not None else "NaN"}}}'
            refused = client.post("/search", content=body, headers={"content-type": "application/json"})
            assert refused.status_code == 422 and "min_score" in refused.text, (bad, refused.text)


def test_llama_index_retriever_reports_match_and_filters(store, reference):
    from llama_index.core.schema import QueryBundle

    from longembed.integrations.llama_index import LongEmbedRetriever

    retriever = Retriever(store=store, collection="c", run=RUN)
    nodes = LongEmbedRetriever(retriever, similarity_top_k=3).retrieve(QueryBundle(ON_TOPIC))
    assert [n.node.metadata["match"] for n in nodes] == pytest.approx(
        [reference[ON_TOPIC][n.node.metadata["path"]] for n in nodes], abs=2e-4)
    assert LongEmbedRetriever(retriever, similarity_top_k=3, min_score=SUGGESTED_MIN_SCORE).retrieve(
        QueryBundle(OFF_TOPIC)) == []
    with pytest.raises(LongEmbedError, match="must be a number from -1 to 1"):
        LongEmbedRetriever(retriever, min_score=7)


@pytest.mark.slow  # five CLI processes: ~40 s on 2 shared cores
def test_cli_min_score(store_path, reference, tmp_path):
    shutil.copytree(store_path, tmp_path / "store")  # the module's fixture may hold store_path open
    store = ["--store", str(tmp_path / "store"), "--collection", "c"]
    done = run_cli("query", ON_TOPIC, "-k", "3", "--json", *store, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert [r["match"] for r in results] == pytest.approx([reference[ON_TOPIC][r["path"]] for r in results], abs=2e-4)
    text = run_cli("query", OFF_TOPIC, "-k", "3", "--min-score", str(SUGGESTED_MIN_SCORE), *store, cwd=tmp_path)
    assert text.returncode == 0 and text.stdout.strip() == "no result matches at least --min-score 0.4", text.stdout
    queries = tmp_path / "q.txt"
    queries.write_text(f"{ON_TOPIC}\n{OFF_TOPIC}\n")
    batch = run_cli("query", "--file", str(queries), "--json", "--min-score", "0.5", *store, cwd=tmp_path)
    lines = [json.loads(line) for line in batch.stdout.splitlines()]
    assert [[r["path"] for r in line["results"]] for line in lines] == [["mercury.txt"], []], batch.stdout
    for bad, shown in (("abc", "'abc'"), ("1.5", "'1.5'"), ("nan", "'nan'")):
        refused = run_cli("query", ON_TOPIC, "--min-score", bad, *store, cwd=tmp_path)
        assert refused.returncode == 1 and refused.stdout == "", refused
        assert refused.stderr.strip().splitlines() == [
            f"error: --min-score must be a number from -1 to 1 (a cosine similarity), got {shown}"]
