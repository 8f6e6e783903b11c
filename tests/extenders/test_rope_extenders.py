"""RoPE methods (pi, ntk, yarn, se, gp, pcw), attention scaling and short-native inputs.

Models: tiny *random-weight* models built from transformers configs (ModernBERT, Gemma3 text with
bidirectional attention, NomicBERT, GTE, Jina-embeddings-v3, EuroBERT, RoBERTa) next to the bundled
MiniLM tokenizer, and the bundled all-MiniLM-L6-v2 (real weights) for attention scaling on BERT. They check
position mechanics, not retrieval quality; nothing is downloaded.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from longembed.encoding import Encoder
from longembed.errors import ExtensionError
from longembed.extenders import Framing, ModelPositions, build_extender, ntk_lambda, self_extend_defaults
from longembed.extenders.attention import (
    SelfExtendSpec,
    attention_scale,
    self_extend_attention,
    self_extend_relative_positions,
)
from longembed.extenders.rope_scaling import default_inv_freq, rotary_tables
from longembed.settings import IndexSettings
from longembed.settings import RunOptions
from tiny_models import CONFIGS, L_O, MODELS_BY_KIND, save_random_model, small

FAMILIES = {name: CONFIGS[name] for name in MODELS_BY_KIND["rope"]}


@pytest.fixture(scope="module")
def family_dirs(model_path, tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("rope_models")
    return {
        family: save_random_model(root / family, small(config_name, max_position_embeddings=L_O, **extra), model_path)
        for family, (config_name, extra) in FAMILIES.items()
    }


def encoder(path: str, extend: str, max_length: int = 8 * L_O, **params) -> Encoder:
    return Encoder(IndexSettings(model=path, extend=extend, max_length=max_length, extend_params=params), RunOptions(device="cpu"))


def vectors(enc: Encoder, texts: list[str]) -> np.ndarray:
    return np.stack([e.vector for e in enc.encode(texts)])


def words(n: int) -> str:
    """A text of n tokens for the MiniLM tokenizer (each word below is one token)."""
    vocab = ["meeting", "remote", "control", "budget", "design", "team", "cheap", "easy"]
    return " ".join(vocab[(i * 5) % 7] for i in range(n))


# --- SelfExtend -------------------------------------------------------------------------------------------


def test_self_extend_worked_example_of_the_paper():
    """LongEmbed §4.3: 10 tokens, w = 4, g = 2."""
    rel = self_extend_relative_positions(10, window=4, group=2)
    assert rel[0].tolist() == [0, 1, 2, 3, 4, 4, 5, 5, 6, 6]
    assert rel[4].tolist() == [-4, -3, -2, -1, 0, 1, 2, 3, 4, 4]
    assert torch.equal(rel, -rel.T)  # bidirectional: j seen from i mirrors i seen from j


def test_self_extend_defaults_follow_table_6():
    assert [self_extend_defaults(s, 512) for s in (2, 4, 8)] == [(256, 3), (128, 5), (64, 9)]
    assert self_extend_defaults(4, 2048) == (512, 5)  # w scales with L_o


def complex_pairs(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.complex(x[..., :half], x[..., half:])


def real_halves(z: torch.Tensor) -> torch.Tensor:
    return torch.cat((z.real, z.imag), dim=-1)


@pytest.mark.parametrize("kv_heads", [2, 1])
def test_self_extend_attention_equals_explicit_relative_position_reference(kv_heads):
    """Reference in float64 from the explicit matrix rel(i, j): logit = Re Σ q_i conj(k_j) e^(−i·rel·θ)."""
    torch.manual_seed(1)
    batch, heads, length, dim, window, group = 2, 2, 23, 8, 4, 3
    inv_freq = default_inv_freq(10000.0, dim).double()
    q = torch.randn(batch, heads, length, dim, dtype=torch.float64)
    k = torch.randn(batch, kv_heads, length, dim, dtype=torch.float64)
    v = torch.randn(batch, kv_heads, length, dim, dtype=torch.float64)
    lengths = [length, 17]  # row 1 has 6 padding tokens
    mask = torch.zeros(batch, 1, length, length, dtype=torch.bool)
    for b, n in enumerate(lengths):
        mask[b, :, :, :n] = True
    scaling = dim**-0.5
    # what the model hands the attention function: q and k rotated at positions 0 .. L-1
    angles = torch.arange(length, dtype=torch.float64)[:, None] * inv_freq[None, :]
    q_rot = real_halves(complex_pairs(q) * torch.exp(1j * angles))
    k_rot = real_halves(complex_pairs(k) * torch.exp(1j * angles))
    row_scale = torch.tensor([1.0, 1.5])
    got = self_extend_attention(
        q_rot.float(),
        k_rot.float(),
        v.float(),
        mask,
        scaling,
        SelfExtendSpec(window, group, inv_freq.float(), block=5),
        row_scale,
    )
    rel = self_extend_relative_positions(length, window, group).double()
    kk = k.repeat_interleave(heads // kv_heads, dim=1)
    vv = v.repeat_interleave(heads // kv_heads, dim=1)
    zq, zk = complex_pairs(q), complex_pairs(kk)
    phase = torch.exp(-1j * rel[:, :, None] * inv_freq[None, None, :])  # (L, L, D/2)
    logits = (zq[:, :, :, None, :] * zk[:, :, None, :, :].conj() * phase).sum(-1).real * scaling
    logits = logits * row_scale.double()[:, None, None, None]
    logits = logits.masked_fill(~mask, float("-inf"))
    expected = (torch.softmax(logits, dim=-1) @ vv).transpose(1, 2)
    assert got.shape == (batch, length, heads, dim)
    diff = (got.double() - expected).abs()
    assert diff[0].max() <= 1e-5 and diff[1, :17].max() <= 1e-5  # padded query rows are never pooled


# --- parameters --------------------------------------------------------------------------------------------

ROPE = ModelPositions("rope", original_length=512)
NO_SPECIALS = Framing((), ())


def test_ntk_lambda_defaults_from_table_6():
    assert [ntk_lambda(s) for s in (1, 2, 3, 4, 8)] == [1.0, 3.0, 5.0, 5.0, 10.0]
    with pytest.raises(ExtensionError, match="no default lambda .* give one with --extend-param lambda=VALUE"):
        ntk_lambda(16)
    assert build_extender("ntk", ROPE, NO_SPECIALS, 2048).lam == 5.0
    assert build_extender("ntk", ROPE, NO_SPECIALS, 2048, {"lambda": "7.5"}).lam == 7.5


def test_parameters_are_typed_ranged_and_listed():
    se = build_extender("se", ROPE, NO_SPECIALS, 4096, {"g": "5", "w": "100", "attn_scale": "yes"})
    assert (se.window, se.group, se.params["attn_scale"]) == (100, 5, True)
    assert build_extender("se", ROPE, NO_SPECIALS, 4096).params == {"w": 64, "g": 9, "attn_scale": False}
    with pytest.raises(ExtensionError, match=r"parameter g='two' of 'se' must be of type int"):
        build_extender("se", ROPE, NO_SPECIALS, 4096, {"g": "two"})
    with pytest.raises(ExtensionError, match=r"parameter lambda='0.5' of 'ntk' must lie in 1.0 .. inf"):
        build_extender("ntk", ROPE, NO_SPECIALS, 4096, {"lambda": "0.5"})
    with pytest.raises(ExtensionError, match=r"parameter short_native='maybe' of 'pi' must be of type bool"):
        build_extender("pi", ROPE, NO_SPECIALS, 4096, {"short_native": "maybe"})
    with pytest.raises(
        ExtensionError,
        match=r"unknown parameter\(s\) window for extension method 'se'; valid: w \(int\), g \(int\), attn_scale \(bool\)$",
    ):
        build_extender("se", ROPE, NO_SPECIALS, 4096, {"window": "3"})


def test_attention_scale_factor():
    assert attention_scale(512, 512) == 1.0
    assert attention_scale(100, 512) == 1.0
    assert attention_scale(4096, 512) == pytest.approx(math.log(4096) / math.log(512))  # 4/3


# --- model families ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", list(FAMILIES))
def test_family_is_rope_and_short_inputs_keep_the_original_embedding(family, family_dirs):
    """(a) Inputs of at most L_o tokens: gp, pcw, se, and pi/ntk/yarn with short_native give `none`'s embedding."""
    path = family_dirs[family]
    texts = [words(10), words(L_O - 2)]  # 12 and 64 tokens with [CLS] [SEP]
    base = encoder(path, "none")
    assert (base.positions.kind, base.original_length) == ("rope", L_O)
    expected = vectors(base, texts)
    cases = [
        ("gp", {}),
        ("pcw", {}),
        ("se", {}),
        ("se", {"attn_scale": "true"}),
        ("pi", {"short_native": "true"}),
        ("ntk", {"short_native": "true"}),
        ("yarn", {"short_native": "true", "attn_scale": "true"}),
    ]
    for method, params in cases:
        got = vectors(encoder(path, method, **params), texts)
        np.testing.assert_allclose(got, expected, atol=1e-5, err_msg=f"{family} {method} {params}")


