"""int8 weights (``--dtype int8``): the linear layers are quantized, the vectors stay close to float32 and still
find the known meetings, the choice is recorded in the collection and kept by its queries and re-ingests, and
every extension method runs on top of it."""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pytest
import torch

from conftest import SAMPLE_DOCS
from longembed.encoding import Encoder
from longembed.errors import LongEmbedError, StoreError
from longembed.extenders import EXTENDERS, build_extender
from longembed.ingest import ingest
from longembed.models.quantization import quantize_int8
from longembed.retrieve import Retriever
from longembed.settings import IndexSettings, RunOptions, quantization_for_run
from longembed.store import Store
from meetings_subset import KNOWN_FIRST, MAX_LENGTH, SUBSET, copy_subset, query_text
from tiny_models import L_O, MODELS_BY_KIND, load_every_kind
from tiny_models import MAX_LENGTH as LONG

PI_1024 = IndexSettings(extend="pi", max_length=MAX_LENGTH, passages="none")


def test_settings_record_int8_and_leave_float_collections_as_they_were():
    plain, int8 = IndexSettings(), IndexSettings(quantization="int8")
    assert "quantization" not in plain.to_dict()  # the dict (and fingerprint) written before int8 existed
    assert int8.to_dict()["quantization"] == "int8" and int8.fingerprint() != plain.fingerprint()
    assert IndexSettings.from_dict(int8.to_dict()) == int8
    assert IndexSettings.from_dict(plain.to_dict()).quantization == "none"
    assert "quantization=int8" in int8.describe()
    with pytest.raises(LongEmbedError, match="unknown quantization 'int4'; valid: none, int8"):
        IndexSettings(quantization="int4")


def test_dtype_int8_moves_into_the_settings_and_auto_adopts_the_collections():
    s, run = quantization_for_run(IndexSettings(), RunOptions(device="cpu", dtype="int8"))
    assert (s.quantization, run.dtype, run.device) == ("int8", "float32", "cpu")
    s, run = quantization_for_run(IndexSettings(), RunOptions(dtype="auto"), IndexSettings(quantization="int8"))
    assert (s.quantization, run.dtype) == ("int8", "auto")
    s, _ = quantization_for_run(IndexSettings(), RunOptions(dtype="float32"), IndexSettings(quantization="int8"))
    assert s.quantization == "none"  # asked for explicitly: the settings check then refuses the mismatch


def test_int8_is_refused_off_the_cpu():
    with pytest.raises(LongEmbedError, match="int8 weights run on the CPU only, not cuda: use --device cpu"):
        quantize_int8(torch.nn.Linear(4, 4), torch.device("cuda"))


@pytest.fixture(scope="module")
def subset_texts() -> list[str]:
    return [(SAMPLE_DOCS / name).read_text() for name in SUBSET]


def test_int8_vectors_are_close_to_float32_and_find_the_known_meetings(subset_texts, tmp_path):
    """Real all-MiniLM-L6-v2 on 8 sample meetings at pi / 1024 tokens: the document vectors stay close to
    float32, and the default search (hybrid, naive passages) of an int8 collection ranks each known meeting
    first. (Dense document vectors alone lose "allergic to cats", whose passage starts at token 988: float32
    ranks it first by 0.009, int8 second by less than 0.005; docs/benchmarks/RESULTS.md, "int8 weights".)"""
    float32 = Encoder(PI_1024, RunOptions(device="cpu"))
    int8 = Encoder(replace(PI_1024, quantization="int8"), RunOptions(device="auto"))
    assert int8.device.type == "cpu"  # auto means the CPU for int8
    linear = int8.model.encoder.layer[0].intermediate.dense
    assert isinstance(linear, torch.ao.nn.quantized.dynamic.Linear)
    assert linear.weight().qscheme() == torch.per_channel_affine  # one scale per output channel
    a = np.stack([e.vector for e in float32.encode(subset_texts)])
    b = np.stack([e.vector for e in int8.encode(subset_texts)])
    cosines = (a * b).sum(1)
    assert cosines.min() > 0.95 and cosines.max() < 0.9999  # close to float32, and really quantized
    with Store(path=tmp_path / "store") as store:
        ingest(copy_subset(tmp_path / "docs"), IndexSettings(max_length=MAX_LENGTH), store, "c", progress=False,
               run=RunOptions(device="cpu", dtype="int8"))
        retriever = Retriever(store, "c")
        assert retriever.encoder.settings.quantization == "int8"
        assert [retriever.search(query_text(qid), k=1)[0]["path"] for qid in KNOWN_FIRST] == list(
            KNOWN_FIRST.values())
        retriever.store = None  # the retriever does not own the store


