"""The LongEmbed tasks as declarative metadata (Zhu et al. 2024, arXiv 2404.12096, §3 and Table 3).

A task is synthetic when its rows carry a ``context_length`` (tokens): it is scored per context length with
nDCG@1 against the documents of that length only, and summarised by the mean over lengths. A real task is
scored with nDCG@10 over its whole corpus.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TaskKind = Literal["synthetic", "real"]

PAPER_LENGTHS = (256, 512, 1024, 2048, 4096, 8192, 16384, 32768)
"""The context lengths (tokens) of the synthetic tasks in LongEmbed."""

HUB_DATASET = "dwzhu/LongEmbed"
"""The Hugging Face dataset of the benchmark; one configuration per task, splits corpus/queries/qrels."""
HUB_REVISION = "6e346642246bfb4928c560ee08640dc84d074e8c"
"""The commit of :data:`HUB_DATASET` the six tasks load: the revision mteb pins in the metadata of each of its
``LEMB*Retrieval`` tasks, so that bench numbers compare with mteb's and do not drift with the hub."""

SYNTHETIC_METRIC = "ndcg@1"
REAL_METRIC = "ndcg@10"


@dataclass(frozen=True)
class TaskInfo:
    """One LongEmbed task.

    Attributes:
        name: directory / hub configuration name.
        label: column heading in reports (the paper's spelling).
        kind: ``synthetic`` (per context length) or ``real``.
        revision: the commit of the hub dataset to load the task from (``None``: its newest).
    """

    name: str
    label: str
    kind: TaskKind
    revision: str | None = None

    @property
    def main_metric(self) -> str:
        """The score LongEmbed reports for the task: nDCG@1 (synthetic) or nDCG@10 (real)."""
        return SYNTHETIC_METRIC if self.kind == "synthetic" else REAL_METRIC


TASKS: dict[str, TaskInfo] = {
    t.name: t
    for t in (
        TaskInfo("passkey", "Passkey", "synthetic", HUB_REVISION),
        TaskInfo("needle", "Needle", "synthetic", HUB_REVISION),
        TaskInfo("narrativeqa", "NQA", "real", HUB_REVISION),
        TaskInfo("qmsum", "QMSum", "real", HUB_REVISION),
        TaskInfo("2wikimqa", "2WikiMQA", "real", HUB_REVISION),
        TaskInfo("summ_screen_fd", "SummScreenFD", "real", HUB_REVISION),
    )
}
"""The six LongEmbed tasks in the order of the paper's Table 3."""


def task_info(name: str, synthetic: bool | None = None) -> TaskInfo:
    """Metadata of ``name``; a task outside LongEmbed's six is synthetic when its rows carry ``context_length``."""
    if name in TASKS:
        return TASKS[name]
    return TaskInfo(name, name, "synthetic" if synthetic else "real")
