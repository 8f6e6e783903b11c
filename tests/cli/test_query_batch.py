"""``longembed query --file``: the query-file reader (in process) and 20 queries through the real CLI with one
model load (a subprocess whose Encoder constructions are counted)."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from clitools import assert_one_line_error, cli_env, run_cli

from longembed.cli.query_batch import QueryFileError, QueryLine, read_queries
from longembed.ingest import ingest
from longembed.retrieve.retriever import PASSAGES_FUSION
from longembed.settings import IndexSettings
from longembed.store import Store

TOPICS = {
    "cats.txt": ("Cats purr, chase mice around the barn at night and sleep in the sun.", "cats chasing mice"),
    "rockets.txt": ("The rocket engine burns liquid oxygen and kerosene at launch.", "rocket fuel at launch"),
    "bread.txt": ("Knead the dough, let it rise for an hour, then bake the loaf at 220 degrees.", "baking a loaf"),
    "tides.txt": ("The moon's gravity pulls the oceans, so the sea rises and falls twice a day.", "why the sea rises"),
}
COUNTING_CLI = """
import atexit, sys
import longembed.encoding.encoder as encoder_module
built = []
original = encoder_module.Encoder.__init__
def counted(self, *args, **kwargs):
    built.append(1)
    original(self, *args, **kwargs)
