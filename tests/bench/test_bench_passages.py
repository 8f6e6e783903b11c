"""A real tiny bench run with passage methods (in process, the bundled all-MiniLM-L6-v2): a generated passkey
task (three documents at 256 tokens) and a generated needle task (three documents at 128 tokens, needles.jsonl
written by the generator), ingested into Qdrant with passages and searched on the ``chunks`` multivector."""

from __future__ import annotations

import json

import pytest

from longembed.bench.cache import EmbeddingCache
from longembed.bench.runner import BenchConfig, run_bench
from longembed.bench.synthetic import make_needle, make_passkey

HAYSTACK = " ".join(f"Essay line {i} says that startups grow and founders learn to write." for i in range(80))
NEEDLES = [
    {"needle": "The secret ingredient of the soup is cardamom.", "question": "What is the secret ingredient of the soup?"},
    {"needle": "The lighthouse keeper owns eleven cats.", "question": "How many cats does the lighthouse keeper own?"},
    {"needle": "Mount Fuji is 3776 meters tall.", "question": "How tall is Mount Fuji?"},
]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    work = tmp_path_factory.mktemp("bench-passages")
    passkey = make_passkey([256], per_length=3, seed=0)
    passkey.write(work / "data")
    needle = make_needle(HAYSTACK, NEEDLES, [128], seed=0)
    needle.write(work / "data")
    config = BenchConfig(tasks=["passkey", "needle"], methods=["pi", "naive-maxp", "late-maxp"], data=str(work / "data"),
                         max_length=512, out=str(work / "out"), device="cpu", progress=False)
    return run_bench(config), work / "out", passkey, needle


def test_passage_methods_find_and_localise_every_fact(run):
    result, _, _, _ = run
    cells = {(c.method, c.task): c for c in result.results}
    for task in ("passkey", "needle"):
        for method in ("naive-maxp", "late-maxp"):
            assert (cells[method, task].main_score, cells[method, task].localisation) == (1.0, 1.0), (method, task)
        assert cells["pi", task].localisation is None  # whole-document vectors have no passages
    assert result.methods["late-maxp"]["passages"] == "late" and result.methods["late-maxp"]["extend"] == "pi"


def test_one_passage_vector_per_sentence_and_no_cache(run):
    result, out, passkey, needle = run
    cells = {(c.method, c.task): c for c in result.results}
    # every sentence of these documents ends with its only full stop, except a needle excerpt's cut last one;
    # one sentence per passage (the default)
    sentences = {t.name: sum(d["text"].count(".") + (not d["text"].endswith(".")) for d in t.corpus)
                 for t in (passkey, needle)}
    for task, n in sentences.items():
        assert cells["naive-maxp", task].index_vectors == {"doc": 3, "chunks": n}
        assert cells["late-maxp", task].index_vectors == {"doc": 3, "chunks": n}
        # passage methods are encoded every run, outside the embedding cache
        assert (cells["naive-maxp", task].documents_computed, cells["naive-maxp", task].documents_cached) == (3, 0)
    cache = EmbeddingCache(out / "embeddings-cache.sqlite")
    assert len(cache) == 6  # the pi documents only
    cache.close()


def test_report_has_the_localisation_table(run):
    _, out, _, _ = run
    report = (out / "report.md").read_text()
    assert "## Passage localisation" in report
    assert "| naive-maxp | 100.0 | 100.0 | 100.0 | 100.0 |" in report
    assert "| late-maxp | 100.0 | 100.0 | 100.0 | 100.0 |" in report
    data = json.loads((out / "results.json").read_text())
    assert data["summary"]["localisation"] == {
        "passkey": {"naive-maxp": {"256": 1.0}, "late-maxp": {"256": 1.0}},
        "needle": {"naive-maxp": {"128": 1.0}, "late-maxp": {"128": 1.0}},
    }
