"""Helpers shared by the performance benchmarks in this folder (not part of the package)."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data" / "longembed"
RESULTS = REPO / "perf" / "results"


def median_time(fn: Callable[[], object], runs: int = 3) -> tuple[float, list[float]]:
    """Median wall time of ``runs`` calls of ``fn`` (seconds), and every time."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def machine() -> dict:
    import torch

    from longembed.models.device import cpu_has_bfloat16_matrix_units

    model = next((line.split(":", 1)[1].strip() for line in _cpuinfo().splitlines() if line.startswith("model name")),
                 None)
    return {
        "cpu": platform.processor() or platform.machine(),
        "cpu_model": model,
        "bfloat16_matrix_units": cpu_has_bfloat16_matrix_units(),
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def save(name: str, data: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}.json"
    out.write_text(json.dumps({"machine": machine(), **data}, indent=2))
    print(f"wrote {out}")
    return out


def qmsum_corpus(data_dir: Path = SHARED_DATA) -> list[dict]:
    """The QMSum meetings of a LongEmbed-format data folder ({doc_id, text} per line)."""
    path = Path(data_dir) / "qmsum" / "corpus.jsonl"
    if not path.is_file():
        raise SystemExit(f"no QMSum corpus at {path}; pass --data DIR (LongEmbed format)")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
