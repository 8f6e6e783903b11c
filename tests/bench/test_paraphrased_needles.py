"""The shipped paraphrased needles: every question shares no content word with its needle under the bm25 analyzer,
and ``longembed bench make-needle --paraphrased`` turns them into a loadable task."""

from __future__ import annotations

import json

from click.testing import CliRunner

from longembed.bench.data import load_task_dir
from longembed.bench.synthetic import PARAPHRASED_NEEDLES, read_needles
from longembed.cli import main
from longembed.sparse import Analyzer, SparseSettings

HAYSTACK = "It was a quiet year. The harvest came late. Nobody minded the rain. " * 40


def test_paraphrased_questions_share_no_term_with_their_needle():
    needles = read_needles(PARAPHRASED_NEEDLES)
    analyzer = Analyzer(SparseSettings())  # the analyzer new collections record (the bm25 default)
    assert len(needles) >= 30
    assert len({n["needle"] for n in needles}) == len(needles)
    for item in needles:
        needle, question = set(analyzer.terms(item["needle"])), set(analyzer.terms(item["question"]))
        assert needle and question, item
        assert needle.isdisjoint(question), (item["question"], needle & question)
        assert set(item) == {"needle", "question", "answer"}


def test_analyzer_would_catch_a_shared_word():
    """The check above can fail: a plain rewording that keeps one stem ('depths' ~ 'depth') is caught."""
    analyzer = Analyzer()
    needle = set(analyzer.terms("The average depth of Lake Baikal is 744.4 meters."))
    assert needle & set(analyzer.terms("How great are the depths of that Siberian water?")) == {"depth"}


def test_make_needle_paraphrased_writes_task(tmp_path):
    haystack = tmp_path / "haystack.txt"
    haystack.write_text(HAYSTACK)
    result = CliRunner().invoke(
        main,
        ["bench", "make-needle", "--out", str(tmp_path), "--haystack", str(haystack), "--paraphrased",
         "--lengths", "256", "--per-length", "5"],
    )
    assert result.exit_code == 0, result.output
    task = load_task_dir(tmp_path / "paraphrased_needle")
    assert task.info.name == "paraphrased_needle" and task.info.kind == "synthetic"
    assert task.context_lengths == [256]
    first = json.loads(PARAPHRASED_NEEDLES.read_text().splitlines()[0])
    queries = [json.loads(line) for line in (tmp_path / "paraphrased_needle" / "queries.jsonl").open()]
    corpus = [json.loads(line) for line in (tmp_path / "paraphrased_needle" / "corpus.jsonl").open()]
    assert queries[0]["text"] == first["question"]
    assert first["needle"] in corpus[0]["text"] and len(corpus[0]["text"].split()) == 192


def test_make_needle_needs_exactly_one_needle_source(tmp_path):
    haystack = tmp_path / "haystack.txt"
    haystack.write_text(HAYSTACK)
    result = CliRunner().invoke(main, ["bench", "make-needle", "--out", str(tmp_path), "--haystack", str(haystack)])
    assert result.exit_code == 1
    assert "exactly one of --needles FILE and --paraphrased" in result.output
