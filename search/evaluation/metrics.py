"""Retrieval metrics with binary relevance: hit@k, MRR@k, nDCG@k.

The shape follows sentence-transformers' InformationRetrievalEvaluator: ranked ids
and relevant ids in, cut-offs as a tuple, keys named ``hit@k``, ``mrr@k``, ``ndcg@k``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

HIT_CUTOFFS = (1, 3, 5, 10)
RANK_CUTOFF = 10
METRIC_KEYS = tuple(f"hit@{k}" for k in HIT_CUTOFFS) + (f"mrr@{RANK_CUTOFF}", f"ndcg@{RANK_CUTOFF}")


def first_relevant_rank(ranked: Sequence[str], relevant: set[str]) -> int | None:
    """The 1-based rank of the first relevant id in ``ranked``, or None."""
    return next((i for i, pid in enumerate(ranked, 1) if pid in relevant), None)


def question_metrics(ranked: Sequence[str], relevant: set[str]) -> dict[str, float]:
    """Metrics of one ranked list against its set of relevant ids.

    Args:
        ranked: passage ids, best first.
        relevant: the ids that count as relevant (at least one).

    Returns:
        ``{"hit@1": …, "hit@3": …, "hit@5": …, "hit@10": …, "mrr@10": …, "ndcg@10": …}``.
    """
    rank = first_relevant_rank(ranked, relevant)
    out = {f"hit@{k}": float(rank is not None and rank <= k) for k in HIT_CUTOFFS}
    out[f"mrr@{RANK_CUTOFF}"] = 1.0 / rank if rank is not None and rank <= RANK_CUTOFF else 0.0
    dcg = sum(1.0 / math.log2(i + 1) for i, pid in enumerate(ranked[:RANK_CUTOFF], 1) if pid in relevant)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(relevant), RANK_CUTOFF) + 1))
    out[f"ndcg@{RANK_CUTOFF}"] = dcg / ideal if ideal else 0.0
    return out


def mean_metrics(rows: Iterable[dict[str, float]]) -> dict[str, float]:
    """Average per-question metrics; ``n`` is the number of questions (0 gives zeros)."""
    rows = list(rows)
    out = {"n": len(rows)}
    for key in METRIC_KEYS:
        out[key] = sum(r[key] for r in rows) / len(rows) if rows else 0.0
    return out
