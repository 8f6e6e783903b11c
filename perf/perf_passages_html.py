"""RAG-ready passages on real HTML (issue 24): does the default query return the right page, and does the top-1
result's passage hold the answer?

Ingests :data:`PAGES` of the Python library reference (HTML, not committed: pass the folder) with the default
settings into a temporary store (``longembed ingest``, in a subprocess of the same interpreter, so ``PYTHONPATH``
picks which longembed is measured), then asks the 25 questions of ``perf/data/pydoc_questions.jsonl`` (each with
the page that answers it and a short answer string, written before any result was seen) with the default query
(``Retriever.search(q, k=1)``). Reported:

- ``hit1``: share of questions whose top-1 document is the answering page;
- ``answer_in_passage``: share of questions whose top-1 result's ``passage["text"]`` holds the answer string
  (exact substring, case-sensitive), out of all 25; ``answer_in_matched_sentence``: the same for the matched
  sentence alone (``match_start_char``..``match_end_char``; main's passage is that sentence);
- ``boilerplate_top1``: top-1 passages whose matched sentence (``match_start_char``..``match_end_char``, else the
  passage) starts with a version note or is a ``Source code:`` line; ``pilcrow_top1``: top-1 passages holding ``¶``;
- ``ingest_s``: wall time of the ingest.

The Debian package ``python3.11-doc`` holds the pages::

    apt-get download python3.11-doc && dpkg-deb -x python3.11-doc_*.deb /work/data/pydoc
    HF_HUB_OFFLINE=1 OMP_NUM_THREADS=2 PYTHONPATH=$PWD python perf/perf_passages_html.py \\
        /work/data/pydoc/usr/share/doc/python3.11/html/library --out perf/results/passages_html_after.json
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUESTIONS = Path(__file__).resolve().parent / "data" / "pydoc_questions.jsonl"
PAGES = (
    "pickle json os threading re shutil tempfile csv datetime collections functools itertools subprocess logging "
    "argparse pathlib random math statistics hashlib secrets base64 zipfile gzip queue heapq bisect copy enum "
    "dataclasses textwrap string struct time timeit uuid urllib.parse http.client glob fnmatch io fractions "
    "weakref contextlib abc"
).split()
"""45 library pages (about 5 MB of HTML): the 25 answering pages and 20 neighbours."""
BOILERPLATE = re.compile(r"^\s*(New in version|Changed in version|Deprecated since|Source code:)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("library", type=Path, help="folder of the library reference's .html pages")
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--out", type=Path, help="write the figures and per-question results here (JSON)")
    parser.add_argument("--store", type=Path, help="keep the store here (default: a temporary folder)")
    parser.add_argument("--query-only", action="store_true",
                        help="query the existing --store without ingesting (e.g. one built by another version)")
    parser.add_argument("--window-chars", type=int, help="Retriever.window_chars (default: the retriever's own)")
    args = parser.parse_args()
    questions = [json.loads(x) for x in args.questions.read_text(encoding="utf-8").splitlines() if x.strip()]
    missing = [p for p in PAGES if not (args.library / f"{p}.html").is_file()]
    if missing:
        sys.exit(f"error: {args.library} lacks {', '.join(p + '.html' for p in missing)}")
    with tempfile.TemporaryDirectory() as tmp:
        pages, store = Path(tmp) / "pages", args.store or Path(tmp) / "store"
        pages.mkdir()
        for p in PAGES:
            shutil.copy(args.library / f"{p}.html", pages)
        began = time.perf_counter()
        if not args.query_only:
            subprocess.run([sys.executable, "-m", "longembed.cli", "ingest", str(pages), "--store", str(store),
                            "--device", "cpu"], check=True)
        ingest_s = time.perf_counter() - began
        from longembed.retrieve import Retriever
        from longembed.settings import RunOptions
        from longembed.store import point_id

        retriever = Retriever(store=str(store), run=RunOptions(device="cpu"))
        if args.window_chars is not None:
            retriever.window_chars = args.window_chars
        rows = []
        for q in questions:
            top = retriever.search(q["question"], k=1)[0]
            passage = top["passage"] or {}
            text = passage.get("text", "")
            full = str(retriever.store.retrieve(retriever.collection, [point_id(str(top["path"]))])[0].payload["text"])
            matched = text  # main's passages are the matched sentence itself
            if "match_start_char" in passage:
                matched = full[passage["match_start_char"] : passage["match_end_char"]]
            rows.append({**q, "top_page": Path(str(top["path"])).name, "passage": text,
                         "hit1": Path(str(top["path"])).name == q["page"], "answer_in_passage": q["answer"] in text,
                         "matched": matched, "boilerplate": bool(BOILERPLATE.search(matched)), "pilcrow": "¶" in text})
        retriever.close()
    n = len(rows)
    figures = {"n": n, "hit1": sum(r["hit1"] for r in rows) / n,
               "answer_in_passage": sum(r["answer_in_passage"] for r in rows) / n,
               "answer_in_matched_sentence": sum(r["answer"] in r["matched"] for r in rows) / n,
               "boilerplate_top1": sum(r["boilerplate"] for r in rows), "pilcrow_top1": sum(r["pilcrow"] for r in rows),
               "ingest_s": None if args.query_only else round(ingest_s, 1),
               "mean_passage_chars": round(sum(len(r["passage"]) for r in rows) / n, 1)}
    for r in rows:
        print(f"{'P' if r['hit1'] else '-'}{'A' if r['answer_in_passage'] else '-'} {r['page']:<16} "
              f"{r['top_page']:<16} {' '.join(r['passage'].split())[:110]!r}")
    print(json.dumps(figures))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"figures": figures, "rows": rows}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
