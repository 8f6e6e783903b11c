"""Benchmark 5 (CUDA machine): tokens/s and model FLOP utilisation (MFU) of whole-document encoding.

For each length (default 4096, 8192, 32768 tokens) one batch of documents is encoded with ``pi`` in bfloat16.
FLOPs per forward pass of an encoder with n_layers layers, hidden size d, feed-forward size f and L tokens:
    n_layers · (2·L·(4·d² + 2·d·f) + 4·L²·d)
(linear layers: QKV + output projections and the two feed-forward matrices; attention: QKᵀ and AV), the usual
count of Kaplan et al. 2020 / PaLM Appendix B without embeddings. MFU = achieved FLOP/s ÷ peak bf16 FLOP/s
(``--peak-tflops``, default 989 for an H100/H200 SXM dense bf16).

    python perf/perf_gpu.py [--model DIR] [--lengths 4096,8192,32768] [--peak-tflops 989]
"""

from __future__ import annotations

import argparse
import time

from perf_common import save


def flops_per_sequence(config, length: int) -> float:
    d, f, n = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    return n * (2 * length * (4 * d * d + 2 * d * f) + 4 * length * length * d)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="sentence-transformers/all-MiniLM-L6-v2")
    parser.add_argument("--lengths", default="4096,8192,32768")
    parser.add_argument("--peak-tflops", type=float, default=989.0)
    parser.add_argument("--docs", type=int, default=8, help="documents per length")
    parser.add_argument("--dtype", default="bfloat16")
    args = parser.parse_args()

    import torch

    from longembed.encoding import Encoder
    from longembed.settings import IndexSettings, RunOptions

    if not torch.cuda.is_available():
        raise SystemExit("perf_gpu.py needs a CUDA device")
    rows = []
    for length in [int(x) for x in args.lengths.split(",")]:
        enc = Encoder(IndexSettings(model=args.model, extend="pi", max_length=length), 
                      RunOptions(device="cuda", dtype=args.dtype, batch_tokens=max(length, 65536)))
        ids = enc.tokenize([" ".join(f"w{i % 997}" for i in range(length))])[0][: length - 2]
        text = enc.tokenizer.decode(ids)
        enc.encode([text])  # warm-up
        torch.cuda.synchronize()
        start = time.perf_counter()
        enc.encode([text] * args.docs)
        torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        flops = flops_per_sequence(enc.model.config, length) * args.docs
        row = {
            "tokens": length,
            "docs": args.docs,
            "seconds": seconds,
            "tokens_per_s": length * args.docs / seconds,
            "tflops": flops / seconds / 1e12,
            "mfu": flops / seconds / (args.peak_tflops * 1e12),
            "peak_mem_gib": torch.cuda.max_memory_allocated() / 2**30,
        }
        rows.append(row)
        print(row, flush=True)
    save("perf_gpu", {"benchmark": "GPU tokens/s and MFU", "model": args.model, "dtype": args.dtype, "rows": rows})


if __name__ == "__main__":
    main()
