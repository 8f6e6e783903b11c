"""Parsing bench method names: extenders, chunked baselines, passage methods (``<passages>-maxp[:<extender>]``),
``bm25`` and ``+bm25[:fusion]`` hybrids; bad names are one-line errors listing the valid ones. No model."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from longembed.bench.methods import PASSAGE_BASE, resolve_methods
from longembed.cli import main
from longembed.errors import BenchError


def fields(name: str) -> tuple:
    m = resolve_methods([name])[0]
    return m.extend, m.kind, m.using, m.mode, m.fusion, m.passages, m.with_windows


def test_passage_methods_default_to_pi_and_take_an_extender():
    assert PASSAGE_BASE == "pi"
    assert fields("late-maxp") == ("pi", "passage", "chunks", "dense", None, "late", False)
    assert fields("late-maxp:gp") == ("gp", "passage", "chunks", "dense", None, "late", False)
    assert fields("naive-maxp") == ("pi", "passage", "chunks", "dense", None, "naive", False)
    assert fields("naive-maxp:none") == ("none", "passage", "chunks", "dense", None, "naive", False)
    assert fields("window-late-maxp:pcw") == ("pcw", "passage", "chunks", "dense", None, "window-late", False)
    # the ingest settings carry the passage mode; the other methods ingest without passages
    assert resolve_methods(["late-maxp:rp"])[0].settings("m", 2048).passages == "late"
    assert resolve_methods(["chunked-maxp"])[0].settings("m", 2048).passages == "none"


def test_passage_methods_compose_with_bm25():
    # hybrid over passages + bm25; fusion None = the retriever's default for passages (convex)
    assert fields("late-maxp+bm25") == ("pi", "hybrid", "doc", "hybrid", None, "late", False)
    assert fields("late-maxp:gp+bm25:rrf") == ("gp", "hybrid", "doc", "hybrid", "rrf", "late", False)
    assert fields("naive-maxp+bm25:convex") == ("pi", "hybrid", "doc", "hybrid", "convex", "naive", False)
    # the L_o-token chunks stay with chunked-maxp, which stores no passages
    assert fields("chunked-maxp+bm25") == ("pcw", "hybrid", "doc", "hybrid", None, "none", True)
    assert resolve_methods(["late-maxp:gp+bm25:rrf"])[0].describe()["summary"].startswith(
        "hybrid: late passages (chunks) + bm25 fused (rrf fusion); passages: grouped positions")


@pytest.mark.parametrize("bad", ["late-maxp:", "late-maxp:nope", "late-maxp:late-maxp", "late-maxp+bm25:gp",
                                 "late-maxp+gp", "maxp", "late", "bm25+bm25"])
def test_bad_names_list_the_valid_ones(bad):
    with pytest.raises(BenchError) as info:
        resolve_methods([bad])
    message = str(info.value)
    assert message.startswith(f"unknown method {bad!r}; known methods: none, pcw,") and "\n" not in message
    assert "late-maxp[:<extender>], window-late-maxp[:<extender>], bm25, <method>+bm25[:rrf|dbsf|convex]" in message


def test_cli_bad_method_is_a_one_line_error(tmp_path):
    done = CliRunner().invoke(main, ["bench", "--tasks", "passkey", "--methods", "pi,late-maxp:nope",
                                     "--data", str(tmp_path), "--out", str(tmp_path / "out")])
    assert done.exit_code == 1
    assert done.output.startswith("error: unknown method 'late-maxp:nope'; known methods: ")
    assert done.output.count("\n") == 1
