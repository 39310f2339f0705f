"""BM25 over Lao-aware tokens, with weighted query terms, stored as plain numpy/scipy files.

Each document row holds its BM25 term weights, ``idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))``,
so a query is one sparse matrix-vector product. Query terms carry weights, which
the language bridge needs (a dictionary gloss counts less than a word typed).
"""

from __future__ import annotations

import functools
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

MATRIX, VOCAB, COUNTS = "bm25.npz", "bm25-vocab.json", "bm25-counts.npz"
ROW_BLOCK = 1 << 16  # rows scored at a time: 512 KB of float64 sums, within a core's L2 cache
# From this many rows the sums outgrow the cache and BM25 is scored in compiled loops (measured: at
# 1.28 M rows 12 ms a question against 35); below, numpy's bincount, without numba's load.
COMPILED_FROM = 200_000


class SparseIndex:
    """A BM25 index: a (documents × vocabulary) matrix of term weights, stored by column (CSC).

    A query touches only its own terms' columns (their postings), summed by numpy or, in a
    big library, in compiled loops (:mod:`search.index.postings`): ranking costs what those
    postings hold plus one pass over the rows, never a Python loop over the library.

    Args:
        matrix: the weights, one row per passage (any scipy sparse format; kept as CSC).
        vocab: token → column.
        idf: inverse document frequency per column.
        params: ``{"k1": …, "b": …}``.
    """

    def __init__(self, matrix, vocab: dict[str, int], idf: np.ndarray, params: dict, counts=None):
        self.matrix, self.vocab, self.idf, self.params = matrix.tocsc(), vocab, idf, params
        self.matrix.sort_indices()  # rows within each column in order: postings can be binary-searched
        self.counts = counts  # the raw term counts (CSR), kept by a build so that the next one can update them

    @classmethod
    def from_tokens(cls, documents: Iterable[Sequence[str]], *, k1: float = 1.2, b: float = 0.75) -> "SparseIndex":
        """Index tokenised documents (row i is document i), read once, in one pass.

        ``documents`` may be a generator: each document's distinct tokens and counts go
        into flat numpy arrays as it comes, so a million passages cost a few bytes per
        posting, not a Python object per token. Columns are numbered in order of first
        appearance (a document's new tokens in sorted order).
        """
        vocab: dict[str, int] = {}
        return cls.from_counts(_count(documents, vocab), vocab, k1=k1, b=b)

    @classmethod
    def from_counts(cls, counts, vocab: dict[str, int], *, k1: float = 1.2, b: float = 0.75) -> "SparseIndex":
        """Index raw term counts: a (documents × vocabulary) CSR matrix of how often each token occurs.

        A document's length is its row's sum (every token counted, repeats too), as
        :meth:`from_tokens` counts it.
        """
        from scipy.sparse import csr_matrix

        counts = csr_matrix(counts, dtype=np.float32)
        n = counts.shape[0]
        cols = counts.indices
        rows = np.repeat(np.arange(n, dtype=np.int32), np.diff(counts.indptr))
        df = np.bincount(cols, minlength=len(vocab)).astype(float)
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
        lengths = np.asarray(counts.sum(axis=1), float).ravel() if n else np.zeros(0)
        avg = lengths.mean() if n and lengths.mean() > 0 else 1.0
        norm = k1 * (1 - b + b * lengths / avg)
        tf64 = counts.data.astype(float)
        vals = (idf[cols] * tf64 * (k1 + 1) / (tf64 + norm[rows])).astype(np.float32)
        matrix = csr_matrix((vals, cols, counts.indptr), shape=(n, len(vocab)))
        return cls(matrix, vocab, idf.astype(np.float32), {"k1": k1, "b": b}, counts)

    def updated(self, pieces: Sequence[np.ndarray | Sequence[Sequence[str]]]) -> "SparseIndex":
        """The index of a changed library, from this one's counts and only the new reports' tokens.

        Args:
            pieces: the new index's rows, in order: each piece either an array of this index's
                rows (a report kept as it was) or a list of tokenised documents (a report read anew).

        The result scores every passage as :meth:`from_tokens` over the whole library would
        (statistics, idf and lengths, recomputed over every row); only the columns' order differs,
        and tokens no passage holds any more are dropped. The cost is one pass over the counts'
        arrays, not a tokenizing of the library.
        """
        from scipy.sparse import csr_matrix, vstack

        if self.counts is None:
            raise ValueError("this index was loaded without its counts")
        vocab, old = dict(self.vocab), self.counts
        order, fresh, start = [], [], old.shape[0]
        for piece in pieces:
            if isinstance(piece, np.ndarray):
                order.append(piece.astype(np.int64))
            else:
                order.append(np.arange(start, start + len(piece)))
                fresh.extend(piece)
                start += len(piece)
        new = _count(fresh, vocab)
        old = csr_matrix((old.data, old.indices, old.indptr), shape=(old.shape[0], len(vocab)))
        counts = vstack([old, csr_matrix(new, shape=(len(fresh), len(vocab)))], format="csr")
        counts = counts[np.concatenate(order)] if order else counts[:0]
        df = np.bincount(counts.indices, minlength=len(vocab))
        if (df == 0).any():  # a removed report's own tokens: drop their columns, keep the rest in order
            keep = np.flatnonzero(df)
            counts = counts[:, keep]
            tokens = sorted(vocab, key=vocab.get)
            vocab = {tokens[j]: i for i, j in enumerate(keep)}
        counts.sort_indices()
        return SparseIndex.from_counts(counts, vocab, k1=self.params["k1"], b=self.params["b"])

    def _columns(self, query: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """The query's known columns, in order of first appearance, and their summed weights (float32)."""
        weights: dict[int, float] = {}
        for token, weight in query.items():
            j = self.vocab.get(token)
            if j is not None:
                weights[j] = weights.get(j, 0.0) + weight
        return (np.fromiter(weights, np.int64, len(weights)),
                np.fromiter(weights.values(), np.float64, len(weights)).astype(np.float32))

    @property
    def compiled(self) -> bool:
        """Whether queries are scored in compiled loops (a big library) or by numpy."""
        return self.matrix.shape[0] >= COMPILED_FROM

    def _accumulate(self, query: Mapping[str, float]) -> np.ndarray:
        """Each row's score before rounding to float32: float64 sums of float32 products, in query order."""
        cols, weights = self._columns(query)
        n, (indptr, indices, data) = self.matrix.shape[0], (self.matrix.indptr, self.matrix.indices, self.matrix.data)
        if not len(cols):
            return np.zeros(n)
        if self.compiled:
            acc = np.zeros(n)
            _kernels().accumulate(indptr, indices, data, cols, weights, acc, ROW_BLOCK)
            return acc
        rows = np.concatenate([indices[indptr[j]:indptr[j + 1]] for j in cols])
        values = np.concatenate([data[indptr[j]:indptr[j + 1]] * w for j, w in zip(cols, weights)])
        return np.bincount(rows, weights=values, minlength=n)

    def scores(self, query: Mapping[str, float]) -> np.ndarray:
        """BM25 score of every document for weighted query tokens (unknown tokens add nothing)."""
        return self._accumulate(query).astype(np.float32)

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
        return top_k(self._accumulate(query), k, allowed=allowed)

    def warm_up(self) -> None:
        """Load the compiled loops of a big library now (about half a second, more the first time they
        are compiled) rather than at the first search."""
        if self.compiled and self.vocab:
            self.rank({next(iter(self.vocab)): 1.0}, 1)

    def save(self, folder: Path) -> None:
        """Write ``bm25.npz`` (scipy's npz, no pickle, uncompressed: a million passages' matrix
        loads in 0.75 s instead of 2.8), ``bm25-vocab.json`` and, when known, the raw counts
        ``bm25-counts.npz`` (read only by the next build, :meth:`updated`)."""
        from scipy.sparse import save_npz

        save_npz(Path(folder) / MATRIX, self.matrix, compressed=False)
        if self.counts is not None:
            save_npz(Path(folder) / COUNTS, self.counts, compressed=False)
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
            matrix = load_npz(Path(folder) / MATRIX)  # CSC as saved: no conversion
            data = json.loads((Path(folder) / VOCAB).read_text(encoding="utf-8"))
            vocab = {token: i for i, token in enumerate(data["tokens"])}
            idf = np.array(data["idf"], np.float32)
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            raise IndexFormatError(f"the BM25 files in {folder} are missing or damaged ({exc}); {REBUILD_HINT}") from exc
        if matrix.shape[1] != len(vocab) or len(idf) != len(vocab) or math.isnan(float(idf.sum())):
            raise IndexFormatError(f"the BM25 files in {folder} disagree with each other; {REBUILD_HINT}")
        return cls(matrix, vocab, idf, data["params"])

    def load_counts(self, folder: Path) -> "SparseIndex":
        """This index with its raw counts read from ``folder`` (what a build updates).

        Raises:
            IndexFormatError: the counts are missing, damaged or do not fit the matrix.
        """
        from scipy.sparse import load_npz

        try:
            counts = load_npz(Path(folder) / COUNTS).tocsr()
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            raise IndexFormatError(f"the BM25 counts in {folder} are missing or damaged ({exc}); {REBUILD_HINT}") from exc
        if counts.shape != self.matrix.shape or counts.nnz != self.matrix.nnz:
            raise IndexFormatError(f"the BM25 counts in {folder} disagree with its matrix; {REBUILD_HINT}")
        return SparseIndex(self.matrix, self.vocab, self.idf, self.params, counts)


def _count(documents: Iterable[Sequence[str]], vocab: dict[str, int]):
    """A CSR matrix of the documents' raw term counts, one row each; new tokens get the next columns
    of ``vocab`` (a document's new tokens in sorted order)."""
    from scipy.sparse import csr_matrix

    rows, cols, tfs = array("i"), array("i"), array("f")
    n = 0
    for i, doc in enumerate(documents):
        counts = Counter(doc)
        for token in sorted(counts):
            rows.append(i)
            cols.append(vocab.setdefault(token, len(vocab)))
            tfs.append(counts[token])
        n = i + 1
    rows, cols, tf = (np.frombuffer(a, dtype) if len(a) else np.zeros(0, dtype)
                      for a, dtype in ((rows, np.int32), (cols, np.int32), (tfs, np.float32)))
    return csr_matrix((tf, (rows, cols)), shape=(n, len(vocab)))


def top_k(scores: np.ndarray, k: int, *, allowed: np.ndarray | Sequence[int] | None = None) -> list[tuple[int, float]]:
    """The ``k`` best (row, score) pairs with a positive score, best first, ties by row.

    Scores are float32, or float64 sums that are ranked as they round to float32 (what
    :meth:`SparseIndex.scores` returns), so either gives the same answer. Only rows at or
    above a floor are sorted: the ``k``-th best score of every ``step``-th row can be no
    better than the ``k``-th best of all rows, and a sample of sqrt(k × rows) rows makes
    the floor cost about as much as the rows above it.

    Args:
        scores: one score per row.
        k: how many.
        allowed: only these rows: a boolean mask over the rows, or row numbers.
    """
    n = len(scores)
    if k <= 0 or n == 0:
        return []
    mask = None
    if allowed is not None:
        mask = np.asarray(allowed)
        if mask.dtype != bool:
            rows = mask.astype(np.int64)
            mask = np.zeros(n, bool)
            mask[rows] = True
    step = max(1, int(math.sqrt(n / k)))
    sample = scores[::step].astype(np.float32)
    if mask is not None:
        sample = sample[mask[::step]]
    sample = sample[sample > 0]
    floor = np.partition(sample, len(sample) - k)[len(sample) - k] if len(sample) >= k else np.float32(0)
    below = float(np.nextafter(floor, np.float32(0))) if floor > 0 else 0.0  # a sum rounding to floor is above it
    above = scores > below  # one comparison a row; rounding only for the few above
    if mask is not None:
        above &= mask
    rows = np.flatnonzero(above)
    values = scores[rows].astype(np.float32)
    keep = (values > 0) & (values >= floor)
    rows, values = rows[keep], values[keep]
    return [(int(rows[i]), float(values[i])) for i in top_indices(values, k)]  # rows ascend: ties go by row


def top_indices(scores: np.ndarray, n: int) -> np.ndarray:
    """The indices of the ``n`` highest scores, best first, ties to the lower index (a stable sort's first n)."""
    if n < len(scores):  # keep the n best, and every index tied with the n-th, before the exact sort
        kth = np.partition(scores, len(scores) - n)[len(scores) - n]
        candidates = np.flatnonzero(scores >= kth)
    else:
        candidates = np.arange(len(scores))
    return candidates[np.lexsort((candidates, -scores[candidates]))][:n]


@functools.cache
def _kernels():
    """The compiled loops (numba), imported when a big library is first searched: importing numba takes a moment."""
    from search.index import postings

    return postings