encoder_module.Encoder.__init__ = counted
atexit.register(lambda: sys.stderr.write(f"encoders built: {len(built)}\\n"))
from longembed.cli import main
sys.argv = ["longembed", *sys.argv[1:]]
main()
"""


def test_k_bound_is_the_retrievers():
    from longembed.cli import query_batch
    from longembed.retrieve.retriever import MAX_K

    assert query_batch.MAX_K == MAX_K


def test_text_file_one_query_per_line(tmp_path):
    path = tmp_path / "q.txt"
    path.write_bytes("\ufeffcats at night\n\n  rocket fuel  \r\nbread\n".encode())
    assert list(read_queries(str(path), 4)) == [
        QueryLine(1, "cats at night", 4, 1), QueryLine(3, "rocket fuel", 4, 3), QueryLine(4, "bread", 4, 4)
    ]


def test_json_lines_with_k_and_id(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"query": "cats", "k": 2, "id": "a"}\n\n{"query": "tides", "id": 7}\n')
    assert list(read_queries(str(path), 5)) == [QueryLine(1, "cats", 2, "a"), QueryLine(3, "tides", 5, 7)]
    stdin = io.BytesIO(b'{"query": "from a pipe"}\n')
    assert list(read_queries("-", 5, stdin)) == [QueryLine(1, "from a pipe", 5, 1)]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", " line 2: not valid JSON (Expecting value)"),
        ('["cats"]', " line 2: expected a JSON object"),
        ('{"qid": "x", "text": "cats"}', " line 2: unknown key 'qid'"),
        ('{"query": "  "}', ' line 2: "query" must be a non-empty string'),
        ('{"query": "cats", "k": 0}', ' line 2: "k" must be a whole number from 1 to 1000, got 0'),
        ('{"query": "cats", "k": true}', ' line 2: "k" must be a whole number from 1 to 1000, got true'),
        ('{"query": "cats", "id": [1]}', ' line 2: "id" must be a string or a whole number, got [1]'),
    ],
)
def test_bad_json_line_names_its_number(tmp_path, line, message):
    path = tmp_path / "q.jsonl"
    path.write_text('{"query": "fine"}\n' + line + "\n")
    with pytest.raises(QueryFileError) as caught:
        list(read_queries(str(path), 5))
    assert str(caught.value).startswith(f"{path}{message}")


def test_unreadable_undecodable_and_empty_files(tmp_path):
    with pytest.raises(QueryFileError, match="cannot read the query file .*: No such file or directory"):
        list(read_queries(str(tmp_path / "missing.txt"), 5))
    (tmp_path / "latin1.txt").write_bytes(b"ok\ncaf\xe9\n")
    with pytest.raises(QueryFileError, match=r"latin1.txt line 2: not valid UTF-8 \(byte 4\)"):
        list(read_queries(str(tmp_path / "latin1.txt"), 5))
    (tmp_path / "blank.txt").write_text("\n  \n")
    with pytest.raises(QueryFileError, match="no query in .*blank.txt"):
        list(read_queries(str(tmp_path / "blank.txt"), 5))


@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    work = tmp_path_factory.mktemp("queries")
    (work / "docs").mkdir()
    for name, (text, _) in TOPICS.items():
        (work / "docs" / name).write_text(text)
    with Store(path=work / "store") as store:
        ingest(work / "docs", IndexSettings(extend="none", max_length=128), store, "default", progress=False)
    return work


def run_counting(*args: str, cwd, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", COUNTING_CLI, *args], cwd=cwd, env=cli_env(), input=stdin, capture_output=True,
        text=True, timeout=600, check=False,
    )


@pytest.mark.slow  # three CLI processes, each loading torch and the model
def test_twenty_queries_one_model_load(small_store):
    expected = [name for _ in range(5) for name in TOPICS]
    lines = [json.dumps({"query": TOPICS[name][1], "id": f"q{i}", **({"k": 2} if i % 2 else {})})
             for i, name in enumerate(expected)]
    (small_store / "q.jsonl").write_text("\n".join(lines) + "\n")
    done = run_counting("query", "--file", "q.jsonl", "--store", "store", "--json", "-k", "3", cwd=small_store)
    assert done.returncode == 0, done.stderr
    assert "encoders built: 1" in done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["id"] for a in answers] == [f"q{i}" for i in range(20)]
    assert [a["line"] for a in answers] == list(range(1, 21))
    assert [a["results"][0]["path"] for a in answers] == expected
    assert [len(a["results"]) for a in answers] == [3, 2] * 10  # per-line k, else -k
    assert {(a["mode"], a["fusion"]) for a in answers} == {("hybrid", PASSAGES_FUSION)}  # default ingest: passages
    assert answers[0]["query"] == TOPICS["cats.txt"][1]

    # a text file answers the same, one block per query; a bad line fails before the model loads
    (small_store / "q.txt").write_text("\n".join(TOPICS[name][1] for name in TOPICS) + "\n")
    text = run_cli("query", "--file", "q.txt", "--store", "store", "-k", "1", cwd=small_store)
    assert text.returncode == 0, text.stderr
    blocks = text.stdout.strip().split("\n\n")
    assert [b.splitlines()[0] for b in blocks] == [f"query {i + 1}: {TOPICS[n][1]}" for i, n in enumerate(TOPICS)]
    assert [b.splitlines()[1].split()[2] for b in blocks] == list(TOPICS)

    (small_store / "bad.jsonl").write_text('{"query": "cats"}\n{"query": "tides", "k": "3"}\n')
    bad = run_counting("query", "--file", "bad.jsonl", "--store", "store", cwd=small_store)
    assert_one_line_error(bad, "bad.jsonl line 2:", '"k" must be a whole number')
    assert "encoders built: 0" in bad.stderr and bad.stdout == ""


@pytest.mark.slow  # two CLI processes
def test_json_lines_on_stdin_and_usage(small_store):
    piped = run_cli("query", "--file", "-", "--store", "store", "--json", cwd=small_store,
                    stdin='{"query": "baking a loaf", "k": 1}\n{"query": "why the sea rises", "k": 1}\nnot json\n')
    assert_one_line_error(piped, "standard input line 3: not valid JSON")
    answered = [json.loads(line)["results"][0]["path"] for line in piped.stdout.splitlines()]
    assert answered == ["bread.txt", "tides.txt"]  # the lines before the bad one are answered
    both = run_cli("query", "cats", "--file", "q.txt", "--store", "store", cwd=small_store)
    assert both.returncode == 2 and "give either a query TEXT or --file FILE" in both.stderr
