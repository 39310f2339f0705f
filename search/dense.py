"""The dense vector index: inner product over L2-normalised vectors (cosine), in FAISS.

Exact (``IndexFlatIP``) up to ``HNSW_FROM`` vectors; above that, a graph index
(``IndexHNSWFlat``), whose search cost grows with the log of the library rather than
with its size. The threshold and parameters are measured by ``bench/scale.py``
(README, *Scale*).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .errors import REBUILD_HINT, IndexFormatError


HNSW_FROM = 50_000  # vectors; below it exact search is fast enough (a few ms) and has no recall to lose
HNSW_M = 32  # graph neighbours per vector
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 256  # candidates examined per search; at least the depth asked for


class DenseIndex:
    """A FAISS inner-product index: exact (flat) for small libraries, HNSW for big ones.

    Args:
        index: a FAISS inner-product index (``IndexFlatIP`` or ``IndexHNSWFlat``).
    """

    def __init__(self, index):
        self.index = index

    @classmethod
    def from_vectors(cls, vectors: np.ndarray, *, hnsw_from: int = HNSW_FROM) -> "DenseIndex":
        """Build an index over rows of ``vectors`` (already L2-normalised); row i gets id i.

        Args:
            vectors: the rows to index.
            hnsw_from: from this many rows on, build an HNSW graph instead of an exact index.
        """
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if len(vectors) >= hnsw_from:
            index = faiss.IndexHNSWFlat(vectors.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        else:
            index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        return cls(index)

    @property
    def exact(self) -> bool:
        """True for an exact (flat) index."""
        return not hasattr(self.index, "hnsw")

    @staticmethod
    def selector(ids: np.ndarray):
        """A FAISS selector of these ids, to pass to :meth:`search` (make it once per filter, not per search)."""
        import faiss

        return faiss.IDSelectorBatch(np.ascontiguousarray(ids, dtype=np.int64))

    @classmethod
    def load(cls, path: Path) -> "DenseIndex":
        """Read an index written by :meth:`save`.

        Raises:
            IndexFormatError: the file is missing or not a FAISS index.
        """
        import faiss

        try:
            return cls(faiss.read_index(str(path)))
        except RuntimeError as exc:
            raise IndexFormatError(f"{path} is missing or not a readable FAISS index; {REBUILD_HINT}") from exc

    def save(self, path: Path) -> None:
        """Write the index with ``faiss.write_index`` (FAISS's own format, no pickle)."""
        import faiss

        faiss.write_index(self.index, str(path))

    def __len__(self) -> int:
        return int(self.index.ntotal)

    @property
    def dimension(self) -> int:
        return int(self.index.d)

    def vectors(self) -> np.ndarray:
        """All stored vectors, in id order (a flat index keeps them exactly)."""
        return self.index.reconstruct_n(0, len(self)) if len(self) else np.zeros((0, self.dimension), np.float32)

    def search(self, queries: np.ndarray, k: int, *, allowed: Iterable[int] | None = None,
               selector=None) -> list[list[tuple[int, float]]]:
        """Return, per query, up to ``k`` (id, cosine) pairs, best first, ties by id.

        Args:
            queries: L2-normalised query vectors, one per row.
            k: how many neighbours per query.
            allowed: restrict the search to these ids (a language filter).
            selector: the same, made once by :meth:`selector` (``allowed`` then gives only its size).
        """
        import faiss

        if allowed is not None:
            ids = np.fromiter(allowed, dtype=np.int64) if selector is None else None
            size = len(ids) if ids is not None else len(allowed)
            if not size:
                return [[] for _ in range(len(queries))]
            selector = selector if selector is not None else self.selector(ids)
            k = min(k, size)
        k = min(k, len(self))
        if k <= 0:
            return [[] for _ in range(len(queries))]
        if self.exact:
            params = faiss.SearchParameters(sel=selector) if selector is not None else None
        else:
            params = faiss.SearchParametersHNSW(efSearch=max(HNSW_EF_SEARCH, k))
            if selector is not None:
                params.sel = selector
        scores, ids = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k, params=params)
        return [
            sorted(((int(i), float(s)) for i, s in zip(row_ids, row_scores) if i >= 0), key=lambda p: (-p[1], p[0]))
            for row_ids, row_scores in zip(ids, scores)
        ]
