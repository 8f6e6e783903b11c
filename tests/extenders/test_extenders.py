"""Position-id arrays, window layouts, the interpolated matrix and the registry of extension methods."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from longembed.errors import ExtensionError
from longembed.extenders import (
    EXTENDERS,
    Framing,
    ModelPositions,
    build_extender,
    grouped_position_ids,
    interpolate_position_embeddings,
    methods_for,
    recurrent_position_ids,
    window_starts,
)
from longembed.settings import RunOptions

APE4 = ModelPositions("ape", original_length=4, offset=0)
NO_SPECIALS = Framing((), ())


def test_grouped_positions_l_o_4_l_10():
    # s = ceil(10 / 4) = 3
    assert grouped_position_ids(10, 4) == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3]
    ext = build_extender("gp", APE4, NO_SPECIALS, max_length=16)
    assert ext.segments(list(range(100, 110)))[0].position_ids == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3]


def test_grouped_positions_keep_native_positions_for_short_inputs():
    assert grouped_position_ids(4, 4) == [0, 1, 2, 3]
    assert grouped_position_ids(8, 4) == [0, 0, 1, 1, 2, 2, 3, 3]


def test_recurrent_positions_l_o_4_l_10():
    assert recurrent_position_ids(10, 4) == [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]


def test_position_interpolation_ids():
    # L_t = 12, L_o = 4 -> s = 3
    ext = build_extender("pi", APE4, NO_SPECIALS, max_length=12)
    assert ext.s == 3
    assert ext.relative_position_ids(3) == [0, 3, 6]  # short input: original positions 0, 1, 2
    assert ext.relative_position_ids(4) == [0, 3, 6, 9]
    assert ext.relative_position_ids(10) == list(range(10))  # long input: interpolated rows 0..9


def test_positions_start_at_offset_for_roberta_style_models():
    roberta = ModelPositions("ape", original_length=4, offset=2)
    ext = build_extender("rp", roberta, NO_SPECIALS, max_length=16)
    assert ext.segments(list(range(6)))[0].position_ids == [2, 3, 4, 5, 2, 3]


def test_pcw_windows_last_one_overlaps_to_stay_full():
    assert window_starts(10, 4) == [0, 4, 6]
    assert window_starts(8, 4) == [0, 4]
    assert window_starts(3, 4) == [0]
    framing = Framing((101,), (102,))  # [CLS] ... [SEP]; L_o = 4 leaves 2 content tokens per window
    ext = build_extender("pcw", APE4, framing, max_length=64)
    segs = ext.segments([1, 2, 3, 4, 5])
    assert [s.input_ids for s in segs] == [[101, 1, 2, 102], [101, 3, 4, 102], [101, 4, 5, 102]]
    assert all(s.position_ids == [0, 1, 2, 3] for s in segs)


def test_none_truncates_at_original_length():
    framing = Framing((101,), (102,))
    ext = build_extender("none", APE4, framing, max_length=4096)
    assert ext.content_limit == 2


def test_interpolated_matrix_hits_original_rows_at_multiples_of_s():
    torch.manual_seed(0)
    original = torch.randn(4, 3)
    enlarged = interpolate_position_embeddings(original, 3)
    assert enlarged.shape == (12, 3)
    for i in range(4):
        assert torch.equal(enlarged[3 * i], original[i])
    # linear between neighbours: row 1 = 2/3 E[0] + 1/3 E[1]
    torch.testing.assert_close(enlarged[1], original[0] * 2 / 3 + original[1] / 3)
    # rows past (L_o - 1) * s use the last original row
    assert torch.equal(enlarged[10], original[3]) and torch.equal(enlarged[11], original[3])


def test_unknown_method_lists_known_ones():
    with pytest.raises(ExtensionError, match="known methods: none, pcw, gp, rp, pi"):
        build_extender("yarnish", APE4, NO_SPECIALS, max_length=16)


def test_unknown_parameter_is_refused_with_the_valid_ones():
    with pytest.raises(
        ExtensionError, match=r"unknown parameter\(s\) factor for extension method 'pi'; valid: attn_scale \(bool\)$"
    ):
        build_extender("pi", APE4, NO_SPECIALS, max_length=16, params={"factor": "2"})


def test_ape_method_refused_for_rope_model_with_the_methods_that_apply():
    rope = ModelPositions("rope", original_length=8)
    with pytest.raises(
        ExtensionError,
        match="does not apply to a model with rope position encoding; methods that do: none, pcw, gp, pi, ntk, yarn, se$",
    ):
        build_extender("rp", rope, NO_SPECIALS, max_length=16)
    with pytest.raises(ExtensionError, match="methods that do: none, pcw, gp, rp, pi$"):
        build_extender("se", APE4, NO_SPECIALS, max_length=16)
    assert list(EXTENDERS) == ["none", "pcw", "gp", "rp", "pi", "ntk", "yarn", "se", "tuned"]
    assert methods_for(None) == ["none"]
    assert methods_for("ape") == ["none", "pcw", "gp", "rp", "pi"]
    assert methods_for("rope") == ["none", "pcw", "gp", "pi", "ntk", "yarn", "se"]


def test_every_method_gives_the_original_embedding_for_short_inputs(model_path):
    """For inputs <= L_o every method must return sentence-transformers' own embedding (real weights)."""
    from sentence_transformers import SentenceTransformer

    from longembed.encoding import Encoder
    from longembed.settings import IndexSettings

    texts = [
        "what did the team decide about the remote control?",
        "The remote control should be cheap, trendy and easy to use. " * 20,  # ~300 tokens
    ]
    reference = SentenceTransformer(model_path, device="cpu")
    reference.max_seq_length = 512
    expected = reference.encode(texts, convert_to_numpy=True)
    for method in methods_for("ape"):
        encoder = Encoder(IndexSettings(model=model_path, extend=method, max_length=4096), RunOptions(device="cpu"))
        got = np.stack([e.vector for e in encoder.encode(texts)])
        np.testing.assert_allclose(got, expected, atol=1e-5, err_msg=method)
