"""Metrics on tiny cases worked out by hand."""

import math

import pytest

from search.evaluation.metrics import first_relevant_rank, mean_metrics, question_metrics


def test_relevant_at_rank_2_of_two_relevant():
    # ranked: a b c d ; relevant {b, d}
    m = question_metrics(["a", "b", "c", "d"], {"b", "d"})
    assert m["hit@1"] == 0.0 and m["hit@3"] == 1.0 and m["hit@5"] == 1.0 and m["hit@10"] == 1.0
    assert m["mrr@10"] == 0.5
    dcg = 1 / math.log2(3) + 1 / math.log2(5)  # ranks 2 and 4
    idcg = 1 / math.log2(2) + 1 / math.log2(3)  # two relevant, ideally at ranks 1 and 2
    assert m["ndcg@10"] == pytest.approx(dcg / idcg)
    assert m["ndcg@10"] == pytest.approx(0.6509, abs=1e-4)


def test_relevant_only_past_the_cutoff():
    ranked = [f"p{i}" for i in range(1, 13)]
    m = question_metrics(ranked, {"p11"})
    assert all(m[k] == 0.0 for k in ("hit@1", "hit@3", "hit@5", "hit@10", "mrr@10", "ndcg@10"))
    assert first_relevant_rank(ranked, {"p11"}) == 11


def test_first_place():
    m = question_metrics(["x", "y"], {"x"})
    assert m == {"hit@1": 1.0, "hit@3": 1.0, "hit@5": 1.0, "hit@10": 1.0, "mrr@10": 1.0, "ndcg@10": 1.0}


def test_mean_over_questions():
    rows = [question_metrics(["a"], {"a"}), question_metrics(["a", "b", "c"], {"c"})]
    mean = mean_metrics(rows)
    assert mean["n"] == 2
    assert mean["hit@1"] == 0.5 and mean["hit@3"] == 1.0
    assert mean["mrr@10"] == pytest.approx((1 + 1 / 3) / 2)
    assert mean_metrics([])["n"] == 0
