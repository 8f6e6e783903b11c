"""Benchmark 3: time and peak memory to embed one document, by length, on CPU; writes a plot.

Each (length, run) is a fresh process so that peak RSS (resident set size) belongs to that length alone.
Method ``pi`` with ``--max-length`` = the document's length (one forward pass over the whole document).

    python perf/perf_memory.py [--lengths 512,1024,...,32768] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

from perf_common import RESULTS, save

CHILD = r"""
import json, resource, sys, time
from longembed.encoding import Encoder
from longembed.settings import IndexSettings
from longembed.settings import RunOptions
n = int(sys.argv[1])
enc = Encoder(IndexSettings(extend="pi", max_length=max(n, 1024)), RunOptions(device="cpu"))
words = " ".join(f"w{i % 997}" for i in range(n))
ids = enc.tokenize([words])[0][: n - 2]
text = enc.tokenizer.decode(ids)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
out = enc.encode([text])[0]
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"tokens": out.n_tokens, "seconds": seconds, "peak_rss_mib": peak / 1024,
                  "rss_before_encode_mib": base / 1024, "truncated": out.truncated}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lengths", default="512,1024,2048,4096,8192,16384,32768")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for n in [int(x) for x in args.lengths.split(",")]:
        runs = []
        for _ in range(args.runs):
            done = subprocess.run([sys.executable, "-c", CHILD, str(n)], capture_output=True, text=True, check=True)
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        row = {
            "tokens": runs[0]["tokens"],
            "seconds": statistics.median(r["seconds"] for r in runs),
            "peak_rss_mib": statistics.median(r["peak_rss_mib"] for r in runs),
            "rss_before_encode_mib": statistics.median(r["rss_before_encode_mib"] for r in runs),
            "runs": runs,
        }
        rows.append(row)
        print(f"{row['tokens']:>6} tokens: {row['seconds']:.2f} s, peak RSS {row['peak_rss_mib']:.0f} MiB", flush=True)
    save("perf_memory", {"benchmark": "time and peak RSS per document", "method": "pi", "rows": rows,
                         "target": "peak RSS <= 3 GiB at 32k tokens"})
    plot(rows)


def plot(rows: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [r["tokens"] for r in rows]
    fig, ax1 = plt.subplots(figsize=(7, 4))
    ax1.plot(x, [r["seconds"] for r in rows], "o-", color="tab:blue", label="time (s)")
    ax1.set_xscale("log", base=2)
    ax1.set_yscale("log")
    ax1.set_xlabel("document length (tokens)")
    ax1.set_ylabel("encode time (s)", color="tab:blue")
    ax2 = ax1.twinx()
    ax2.plot(x, [r["peak_rss_mib"] / 1024 for r in rows], "s--", color="tab:red", label="peak RSS (GiB)")
    ax2.axhline(3.0, color="tab:red", lw=0.8, ls=":")
    ax2.set_ylabel("peak RSS (GiB)", color="tab:red")
    ax1.set_title("all-MiniLM-L6-v2 + pi, one document, CPU")
    fig.tight_layout()
    out = RESULTS / "perf_memory.png"
    fig.savefig(out, dpi=120)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
