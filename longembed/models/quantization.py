"""int8 weights on the CPU: dynamic quantization of a model's linear layers.

Every ``torch.nn.Linear`` of the transformer becomes a dynamically quantized one (PyTorch's
``torch.ao.quantization.quantize_dynamic``; Jacob et al. 2018, "Quantization and Training of Neural Networks for
Efficient Integer-Arithmetic-Only Inference"; applied to BERT by Zafrir et al. 2019, "Q8BERT"): weights are stored
as int8 with one scale per output channel, activations are quantized per tensor at run time, products accumulate
in int32. Attention scores, softmax, layer norms and embeddings stay float32, so the gain shrinks as inputs grow
(attention is quadratic in their length). Measured with all-MiniLM-L6-v2 on a 2-core CPU (``perf/PERF.md``,
section 12): about 2.2× on sentence-length inputs, 1.1× at 4,096 tokens; per-channel weights keep the pooled
vectors at cosine ≈ 0.98 of float32 (per-tensor weights: 0.84–0.89).
"""

from __future__ import annotations

import warnings

import torch

from longembed.errors import LongEmbedError


def quantize_int8(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """``model`` (float32, on the CPU) with every linear layer replaced by its dynamic int8 version, per-channel
    weight scales; the model is changed in place and returned. Position embeddings an extender has already
    prepared (e.g. ``pi``'s interpolated table) are kept as they are.

    Raises:
        LongEmbedError: ``device`` is not the CPU (PyTorch's dynamic int8 kernels run on the CPU only).
    """
    if device.type != "cpu":
        raise LongEmbedError(
            f"int8 weights run on the CPU only, not {device.type}: use --device cpu (the collection records "
            "quantization=int8, so its queries run on the CPU too)"
        )
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():  # torch 2.13 marks its quantized tensor types deprecated; they still run
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return quantize_dynamic(model, {torch.nn.Linear: per_channel_dynamic_qconfig}, inplace=True)