@pytest.mark.parametrize("family", list(FAMILIES))
def test_family_none_enforces_the_trained_length(family, family_dirs, caplog):
    """RoPE models accept any length; under ``none`` inputs past L_o are cut to their first L_o tokens (the
    embedding of the cut text), reported as truncated, and a truncated query is logged."""
    path = family_dirs[family]
    enc = encoder(path, "none", max_length=8 * L_O)
    assert enc.extender.content_limit == L_O - 2  # min(max_length, L_o) minus [CLS] [SEP]
    long_text, head = words(3 * L_O), words(L_O - 2)
    assert enc.tokenize([long_text])[0][: L_O - 2] == enc.tokenize([head])[0]
    got, cut = enc.encode([long_text, head])
    assert (got.n_tokens, got.truncated, cut.truncated) == (3 * L_O + 2, True, False)
    np.testing.assert_allclose(got.vector, cut.vector, atol=1e-6)
    assert np.abs(got.vector - vectors(encoder(path, "pi", factor="1"), [long_text])[0]).max() > 1e-3
    with caplog.at_level("WARNING", logger="longembed.encoding.encoder"):
        enc.encode([long_text], kind="query")
    assert f"query of {3 * L_O + 2} tokens truncated to {L_O}" in caplog.text


@pytest.mark.parametrize("family", list(FAMILIES))
def test_family_rotary_frequencies_after_pi_ntk_yarn(family, family_dirs):
    """(b) ntk: (θλ)^(−2j/D) on global layers from their own θ; pi: position m/s; local layers untouched."""
    from transformers import AutoConfig

    path = family_dirs[family]
    config = AutoConfig.from_pretrained(path)
    original = {t.layer_type: t.get()[0] for t in rotary_tables(encoder(path, "none").model)}
    ntk = encoder(path, "ntk", max_length=4 * L_O)  # s = 4 -> λ = 5
    for table in rotary_tables(ntk.model):
        got = table.get()[0]
        if table.is_local:
            assert torch.equal(got, original[table.layer_type])
            continue
        params = config.rope_parameters
        theta = (params[table.layer_type] if table.layer_type else params)["rope_theta"]
        dims = 2 * got.shape[0]
        expected = 1.0 / (theta * 5.0) ** (torch.arange(0, dims, 2, dtype=torch.float64) / dims)
        torch.testing.assert_close(got.double(), expected, rtol=1e-6, atol=0)
    layer_types = [t for t in original if not (t and "sliding" in t)]
    assert layer_types in ([None], ["full_attention"])
    if family in ("modernbert", "gemma3_text"):
        assert set(original) == {"full_attention", "sliding_attention"}
    pi = encoder(path, "pi", max_length=4 * L_O)
    yarn = encoder(path, "yarn", max_length=4 * L_O)
    for table in rotary_tables(pi.model):
        got, scaling = table.get()
        want = original[table.layer_type] if table.is_local else original[table.layer_type] / 4
        torch.testing.assert_close(got, want, rtol=1e-6, atol=0)
        assert scaling == 1.0
    for table in rotary_tables(yarn.model):
        got, scaling = table.get()
        if table.is_local:
            assert torch.equal(got, original[table.layer_type]) and scaling == 1.0
            continue
        orig = original[table.layer_type]
        assert scaling == pytest.approx(0.1 * math.log(4) + 1)
        assert got[0] == orig[0]  # fastest dimension extrapolated (unchanged)
        torch.testing.assert_close(got[-1], orig[-1] / 4)  # slowest dimension interpolated by s


