"""Position tuning (LongEmbed §4.2): only the new rows learn, short inputs are unchanged, resume is exact.

Training runs on a tiny *random-weight* BERT (tests/tiny_models.py, L_o = 32) with the MiniLM tokenizer, on
inverse-cloze pairs drawn from a sample meeting: these tests check the mechanics, never retrieval quality.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from transformers import BertConfig, ModernBertConfig

from clitools import assert_one_line_error, run_cli
from conftest import SAMPLE_DOCS
from longembed.encoding import Encoder
from longembed.errors import ExtensionError, TuneError
from longembed.models.paths import with_model_defaults
from longembed.models.tuned import initial_table, read_tuning
from longembed.settings import IndexSettings
from longembed.tuning.pairs import Pair, best_window, pairs_from_jsonl, pairs_from_texts
from longembed.tuning.trainer import PositionTuner, TuneConfig, latest_checkpoint, tune
from longembed.settings import RunOptions
from tiny_models import save_random_model, small

L_O = 32
L_T = 128
SHORT = ["the remote control should be cheap", "who is allergic to cats? " * 3]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory, model_path) -> str:
    return save_random_model(
        tmp_path_factory.mktemp("tiny") / "bert", small(BertConfig, max_position_embeddings=L_O), model_path
    )


@pytest.fixture(scope="module")
def pairs() -> list[Pair]:
    return pairs_from_texts([(SAMPLE_DOCS / "ES2002a.txt").read_text()], 48, seed=0, passage_words=25)


def config(tiny_bert: str, **overrides) -> TuneConfig:
    base = dict(model=tiny_bert, max_length=L_T, steps=8, batch_size=8, lr=1e-2, warmup=1, sample_length=40,
                checkpoint_every=4)
    return TuneConfig(**{**base, **overrides})


def test_initial_tables_put_the_originals_where_each_layout_says():
    original = torch.tensor([[0.0, 10.0], [2.0, 20.0], [4.0, 40.0]])
    table, trainable = initial_table(original, 6, "pi")
    assert table.tolist() == [[0, 10], [1, 15], [2, 20], [3, 30], [4, 40], [4, 40]]
    assert trainable.tolist() == [1, 3, 5]
    table, trainable = initial_table(original, 7, "rp")
    assert table.tolist() == [[0, 10], [2, 20], [4, 40], [0, 10], [2, 20], [4, 40], [0, 10]]
    assert trainable.tolist() == [3, 4, 5, 6]
    with pytest.raises(ValueError, match="multiple of 3"):
        initial_table(original, 7, "pi")


def test_inverse_cloze_pairs_remove_the_query_sentence_from_its_passage(pairs):
    assert len(pairs) == 48
    text = " ".join((SAMPLE_DOCS / "ES2002a.txt").read_text().split())
    for pair in pairs:
        assert pair.query not in pair.positive and pair.query in text
        assert len(pair.query.split()) >= 6
    # windows of 4 words, stride 2: "g h cats are" has 1 query word, "cats are allergic x" both
    assert best_window("cats allergic", "a b c d e f g h cats are allergic x y z", 4) == "cats are allergic x"


def test_a_malformed_pairs_line_is_named(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"query": "q", "positive": "p"}\n{"query": "only"}\n')
    with pytest.raises(TuneError, match=r"p.jsonl:2: expected a JSON object with 'query' and 'positive'"):
        pairs_from_jsonl(path)


@pytest.mark.parametrize("layout", ["pi", "rp"])
def test_only_new_rows_change_and_short_inputs_embed_as_before(tiny_bert, pairs, tmp_path, layout):
    out = tmp_path / layout
    record = tune(pairs, out, config(tiny_bert, init=layout), progress=False, device="cpu")
    assert (record.layout, record.original_length, record.max_length) == (layout, L_O, L_T)
    assert record.scale_factor == (L_T // L_O if layout == "pi" else 1)
    base, tuned = load_file(f"{tiny_bert}/model.safetensors"), load_file(out / "model.safetensors")
    key = next(k for k in tuned if k.endswith("position_embeddings.weight"))
    assert set(base) == set(tuned)
    for name in base:
        if name != key:
            assert torch.equal(base[name], tuned[name]), name
    frozen = torch.arange(L_O) * (L_T // L_O) if layout == "pi" else torch.arange(L_O)
    assert tuned[key].shape == (L_T, 32)
    assert torch.equal(tuned[key][frozen], base[key])
    learned = torch.ones(L_T, dtype=torch.bool)
    learned[frozen] = False
    start, _ = initial_table(base[key], L_T, layout)
    assert not torch.equal(tuned[key][learned], start[learned])  # the new rows did learn

    enc = Encoder(IndexSettings(model=str(out), max_length=L_T), RunOptions(device="cpu"))
    assert enc.settings.extend == "tuned" and enc.extender.params["attn_scale"] is True
    plain = Encoder(IndexSettings(model=tiny_bert, extend="none", max_length=L_O), RunOptions(device="cpu"))
    for a, b in zip(enc.encode(SHORT), plain.encode(SHORT)):
        assert np.abs(a.vector - b.vector).max() < 1e-6
    long = enc.encode([" ".join(["budget"] * 100)])[0]
    assert (long.n_tokens, long.truncated) == (102, False)


def test_training_lowers_the_loss_and_resume_gives_the_same_parameters(tiny_bert, pairs, tmp_path):
    cfg = config(tiny_bert, steps=8, checkpoint_every=4)
    whole = tmp_path / "whole"
    before = PositionTuner(pairs, cfg, "cpu").loss(0).item()
    tune(pairs, whole, cfg, progress=False, device="cpu")
    after = PositionTuner(pairs, cfg, "cpu")
    after.load(torch.load(latest_checkpoint(whole), weights_only=True))
    assert after.loss(0).item() < before

    interrupted = tmp_path / "interrupted"
    interrupted.mkdir()
    shutil.copytree(whole / "checkpoints", interrupted / "checkpoints")
    (interrupted / "checkpoints" / "step-8.pt").unlink()  # as if killed between step 4 and step 8
    assert latest_checkpoint(interrupted).name == "step-4.pt"
    tune(pairs, interrupted, cfg, resume=True, progress=False, device="cpu")
    a, b = load_file(whole / "model.safetensors"), load_file(interrupted / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    losses = [json.loads((d / "longembed_tuning.json").read_text())["training"]["losses"] for d in (whole, interrupted)]
    assert losses[0] == losses[1] and len(losses[0]) == 8


def test_a_tuned_folder_takes_only_the_tuned_method(tiny_bert, pairs, tmp_path):
    out = tmp_path / "t"
    tune(pairs, out, config(tiny_bert, steps=1, checkpoint_every=0), progress=False, device="cpu")
    assert read_tuning(str(out)).layout == "pi"
    assert with_model_defaults(IndexSettings(model=str(out))).extend == "tuned"
    assert with_model_defaults(IndexSettings(model=tiny_bert)).extend == "pi"
    with pytest.raises(ExtensionError, match="does not apply to a model with tuned position encoding; methods that do: tuned$"):
        Encoder(IndexSettings(model=str(out), extend="gp", max_length=L_T), RunOptions(device="cpu"))
    with pytest.raises(ExtensionError, match="position embeddings for 128 tokens; use --max-length 128 or less"):
        Encoder(IndexSettings(model=str(out), max_length=4096), RunOptions(device="cpu"))


def test_rp_layout_loads_in_sentence_transformers_unchanged(tiny_bert, pairs, tmp_path):
    from sentence_transformers import SentenceTransformer

    out = tmp_path / "rp"
    tune(pairs, out, config(tiny_bert, init="rp", steps=2, checkpoint_every=0), progress=False, device="cpu")
    st = SentenceTransformer(str(out), device="cpu")
    assert st.max_seq_length == L_T
    ours = Encoder(IndexSettings(model=str(out), max_length=L_T, extend_params={"attn_scale": False}), RunOptions(device="cpu"))
    text = " ".join(["remote"] * 90)
    theirs = st.encode([text], normalize_embeddings=True)[0]
    assert np.abs(ours.encode([text])[0].vector - theirs).max() < 1e-5


@pytest.mark.slow  # three CLI processes, one training
def test_cli_tunes_and_refuses_a_rope_model(tiny_bert, tmp_path, model_path):
    (tmp_path / "docs").mkdir()
    shutil.copy(SAMPLE_DOCS / "ES2002a.txt", tmp_path / "docs")
    done = run_cli(
        "tune", "--model", tiny_bert, "--max-length", str(L_T), "--docs", "docs", "--doc-pairs", "20", "--steps", "2",
        "--batch-size", "4", "--sample-length", "40", "--out", "tuned", "--no-progress", cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "tuned (pi layout, L_o 32 -> L_t 128, 20 pairs): loss" in done.stdout
    record = json.loads((tmp_path / "tuned" / "longembed_tuning.json").read_text())
    assert record["training"]["data"] == ["docs (inverse cloze, 20 pairs)"] and record["training"]["steps"] == 2

    rope = save_random_model(tmp_path / "rope", small(ModernBertConfig, max_position_embeddings=64, pad_token_id=0), model_path)
    done = run_cli("tune", "--model", rope, "--docs", "docs", "--steps", "1", "--out", "x", cwd=tmp_path)
    assert_one_line_error(done, "longembed tune trains new absolute position embeddings", "rope position encoding")
    done = run_cli("tune", "--out", "x", cwd=tmp_path)
    assert_one_line_error(done, "give training data: --data DIR, --pairs FILE or --docs FOLDER")


def tune_into(tiny_bert: str, cwd, out: str, *extra: str):
    """The smallest CLI training run of these tests (2 steps, 20 pairs of 40 tokens) into ``out``."""
    if not (cwd / "docs").is_dir():
        (cwd / "docs").mkdir()
        shutil.copy(SAMPLE_DOCS / "ES2002a.txt", cwd / "docs")
    return run_cli(
        "tune", "--model", tiny_bert, "--max-length", str(L_T), "--docs", "docs", "--doc-pairs", "20", "--steps", "2",
        "--batch-size", "4", "--sample-length", "40", "--out", out, "--no-progress", *extra, cwd=cwd,
    )


def test_cli_refuses_an_out_it_must_not_write_before_training(tiny_bert, tmp_path):
    """Issue 24 row 6: --out a file trained, then a FileExistsError traceback; --out another model's folder was
    overwritten. Both are refused first, nothing written; so is a tuned folder without --overwrite/--resume."""
    (tmp_path / "file").write_text("not a folder")
    done = tune_into(tiny_bert, tmp_path, "file")
    assert_one_line_error(done, "--out 'file' is a file, not a folder")
    assert (tmp_path / "file").read_text() == "not a folder"

    other = tmp_path / "other-model"
    other.mkdir()
    (other / "config.json").write_text("{}")
    done = tune_into(tiny_bert, tmp_path, "other-model", "--overwrite")
    assert_one_line_error(done, "is a non-empty folder that is not a tuned model written by longembed")
    assert [p.name for p in other.iterdir()] == ["config.json"]

    tuned = tmp_path / "tuned"
    tuned.mkdir()
    (tuned / "longembed_tuning.json").write_text("{}")
    done = tune_into(tiny_bert, tmp_path, "tuned")
    assert_one_line_error(done, "already holds a tuned model written by longembed; give --overwrite")
    assert [p.name for p in tuned.iterdir()] == ["longembed_tuning.json"]
    done = tune_into(tiny_bert, tmp_path, "tuned", "--overwrite", "--resume")
    assert_one_line_error(done, "not both")


@pytest.mark.slow  # one CLI training
def test_cli_overwrite_replaces_a_tuned_folder(tiny_bert, tmp_path):
    tuned = tmp_path / "tuned"
    tuned.mkdir()
    (tuned / "longembed_tuning.json").write_text("{}")
    (tuned / "stale.txt").write_text("a file of the model being replaced")
    done = tune_into(tiny_bert, tmp_path, "tuned", "--overwrite")
    assert done.returncode == 0, done.stderr
    assert not (tuned / "stale.txt").exists()
    assert json.loads((tuned / "longembed_tuning.json").read_text())["training"]["steps"] == 2
