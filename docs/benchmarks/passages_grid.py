"""Passage granularity × vector mode on the synthetic tasks: which passages find a fact buried in a long document.

For each task (needle, passkey, paraphrased needles built from ../shared's haystack), context length and cell
(granularity, mode), every document of that length gets its passage vectors through longembed's own code path
(``Preparer.prepare_with_passages`` + ``Encoder.encode_prepared``); a document scores as its
best passage (MaxSim, as the ``chunks`` multivector in Qdrant). Reported per cell:

- ``acc1``: share of queries whose relevant document ranks first;
- ``loc``: among those, share whose best passage holds the whole needle sentence / the pass key.

The ``doc`` row is the whole-document vector of the same encoder (``pi`` at L_t = --max-length). With
``--end-to-end`` the default product path is also measured: ``ingest_documents`` with default settings (naive,
1 sentence, 128 tokens) into a temporary store, then ``Retriever.search`` in its default mode (hybrid, dbsf) and
in dense mode on ``chunks``.

Run (CPU, a few minutes per length at 25 documents)::

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python docs/benchmarks/passages_grid.py --data ../shared/data/longembed \
        --lengths 256,1024,4096 --per-length 25 --out docs/benchmarks/results/passages-grid.json --end-to-end
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from longembed.bench.synthetic import PARAPHRASED_NEEDLES, make_needle, read_needles
from longembed.encoding import Encoder
from longembed.settings import IndexSettings
from longembed.settings import RunOptions

GRANULARITIES = {"1 sentence": (1, 128), "3 sentences": (3, 128), "128-token windows": (0, 128),
                 "512-token windows": (0, 512)}
MODES = ("naive", "late", "window-late")


def load(data: Path, task: str, length: int, n: int) -> tuple[list[dict], list[dict], dict[str, str]]:
    """(documents, queries with 'doc' and 'answer', ...) of one task at one length, the first n."""
    if task == "paraphrased_needle":
        needles = read_needles(PARAPHRASED_NEEDLES)
        built = make_needle((data / "needle" / "haystack.txt").read_text(encoding="utf-8"), needles, [length],
                            per_length=min(n, len(needles)), name=task)
        corpus, queries = built.corpus, built.queries
        answers = {x["question"]: x["needle"].strip() for x in needles}  # the needle sentence itself
    else:
        rows = lambda f: [json.loads(x) for x in (data / task / f).read_text().splitlines() if x.strip()]  # noqa: E731
        corpus = [d for d in rows("corpus.jsonl") if d["context_length"] == length][:n]
        queries = [q for q in rows("queries.jsonl") if q["context_length"] == length][:n]
        answers = {}
        if task == "needle":
            answers = {x["question"]: x["needle"].strip() for x in rows("needles.jsonl")}
    docs = [{"id": d["doc_id"], "text": d["text"]} for d in corpus]
    out = []
    for q, d in zip(queries, docs):  # row i of queries asks about document i (the generators' layout)
        if task == "passkey":
            answer = re.search(r"pass key is (\d+)", d["text"]).group(1)
        else:
            answer = answers[q["text"]]
        out.append({"text": q["text"], "doc": d["id"], "answer": answer})
    return docs, out, answers


def _with_passages(prepared):
    return prepared, prepared.passages


def encode_cells(encoder: Encoder, cells: dict[str, IndexSettings], docs: list[dict], batch: int = 4):
    """Per cell name, per document: (doc vector, passage vectors (n, d), passage texts). All cells of one mode
    share one encoder call per batch of documents (the late modes' forward passes serve every granularity)."""
    out: dict[str, list] = {name: [] for name in cells}
    for start in range(0, len(docs), batch):
        texts = [d["text"] for d in docs[start : start + batch]]
        plain = encoder.prepare(texts)
        per_cell = {name: _with_passages(encoder.preparer.prepare_with_passages(texts, s)) for name, s in cells.items()}
        extra, refs, counts = [[] for _ in texts], [[] for _ in texts], {}
        for name, (prepared, _) in per_cell.items():
            for i in range(len(texts)):
                shift = len(extra[i])
                if prepared.passage_refs[i] and prepared.passage_refs[i][0][1] >= 0 and extra[i]:
                    shift = 0  # late modes: every granularity's windows are the same, keep the first cell's
                else:
                    extra[i] = extra[i] + prepared.extra[i]
                plan = len(plain.plans[i])
                refs[i] += [(seg + shift if seg >= plan else seg, b, e) for seg, b, e in prepared.passage_refs[i]]
                counts[name, i] = len(prepared.passage_refs[i])
        combined = replace(plain, extra=extra, passage_refs=refs)
        for i, emb in enumerate(encoder.encode_prepared(combined)):
            row = 0
            for name, (_, passages) in per_cell.items():
                n = counts[name, i]
                spans = passages[i]
                out[name].append((emb.vector, emb.passage_vectors[row : row + n],
                                  [texts[i][p.start : p.end] for p in spans]))
                row += n
    return out


def score(encoded, queries, qvecs, docs) -> dict[str, float]:
    ids = [d["id"] for d in docs]
    hits = loc = doc_hits = 0
    doc_matrix = np.stack([e[0] for e in encoded])
    for q, v in zip(queries, qvecs):
        best = [float(np.max(e[1] @ v)) for e in encoded]
        top = int(np.argmax(best))
        doc_hits += ids[int(np.argmax(doc_matrix @ v))] == q["doc"]
        if ids[top] == q["doc"]:
            hits += 1
            passage = encoded[top][2][int(np.argmax(encoded[top][1] @ v))]
            loc += q["answer"] in passage
    n = len(queries)
    return {"acc1": hits / n, "loc": loc / hits if hits else 0.0, "doc_acc1": doc_hits / n, "n": n}


def end_to_end(settings: IndexSettings, encoder: Encoder, docs, queries, local_mode: bool = False) -> dict[str, float]:
    """Default ingest + default query mode, and dense chunks, through the embedded store (Qdrant Edge; with
    ``local_mode``, qdrant-client's local mode, the embedded store before it)."""
    from longembed.ingest.pipeline import ingest_documents
    from longembed.ingest.reader import SourceDocument
    from longembed.retrieve import Retriever
    from longembed.store import Store

    sources = [SourceDocument(path=d["id"], title=d["id"], text=d["text"],
                              sha256=hashlib.sha256(d["text"].encode()).hexdigest()) for d in docs]
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        if local_mode:
            from longembed.store.qdrant import QdrantClientStore

            store = QdrantClientStore(Path(tmp) / "store")
        else:
            store = Store(Path(tmp) / "store")
        began = time.perf_counter()
        ingest_documents(sources, settings, store, "grid", encoder=encoder, progress=False)
        out["ingest_s"] = time.perf_counter() - began
        retriever = Retriever(store=store, collection="grid", encoder=encoder)
        variants = (("hybrid", {}), ("dense-chunks", {"mode": "dense", "using": "chunks"}),
                    ("hybrid-no-doc", {"with_doc": False}))
        for name, kwargs in variants:
            hits = loc = 0
            for q in queries:
                top = _top(retriever, q["text"], kwargs)
                if top["path"] == q["doc"]:
                    hits += 1
                    loc += q["answer"] in (top["passage"] or {}).get("text", "")
            out[name] = {"acc1": hits / len(queries), "loc": loc / hits if hits else 0.0}
        store.close()
    return out


def _top(retriever, text: str, kwargs: dict) -> dict:
    """The first result; ``with_doc=False``: hybrid dbsf over chunks + bm25 only (the doc list left out)."""
    if "with_doc" not in kwargs:
        return retriever.search(text, k=1, **kwargs)[0]
    from longembed.retrieve.hybrid import store_fusion
    from longembed.retrieve.passages import best_passages
    from longembed.sparse.bm25 import query_vector

    vector = retriever.encoder.encode([text], kind="query")[0].vector
    hits = store_fusion(retriever.store, retriever.collection, vector.tolist(), query_vector(retriever.analyzer, text),
                         1, "dbsf", True, with_doc=False)
    return {"path": hits[0].payload["path"],
            "passage": best_passages(retriever.store, retriever.collection, hits, vector)[0]}


def table(results: dict) -> str:
    """Markdown: per task, rows granularity × mode, columns Acc@1 / loc per length (×100), and the doc vector."""
    lines = []
    tasks = dict.fromkeys(k.split("|")[0] for k in results)
    for task in tasks:
        lengths = sorted({int(k.split("|")[1]) for k in results if k.startswith(task + "|")})
        cells = {k: v for k, v in results.items() if k.startswith(task + "|") and "end-to-end" not in k}
        if not cells:
            continue
        head = " | ".join(f"{n} Acc@1 | {n} loc" for n in lengths)
        lines += [f"**{task}**", "", f"| passages | mode | {head} |", "|---|---|" + "---:|" * (2 * len(lengths))]
        for gran in GRANULARITIES:
            for mode in MODES:
                row = [results.get(f"{task}|{n}|{gran}|{mode}") for n in lengths]
                if not any(row):
                    continue
                vals = " | ".join("–| –" if r is None else f"{100 * r['acc1']:.0f} | {100 * r['loc']:.0f}" for r in row)
                lines.append(f"| {gran} | {mode} | {vals} |")
        docs = [next((v["doc_acc1"] for k, v in cells.items() if k.split("|")[1] == str(n)), None) for n in lengths]
        lines.append("| whole document (`doc`) | – | " + " | ".join(
            "–| –" if d is None else f"{100 * d:.0f} | –" for d in docs) + " |")
        n = {v["n"] for v in cells.values()}
        lines += ["", f"({', '.join(map(str, sorted(n)))} queries per length)", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--tasks", default="paraphrased_needle,needle,passkey")
    parser.add_argument("--lengths", default="256,1024,4096")
    parser.add_argument("--per-length", type=int, default=25)
    parser.add_argument("--max-length", type=int, default=4096)
    parser.add_argument("--extend", default="pi")
    parser.add_argument("--quantization", default="none", help="none or int8 (int8 linear layers, CPU)")
    parser.add_argument("--granularities", default=",".join(GRANULARITIES))
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--end-to-end", action="store_true")
    parser.add_argument("--local-mode", action="store_true",
                        help="end-to-end through qdrant-client's local mode (the embedded store before Qdrant Edge)")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks/results/passages-grid.json"))
    parser.add_argument("--table", action="store_true", help="Print the Markdown table of --out and stop.")
    args = parser.parse_args()
    if args.table:
        print(table(json.loads(args.out.read_text())))
        return
    base = IndexSettings(extend=args.extend, max_length=args.max_length, quantization=args.quantization)
    encoder = Encoder(base, RunOptions(device="cpu"))
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    for task in args.tasks.split(","):
        for length in [int(x) for x in args.lengths.split(",")]:
            docs, queries, _ = load(args.data, task, length, args.per_length)
            qvecs = [e.vector for e in encoder.encode([q["text"] for q in queries], kind="query")]
            for mode in args.modes.split(","):
                cells = {}
                for gran in args.granularities.split(","):
                    sentences, size = GRANULARITIES[gran]
                    if f"{task}|{length}|{gran}|{mode}" not in results:
                        cells[f"{task}|{length}|{gran}|{mode}"] = replace(
                            encoder.settings, passages=mode, passage_size=size, passage_sentences=sentences)
                if not cells:
                    continue
                began = time.perf_counter()
                encoded = encode_cells(encoder, cells, docs)
                seconds = time.perf_counter() - began
                for key in cells:
                    results[key] = {**score(encoded[key], queries, qvecs, docs), "seconds_all_granularities": seconds}
                    print(key, json.dumps(results[key]), flush=True)
                args.out.write_text(json.dumps(results, indent=1))
            key = f"{task}|{length}|end-to-end"
            if args.end_to_end and key not in results:
                results[key] = end_to_end(replace(encoder.settings, passages="naive"), encoder, docs, queries,
                                          args.local_mode)
                print(key, json.dumps(results[key]), flush=True)
                args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