def test_pi_divides_positions_by_s(family_dirs):
    """Rotary cos/sin of the pi model at position s·m equal the original model's at position m."""
    path = family_dirs["modernbert"]
    rotary_pi = encoder(path, "pi", max_length=4 * L_O).model.rotary_emb
    rotary = encoder(path, "none").model.rotary_emb
    x = torch.zeros(1, dtype=torch.float32)
    m = torch.arange(0, 3 * L_O, 7)[None, :]
    for layer_type in ("full_attention", "sliding_attention"):
        cos_pi, sin_pi = rotary_pi(x, 4 * m, layer_type)
        cos, sin = rotary(x, m if layer_type == "full_attention" else 4 * m, layer_type)
        torch.testing.assert_close(cos_pi, cos, atol=2e-5, rtol=0)
        torch.testing.assert_close(sin_pi, sin, atol=2e-5, rtol=0)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_self_extend_rerotation_matches_the_model_rotary_convention(family, family_dirs):
    """SelfExtend re-rotates q and k with `rotate`; it must equal the family's own apply_rotary_pos_emb with
    cos/sin from its rotary module (global layers), so the explicit-matrix reference carries over."""
    import importlib

    from longembed.extenders.attention import rotate

    enc = encoder(family_dirs[family], "se")
    modeling = importlib.import_module(
        f"transformers.models.{family.split('_text')[0]}.modeling_{family.split('_text')[0]}"
    )
    rotary = enc.model.rotary_emb
    torch.manual_seed(2)
    q = torch.randn(1, 2, 40, 16)
    pos = torch.arange(0, 200, 5)
    args = (q, pos[None, :]) + (("full_attention",) if family in ("modernbert", "gemma3_text") else ())
    cos, sin = rotary(*args)
    expected, _ = modeling.apply_rotary_pos_emb(q, q, cos, sin)
    got = rotate(q, pos, enc.extender.attention.self_extend.inv_freq)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_family_self_extend_with_group_size_1_is_the_plain_model(family, family_dirs):
    """(c) g = 1 makes every SelfExtend relative position j − i, so the output must equal the unextended
    model run past L_o (pi with factor 1 changes nothing): this checks the plug-in's masks, scaling, GQA and
    output layout in each family; default (w, g) must change the output."""
    path = family_dirs[family]
    texts = [words(3 * L_O), words(2 * L_O + 5)]
    plain = vectors(encoder(path, "pi", factor="1"), texts)
    se1 = encoder(path, "se", w="8", g="1")
    np.testing.assert_allclose(vectors(se1, texts), plain, atol=1e-5)
    assert se1.extender.attention.calls > 0
    se = vectors(encoder(path, "se", max_length=4 * L_O), texts)
    assert np.all(np.isfinite(se)) and np.abs(se - plain).max() > 1e-3


