"""The dense vector index: exact inner product over L2-normalised vectors (cosine), in FAISS."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .errors import REBUILD_HINT, IndexFormatError


class DenseIndex:
    """A FAISS ``IndexFlatIP``: exact search, so scores are true cosines and results reproducible.

    Args:
        index: a FAISS flat inner-product index.
    """

    def __init__(self, index):
        self.index = index

    @classmethod
    def from_vectors(cls, vectors: np.ndarray) -> "DenseIndex":
        """Build an index over rows of ``vectors`` (already L2-normalised); row i gets id i."""
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        return cls(index)

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

    def search(self, queries: np.ndarray, k: int, *, allowed: Iterable[int] | None = None) -> list[list[tuple[int, float]]]:
        """Return, per query, up to ``k`` (id, cosine) pairs, best first, ties by id.

        Args:
            queries: L2-normalised query vectors, one per row.
            k: how many neighbours per query.
            allowed: restrict the search to these ids (a language filter).
        """
        import faiss

        params = None
        if allowed is not None:
            ids = np.fromiter(allowed, dtype=np.int64)
            if not len(ids):
                return [[] for _ in range(len(queries))]
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(ids))
            k = min(k, len(ids))
        k = min(k, len(self))
        if k <= 0:
            return [[] for _ in range(len(queries))]
        scores, ids = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k, params=params)
        return [
            sorted(((int(i), float(s)) for i, s in zip(row_ids, row_scores) if i >= 0), key=lambda p: (-p[1], p[0]))
            for row_ids, row_scores in zip(ids, scores)
        ]
