"""``longembed collections list`` and ``info`` show each collection's passage settings (in process with click's
CliRunner; collections made with ``Store.ensure_collection``, so no model is loaded)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from longembed.cli.collections import collections
from longembed.settings import IndexSettings
from longembed.store import Store

MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def make_store(path):
    with Store(path=path) as store:
        store.ensure_collection("plain", IndexSettings(passages="none"), 384)
        store.ensure_collection("late", IndexSettings(passages="late", passage_size=64, passage_sentences=0), 384)
        store.ensure_collection("default", IndexSettings(), 384)


def test_list_shows_passage_settings(tmp_path):
    make_store(tmp_path / "store")
    runner = CliRunner()
    text = runner.invoke(collections, ["list", "--store", str(tmp_path / "store")])
    assert text.exit_code == 0, text.output
    lines = {line.split("\t")[0]: line.split("\t")[1:] for line in text.output.splitlines()}
    assert lines == {
        "default": ["0 documents", MINILM, "pi", "max_length=4096",
                    "passages=naive passage_size=128 passage_sentences=1"],
        "late": ["0 documents", MINILM, "pi", "max_length=4096", "passages=late passage_size=64 passage_sentences=0"],
        "plain": ["0 documents", MINILM, "pi", "max_length=4096", "passages=none"],
    }
    as_json = runner.invoke(collections, ["list", "--json", "--store", str(tmp_path / "store")])
    rows = {r["name"]: r for r in map(json.loads, as_json.output.splitlines())}
    fields = ("passages", "passage_size", "passage_sentences")
    assert {n: [r[k] for k in fields] for n, r in rows.items()} == {
        "default": ["naive", 128, 1], "late": ["late", 64, 0], "plain": ["none", None, None]}


def test_info_shows_passage_settings(tmp_path):
    make_store(tmp_path / "store")
    out = CliRunner().invoke(collections, ["info", "late", "--store", str(tmp_path / "store")])
    info = json.loads(out.output)
    assert (info["name"], info["passages"], info["passage_size"], info["passage_sentences"]) == ("late", "late", 64, 0)
