"""Fusing ranked lists: reciprocal rank fusion, because BM25 and cosine scores live on different scales."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

# The usual 60 flattens the head of short lists; on the dev set (83 passages) 20 gave
# hit@5 0.894 vs 0.864 for hybrid+bridge (before centering), and 10 to 30 were within one question of 20.
RRF_K = 20


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[tuple[int, float]]], *, weights: Sequence[float] | None = None, k: int = RRF_K,
) -> list[tuple[int, float]]:
    """Fuse ranked lists of (id, score): each id scores ``sum(w / (k + rank))`` over the lists it is in.

    Only ranks count, not the lists' own scores. Ties are broken by id, so the
    order is deterministic.

    Args:
        rankings: ranked lists, best first.
        weights: one weight per list (all 1 when None).
        k: the rank offset; larger values flatten the head of each list.

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
    return sorted(fused.items(), key=lambda pair: (-pair[1], pair[0]))
