"""nDCG@1, nDCG@10 and Recall@10 (pytrec_eval) against values computed by hand."""

from __future__ import annotations

import math

import pytest

from longembed.bench.metrics import evaluate


def test_metrics_match_a_hand_computed_example():
    qrels = {
        "q1": {"d1": 1},  # found at rank 2
        "q2": {"d2": 1, "d3": 1},  # d3 at rank 1, d2 at rank 4
        "q3": {"d4": 1},  # the retriever returned nothing
        "q4": {"d5": 1},  # found at rank 11: outside the cut-offs
    }
    rankings = {
        "q1": ["d9", "d1", "d8"],
        "q2": ["d3", "d7", "d8", "d2"],
        "q4": [f"x{i}" for i in range(10)] + ["d5"],
        "q5": ["d1"],  # not judged: ignored
    }
    scores = evaluate(qrels, rankings)
    # q1: DCG@10 = 1/log2(3), IDCG = 1; q2: DCG = 1 + 1/log2(5), IDCG = 1 + 1/log2(3); q3, q4: 0
    ndcg10 = (1 / math.log2(3) + (1 + 1 / math.log2(5)) / (1 + 1 / math.log2(3))) / 4
    assert scores["ndcg@10"] == pytest.approx(ndcg10, abs=1e-6)
    assert scores["ndcg@10"] == pytest.approx(0.37704, abs=1e-5)
    assert scores["ndcg@1"] == pytest.approx(1 / 4)  # only q2 has a relevant document first
    assert scores["recall@10"] == pytest.approx((1 + 1 + 0 + 0) / 4)


def test_rank_order_not_score_decides_ties():
    # two documents the retriever ranked d2 first: pytrec_eval must see that order, not re-sort by id
    assert evaluate({"q": {"d2": 1}}, {"q": ["d2", "d1"]})["ndcg@1"] == 1.0
    assert evaluate({"q": {"d1": 1}}, {"q": ["d2", "d1"]})["ndcg@1"] == 0.0
    assert evaluate({}, {}) == {"ndcg@1": 0.0, "ndcg@10": 0.0, "recall@10": 0.0}
