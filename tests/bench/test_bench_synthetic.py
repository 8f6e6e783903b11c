"""Passkey and needle generators (LongEmbed §3.2) on small sizes: word counts, one inserted line or needle at
a sentence boundary, unique names and keys, fixed seed; and the CLI commands that write them."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from longembed.bench.data import load_task_dir
from longembed.bench.synthetic import FILLER_SENTENCES, make_needle, make_passkey, passkey_line
from longembed.cli import main
from longembed.errors import BenchError

HAYSTACK = " ".join(
    f"Essay line {i} says that startups grow{'!' if i % 5 == 0 else '.'}\nIt is {i} words long?" for i in range(60)
)
NEEDLES = [
    {"needle": "The secret ingredient of the soup is cardamom.", "question": "What is the secret ingredient?"},
    {"needle": "The lighthouse keeper owns eleven cats.", "question": "How many cats does the keeper own?"},
    {"needle": "Mount Fuji is 3776 meters tall.", "question": "How tall is Mount Fuji?"},
]


def test_passkey_recipe():
    task = make_passkey([64, 128], per_length=3, seed=0)
    assert [d["context_length"] for d in task.corpus] == [64, 64, 64, 128, 128, 128]
    assert task.corpus[0]["doc_id"] == "passkey_64_000" and task.queries[4]["qid"] == "passkey_q_128_001"
    assert task.qrels[4] == {"qid": "passkey_q_128_001", "doc_id": "passkey_128_001", "context_length": 128}
    names, keys = [], []
    for doc, query in zip(task.corpus, task.queries):
        name = re.fullmatch(r"what is the pass key for (.+)\?", query["text"]).group(1)
        key = re.search(rf"{name}'s pass key is (\d{{5}})\.", doc["text"]).group(1)
        names.append(name)
        keys.append(key)
        line = passkey_line(name, key)
        assert doc["text"].count(line) == 1 and doc["text"].count("pass key is") == 1
        # 0.75 words per token, whole filler sentences only: at most 3 words short
        target = int(doc["context_length"] * 0.75)
        assert target - 3 <= len(doc["text"].split()) <= target
        # the rest is the filler, in order, split at a sentence boundary
        rest = [s.strip() for s in doc["text"].replace(line, "|").split("|")]
        filler = " ".join(s for s in rest if s)
        expected = " ".join(FILLER_SENTENCES[i % len(FILLER_SENTENCES)] for i in range(len(re.findall(r"\.", filler))))
        assert filler == expected
    assert len(set(names)) == 6 and len(set(keys)) == 6
    assert make_passkey([64, 128], per_length=3, seed=0).corpus == task.corpus  # fixed seed
    assert make_passkey([64, 128], per_length=3, seed=1).corpus != task.corpus


def test_needle_recipe():
    task = make_needle(HAYSTACK, NEEDLES, [48, 96], per_length=3, seed=0)
    assert len(task.corpus) == 6 and [q["text"] for q in task.queries[:3]] == [n["question"] for n in NEEDLES]
    for i, doc in enumerate(task.corpus):
        needle = NEEDLES[i % 3]["needle"]
        assert len(doc["text"].split()) == int(doc["context_length"] * 0.75)  # exactly T x 0.75 words
        assert doc["text"].count(needle) == 1
        before = doc["text"].split(needle)[0].rstrip()
        assert before == "" or before[-1] in ".!?"  # inserted at a sentence boundary
        excerpt = doc["text"].replace(needle + " ", "").replace(needle, "").strip()
        assert excerpt.split()[0] in {"Essay", "It"}  # the excerpt starts at a sentence start
        assert "\n" in excerpt  # original line breaks kept
    assert make_needle(HAYSTACK, NEEDLES, [48, 96], per_length=3, seed=0).corpus == task.corpus
    with pytest.raises(BenchError, match="3 documents per length need as many needles; there are 2"):
        make_needle(HAYSTACK, NEEDLES[:2], [48], per_length=3)
    with pytest.raises(BenchError, match="at least 32 tokens"):
        make_passkey([16])


def test_make_commands_write_loadable_tasks(tmp_path):
    runner = CliRunner()
    done = runner.invoke(main, ["bench", "make-passkey", "--out", str(tmp_path), "--lengths", "64,128",
                                "--per-length", "2"])
    assert done.exit_code == 0, done.output
    (tmp_path / "needles.jsonl").write_text("".join(json.dumps(n) + "\n" for n in NEEDLES))
    (tmp_path / "haystack.txt").write_text(HAYSTACK)
    done = runner.invoke(main, ["bench", "make-needle", "--out", str(tmp_path), "--haystack",
                                str(tmp_path / "haystack.txt"), "--needles", str(tmp_path / "needles.jsonl"),
                                "--lengths", "64"])
    assert done.exit_code == 0, done.output
    passkey, needle = load_task_dir(tmp_path / "passkey"), load_task_dir(tmp_path / "needle")
    assert (passkey.info.kind, passkey.context_lengths, len(passkey.queries)) == ("synthetic", [64, 128], 4)
    assert (needle.info.kind, needle.context_lengths, len(needle.corpus)) == ("synthetic", [64], 3)
    # make-needle writes the needles it inserted, which the passage-localisation metric reads back
    assert needle.needles == {n["question"]: n["needle"] for n in NEEDLES} and passkey.needles == {}
    assert json.loads((tmp_path / "passkey" / "recipe.json").read_text())["per_length"] == 2
