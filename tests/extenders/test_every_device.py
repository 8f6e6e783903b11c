"""Every extension method × position kind prepares its model and runs a forward pass on a device that is not
the CPU: the ``meta`` device (shapes, dtypes and devices, no values), which refuses a CPU tensor mixed with its
own exactly where CUDA does (``Expected all tensors to be on the same device``). CI has no GPU; this is how it
sees a tensor built on the host inside an extender, the encoder's forward path or the model code it drives.

The methods and the position kinds each applies to come from :data:`longembed.extenders.EXTENDERS`, and the
parameters tried from each extender's ``param_types`` (``attn_scale`` for all, ``short_native`` where taken), so a
new method or parameter is covered without editing this file; a new position kind fails until it gets a model
below. Models: tiny *random-weight* models built from transformers configs (BERT, RoBERTa, ModernBERT, Gemma3
text, NomicBERT, GTE, Jina v3, EuroBERT) next to the bundled MiniLM tokenizer; random weights are enough, since
only devices and shapes are checked, never values.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from longembed.encoding.forward import batch_inputs, token_budget_batches
from longembed.encoding.pooling import embed_pooled, pool
from longembed.extenders import EXTENDERS, build_extender
from longembed.models.loading import LoadedModel

from tiny_models import L_O, MAX_LENGTH, MODELS_BY_KIND, load_every_kind


def param_sets(extender_class) -> list[dict]:
    """The defaults, attention scaling on, and short_native on where the method takes it."""
    sets = [{}, {"attn_scale": "true"}]
    if "short_native" in extender_class.param_types:
        sets.append({"short_native": "true"})
    return sets


CASES = [
    pytest.param(method, kind, family, params, id=f"{method}-{kind}-{family}-{'-'.join(params) or 'defaults'}")
    for method, per_kind in EXTENDERS.items()
    for kind, extender_class in per_kind.items()
    for family in MODELS_BY_KIND.get(kind, [f"no tiny model for position kind {kind!r}"])
    for params in param_sets(extender_class)
]


SCALAR_READS = (torch.ops.aten._local_scalar_dense.default, torch.ops.aten.is_nonzero.default)
"""``.item()`` and ``bool(tensor)``: the ops that read a tensor's value into Python."""


class MetaScalars(TorchDispatchMode):
    """Answers a read of a meta tensor's value (it has none) with False (0): transformers' mask code asks
    whether no token is padded (``padding_mask.all()``) and would skip the mask on True; False builds it."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func in SCALAR_READS and args[0].is_meta:
            return False if func is SCALAR_READS[1] or args[0].dtype == torch.bool else 0
        return func(*args, **(kwargs or {}))


@pytest.fixture(scope="module")
def loaded(model_path, tmp_path_factory) -> dict[str, LoadedModel]:
    """Each tiny model loaded on the CPU, as the encoder loads it (positions and framing detected)."""
    return load_every_kind(tmp_path_factory.mktemp("every_device"), model_path)


@pytest.mark.parametrize(("method", "kind", "family", "params"), CASES)
def test_method_prepares_and_runs_on_a_non_cpu_device(method, kind, family, params, loaded):
    assert family in loaded, f"add a tiny model for position kind {kind!r} to MODELS_BY_KIND"
    base = loaded[family]
    positions = base.positions if kind is not None else dataclasses.replace(base.positions, kind=None)
    assert positions.kind == kind
    model = copy.deepcopy(base.model).to("meta")
    head = copy.deepcopy(base.head).to("meta") if base.head is not None else None
    extender = build_extender(method, positions, base.framing, MAX_LENGTH, params)
    extender.prepare_model(model)
    assert {p.device.type for p in [*model.parameters(), *model.buffers()]} == {"meta"}, "prepare_model left a tensor off the device"

    takes_token_type_ids = "token_type_ids" in inspect.signature(model.forward).parameters
    texts = [list(range(1000, 1000 + n)) for n in (3 * L_O, MAX_LENGTH, 20, L_O - 2)]  # long and short, padded
    segments = [seg for ids in texts for seg in extender.segments(ids[: extender.content_limit])]
    for batch in token_budget_batches(segments, batch_tokens=2 * MAX_LENGTH):
        segs = [segments[i] for i in batch]
        inputs = batch_inputs(segs, base.tokenizer.pad_token_id or 0, False, takes_token_type_ids, "meta")
        with torch.inference_mode(), MetaScalars(), extender.forward_context(segs):
            hidden = model(**inputs).last_hidden_state.float()
            vectors = embed_pooled(pool(hidden, inputs["attention_mask"], base.folder.pooling), head)
        assert vectors.device.type == "meta"
        assert tuple(vectors.shape) == (len(segs), base.dimension)
