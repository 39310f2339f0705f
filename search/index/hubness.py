"""Hubness: how close each indexed vector lies to its nearest neighbours in the same index.

In a library, some passages sit in crowded regions of the vector space (the US Code's numbered
fragments, one chapter's near-identical sections) and come close to every question about their
subject, in any language: they are *hubs*, and a Lao question, whose vector the model places less
surely, lands on them first. Cross-lingual retrieval discounts them (CSLS, Conneau et al. 2018, "Word
translation without parallel data"): a candidate's score is its cosine with the question less a
share of its mean cosine with its own ``HUB_NEIGHBOURS`` nearest neighbours. The statistic is the
library's by design (a passage is a hub *among these passages*), so a build computes it again for
every vector, from the index it has just written: an exact index compares every pair, an inverted
file scans the ``HUB_NPROBE`` clusters nearest each vector (docs/library.md, "the hub discount").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from search.index.dense import DenseIndex

HUB_NEIGHBOURS = 10  # 5, 20 and 50 gave the same top 5s in the dev library (docs/library.md)
HUB_NPROBE = 16  # clusters scanned per row of an inverted file: a row's 10 nearest lie in the clusters nearest it
BATCH = 2048  # vectors searched at once: 2048 × 10,000 scores of float32 are 80 MB


def neighbour_similarity(index: DenseIndex, vectors: np.ndarray | Sequence[np.ndarray], *,
                         neighbours: int = HUB_NEIGHBOURS, nprobe: int = HUB_NPROBE,
                         progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """For each row of ``vectors`` (the rows ``index`` holds, in its id order), the mean inner product with its
    ``neighbours`` nearest other rows of ``index``; 0 for a row alone in the index.

    Args:
        index: the index of ``vectors``.
        vectors: its rows: one array, or arrays whose rows follow each other (as :meth:`DenseIndex.from_vectors`).
        neighbours: how many neighbours are averaged (fewer when the index holds fewer other rows).
        nprobe: an inverted file's clusters scanned per row (a search scans ``IVF_NPROBE``).
        progress: called as ``progress(done, total)`` after each batch of rows.
    """
    parts = [vectors] if isinstance(vectors, np.ndarray) else list(vectors)
    total = sum(len(v) for v in parts)
    out = np.zeros(total, np.float32)
    wanted = min(neighbours, total - 1)
    if wanted <= 0:
        return out
    done = 0
    for part in parts:
        for start in range(0, len(part), BATCH):
            queries = np.ascontiguousarray(part[start:start + BATCH], dtype=np.float32)
            scores, ids = index.search_matrix(queries, wanted + 1, nprobe=nprobe)
            # itself left out, wherever it ranks (or if not found); a copy of its text elsewhere counts, as
            # boilerplate repeated in many places is the strongest hub of all
            own = np.arange(done, done + len(queries))[:, None]
            other = (ids >= 0) & (ids != own)
            kept = other & (np.cumsum(other, axis=1) <= wanted)  # the first ``wanted`` others, best first
            found = kept.sum(axis=1)
            sums = np.where(kept, scores, 0).sum(axis=1)
            out[done:done + len(queries)] = np.divide(sums, found, out=np.zeros_like(sums), where=found > 0)
            done += len(queries)
            if progress:
                progress(done, total)
    return out
