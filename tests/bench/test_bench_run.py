"""CI smoke test of `longembed bench` end to end through the real CLI: a generated passkey task (two lengths,
four documents each, three queries), two methods, a missing task; then a re-run that adds a method and is
served from the embedding cache. Real model: the bundled all-MiniLM-L6-v2."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import REPO
from longembed.bench.synthetic import make_passkey

pytestmark = pytest.mark.slow  # runs longembed bench end to end twice

CLI = [sys.executable, "-m", "longembed.cli"]


def run_cli(*args: str, cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    return subprocess.run([*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False)


@pytest.fixture(scope="module")
def bench_out(tmp_path_factory):
    work = tmp_path_factory.mktemp("bench")
    make_passkey([256, 1024], per_length=4, seed=0).write(work / "data")
    args = ["bench", "--tasks", "passkey,qmsum", "--lengths", "256,1024", "--limit", "3",
            "--data", str(work / "data"), "--out", str(work / "out"), "--device", "cpu", "--no-progress"]
    first = run_cli(*args, "--methods", "none,chunked-maxp", cwd=work)
    assert first.returncode == 0, first.stderr
    results = json.loads((work / "out" / "results.json").read_text())
    second = run_cli(*args, "--methods", "none,chunked-maxp,pcw", "--compare", cwd=work)
    assert second.returncode == 0, second.stderr
    return work / "out", first, results, second


def test_report_files_and_scores(bench_out):
    out, done, results, _ = bench_out
    assert (out / "report.md").is_file() and (out / "synthetic.png").read_bytes()[:4] == b"\x89PNG"
    assert "skipped qmsum: no folder qmsum/" in done.stderr
    assert results["complete"] and results["missing"][0]["task"] == "qmsum"
    assert results["config"]["limit"] == 3 and results["model"]["original_length"] == 512
    assert results["data_sources"]["passkey"].startswith("dir:")
    assert {"torch", "transformers", "qdrant-client", "pytrec-eval-terrier"} <= set(results["environment"]["versions"])
    cells = {(c["method"], c["context_length"]): c for c in results["results"]}
    assert set(cells) == {(m, n) for m in ("none", "chunked-maxp") for n in (256, 1024)}
    for cell in cells.values():
        assert cell["n_queries"] == 3 and cell["n_documents"] == 4
        assert all(0.0 <= v <= 1.0 for v in cell["metrics"].values())
        assert cell["main_metric"] == "ndcg@1" and cell["encode_seconds"] > 0
    # 190-word documents fit in 512 tokens: every method finds the named person's document first
    assert cells["none", 256]["main_score"] == 1.0 and cells["chunked-maxp", 256]["main_score"] == 1.0
    # ~970-token documents: none keeps 512 tokens of each; chunked-maxp stores 2 windows per document
    assert cells["none", 1024]["tokens"] == 4 * 512 and cells["none", 1024]["truncated_documents"] == 4
    assert cells["chunked-maxp", 1024]["index_vectors"] == {"doc": 4, "chunks": 8}
    assert cells["chunked-maxp", 1024]["index_bytes"] == 12 * 384 * 4
    summary = results["summary"]
    assert summary["scores"]["none"]["passkey"] == pytest.approx(
        (cells["none", 256]["main_score"] + cells["none", 1024]["main_score"]) / 2
    )
    report = (out / "report.md").read_text()
    assert "| Method | Passkey | Avg |" in report and "| Method | 256 | 1024 | Avg |" in report
    assert "| Method | Passkey | Avg |" in done.stdout


def test_rerun_is_served_from_the_cache(bench_out):
    out, _, first, second = bench_out
    results = json.loads((out / "results.json").read_text())
    cells = {(c["method"], c["context_length"]): c for c in results["results"]}
    assert len(cells) == 6
    # nothing is embedded again: pcw shares chunked-maxp's windows (same model, method and max length)
    assert all(c["documents_computed"] == 0 and c["encode_seconds_this_run"] == 0 for c in cells.values())
    before = {(c["method"], c["context_length"]): c["metrics"] for c in first["results"]}
    assert all(cells[key]["metrics"] == metrics for key, metrics in before.items())
    assert "## Long-context vs chunked" in (out / "report.md").read_text()
    assert "Δ chunked-maxp" in second.stdout
