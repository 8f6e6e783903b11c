"""QMSum bench cut (25 queries x 25 meetings) through ingest_documents + Retriever with default settings
(passages naive, bm25, default query mode) vs passages none (the previous default: hybrid dbsf over doc + bm25).

    OMP_NUM_THREADS=1 python docs/benchmarks/qmsum_passages.py ../shared/data/longembed none,naive [none|int8|bfloat16] [OUT]

The third argument is the model's recorded quantization (default none: float32 weights, asked for explicitly, since
``--dtype auto`` on a CPU would give a new collection int8 or bfloat16). Writes results/qmsum-passages.json (or OUT) (nDCG@1, nDCG@10, Recall@10 per passages/mode/fusion)."""
import json, sys, tempfile, time
from pathlib import Path
from longembed.bench.data import load_tasks, make_splits
from longembed.bench.metrics import evaluate
from longembed.bench.cache import text_sha256
from longembed.ingest import SourceDocument, ingest_documents
from longembed.models.paths import with_model_defaults
from longembed.retrieve import Retriever
from longembed.settings import IndexSettings, RunOptions
from longembed.store import Store

task = load_tasks(["qmsum"], sys.argv[1]).tasks[0]
split = make_splits(task, None, 25, 25)[0][0]
docs = [SourceDocument(d.doc_id, d.doc_id, d.text, text_sha256(d.text)) for d in split.corpus]
quantization = sys.argv[3] if len(sys.argv) > 3 else "none"
out_path = Path(sys.argv[4]) if len(sys.argv) > 4 else Path(__file__).parent / "results" / "qmsum-passages.json"
out = {}
for passages in sys.argv[2].split(","):
    settings = with_model_defaults(IndexSettings(passages=passages, quantization=quantization))
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "s") as store:
        t = time.time()
        dtype = "float32" if quantization == "none" else quantization
        ingest_documents(docs, settings, store, "c", progress=False, sparse="bm25", run=RunOptions(dtype=dtype))
        ing = time.time() - t
        r = Retriever(store=store, collection="c")
        for mode, fusion in [(None, None), ("dense", None), ("hybrid", "dbsf"), ("hybrid", "convex"), ("hybrid", "rrf")]:
            rankings = {q.qid: [h["path"] for h in r.search(q.text, k=10, mode=mode, fusion=fusion)] for q in split.queries}
            m = evaluate(split.qrels, rankings)
            out[f"{passages}/{mode}/{fusion}"] = m
            print(passages, mode, fusion, r.resolve(mode, fusion), {k: round(v, 4) for k, v in m.items()}, f"ingest {ing:.0f}s", flush=True)
json.dump(out, open(out_path, "w"), indent=1)
