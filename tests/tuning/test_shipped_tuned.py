"""The shipped ``minilm-4k-tuned`` (learned rows of all-MiniLM-L6-v2 at L_t = 4096, package data): assembled from the
bundled base model, loaded with the ``tuned`` method, and identical to the base model on inputs of ≤ 512 tokens."""

from __future__ import annotations

import numpy as np
import pytest
from safetensors import safe_open

from longembed.encoding import Encoder
from longembed.models.paths import SHIPPED_TUNED, with_model_defaults
from longembed.models.tuned import DATA_DIR, read_tuning
from longembed.settings import IndexSettings
from longembed.settings import RunOptions


@pytest.fixture(scope="module")
def tuned_encoder(tmp_path_factory) -> Encoder:
    mp = pytest.MonkeyPatch()
    mp.setenv("LONGEMBED_CACHE", str(tmp_path_factory.mktemp("cache")))
    settings = with_model_defaults(IndexSettings(model="minilm-4k-tuned"))
    encoder = Encoder(settings, RunOptions(device="cpu"))
    yield encoder
    mp.undo()


def test_the_shipped_rows_are_only_the_new_rows_of_a_pi_layout():
    with safe_open(str(DATA_DIR / SHIPPED_TUNED["minilm-4k-tuned"]), framework="pt") as f:
        rows, row_ids = f.get_tensor("rows"), f.get_tensor("row_ids")
    assert tuple(rows.shape) == (4096 - 512, 384)
    ids = set(row_ids.tolist())
    assert len(ids) == 3584 and not ids & set(range(0, 4096, 8))  # the originals sit at 0, 8, 16, … and are not shipped


def test_name_resolves_to_a_tuned_folder_with_the_tuned_method(tuned_encoder):
    assert tuned_encoder.settings.extend == "tuned"
    record = read_tuning(tuned_encoder.model_path)
    assert (record.layout, record.original_length, record.max_length, record.scale_factor) == ("pi", 512, 4096, 8)
    assert record.training["steps"] == 300


def test_inputs_up_to_l_o_embed_exactly_as_the_base_model(tuned_encoder):
    base = Encoder(IndexSettings(extend="none"), RunOptions(device="cpu"))
    texts = ["The remote control costs twelve euros fifty.", " ".join(["budget"] * 500)]
    tuned = np.stack([e.vector for e in tuned_encoder.encode(texts)])
    plain = np.stack([e.vector for e in base.encode(texts)])
    assert np.abs(tuned - plain).max() < 1e-6


def test_long_inputs_use_the_learned_rows(tuned_encoder):
    pi = Encoder(IndexSettings(extend="pi"), RunOptions(device="cpu"))
    text = "The meeting went over the remote control design and its budget. " * 200  # ~2,600 tokens
    tuned, interpolated = tuned_encoder.encode([text])[0], pi.encode([text])[0]
    assert tuned.n_tokens == interpolated.n_tokens > 2000
    assert np.abs(tuned.vector - interpolated.vector).max() > 1e-3  # the learned rows differ from interpolation
