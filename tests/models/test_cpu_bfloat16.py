"""bfloat16 on a CPU with bfloat16 matrix units (Intel AMX): ``--dtype auto`` gives a new collection bfloat16
weights there (int8 elsewhere), the choice is recorded so queries and re-ingests keep it, and the vectors stay
within rounding of float32. The probe is replaced where a test needs one answer on every machine."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from conftest import SAMPLE_DOCS
from longembed.encoding import Encoder
from longembed.errors import LongEmbedError, StoreError
from longembed.ingest import ingest
from longembed.models import device as device_module
from longembed.retrieve import Retriever
from longembed.settings import IndexSettings, RunOptions, quantization_for_run
from longembed.store import Store
from meetings_subset import KNOWN_FIRST, MAX_LENGTH, SUBSET, copy_subset, query_text

PI_1024 = IndexSettings(extend="pi", max_length=MAX_LENGTH, passages="none")


def test_bfloat16_is_recorded_and_listed_among_the_valid_values():
    plain, bf16 = IndexSettings(), IndexSettings(quantization="bfloat16")
    assert bf16.to_dict()["quantization"] == "bfloat16" and bf16.fingerprint() != plain.fingerprint()
    assert IndexSettings.from_dict(bf16.to_dict()) == bf16
    assert bf16.describe().endswith(" quantization=bfloat16")
    with pytest.raises(LongEmbedError, match="unknown quantization 'fp8'; valid: none, int8, bfloat16$"):
        IndexSettings(quantization="fp8")


@pytest.mark.parametrize(("amx", "bf16", "expected"), [
    (True, True, "bfloat16"), (False, True, "int8"), (True, False, "int8"), (False, False, "int8"),
])
def test_the_cpu_default_is_bfloat16_only_with_matrix_units(monkeypatch, amx, bf16, expected):
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: bf16)
    assert device_module.cpu_quantization() == expected


def test_dtype_bfloat16_is_recorded_on_a_cpu_and_left_a_run_option_on_a_gpu():
    s, run = quantization_for_run(IndexSettings(), RunOptions(dtype="auto"), on_cpu=True, cpu_default="bfloat16")
    assert (s.quantization, run.dtype) == ("bfloat16", "auto")
    s, run = quantization_for_run(IndexSettings(), RunOptions(device="cpu", dtype="bfloat16"), on_cpu=True)
    assert (s.quantization, run.dtype) == ("bfloat16", "float32")  # the encoder takes bfloat16 from the settings
    s, run = quantization_for_run(IndexSettings(), RunOptions(device="cuda", dtype="bfloat16"), on_cpu=False)
    assert (s.quantization, run.dtype) == ("none", "bfloat16")  # a GPU's float dtype stays unrecorded
    s, _ = quantization_for_run(IndexSettings(), RunOptions(), IndexSettings(), on_cpu=True, cpu_default="bfloat16")
    assert s.quantization == "none"  # a float32 collection stays float32


@pytest.fixture(scope="module")
def subset_texts() -> list[str]:
    return [(SAMPLE_DOCS / name).read_text() for name in SUBSET]


def test_bfloat16_vectors_are_float32_within_rounding(subset_texts):
    """Real all-MiniLM-L6-v2, 8 sample meetings at pi / 1024 tokens: a bfloat16 collection's encoder runs
    bfloat16 weights whatever dtype the run asks for, returns float32 vectors, and they are the float32 model's
    within bfloat16 rounding (cosine > 0.999, where int8's are 0.95-0.99) without being the same vectors."""
    float32 = Encoder(PI_1024, RunOptions(device="cpu"))
    bf16 = Encoder(replace(PI_1024, quantization="bfloat16"), RunOptions(device="cpu", dtype="float32"))
    assert bf16.dtype == torch.bfloat16 and bf16.model.encoder.layer[0].intermediate.dense.weight.dtype == torch.bfloat16
    a = np.stack([e.vector for e in float32.encode(subset_texts)])
    b = np.stack([e.vector for e in bf16.encode(subset_texts)])
    assert b.dtype == np.float32
    cosines = (a * b).sum(1)
    assert cosines.min() > 0.999 and np.abs(a - b).max() > 1e-4


def test_auto_on_a_cpu_with_matrix_units_builds_and_keeps_a_bfloat16_collection(tmp_path, monkeypatch):
    """``--dtype auto`` on a CPU whose probe says bfloat16 (replaced here, so that every machine runs this path):
    the new collection records bfloat16, its queries run bfloat16 and find each known meeting first (default
    hybrid search, naive passages), a re-ingest with auto keeps it, and float32 asked for explicitly is refused."""
    monkeypatch.setattr("longembed.ingest.run.cpu_quantization", lambda: "bfloat16")
    docs = copy_subset(tmp_path / "docs")
    with Store(path=tmp_path / "store") as store:
        first = ingest(docs, IndexSettings(max_length=MAX_LENGTH), store, "c", progress=False,
                       run=RunOptions(device="cpu"))
        assert first.documents == len(SUBSET) and store.settings("c").quantization == "bfloat16"
        again = ingest(docs, IndexSettings(max_length=MAX_LENGTH), store, "c", progress=False)
        assert (again.documents, len(again.unchanged)) == (0, len(SUBSET))
        with pytest.raises(StoreError, match="quantization"):
            ingest(docs, IndexSettings(max_length=MAX_LENGTH), store, "c", progress=False,
                   run=RunOptions(device="cpu", dtype="float32"))
        retriever = Retriever(store, "c")
        assert retriever.encoder.dtype == torch.bfloat16
        assert [retriever.search(query_text(qid), k=1)[0]["path"] for qid in KNOWN_FIRST] == list(
            KNOWN_FIRST.values())
        retriever.store = None  # the retriever does not own the store
