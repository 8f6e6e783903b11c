"""Retrieval metrics with ``pytrec_eval`` (trec_eval's measures, the library MTEB scores LongEmbed with).

nDCG@k uses trec_eval's ``ndcg_cut`` (gain = relevance, discount 1 / log2(rank + 1)); Recall@k is the share of a
query's relevant documents found in its top k. A query with no retrieved document scores 0. Scores are means
over the judged queries, in [0, 1].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytrec_eval

METRICS = {"ndcg@1": "ndcg_cut_1", "ndcg@10": "ndcg_cut_10", "recall@10": "recall_10"}
"""Our metric names -> pytrec_eval's result keys."""

_MEASURES = {"ndcg_cut.1,10", "recall.10"}


def evaluate(
    qrels: Mapping[str, Mapping[str, int]], rankings: Mapping[str, Sequence[str]]
) -> dict[str, float]:
    """Mean nDCG@1, nDCG@10 and Recall@10 of ranked document lists.

    Args:
        qrels: qid -> {doc_id: relevance}; every qid here is scored.
        rankings: qid -> doc ids, best first, as the retriever returned them (ties keep this order: the
            rank, not the cosine score, is what pytrec_eval sees).

    Returns:
        ``{"ndcg@1": float, "ndcg@10": float, "recall@10": float}``; 0.0 for each when ``qrels`` is empty.
    """
    if not qrels:
        return dict.fromkeys(METRICS, 0.0)
    run = {
        qid: {doc: float(len(ranked) - rank) for rank, doc in enumerate(ranked)}
        for qid, ranked in rankings.items()
        if qid in qrels and ranked
    }
    per_query = pytrec_eval.RelevanceEvaluator(
        {q: dict(rel) for q, rel in qrels.items()}, _MEASURES
    ).evaluate(run)
    return {
        name: sum(per_query.get(qid, {}).get(key, 0.0) for qid in qrels) / len(qrels)
        for name, key in METRICS.items()
    }
