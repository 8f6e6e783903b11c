"""Calibrate the no-match signal (``match``, :mod:`longembed.retrieve.results`) on real data.

For each corpus: ingest it with the default settings (the bundled model, ``pi`` at 4096 tokens, naive passages,
bm25; int8 weights on a CPU) into a temporary store, answer its own queries and a fixed list of off-topic queries
with the default query (hybrid, convex, k=1), and record the top hit's ``match`` (best-passage cosine), its
document-vector cosine, and whether it is correct. Prints one JSON line per query and, at the end, the table of
docs/benchmarks/RESULTS.md ("No-match signal").

    HF_HUB_OFFLINE=1 python docs/benchmarks/match_calibration.py --data /work/shared/data/longembed \\
        --out docs/benchmarks/results/match-calibration.jsonl

Corpora: the sample meetings (examples/meetings, 20 meetings, 136 QMSum queries), needle and passkey at 1024
tokens (the first --limit documents and their queries), summ_screen_fd (13 episodes, 9 recaps).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from longembed.bench.cache import text_sha256  # noqa: E402
from longembed.ingest.pipeline import ingest_documents  # noqa: E402
from longembed.ingest.reader import SourceDocument  # noqa: E402
from longembed.retrieve import Retriever  # noqa: E402
from longembed.retrieve.results import document_cosines  # noqa: E402
from longembed.settings import IndexSettings  # noqa: E402
from longembed.store import Store  # noqa: E402

OFF_TOPIC = [
    "allergic to cats",  # off-topic everywhere but the meetings (ES2010a: two designers are allergic to cats)
    "how long should I knead bread dough?",
    "best recipe for chocolate chip cookies",
    "how do I make a sourdough starter",
    "what temperature to roast a chicken",
    "vegan substitute for eggs in baking",
    "who won the 2018 FIFA World Cup final?",
    "offside rule in football explained",
    "how many players are on a basketball team",
    "tennis racket string tension for beginners",
    "marathon training plan for 16 weeks",
    "how to change a flat tyre on a bicycle",
    "my car engine makes a clicking noise when starting",
    "how often should I change the oil in my car",
    "symptoms of vitamin D deficiency",
    "how to treat a sprained ankle",
    "is ibuprofen safe during pregnancy",
    "how often should I water tomato plants",
    "when to prune apple trees",
    "how to get rid of aphids on roses",
    "why does my dog eat grass",
    "how to litter train a kitten",
    "what do hamsters eat",
    "how to knit a scarf for beginners",
    "how to remove a red wine stain from a carpet",
    "best time of year to visit Japan",
    "cheap flights from London to Barcelona",
    "how to renew a passport",
    "what is the capital of Australia",
    "how to tie a bow tie",
    "difference between baking soda and baking powder",
    "how do volcanoes form",
    "how to descale a kettle with vinegar",
    "lyrics of a famous christmas song",
    "how to play a G major chord on guitar",
    "how to unclog a bathroom sink drain",
    "what is the boiling point of olive oil",
    "how to fold a fitted sheet",
    "python list comprehension syntax",
    "how to fix a leaking tap washer",
]
"""Queries no document of these corpora answers (checked by hand against the top hits: see RESULTS.md)."""


def document(name: str, text: str) -> SourceDocument:
    return SourceDocument(name, Path(name).stem, text, text_sha256(text))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def corpus_meetings(_: Path, __: int) -> tuple[list[SourceDocument], list[tuple[str, str, set[str]]]]:
    folder = REPO / "examples" / "meetings"
    docs = [document(p.name, p.read_text(encoding="utf-8"))
            for p in sorted((folder / "docs").glob("*.txt"))]
    queries = [(q["qid"], q["text"], {q["path"]}) for q in read_jsonl(folder / "queries.jsonl")]
    return docs, queries


def corpus_task(task: str, length: int | None):
    def load(data: Path, limit: int):
        folder = data / task
        rows = [r for r in read_jsonl(folder / "corpus.jsonl") if length is None or r.get("context_length") == length]
        rows = rows[:limit]
        ids = {r["doc_id"] for r in rows}
        qrels: dict[str, set[str]] = {}
        for r in read_jsonl(folder / "qrels.jsonl"):
            if r["doc_id"] in ids:
                qrels.setdefault(r["qid"], set()).add(r["doc_id"] + ".txt")
        docs = [document(r["doc_id"] + ".txt", r["text"]) for r in rows]
        queries = [(q["qid"], q["text"], qrels[q["qid"]]) for q in read_jsonl(folder / "queries.jsonl")
                   if q["qid"] in qrels]
        return docs, queries
    return load


CORPORA = {
    "meetings": corpus_meetings,
    "needle-1024": corpus_task("needle", 1024),
    "passkey-1024": corpus_task("passkey", 1024),
    "summ_screen_fd": corpus_task("summ_screen_fd", None),
}


def run_corpus(name: str, data: Path, limit: int, out) -> list[dict]:
    docs, queries = CORPORA[name](data, limit)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, Store(path=Path(tmp) / "s") as store:
        began = time.perf_counter()
        ingest_documents(docs, IndexSettings(), store, "default", progress=False)
        print(f"{name}: {len(docs)} documents ingested in {time.perf_counter() - began:.0f} s", file=sys.stderr)
        retriever = Retriever(store=store, collection="default")
        asked = [(qid, text, gold, "on") for qid, text, gold in queries]
        asked += [(f"off{i}", text, set(), "off") for i, text in enumerate(OFF_TOPIC)]
        for qid, text, gold, kind in asked:
            found = retriever.search_matched(text, 1)
            hit, passage, match = found[0]
            doc_cos = document_cosines(store, "default", [hit], retriever.encoder.encode([text], kind="query")[0].vector)[0]
            row = {"corpus": name, "qid": qid, "kind": kind, "query": text[:120], "top": hit.payload.get("path"),
                   "correct": hit.payload.get("path") in gold, "match": match, "doc_cosine": round(doc_cos, 6),
                   "passage": (passage or {}).get("text", "")[:160]}
            rows.append(row)
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return rows


def share(values: list[float], cut: float, above: bool) -> str:
    if not values:
        return "–"
    n = sum(1 for v in values if (v >= cut) == above)
    return f"{n}/{len(values)}"


def table(rows: list[dict], thresholds: list[float], signal: str) -> str:
    lines = [f"signal `{signal}`; correct = on-topic query whose top hit is a relevant document", "",
             "| corpus | correct top hits: min / p5 / median | off-topic: median / p95 / max | "
             + " | ".join(f"≥ {t:.2f}: correct kept, off-topic kept" for t in thresholds) + " |",
             "|---|---|---|" + "---|" * len(thresholds)]
    for corpus in [*dict.fromkeys(r["corpus"] for r in rows), "all"]:
        sel = [r for r in rows if corpus in ("all", r["corpus"])]
        good = sorted(r[signal] for r in sel if r["kind"] == "on" and r["correct"])
        off = sorted(r[signal] for r in sel if r["kind"] == "off" and not (corpus == "meetings" and r["qid"] == "off0"))
        off = off if corpus != "all" else sorted(r[signal] for r in sel if r["kind"] == "off"
                                                 and not (r["corpus"] == "meetings" and r["qid"] == "off0"))
        p5 = good[int(0.05 * (len(good) - 1))] if good else float("nan")
        p95 = off[int(0.95 * (len(off) - 1))] if off else float("nan")
        cells = [f"{good[0]:.3f} / {p5:.3f} / {statistics.median(good):.3f} (n={len(good)})" if good else "–",
                 f"{statistics.median(off):.3f} / {p95:.3f} / {off[-1]:.3f} (n={len(off)})" if off else "–"]
        cells += [f"{share(good, t, True)}, {share(off, t, True)}" for t in thresholds]
        lines.append(f"| {corpus} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data/longembed"))
    parser.add_argument("--corpora", default=",".join(CORPORA))
    parser.add_argument("--limit", type=int, default=40, help="documents per synthetic corpus")
    parser.add_argument("--out", type=Path, default=REPO / "docs/benchmarks/results/match-calibration.jsonl")
    parser.add_argument("--table-only", action="store_true", help="print the table from --out, ingest nothing")
    parser.add_argument("--thresholds", default="0.25,0.30,0.35")
    args = parser.parse_args()
    thresholds = [float(t) for t in args.thresholds.split(",")]
    if args.table_only:
        rows = read_jsonl(args.out)
    else:
        rows = []
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("w", encoding="utf-8") as out:
            for name in args.corpora.split(","):
                rows += run_corpus(name, args.data, args.limit, out)
                out.flush()
    for signal in ("match", "doc_cosine"):
        print(table(rows, thresholds, signal))
        print()
    misses = [r for r in rows if r["kind"] == "on" and not r["correct"]]
    print(f"on-topic queries whose top hit is wrong: {len(misses)} of {sum(r['kind'] == 'on' for r in rows)}")


if __name__ == "__main__":
    main()
