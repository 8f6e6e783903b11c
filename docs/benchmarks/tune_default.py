"""Recipe of the shipped ``minilm-4k-tuned`` model: the training pairs, then ``longembed tune``.

    python docs/benchmarks/tune_default.py --out-pairs /tmp/tune-pairs      # writes the pairs files, prints the command

Pairs (all from data on this machine, none from the held-out sets):
- inverse-cloze pairs (a sentence as the query, its surrounding ~120-word passage without it as the positive)
  from the development QMSum meetings in ``../shared/data/longembed/qmsum``, leaving out every meeting of the
  bench cut (the first 25 queries' meetings and the first 25 of the corpus) and the sample meetings;
- generated pass-key pairs: a ~150-token window of the passkey filler with one "<Name>'s pass key is <key>"
  line at a random sentence, and the query "what is the pass key for <Name>?" (names and keys drawn at random
  from the generator's name lists, seed 1; ``longembed bench make-passkey`` uses seed 0).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from longembed.bench.synthetic import FILLER_SENTENCES, FIRST_NAMES, SURNAMES, passkey_line
from longembed.tuning.pairs import pairs_from_texts

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "longembed"


def bench_cut_meetings(qmsum: Path, n_queries: int = 25, n_docs: int = 25) -> set[str]:
    queries = [json.loads(line)["qid"] for line in (qmsum / "queries.jsonl").open()][:n_queries]
    rel = {}
    for line in (qmsum / "qrels.jsonl").open():
        r = json.loads(line)
        rel.setdefault(r["qid"], set()).add(r["doc_id"])
    cut = set().union(*(rel.get(q, set()) for q in queries))
    corpus = [json.loads(line)["doc_id"] for line in (qmsum / "corpus.jsonl").open()]
    return cut | set(corpus[:n_docs])


def passkey_pairs(n: int, seed: int, words: int = 110) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"
        key = rng.randrange(10000, 100000)
        sentences = [FILLER_SENTENCES[(i + rng.randrange(5)) % len(FILLER_SENTENCES)] for i in range(words // 4)]
        sentences.insert(rng.randrange(len(sentences) + 1), passkey_line(name, key))
        out.append({"query": f"what is the pass key for {name}?", "positive": " ".join(sentences)})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-pairs", required=True, type=Path)
    parser.add_argument("--ict", type=int, default=6000, help="inverse-cloze pairs from QMSum meetings")
    parser.add_argument("--passkey", type=int, default=2000, help="generated pass-key pairs")
    args = parser.parse_args()
    qmsum = SHARED / "qmsum"
    sample = {p.stem for p in (Path(__file__).resolve().parents[2] / "examples/meetings/docs").glob("*.txt")}
    skip = bench_cut_meetings(qmsum) | sample
    texts = [d["text"] for line in (qmsum / "corpus.jsonl").open() if (d := json.loads(line))["doc_id"] not in skip]
    args.out_pairs.mkdir(parents=True, exist_ok=True)
    with (args.out_pairs / "ict-qmsum.jsonl").open("w") as f:
        for p in pairs_from_texts(texts, args.ict, seed=0):
            f.write(json.dumps({"query": p.query, "positive": p.positive}) + "\n")
    with (args.out_pairs / "passkey.jsonl").open("w") as f:
        for p in passkey_pairs(args.passkey, seed=1):
            f.write(json.dumps(p) + "\n")
    print(f"{len(texts)} meetings ({len(skip)} left out); pairs in {args.out_pairs}")
    print(
        f"longembed tune --pairs {args.out_pairs}/ict-qmsum.jsonl --pairs {args.out_pairs}/passkey.jsonl "
        "--max-length 4096 --init pi --out minilm-4k-tuned"
    )


if __name__ == "__main__":
    main()