def test_an_int8_collection_keeps_int8_for_queries_and_reingests(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "pier.txt").write_text("The harbour committee discussed the budget for the new pier. " * 4)
    (docs / "cats.txt").write_text("Two designers said they were allergic to cats, so the office stays pet free. " * 4)
    settings = IndexSettings(extend="none", max_length=128, passages="none")
    with Store(path=tmp_path / "store") as store:
        first = ingest(docs, settings, store, "c", progress=False, run=RunOptions(device="cpu", dtype="int8"))
        assert first.documents == 2 and store.settings("c").quantization == "int8"
        again = ingest(docs, settings, store, "c", progress=False)  # --dtype auto: the collection's int8
        assert (again.documents, len(again.unchanged)) == (0, 2)
        with pytest.raises(StoreError, match="quantization"):
            ingest(docs, settings, store, "c", progress=False, run=RunOptions(device="cpu", dtype="float32"))
        retriever = Retriever(store, "c")
        assert retriever.encoder.settings.quantization == "int8"
        assert retriever.search("allergic to cats", k=1, mode="dense")[0]["path"] == "cats.txt"
        retriever.store = None  # the retriever does not own the store
    with Store(path=tmp_path / "store2") as store:
        ingest(docs, settings, store, "f", progress=False, run=RunOptions(device="cpu", dtype="float32"))
        with pytest.raises(LongEmbedError, match="--dtype int8 is chosen when a collection is ingested"):
            Retriever(store, "f", run=RunOptions(device="cpu", dtype="int8"))


@pytest.fixture(scope="module")
def loaded(model_path, tmp_path_factory) -> dict:
    return load_every_kind(tmp_path_factory.mktemp("int8_every_kind"), model_path)


def _cases():
    return [
        pytest.param(method, kind, family, id=f"{method}-{kind}-{family}")
        for method, per_kind in EXTENDERS.items()
        for kind in per_kind
        for family in MODELS_BY_KIND.get(kind, [])[:1]
    ]


@pytest.mark.parametrize(("method", "kind", "family"), _cases())
def test_every_method_runs_on_int8_weights(method, kind, family, loaded):
    """Tiny *random-weight* models (tests/extenders/test_every_device.py): each method's prepared model, then
    quantized, gives pooled vectors close to the float32 ones of the same inputs."""
    from longembed.encoding.forward import batch_inputs
    from longembed.encoding.pooling import pool

    model = loaded[family]
    extender = build_extender(method, model.positions, model.framing, LONG if method != "none" else L_O, {})
    net = copy.deepcopy(model.model)
    extender.prepare_model(net)
    ids = [(7 * i) % 900 + 1000 for i in range(extender.content_limit)]
    segments = extender.segments(ids)

    def pooled(network):
        with torch.inference_mode(), extender.forward_context(segments):
            inputs = batch_inputs(segments, 0, False, "token_type_ids" in network.forward.__code__.co_varnames, "cpu")
            hidden = network(**inputs).last_hidden_state.float()
            return torch.nn.functional.normalize(pool(hidden, inputs["attention_mask"], "mean"), dim=-1)

    reference = pooled(net)
    quantized = pooled(quantize_int8(net, torch.device("cpu")))
    assert quantized.shape == reference.shape and torch.isfinite(quantized).all()
    assert (reference * quantized).sum(-1).min() > 0.9
