"""BM25 over Lao-aware tokens, with weighted query terms, stored as plain numpy/scipy files.

Each document row holds its BM25 term weights, ``idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))``,
so a query is one sparse matrix-vector product. Query terms carry weights, which
the language bridge needs (a dictionary gloss counts less than a word typed).
"""

from __future__ import annotations

import json
import math
import zipfile
import zlib
from collections import Counter
from array import array
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from search.errors import REBUILD_HINT, IndexFormatError

MATRIX, VOCAB = "bm25.npz", "bm25-vocab.json"


class SparseIndex:
    """A BM25 index: a (documents × vocabulary) matrix of term weights, stored by column (CSC).

    A query touches only its own terms' columns (their postings): ranking costs what
    those postings hold plus a few vector operations over the rows, never a Python
    loop over the library.

    Args:
        matrix: the weights, one row per passage (any scipy sparse format; kept as CSC).
        vocab: token → column.
        idf: inverse document frequency per column.
        params: ``{"k1": …, "b": …}``.
    """

    def __init__(self, matrix, vocab: dict[str, int], idf: np.ndarray, params: dict):
        self.matrix, self.vocab, self.idf, self.params = matrix.tocsc(), vocab, idf, params
        self.matrix.sort_indices()  # rows within each column in order: postings can be binary-searched

    @classmethod
    def from_tokens(cls, documents: Iterable[Sequence[str]], *, k1: float = 1.2, b: float = 0.75) -> "SparseIndex":
        """Index tokenised documents (row i is document i), read once, in one pass.

        ``documents`` may be a generator: each document's distinct tokens and counts go
        into flat numpy arrays as it comes, so a million passages cost a few bytes per
        posting, not a Python object per token. Columns are numbered in order of first
        appearance (a document's new tokens in sorted order).
        """
        from scipy.sparse import csr_matrix

        vocab: dict[str, int] = {}
        rows, cols, tfs = array("i"), array("i"), array("f")
        lengths = array("d")
        for i, doc in enumerate(documents):
            counts = Counter(doc)
            for token in sorted(counts):
                rows.append(i)
                cols.append(vocab.setdefault(token, len(vocab)))
                tfs.append(counts[token])
            lengths.append(len(doc))
        n = len(lengths)
        rows, cols, tf = (np.frombuffer(a, dtype) if len(a) else np.zeros(0, dtype)
                          for a, dtype in ((rows, np.int32), (cols, np.int32), (tfs, np.float32)))
        df = np.bincount(cols, minlength=len(vocab)).astype(float)
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
        lengths = np.frombuffer(lengths, float) if n else np.zeros(0)
        avg = lengths.mean() if n and lengths.mean() > 0 else 1.0
        norm = k1 * (1 - b + b * lengths / avg)
        tf64 = tf.astype(float)
        vals = (idf[cols] * tf64 * (k1 + 1) / (tf64 + norm[rows])).astype(np.float32)
        matrix = csr_matrix((vals, (rows, cols)), shape=(n, len(vocab)))
        return cls(matrix, vocab, idf.astype(np.float32), {"k1": k1, "b": b})

    def scores(self, query: Mapping[str, float]) -> np.ndarray:
        """BM25 score of every document for weighted query tokens (unknown tokens add nothing)."""
        weights: dict[int, float] = {}
        for token, weight in query.items():
            j = self.vocab.get(token)
            if j is not None:
                weights[j] = weights.get(j, 0.0) + weight
        n = self.matrix.shape[0]
        if not weights:
            return np.zeros(n, np.float32)
        indptr, indices, data = self.matrix.indptr, self.matrix.indices, self.matrix.data
        cols = list(weights)
        rows = np.concatenate([indices[indptr[j]:indptr[j + 1]] for j in cols])
        values = np.concatenate([data[indptr[j]:indptr[j + 1]] * np.float32(weights[j]) for j in cols])
        return np.bincount(rows, weights=values, minlength=n).astype(np.float32)

    def holding(self, tokens: Sequence[str], rows: Sequence[int]) -> list[set[str]]:
        """For each of ``rows``, which of ``tokens`` its passage holds (from the postings: no re-tokenizing)."""
        rows = np.asarray(rows, np.int64)
        out = [set() for _ in rows]
        indptr, indices = self.matrix.indptr, self.matrix.indices  # each column's rows sorted (see __init__)
        for token in tokens:
            j = self.vocab.get(token)
            if j is not None:  # a binary search per hit in the posting list: the cost does not grow with it
                postings = indices[indptr[j]:indptr[j + 1]]
                at = np.minimum(np.searchsorted(postings, rows), max(len(postings) - 1, 0))
                for i in np.flatnonzero(postings[at] == rows) if len(postings) else ():
                    out[i].add(token)
        return out

    def rank(self, query: Mapping[str, float], k: int, *, allowed: np.ndarray | Sequence[int] | None = None,
             ) -> list[tuple[int, float]]:
        """The top ``k`` (row, score) pairs with a positive score, best first, ties by row.

        Args:
            query: token → weight.
            k: how many.
            allowed: only these rows: a boolean mask over the rows, or row numbers.
        """
        return top_k(self.scores(query), k, allowed=allowed)

    def save(self, folder: Path) -> None:
        """Write ``bm25.npz`` (scipy's npz, no pickle) and ``bm25-vocab.json``."""
        from scipy.sparse import save_npz

        save_npz(Path(folder) / MATRIX, self.matrix)
        tokens = sorted(self.vocab, key=self.vocab.get)
        data = {"params": self.params, "tokens": tokens, "idf": [round(float(x), 6) for x in self.idf]}
        (Path(folder) / VOCAB).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "SparseIndex":
        """Read what :meth:`save` wrote.

        Raises:
            IndexFormatError: a file is missing or damaged.
        """
        from scipy.sparse import load_npz

        try:
            matrix = load_npz(Path(folder) / MATRIX).tocsr()
            data = json.loads((Path(folder) / VOCAB).read_text(encoding="utf-8"))
            vocab = {token: i for i, token in enumerate(data["tokens"])}
            idf = np.array(data["idf"], np.float32)
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            raise IndexFormatError(f"the BM25 files in {folder} are missing or damaged ({exc}); {REBUILD_HINT}") from exc
        if matrix.shape[1] != len(vocab) or len(idf) != len(vocab) or math.isnan(float(idf.sum())):
            raise IndexFormatError(f"the BM25 files in {folder} disagree with each other; {REBUILD_HINT}")
        return cls(matrix, vocab, idf, data["params"])


def top_k(scores: np.ndarray, k: int, *, allowed: np.ndarray | Sequence[int] | None = None) -> list[tuple[int, float]]:
    """The ``k`` best (row, score) pairs of ``scores`` with a positive score, best first, ties by row.

    Args:
        scores: one score per row.
        k: how many.
        allowed: only these rows: a boolean mask over the rows, or row numbers.
    """
    positive = scores > 0
    if allowed is not None:
        allowed = np.asarray(allowed)
        if allowed.dtype != bool:
            mask = np.zeros(len(scores), bool)
            mask[allowed.astype(np.int64)] = True
            allowed = mask
        positive &= allowed
    rows = np.flatnonzero(positive)
    if len(rows) > k:  # keep the k best, and every row tied with the k-th, before the exact sort
        kth = np.partition(scores[rows], len(rows) - k)[len(rows) - k]
        rows = rows[scores[rows] >= kth]
    order = rows[np.lexsort((rows, -scores[rows]))][:k]
    return [(int(r), float(scores[r])) for r in order]
