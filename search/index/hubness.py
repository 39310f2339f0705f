"""Hubness: how close each indexed vector lies to its nearest neighbours in the same index.

In a library, some passages sit in crowded regions of the vector space (the US Code's numbered
fragments, one chapter's near-identical sections) and come close to every question about their
subject, in any language: they are *hubs*, and a Lao question, whose vector the model places less
surely, lands on them first. Cross-lingual retrieval discounts them (CSLS, Conneau et al. 2018, "Word
translation without parallel data"): a candidate's score is its cosine with the question less a
share of its mean cosine with its own ``HUB_NEIGHBOURS`` nearest neighbours. The statistic is the
library's by design (a passage is a hub *among these passages*): an exact index compares every pair,
an inverted file scans the ``HUB_NPROBE`` clusters nearest each vector (docs/library.md, "the hub
discount"). A build keeps each vector's neighbours (:class:`Neighbourhoods`), so that adding or removing
a report measures only what it moves (:mod:`search.index.neighbours`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from search.index.dense import DenseIndex

HUB_NEIGHBOURS = 10  # 5, 20 and 50 gave the same top 5s in the dev library (docs/library.md)
HUB_NPROBE = 16  # clusters scanned per row of an inverted file: a row's 10 nearest lie in the clusters nearest it
BATCH = 2048  # vectors searched at once: 2048 × 10,000 scores of float32 are 80 MB


@dataclass
class Neighbourhoods:
    """Each row's nearest other rows in its index, as the hub discount measures them.

    Attributes:
        ids: ``(n, HUB_NEIGHBOURS)`` int32, each row's nearest other rows, best first; -1 past the last found.
        scores: their inner products (float32; 0 where there is no id).
        probes: ``(n, HUB_NPROBE)`` int32, the clusters a row's search scanned in an inverted file (-1 for
            an exact index), nearest first.
        probe_scores: the row's inner product with each of those clusters' centres (an inverted file adds it
            to the residual's, so a later search of the same clusters scores every pair the same).
    """

    ids: np.ndarray
    scores: np.ndarray
    probes: np.ndarray
    probe_scores: np.ndarray

    @classmethod
    def empty(cls, n: int, neighbours: int = HUB_NEIGHBOURS, nprobe: int = HUB_NPROBE) -> "Neighbourhoods":
        return cls(np.full((n, neighbours), -1, np.int32), np.zeros((n, neighbours), np.float32),
                   np.full((n, nprobe), -1, np.int32), np.zeros((n, nprobe), np.float32))

    def __len__(self) -> int:
        return len(self.ids)

    def hubness(self) -> np.ndarray:
        """Each row's mean inner product with its neighbours (0 for a row with none)."""
        found = (self.ids >= 0).sum(axis=1).astype(np.float32)
        sums = np.where(self.ids >= 0, self.scores, np.float32(0)).sum(axis=1, dtype=np.float32)
        return np.divide(sums, found, out=np.zeros_like(sums), where=found > 0)

    def __getitem__(self, rows) -> "Neighbourhoods":
        return Neighbourhoods(self.ids[rows], self.scores[rows], self.probes[rows], self.probe_scores[rows])

    def put(self, rows: np.ndarray, other: "Neighbourhoods") -> None:
        """Set ``rows`` to ``other``'s rows, in turn."""
        for name in ("ids", "scores", "probes", "probe_scores"):
            getattr(self, name)[rows] = getattr(other, name)

    @staticmethod
    def concatenate(parts: Sequence["Neighbourhoods"]) -> "Neighbourhoods":
        return Neighbourhoods(*(np.concatenate([getattr(p, name) for p in parts])
                                for name in ("ids", "scores", "probes", "probe_scores")))


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
    return measure(index, vectors, neighbours=neighbours, nprobe=nprobe, progress=progress).hubness()


def measure(index: DenseIndex, vectors: np.ndarray | Sequence[np.ndarray], *, rows: np.ndarray | None = None,
            neighbours: int = HUB_NEIGHBOURS, nprobe: int = HUB_NPROBE,
            progress: Callable[[int, int], None] | None = None) -> Neighbourhoods:
    """The :class:`Neighbourhoods` of ``rows`` (default: every row) of ``index``, whose rows are ``vectors``
    (as :func:`neighbour_similarity` takes them): a search of each row's ``neighbours`` + 1 nearest, itself
    left out wherever it ranks (or if not found); a copy of its text elsewhere counts, as boilerplate repeated
    in many places is the strongest hub of all."""
    parts = [vectors] if isinstance(vectors, np.ndarray) else list(vectors)
    total = sum(len(v) for v in parts)
    rows = np.arange(total) if rows is None else np.asarray(rows, np.int64)
    out = Neighbourhoods.empty(len(rows), neighbours, nprobe)
    wanted = min(neighbours, total - 1)
    if wanted <= 0:
        return out
    for start in range(0, len(rows), BATCH):
        batch = rows[start:start + BATCH]
        queries = gather(parts, batch)
        probe_scores, probes = _probes(index, queries, nprobe)
        scores, ids = _search(index, queries, wanted + 1, probes, probe_scores, nprobe)
        other = (ids >= 0) & (ids != batch[:, None])
        kept = other & (np.cumsum(other, axis=1) <= wanted)  # the first ``wanted`` others, best first
        order = np.argsort(~kept, axis=1, kind="stable")[:, :neighbours]  # kept ones first, in their order
        found = np.take_along_axis(kept, order, axis=1)
        width = order.shape[1]
        out.ids[start:start + len(batch), :width] = np.where(found, np.take_along_axis(ids, order, axis=1), -1)
        out.scores[start:start + len(batch), :width] = np.where(found, np.take_along_axis(scores, order, axis=1), 0)
        if probes is not None:
            out.probes[start:start + len(batch), :probes.shape[1]] = probes
            out.probe_scores[start:start + len(batch), :probes.shape[1]] = probe_scores
        if progress:
            progress(start + len(batch), len(rows))
    return out


def gather(parts: Sequence[np.ndarray], rows: np.ndarray) -> np.ndarray:
    """Rows ``rows`` (ascending) of the arrays ``parts`` taken as one, as one float32 array."""
    starts = np.cumsum([0] + [len(v) for v in parts])
    pieces = [v[rows[(rows >= a) & (rows < b)] - a] for v, a, b in zip(parts, starts, starts[1:])]
    return np.ascontiguousarray(np.concatenate(pieces) if pieces else np.zeros((0, 0), np.float32), dtype=np.float32)


def _probes(index: DenseIndex, queries: np.ndarray, nprobe: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """An inverted file's clusters nearest each query, as its own search chooses them (None for an exact index)."""
    if index.exact:
        return None, None
    nprobe = min(nprobe, index.index.nlist)
    scores, probes = index.index.quantizer.search(queries, nprobe)
    return scores, probes


def _search(index: DenseIndex, queries: np.ndarray, k: int, probes, probe_scores, nprobe: int):
    """FAISS's scores and ids of each query's ``k`` nearest: an exact index's, or an inverted file's in the
    clusters ``probes`` (what its own search with ``nprobe`` scans)."""
    if probes is None:
        return index.search_matrix(queries, k)
    return search_clusters(index, queries, min(k, len(index)), probes, probe_scores)


def search_clusters(index: DenseIndex, queries: np.ndarray, k: int, probes: np.ndarray, probe_scores: np.ndarray):
    """An inverted file's scores and ids of each query's ``k`` nearest in the clusters ``probes`` (one row per
    query; -1 for none), ``probe_scores`` being the query's inner products with their centres."""
    ivf = index.index
    nprobe = ivf.nprobe
    ivf.nprobe = probes.shape[1]  # FAISS's wrapper takes no parameters here: how many clusters a row names
    try:
        return ivf.search_preassigned(queries, k, probes.astype(np.int64), probe_scores)
    finally:
        ivf.nprobe = nprobe