@pytest.mark.parametrize("family", ["modernbert", "gemma3_text", "gte"])
def test_family_batch_equals_one_by_one_and_short_native_is_per_input(family, family_dirs):
    """(e) A batch mixing short and long inputs gives each input its one-by-one embedding; with short_native
    the short ones are the original model's and the long ones the scaled model's."""
    path = family_dirs[family]
    texts = [words(20), words(3 * L_O), words(L_O - 2), words(2 * L_O)]
    short = [0, 2]
    native = vectors(encoder(path, "none"), [texts[i] for i in short])
    full_ntk = encoder(path, "ntk")
    for method, params in [("ntk", {"short_native": "1"}), ("se", {"attn_scale": "1"}), ("gp", {"attn_scale": "1"})]:
        enc = encoder(path, method, **params)
        batched = vectors(enc, texts)
        alone = np.concatenate([vectors(enc, [t]) for t in texts])
        np.testing.assert_allclose(batched, alone, atol=1e-5, err_msg=f"{method} {params}")
        np.testing.assert_allclose(batched[short], native, atol=1e-5, err_msg=f"{method} {params}")
        if method == "ntk":
            np.testing.assert_allclose(batched[[1, 3]], vectors(full_ntk, [texts[1], texts[3]]), atol=1e-5)


def test_attention_scale_multiplies_logits_of_long_inputs(family_dirs):
    """Reference: GTE's attention modules with `scaling` multiplied by log L / log L_o, no hook."""
    path = family_dirs["gte"]
    text = words(4 * L_O - 2)  # L = 4 L_o
    scaled = encoder(path, "pi", factor="1", attn_scale="true")
    got = vectors(scaled, [text])
    reference = encoder(path, "pi", factor="1")
    factor = math.log(4 * L_O) / math.log(L_O)
    for module in reference.model.modules():
        if hasattr(module, "scaling") and hasattr(module, "q_proj"):
            module.scaling *= factor
    np.testing.assert_allclose(got, vectors(reference, [text]), atol=1e-5)
    assert np.abs(got - vectors(encoder(path, "pi", factor="1"), [text])).max() > 1e-4


def test_attention_scale_on_bert_with_real_weights(model_path):
    """all-MiniLM-L6-v2 (real weights): attn_scale with pi at 2048 tokens equals BERT with scaled logits."""
    text = words(2046)
    got = vectors(
        Encoder(IndexSettings(extend="pi", max_length=2048, extend_params={"attn_scale": "on"}), RunOptions(device="cpu")), [text]
    )
    reference = Encoder(IndexSettings(extend="pi", max_length=2048), RunOptions(device="cpu"))
    for module in reference.model.modules():
        if hasattr(module, "scaling") and hasattr(module, "query"):
            module.scaling *= math.log(2048) / math.log(512)
    np.testing.assert_allclose(got, vectors(reference, [text]), atol=1e-5)


