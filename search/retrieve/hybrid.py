"""Fusing ranked lists: reciprocal rank fusion, because BM25 and cosine scores live on different scales."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

# The usual 60 flattens the head of short lists; on the dev set (83 passages) 20 gave
# hit@5 0.894 vs 0.864 for hybrid+bridge (before centering), and 10 to 30 were within one question of 20.
# Chosen again on the dev library's own questions (eval/gold/library-a.jsonl, in a library of 24 reports):
# 15 put 4 more questions in a top 5 over library-a, library-b and the dev set in the library, and none out on
# any set, alone or in the library; 10, 30, 40 and 60 lost some on library-a (docs/library.md, issue 40 part 4).
RRF_K = 15


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[tuple[int, float]]], *, weights: Sequence[float] | None = None, k: int = RRF_K,
    blind: tuple[int, Callable[[int], bool], float] | None = None,
) -> list[tuple[int, float]]:
    """Fuse ranked lists of (id, score): each id scores ``sum(w / (k + rank))`` over the lists it is in.

    Only ranks count, not the lists' own scores. Ties are broken by the rank in the first
    list (the caller puts the model's list first), then by id, so the order is deterministic:
    a passage first for the model and fourth for BM25 goes before one fourth for the model and
    first for BM25 only through translated words.

    Args:
        rankings: ranked lists, best first.
        weights: one weight per list (all 1 when None).
        k: the rank offset; larger values flatten the head of each list.
        blind: ``(j, cannot_read, share)``: list ``j`` cannot read the items ``cannot_read`` is true for (BM25 and a
            passage in another language than the question's words). Such an item is not voted down by list ``j``:
            from it, it gets the larger of its rank's share and ``share`` of list ``j``'s weight applied to the
            other lists' verdict (their score over their weight; 1 gives it that verdict in full, 0 counts a
            missing or low rank as a vote, as for any other item).

    Returns:
        (id, fused score) pairs, best first.
    """
    weights = [1.0] * len(rankings) if weights is None else list(weights)
    if len(weights) != len(rankings):
        raise ValueError(f"{len(rankings)} rankings but {len(weights)} weights")
    fused: dict[int, float] = defaultdict(float)
    for ranking, weight in zip(rankings, weights):
        for rank, (item, _) in enumerate(ranking, 1):
            fused[item] += weight / (k + rank)
    if blind is not None:
        j, cannot_read, share = blind
        others = sum(weight for i, weight in enumerate(weights) if i != j)
        ranks = {item: rank for rank, (item, _) in enumerate(rankings[j], 1)}
        for item in fused:
            if others > 0 and cannot_read(item):
                own = weights[j] / (k + ranks[item]) if item in ranks else 0.0
                rest = fused[item] - own
                fused[item] = rest + max(own, rest * share * weights[j] / others)
    first = {item: rank for rank, (item, _) in enumerate(rankings[0] if rankings else ())}
    unranked = len(first)
    # scores are sums of fractions: equal sums may differ in the last bit, so compare them rounded
    return sorted(fused.items(), key=lambda pair: (-round(pair[1], 12), first.get(pair[0], unranked), pair[0]))
