"""``longembed models inspect MODEL`` on the bundled all-MiniLM-L6-v2 (real weights) and on a tiny
*random-weight* Gemma3 text encoder built from a transformers config (bidirectional, sliding and global layers)
saved as a sentence-transformers folder with a Dense layer and prompts. Run through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from longembed.cli import main
from tiny_models import tiny_model_dir
from tiny_models import small


def run(*args: str):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_inspect_the_bundled_minilm():
    out = run("models", "inspect")
    assert "family:            bert (BertModel)" in out
    assert "position encoding: APE (learned absolute position embeddings)" in out
    assert "L_o:               512 tokens" in out
    assert "hidden size:       384" in out and "embedding dim:     384\n" in out
    assert "pooling:           mean" in out
    assert "query prefix:      ''" in out and "document prefix:   ''" in out
    assert "special tokens:    before [101], after [102]" in out
    listing = out.split("methods (defaults for --max-length 4096):\n")[1].splitlines()
    methods = [line.split()[0] for line in listing[::2]]
    assert methods == ["none", "pcw", "gp", "rp", "pi"]


def test_inspect_a_tiny_rope_model_as_json(model_path, tmp_path):
    from sentence_transformers import SentenceTransformer, models
    from transformers import Gemma3TextConfig

    config = small(
        Gemma3TextConfig,
        max_position_embeddings=128,
        pad_token_id=0,
        head_dim=16,
        num_key_value_heads=1,
        sliding_window=8,
        use_bidirectional_attention=True,
        layer_types=["sliding_attention", "full_attention"],
    )
    transformer = tiny_model_dir(tmp_path, model_path, config)
    modules = [models.Transformer(transformer), models.Pooling(32), models.Dense(32, 20), models.Normalize()]
    folder = tmp_path / "st"
    SentenceTransformer(modules=modules, prompts={"query": "q: ", "document": "d: "}).save(str(folder))
    info = json.loads(run("models", "inspect", str(folder), "--max-length", "512", "--json"))
    assert (info["family"], info["architecture"]) == ("gemma3_text", "Gemma3TextModel")
    assert (info["position_encoding"], info["original_length"]) == ("rope", 128)
    assert info["rope_thetas"] == {"sliding_attention": 10000.0, "full_attention": 1000000.0}
    assert (info["hidden_size"], info["dimension"], info["dense_layers"]) == (32, 20, ["32->20"])
    assert (info["pooling"], info["query_prefix"], info["document_prefix"]) == ("mean", "q: ", "d: ")
    defaults = {m["name"]: m["defaults"] for m in info["methods"]}
    assert list(defaults) == ["none", "pcw", "gp", "pi", "ntk", "yarn", "se"]
    assert defaults["ntk"] == {"factor": 4.0, "short_native": False, "lambda": 5.0, "attn_scale": False}
    assert defaults["se"] == {"w": 32, "g": 5, "attn_scale": False}  # Table 6 for s = 4, w = L_o / s
    assert defaults["pi"]["factor"] == 4.0 and defaults["yarn"]["beta_fast"] == 32.0
    # s = 16 has no Table 6 lambda: reported, not fatal
    text = run("models", "inspect", str(folder), "--max-length", "2048")
    assert "ntk   [ntk: no default lambda for scaling factor s = 16 > 8" in text
    assert "embedding dim:     20 (Dense layers 32->20)" in text


def test_inspect_a_missing_model_is_a_one_line_error(tmp_path):
    result = CliRunner().invoke(main, ["models", "inspect", str(Path(tmp_path) / "nope")])
    assert result.exit_code == 1
    assert result.output.strip().startswith("error: model path") and "does not exist" in result.output
