"""Query modes and fusions on collections with passages (default ingest: naive single sentences, pi at 4096):
Acc@1 of dense doc, dense chunks, and dbsf / rrf / convex (alpha 0.3, 0.5, 0.7) over doc + chunks + bm25 and over
chunks + bm25, on the synthetic tasks of ../shared (20 documents per task@length).

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 PYTHONPATH=. python docs/benchmarks/passages_fusions.py \
        paraphrased_needle@1024,needle@1024,passkey@1024 docs/benchmarks/results/passages-fusions.json [DATA]
"""
import sys, json, hashlib, tempfile, time
sys.path.insert(0, 'bench')
from pathlib import Path
from dataclasses import replace
from passages_grid import load
from longembed.encoding import Encoder
from longembed.settings import IndexSettings
from longembed.ingest.pipeline import ingest_documents
from longembed.ingest.reader import SourceDocument
from longembed.retrieve import Retriever
from longembed.retrieve.hybrid import store_fusion, convex_fusion
from longembed.sparse.bm25 import query_vector
from longembed.sparse.index import length_stats
from longembed.store import Store
from longembed.settings import RunOptions
enc = Encoder(IndexSettings(), RunOptions(device='cpu'))
res = {}
for task, length in [(t, int(l)) for t, l in (a.split('@') for a in sys.argv[1].split(','))]:
    docs, queries, _ = load(Path(sys.argv[3] if len(sys.argv) > 3 else '../shared/data/longembed'), task, length, 20)
    tmp = tempfile.mkdtemp()
    store = Store(Path(tmp) / 's')
    ingest_documents([SourceDocument(d['id'], d['id'], d['text'], hashlib.sha256(d['text'].encode()).hexdigest()) for d in docs], enc.settings, store, 'c', encoder=enc, progress=False)
    r = Retriever(store=store, collection='c', encoder=enc)
    n = len(docs)
    variants = {}
    for q in queries:
        v = enc.encode([q['text']], 'query')[0].vector.tolist()
        sp = query_vector(r.analyzer, q['text'])
        top = {
          'dense-doc': store.search('c', v, 1)[0],
          'dense-chunks': store.search('c', v, 1, using='chunks')[0],
          'dbsf doc+chunks+bm25': store_fusion(store, 'c', v, sp, 1, 'dbsf', True)[0],
          'dbsf chunks+bm25': store_fusion(store, 'c', v, sp, 1, 'dbsf', True, with_doc=False)[0],
          'rrf doc+chunks+bm25': store_fusion(store, 'c', v, sp, 1, 'rrf', True)[0],
          'rrf chunks+bm25': store_fusion(store, 'c', v, sp, 1, 'rrf', True, with_doc=False)[0],
        }
        for a in (0.3, 0.5, 0.7):
            top[f'convex{a} doc+chunks+bm25'] = convex_fusion(store, 'c', v, sp, 1, True, r.sparse_settings, n, alpha=a)[0]
            top[f'convex{a} chunks+bm25'] = convex_fusion(store, 'c', v, sp, 1, True, r.sparse_settings, n, alpha=a, with_doc=False)[0]
        for k, h in top.items():
            variants.setdefault(k, 0)
            variants[k] += h.payload['path'] == q['doc']
    res[f'{task}@{length}'] = {k: c / len(queries) for k, c in variants.items()}
    print(task, length, json.dumps(res[f'{task}@{length}']), flush=True)
    store.close()
json.dump(res, open(sys.argv[2], 'w'), indent=1)
