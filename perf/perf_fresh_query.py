"""Benchmark 10: a fresh ``longembed query`` process on a store of ~1,200-token documents ingested with the
defaults (issue 26): wall time and peak RSS of one query (model load included), ``query --file`` with 30 questions,
planted facts found first, store size.

Documents: QMSum meetings cut into pieces of ~5,000 characters (~1,200 tokens); a made-up fact ("The access code of
the amber archive is 4417.") is planted at a random sentence boundary of 30 of them, and each question asks for one
fact in other words ("Which code opens the amber archive?"). ``--real N`` documents are ingested by the real CLI
with the defaults (naive passages, bm25, pi 4096); the store is then grown to ``--docs`` by copying the points of
the pieces without a fact under new paths (through the store API: vectors, passages and BM25 vectors as ingested),
since ingesting 600 documents takes more than an hour on a 2-core CPU. With ``--code DIR`` the same store is also
queried by another checkout's CLI (e.g. main before Qdrant Edge, which converts nothing: give it a copy of the
store written by ``--layout local-mode``).

    python perf/perf_fresh_query.py --real 60 --docs 600 [--runs 5] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from perf_common import REPO, SHARED_DATA, qmsum_corpus, save

COLOURS = ["amber", "cobalt", "scarlet", "ivory", "jade", "violet", "copper", "silver", "olive", "maroon", "teal",
           "indigo", "coral", "ochre", "slate", "crimson", "azure", "golden", "russet", "saffron", "umber",
           "cerulean", "magenta", "emerald", "bronze", "pearl", "ruby", "sable", "tawny", "lilac"]


def pieces(data: Path, n: int, chars: int = 5000) -> list[tuple[str, str]]:
    """(name, text) of ``n`` pieces of QMSum meetings, cut at utterance ends near ``chars`` characters."""
    out = []
    for meeting in qmsum_corpus(data):
        lines, size, part = [], 0, 0
        for line in meeting["text"].splitlines():
            lines.append(line)
            size += len(line) + 1
            if size >= chars:
                out.append((f"{meeting['doc_id']}-{part}.txt", "\n".join(lines)))
                lines, size, part = [], 0, part + 1
                if len(out) == n:
                    return out
    return out


def plant(docs: list[tuple[str, str]], facts: int, seed: int = 0) -> tuple[list[tuple[str, str]], list[dict]]:
    rng = random.Random(seed)
    planted, questions = list(docs), []
    for i in range(facts):
        name, text = planted[i]
        code = rng.randint(1000, 9999)
        cut = [m.end() for m in re.finditer(r"\.\n", text)] or [len(text)]
        at = rng.choice(cut)
        fact = f"By the way, the access code of the {COLOURS[i]} archive is {code}.\n"
        planted[i] = (name, text[:at] + fact + text[at:])
        questions.append({"query": f"Which code opens the {COLOURS[i]} archive?", "doc": name, "code": str(code)})
    return planted, questions


def cli(code: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(code)}
    return subprocess.run([sys.executable, "-m", "longembed.cli", *args], capture_output=True, text=True, env=env,
                          check=False, **kw)


def grow(store_dir: Path, docs: int, planted: set[str]) -> None:
    """Copy the points of the documents without a fact under new paths until the collection holds ``docs``."""
    from longembed.sparse.index import refresh_stats
    from longembed.store import DOC_VECTOR, MULTI_VECTOR, SPARSE_VECTOR, Record, Store, point_id

    with Store(store_dir) as store:
        sources = [r for r in store.scroll("default", vectors=[DOC_VECTOR, MULTI_VECTOR, SPARSE_VECTOR])
                   if r.payload["path"] not in planted]
        batch, n = [], store.count("default")
        while n < docs:
            r = sources[n % len(sources)]
            path = f"copies/{n:05d}-{r.payload['path']}"
            batch.append(Record(point_id(path), {**r.payload, "path": path}, r.vectors))
            n += 1
            if len(batch) == 64 or n == docs:
                store.upsert_records("default", batch)
                batch = []
        refresh_stats(store, "default")


def to_local_mode(edge_dir: Path, out: Path) -> None:
    """The same collection in a store of the old layout (qdrant-client's local mode), for the code before it."""
    from longembed.store import DOC_VECTOR, MULTI_VECTOR, SPARSE_VECTOR, Store
    from longembed.store.qdrant import QdrantClientStore

    with Store(edge_dir) as edge, QdrantClientStore(path=out) as old:
        old.create_collection("default", edge.schema("default"), edge.metadata("default"))
        batch = []
        for r in edge.scroll("default", vectors=[DOC_VECTOR, MULTI_VECTOR, SPARSE_VECTOR]):
            batch.append(r)
            if len(batch) == 64:
                old.upsert_records("default", batch)
                batch = []
        old.upsert_records("default", batch)


def measure(code: Path, store_dir: Path, questions: list[dict], runs: int, work: Path) -> dict:
    one, rss = [], []
    for q in questions[:runs]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t = time.perf_counter()
        done = cli(code, "query", q["query"], "--store", str(store_dir), "-k", "5")
        one.append(time.perf_counter() - t)
        assert done.returncode == 0, done.stderr
        rss.append(max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024)
    (work / "questions.txt").write_text("".join(q["query"] + "\n" for q in questions))
    t = time.perf_counter()
    done = cli(code, "query", "--file", str(work / "questions.txt"), "--store", str(store_dir), "-k", "5", "--json")
    batch = time.perf_counter() - t
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    first = sum(a["results"][0]["path"] == q["doc"] for a, q in zip(answers, questions))
    passage = sum(q["code"] in ((a["results"][0].get("passage") or {}).get("text") or "")
                  for a, q in zip(answers, questions))
    return {"fresh_query_s": statistics.median(one), "fresh_query_runs_s": one, "peak_rss_mb_max": max(rss),
            "query_file_s": batch, "questions": len(questions), "found_first": first, "passage_has_code": passage}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=SHARED_DATA)
    parser.add_argument("--real", type=int, default=60)
    parser.add_argument("--docs", type=int, default=600)
    parser.add_argument("--facts", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--code", type=Path, default=None, help="also measure this checkout's CLI (old layout)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="perf_fresh_query_"))
    docs_dir, store_dir = work / "docs", work / "store"
    docs, questions = plant(pieces(args.data, args.real), args.facts)
    if not store_dir.exists():
        docs_dir.mkdir(parents=True, exist_ok=True)
        for name, text in docs:
            (docs_dir / name).write_text(text)
        t = time.perf_counter()
        done = cli(REPO, "ingest", str(docs_dir), "--store", str(store_dir), "--no-progress")
        assert done.returncode == 0, done.stderr
        print(f"ingested {args.real} documents in {time.perf_counter() - t:.0f} s: {done.stdout.strip()}", flush=True)
        grow(store_dir, args.docs, {q["doc"] for q in questions})
    size = int(subprocess.run(["du", "-sm", str(store_dir)], capture_output=True, text=True).stdout.split()[0])
    out = {"docs": args.docs, "real": args.real, "store_mb": size,
           "edge": measure(REPO, store_dir, questions, args.runs, work)}
    print(json.dumps(out["edge"]), flush=True)
    if args.code:
        old_dir = work / "store-local-mode"
        if not old_dir.exists():
            to_local_mode(store_dir, old_dir)
        out["before"] = {"code": str(args.code), "store_mb": int(subprocess.run(
            ["du", "-sm", str(old_dir)], capture_output=True, text=True).stdout.split()[0]),
            **measure(args.code, old_dir, questions, args.runs, work)}
        print(json.dumps(out["before"]), flush=True)
    save(f"perf_fresh_query_{args.docs}", out)
    shutil.rmtree(work / "questions.txt", ignore_errors=True)


if __name__ == "__main__":
    main()
