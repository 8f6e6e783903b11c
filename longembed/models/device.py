"""Where and in which precision a model runs: device, weight dtype and the default token budget per batch.
Run options, never recorded in a collection."""

from __future__ import annotations

import torch

from longembed.errors import LongEmbedError
from longembed.settings import (
    AMX_CPU_QUANTIZATION,
    DEFAULT_BATCH_TOKENS,
    DEFAULT_BATCH_TOKENS_CUDA,
    DEFAULT_CPU_QUANTIZATION,
)


def default_batch_tokens(device: torch.device) -> int:
    """:data:`DEFAULT_BATCH_TOKENS_CUDA` on a CUDA device, else :data:`DEFAULT_BATCH_TOKENS` (tokens)."""
    return DEFAULT_BATCH_TOKENS_CUDA if device.type == "cuda" else DEFAULT_BATCH_TOKENS


def cpu_has_bfloat16_matrix_units() -> bool:
    """Whether this CPU multiplies bfloat16 matrices in hardware (Intel AMX tiles with AVX-512 BF16: Xeon Sapphire
    Rapids and later), where oneDNN runs a bfloat16 matmul ~6× faster than float32 (2,073 vs 335 GFLOP/s on 2
    cores, ``perf/PERF.md`` section 15). Without them bfloat16 is emulated and slower than float32."""
    amx = getattr(torch.cpu, "_is_amx_tile_supported", None)
    bf16 = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    return bool(amx is not None and bf16 is not None and amx() and bf16())


def cpu_quantization() -> str:
    """The weights ``--dtype auto`` gives a new collection embedded on this CPU: :data:`AMX_CPU_QUANTIZATION`
    (bfloat16) with bfloat16 matrix units, else :data:`DEFAULT_CPU_QUANTIZATION` (int8)."""
    return AMX_CPU_QUANTIZATION if cpu_has_bfloat16_matrix_units() else DEFAULT_CPU_QUANTIZATION


def pick_device(device: str = "auto") -> torch.device:
    """``auto`` -> ``cuda`` when a GPU is visible, else ``cpu``.

    Raises:
        LongEmbedError: an unknown device name, or ``cuda`` on a machine without a GPU.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except RuntimeError:
        raise LongEmbedError(f"unknown device {device!r}; use auto, cpu or cuda") from None
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise LongEmbedError("--device cuda was asked for, but no CUDA GPU is visible; use --device cpu")
    return chosen


DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def pick_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """``auto`` -> bfloat16 on a CUDA GPU that supports it, else float32; or one of :data:`DTYPES` by name.

    Raises:
        LongEmbedError: an unknown dtype name.
    """
    if dtype == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    if dtype not in DTYPES:
        raise LongEmbedError(f"unknown dtype {dtype!r}; use auto, {', '.join(DTYPES)} (or int8 at ingest)")
    return DTYPES[dtype]