# --- RoBERTa / XLM-R ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("config_name", ["RobertaConfig", "XLMRobertaConfig"])
def test_roberta_style_models_with_every_ape_method(config_name, model_path, tmp_path):
    """Tiny random RoBERTa/XLM-R: positions start at padding_idx + 1; short inputs keep the original embedding,
    long ones use only rows of the table, and a batch equals one-by-one."""
    config = small(config_name, max_position_embeddings=L_O + 2, pad_token_id=1)
    path = save_random_model(tmp_path / config_name, config, model_path)
    texts = [words(10), words(L_O - 2)]
    long_texts = [words(3 * L_O), words(20), words(5 * L_O)]
    base = encoder(path, "none")
    assert (base.positions.kind, base.original_length, base.positions.offset) == ("ape", L_O, 2)
    expected = vectors(base, texts)
    for method in ("pcw", "gp", "rp", "pi"):
        enc = encoder(path, method)
        np.testing.assert_allclose(vectors(enc, texts), expected, atol=1e-5, err_msg=method)
        batched = vectors(enc, long_texts)
        alone = np.concatenate([vectors(enc, [t]) for t in long_texts])
        np.testing.assert_allclose(batched, alone, atol=1e-5, err_msg=method)
        table = enc.model.embeddings.position_embeddings.num_embeddings
        for text in long_texts:
            ids = enc.tokenize([text])[0][: enc.extender.content_limit]
            for seg in enc.extender.segments(ids):
                assert 2 <= min(seg.position_ids) and max(seg.position_ids) < table, method


# --- command line ------------------------------------------------------------------------------------------


def test_cli_records_attn_scale_and_short_native_and_refuses_bad_methods(family_dirs, tmp_path):
    """`ingest --attn-scale --short-native --extend ntk --extend-param lambda=7` on a tiny random GTE model
    records the parameters in the collection; a method or parameter that does not fit is one line, exit 1."""
    from click.testing import CliRunner

    from longembed.cli import main
    from longembed.store import Store

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text(words(150))
    (docs / "b.txt").write_text(words(30))
    store = str(tmp_path / "store")
    common = ["--model", family_dirs["gte"], "--store", store, "--no-progress", "--device", "cpu"]
    runner = CliRunner()
    done = runner.invoke(
        main,
        ["ingest", str(docs), *common, "--extend", "ntk", "--extend-param", "lambda=7", "--attn-scale",
         "--short-native", "--max-length", "256"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    with Store(path=store) as db:
        settings = db.settings("default")
    assert (settings.extend, settings.extend_params) == (
        "ntk",
        {"lambda": "7", "attn_scale": True, "short_native": True},
    )
    bad = runner.invoke(main, ["ingest", str(docs), *common, "--collection", "x", "--extend", "rp"])
    assert bad.exit_code == 1
    assert bad.output.strip().splitlines()[-1] == (
        "error: extension method 'rp' does not apply to a model with rope position encoding; "
        "methods that do: none, pcw, gp, pi, ntk, yarn, se"
    )
    bad = runner.invoke(
        main, ["ingest", str(docs), *common, "--collection", "y", "--extend", "se", "--extend-param", "G=3"]
    )
    assert bad.exit_code == 1
    assert "unknown parameter(s) G for extension method 'se'; valid: w (int), g (int), attn_scale (bool)" in bad.output


def test_the_bench_records_each_method_as_resolved_for_the_model(family_dirs):
    """results.json names the RoPE variant of a method and the parameters it derived from L_o and L_t (s = 4)."""
    from longembed.bench.methods import resolve_methods

    expected = {
        "pi": ("RoPE linear interpolation", {"factor": 4.0}),
        "ntk": ("NTK-aware interpolation", {"factor": 4.0, "lambda": 5.0}),  # Table 6: lambda 5 for s = 4
        "se": ("SelfExtend", {"w": L_O // 4, "g": 5}),  # Table 6: w = L_o / s, g = s + 1
    }
    for name, (summary, params) in expected.items():
        enc = encoder(family_dirs["gemma3_text"], name, max_length=4 * L_O)
        described = resolve_methods([name])[0].describe(enc.extender)
        assert described["summary"].startswith(summary), described
        assert {key: described["extend_params"][key] for key in params} == params
