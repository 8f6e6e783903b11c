"""Benchmark 4: query latency on a collection of 1,000 documents.

- cold: ``longembed query`` as a new process (interpreter start, imports, model load, search);
- warm: ``Retriever.search`` in a process that has already loaded the model (encode + Qdrant search).

The 1,000 documents are QMSum query summaries (short texts, ``--extend none``): search latency depends on
the number of points, not on how long the documents were.

    python perf/perf_query.py [--runs 5] [--warm-queries 200]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from perf_common import SHARED_DATA, median_time, save


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=SHARED_DATA)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warm-queries", type=int, default=200)
    args = parser.parse_args()

    from longembed.ingest import ingest
    from longembed.retrieve import Retriever
    from longembed.settings import IndexSettings
    from longembed.store import Store

    rows = [json.loads(x) for x in (args.data / "qmsum" / "queries.jsonl").read_text().splitlines() if x.strip()]
    work = Path(tempfile.mkdtemp(prefix="perf_query_"))
    docs = work / "docs"
    docs.mkdir()
    for row in rows[:1000]:
        (docs / f"{row['qid']}.txt").write_text(row["text"])
    store_dir = work / "store"
    with Store(path=store_dir) as store:
        summary = ingest(docs, IndexSettings(extend="none"), store, "default", progress=False)
        assert store.count("default") == 1000, summary.line()

    query = rows[1000]["text"]
    cmd = [sys.executable, "-m", "longembed.cli", "query", query, "-k", "10", "--store", str(store_dir)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    cold, cold_runs = median_time(lambda: subprocess.run(cmd, check=True, capture_output=True, env=env), args.runs)

    retriever = Retriever(store=store_dir)
    retriever.search(query, k=10)
    latencies = []
    for row in rows[1000 : 1000 + args.warm_queries]:
        start = time.perf_counter()
        retriever.search(row["text"], k=10)
        latencies.append(time.perf_counter() - start)
    retriever.close()
    latencies.sort()
    result = {
        "benchmark": "query latency, 1000-document collection",
        "cold_cli_s": cold,
        "cold_cli_runs_s": cold_runs,
        "warm_queries": len(latencies),
        "warm_p50_ms": 1000 * statistics.median(latencies),
        "warm_p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))],
        "warm_max_ms": 1000 * latencies[-1],
    }
    print(result)
    save("perf_query", result)


if __name__ == "__main__":
    main()
