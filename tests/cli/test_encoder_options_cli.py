"""--device / --dtype / --batch-tokens / --prepare-workers on the real CLI (subprocesses, real all-MiniLM-L6-v2, real embedded Qdrant):
they change how the model runs, not what is stored, and wrong values are usage errors (exit 2) before anything
is read or stored."""

from __future__ import annotations

import json

import numpy as np
import pytest
from clitools import FAST, run_cli

from longembed.store import DOC_VECTOR, Store

TEXTS = {
    "harbour.txt": "The harbour committee approved a new pier for the fishing fleet after a long debate.",
    "remote.txt": "The remote control may cost at most twelve euros fifty to produce, said the finance lead.",
    "garden.txt": "Tomatoes need sun, water and a wooden stake to climb during the summer.",
}


def vectors(store_dir) -> dict[str, np.ndarray]:
    with Store(path=store_dir, create=False) as store:
        return {p.payload["path"]: np.asarray(p.vectors[DOC_VECTOR]) for p in store.scroll("c", vectors=[DOC_VECTOR])}


@pytest.mark.slow  # three CLI ingest/query processes
def test_dtype_and_batch_tokens_change_how_the_model_runs_not_what_is_found(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in TEXTS.items():
        (docs / name).write_text(text)
    common = ["--collection", "c", *FAST]
    plain = run_cli("ingest", str(docs), "--store", str(tmp_path / "fp32"), *common, "--dtype", "float32", cwd=tmp_path)
    half = run_cli(
        "ingest", str(docs), "--store", str(tmp_path / "bf16"), *common, "--dtype", "bfloat16",
        "--batch-tokens", "40", "--device", "cpu", "--prepare-workers", "1", cwd=tmp_path,
    )
    assert plain.returncode == 0 and half.returncode == 0, (plain.stderr, half.stderr)
    full, low = vectors(tmp_path / "fp32"), vectors(tmp_path / "bf16")
    assert sorted(full) == sorted(low) == sorted(TEXTS)
    for path in TEXTS:
        cosine = float(full[path] @ low[path])
        assert 0.99 < cosine < 1 - 1e-7, (path, cosine)  # bfloat16 weights: close, but not the same numbers
    found = run_cli(
        "query", "how much may the remote control cost", "--store", str(tmp_path / "bf16"), "--collection", "c",
        "--json", "-k", "1", "--dtype", "float32", "--batch-tokens", "8", cwd=tmp_path,
    )
    assert found.returncode == 0, found.stderr
    assert [r["path"] for r in json.loads(found.stdout)] == ["remote.txt"]


def test_bad_device_dtype_and_batch_tokens_are_usage_errors_before_anything_is_stored(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text(TEXTS["garden.txt"])
    store = tmp_path / "store"
    cases = {
        ("--batch-tokens", "0"): "Invalid value for '--batch-tokens': 0 is not in the range x>=1",
        ("--dtype", "int4"): (
            "Invalid value for '--dtype': 'int4' is not one of 'auto', 'float32', 'bfloat16', 'float16', 'int8'"
        ),
        ("--device", "tpu"): "Invalid value for '--device': unknown device 'tpu'; use auto, cpu or cuda",
        ("--prepare-workers", "two"): "Invalid value for '--prepare-workers': auto or a whole number of 0 or more, "
        "got 'two'",
        ("--prepare-workers", "-1"): "Invalid value for '--prepare-workers': auto or a whole number of 0 or more, "
        "got '-1'",
    }
    for args, message in cases.items():
        done = run_cli("ingest", str(docs), "--store", str(store), *FAST, *args, cwd=tmp_path)
        assert done.returncode == 2, (args, done.stderr)
        assert message in done.stderr and "Traceback" not in done.stderr, done.stderr
        assert not store.exists()
    done = run_cli("query", "tomatoes", "--store", str(store), "--batch-tokens", "-3", cwd=tmp_path)
    assert done.returncode == 2 and "-3 is not in the range x>=1" in done.stderr
