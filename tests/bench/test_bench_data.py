"""Loading LongEmbed-format task folders: synthetic splits per context length, --limit and --max-docs, missing
and malformed tasks reported (not fatal), and the hub path's error when `datasets` is absent."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from longembed.bench.data import load_tasks, make_splits
from longembed.bench.synthetic import make_passkey
from longembed.errors import BenchError


def write_rows(folder: Path, **files: list[dict]) -> None:
    folder.mkdir(parents=True)
    for name, rows in files.items():
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    make_passkey([64, 128], per_length=4).write(tmp_path)
    write_rows(
        tmp_path / "qmsum",
        corpus=[{"doc_id": f"m{i}", "text": f"meeting {i}"} for i in range(5)],
        queries=[{"qid": "a", "text": "budget"}, {"qid": "b", "text": "design"}, {"qid": "c", "text": "no qrel"}],
        qrels=[{"qid": "a", "doc_id": "m3"}, {"qid": "b", "doc_id": "m1"}, {"qid": "b", "doc_id": "m4"}],
    )
    write_rows(
        tmp_path / "needle",
        corpus=[{"doc_id": "x", "text": "t", "context_length": 64}],
        queries=[{"qid": "q", "text": "t", "context_length": 64}],
        qrels=[{"qid": "q", "doc_id": "nope", "context_length": 64}],
    )
    return tmp_path


def test_tasks_load_and_missing_ones_are_reported(data_dir):
    report = load_tasks(["passkey", "qmsum", "needle", "narrativeqa"], data_dir)
    assert [t.info.name for t in report.tasks] == ["passkey", "qmsum"]
    assert [(t.info.kind, t.info.main_metric) for t in report.tasks] == [("synthetic", "ndcg@1"), ("real", "ndcg@10")]
    assert report.tasks[1].source == f"dir:{(data_dir / 'qmsum').resolve()}"
    assert [q.qid for q in report.tasks[1].queries] == ["a", "b"]  # "c" has no relevant document
    assert report.missing == [
        {
            "task": "needle",
            "reason": f"dir:{(data_dir / 'needle').resolve()}: qrels name 1 unknown document(s), e.g. 'nope'",
        },
        {"task": "narrativeqa", "reason": f"no folder narrativeqa/ in {data_dir}"},
    ]
    with pytest.raises(BenchError, match="is not a directory"):
        load_tasks(["passkey"], data_dir / "absent")


def test_synthetic_splits_per_length_with_limit_and_max_docs(data_dir):
    passkey = load_tasks(["passkey"], data_dir).tasks[0]
    splits, missing = make_splits(passkey, [128, 64, 256], limit=2, max_docs=3)
    assert [s.context_length for s in splits] == [128, 64]
    assert missing == [{"task": "passkey", "context_length": 256, "reason": "no queries of this length"}]
    split = splits[0]
    assert [q.qid for q in split.queries] == ["passkey_q_128_000", "passkey_q_128_001"]
    # both relevant documents kept, then the first other one; only documents of this length
    assert [d.doc_id for d in split.corpus] == ["passkey_128_000", "passkey_128_001", "passkey_128_002"]
    assert (split.total_queries, split.total_documents, split.name) == (4, 4, "passkey@128")
    full, _ = make_splits(passkey)
    assert [len(s.corpus) for s in full] == [4, 4] and [len(s.queries) for s in full] == [4, 4]


def test_real_task_is_one_split_and_max_docs_keeps_relevant_documents(data_dir):
    qmsum = load_tasks(["qmsum"], data_dir).tasks[0]
    (split,), missing = make_splits(qmsum, [256], limit=None, max_docs=3)
    assert missing == [] and split.context_length is None and split.name == "qmsum"
    assert [d.doc_id for d in split.corpus] == ["m1", "m3", "m4"]  # the three relevant ones, nothing else fits
    assert split.qrels == {"a": {"m3": 1}, "b": {"m1": 1, "m4": 1}}


def test_hub_without_datasets_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # as if not installed
    with pytest.raises(BenchError, match=r"no --data DIR given, and the `datasets` library .* not installed"):
        load_tasks(["passkey"], None)
