"""``loc@1``, the passage-localisation metric, on hand-built splits (no model): targets read from passkey documents
and from a needle task's needles, the share computed by hand, and its report table."""

from __future__ import annotations

import pytest

from longembed.bench.data import CorpusDocument, Query, TaskSplit
from longembed.bench.localisation import localisation, localisation_table, targets
from longembed.bench.synthetic import passkey_line
from longembed.bench.tasks import task_info

FILLER = "The grass is green. The sky is blue."


def passkey_split() -> TaskSplit:
    docs = [CorpusDocument(f"d{i}", f"{FILLER} {passkey_line(name, key)} {FILLER}", 256)
            for i, (name, key) in enumerate([("Mary Smith", "12345"), ("John Lee", "67890"), ("Ann Hall", "24680")])]
    queries = [Query(f"q{i}", f"what is the pass key for {name}?", 256)
               for i, name in enumerate(["Mary Smith", "John Lee", "Ann Hall"])]
    return TaskSplit(task_info("passkey"), 256, docs, queries, {f"q{i}": {f"d{i}": 1} for i in range(3)})


def test_passkey_targets_are_the_keys_of_the_named_people():
    assert targets(passkey_split()) == {"q0": "12345", "q1": "67890", "q2": "24680"}


def test_share_of_queries_with_the_right_document_and_a_passage_holding_the_target():
    split = passkey_split()
    tops = {
        "q0": ("d0", "Mary Smith's pass key is 12345."),  # right document, passage holds the key: localised
        "q1": ("d1", "The sky is blue."),  # right document, wrong passage
        "q2": ("d0", "Mary Smith's pass key is 12345."),  # wrong document
    }
    assert localisation(split, tops) == pytest.approx(1 / 3)
    tops["q1"] = ("d1", "67890 is the pass key for John Lee.")  # the line's other sentence states the key too
    assert localisation(split, tops) == pytest.approx(2 / 3)
    del tops["q2"]  # no result at all: not localised
    assert localisation(split, tops) == pytest.approx(2 / 3)
    assert localisation(split, {"q0": ("d0", None)}) == 0.0  # a document without passages


def test_needle_target_is_the_whole_needle_sentence():
    needle = "The lighthouse keeper owns eleven cats."
    doc = CorpusDocument("n0", f"Startups grow. {needle} Essays are long.", 64)
    split = TaskSplit(task_info("needle"), 64, [doc], [Query("q", "How many cats does the keeper own?", 64)],
                      {"q": {"n0": 1}}, needles={"How many cats does the keeper own?": needle})
    assert targets(split) == {"q": needle}
    assert localisation(split, {"q": ("n0", needle)}) == 1.0
    assert localisation(split, {"q": ("n0", "The lighthouse keeper owns eleven")}) == 0.0  # a cut needle is not whole
    # without the needles (e.g. the hub dataset) there is nothing to look for
    split.needles = {}
    assert targets(split) == {} and localisation(split, {"q": ("n0", needle)}) is None


def test_table_rows_are_passage_methods_and_columns_task_lengths():
    by_task = {"passkey": {"naive-maxp": {"1024": 1.0, "4096": 0.5}, "late-maxp": {"1024": 0.25}},
               "needle": {"naive-maxp": {"1024": 0.75}}}
    assert localisation_table(by_task) == [
        "| Method | Passkey@1024 | Passkey@4096 | Needle@1024 | Passkey avg | Needle avg |",
        "|---|---:|---:|---:|---:|---:|",
        "| naive-maxp | 100.0 | 50.0 | 75.0 | 75.0 | 75.0 |",
        "| late-maxp | 25.0 | – | – | 25.0 | – |",
    ]
