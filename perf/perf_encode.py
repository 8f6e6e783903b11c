"""Benchmark 1: encode throughput of longembed's chunked mode vs sentence-transformers on the same chunks.

Both embed the same 512-token chunks (510 content tokens + [CLS]/[SEP]) of the same documents with the same
model on the same device; throughput is content tokens per second, medians of ``--runs`` runs, side by side.

    python perf/perf_encode.py [--docs 20] [--runs 3]
"""

from __future__ import annotations

import argparse

from perf_common import REPO, median_time, save
from longembed.settings import RunOptions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=20, help="documents from examples/meetings/docs")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=32, help="sentence-transformers batch size")
    args = parser.parse_args()

    from sentence_transformers import SentenceTransformer

    from longembed.encoding import Encoder
    from longembed.settings import IndexSettings

    files = sorted((REPO / "examples" / "meetings" / "docs").glob("*.txt"))[: args.docs]
    encoder = Encoder(IndexSettings(extend="pcw", max_length=1 << 16), RunOptions(device=args.device))
    ids = encoder.tokenize([f.read_text() for f in files])
    # The exact windows longembed embeds, decoded to text for sentence-transformers (re-tokenised there).
    windows = [seg.input_ids[1:-1] for doc in ids for seg in encoder.extender.segments(doc)]
    window_texts = encoder.tokenizer.batch_decode(windows)
    doc_texts = [encoder.tokenizer.decode(doc) for doc in ids]
    n_tokens = sum(len(w) + 2 for w in windows)

    st = SentenceTransformer(encoder.model_path, device=args.device)
    st.max_seq_length = 512
    encoder.encode(doc_texts[:2])  # warm-up
    st.encode(window_texts[:8])
    t_le, all_le = median_time(lambda: encoder.encode(doc_texts), args.runs)
    t_st, all_st = median_time(lambda: st.encode(window_texts, batch_size=args.batch_size), args.runs)
    result = {
        "benchmark": "encode throughput, 512-token chunks",
        "documents": len(files),
        "chunks": len(windows),
        "tokens": n_tokens,
        "longembed_pcw_s": t_le,
        "longembed_runs_s": all_le,
        "sentence_transformers_s": t_st,
        "sentence_transformers_runs_s": all_st,
        "longembed_tokens_per_s": n_tokens / t_le,
        "sentence_transformers_tokens_per_s": n_tokens / t_st,
        "ratio_longembed_over_st": t_st / t_le,
        "target_ratio": 1.0,
    }
    for k, v in result.items():
        print(f"{k}: {v}")
    save("perf_encode", result)


if __name__ == "__main__":
    main()
