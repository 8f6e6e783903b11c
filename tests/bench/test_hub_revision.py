"""The hub dataset is loaded at the revision pinned in the task metadata (as mteb pins it), not its newest commit."""

from __future__ import annotations

import sys
import types

from longembed.bench.data import load_task_hub, load_tasks
from longembed.bench.tasks import HUB_DATASET, HUB_REVISION, TASKS


def fake_datasets(calls: list[dict]) -> types.ModuleType:
    def load_dataset(path, **kwargs):
        calls.append({"path": path, **kwargs})
        return {
            "corpus": [{"doc_id": "d1", "text": "a document"}],
            "queries": [{"qid": "q1", "text": "a query"}],
            "qrels": [{"qid": "q1", "doc_id": "d1"}],
        }

    return types.SimpleNamespace(load_dataset=load_dataset)


def test_every_longembed_task_pins_the_revision_mteb_pins():
    assert {t.revision for t in TASKS.values()} == {HUB_REVISION}
    assert len(HUB_REVISION) == 40 and int(HUB_REVISION, 16) >= 0


def test_the_hub_loads_the_pinned_revision_unless_one_is_given(monkeypatch):
    calls: list[dict] = []
    monkeypatch.setitem(sys.modules, "datasets", fake_datasets(calls))
    report = load_tasks(["qmsum"], None)
    assert [t.source for t in report.tasks] == [f"hub:{HUB_DATASET}/qmsum"] and report.missing == []
    load_task_hub("needle", revision="main")
    load_task_hub("my_task")  # not one of LongEmbed's six: no pinned revision
    assert calls == [
        {"path": HUB_DATASET, "name": "qmsum", "revision": HUB_REVISION},
        {"path": HUB_DATASET, "name": "needle", "revision": "main"},
        {"path": HUB_DATASET, "name": "my_task", "revision": None},
    ]
