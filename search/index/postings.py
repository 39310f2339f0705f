"""Compiled loops over BM25 posting lists (numba), for :mod:`search.index.sparse`.

A million passages give posting lists of hundreds of thousands of rows, and a Lao
question with its translations touches 1–2 million postings. numpy's scatter-add
(``bincount``) over them costs about 15 ns a posting, most of it cache misses on the
score array; these loops walk the rows in blocks that stay in the CPU's cache, and
pick the top rows without sorting every positive one. They compute exactly what the
numpy formulas do (float32 products summed in float64, query order), so rankings do
not move by a bit. Compiled once, then cached beside this file (numba's ``cache``).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def accumulate(indptr, indices, data, cols, weights, acc, block):  # pragma: no cover - compiled
    """Add ``weights[t] * data`` of each column ``cols[t]`` to ``acc`` at its rows, ``block`` rows at a time.

    Every row receives its terms in query order (the order of ``cols``), each product
    rounded to float32 and added in float64: the same sums as
    ``np.bincount(rows, weights=values)`` over the query's concatenated postings.
    Rows within a column must be sorted (CSC with sorted indices).
    """
    m = cols.shape[0]
    pos = np.empty(m, np.int64)
    end = np.empty(m, np.int64)
    for t in range(m):
        pos[t] = indptr[cols[t]]
        end[t] = indptr[cols[t] + 1]
    for lo in range(0, acc.shape[0], block):
        hi = lo + block
        for t in range(m):
            p, e, w = pos[t], end[t], weights[t]
            while p < e and indices[p] < hi:
                acc[indices[p]] += data[p] * w
                p += 1
            pos[t] = p


@njit(cache=True, nogil=True)
def at_least(sums, floor, below, mask, out):  # pragma: no cover - compiled
    """Write to ``out`` the rows whose sum, rounded to float32, is positive and at least ``floor``;
    only rows where ``mask`` is true, unless ``mask`` is empty. Returns how many.

    ``below`` is a float64 under which no sum can round to ``floor`` (or to a positive
    value): one comparison, rarely true, rejects most rows before any rounding.
    """
    count = 0
    masked = mask.shape[0] > 0
    for i in range(sums.shape[0]):
        if sums[i] > below:
            value = np.float32(sums[i])
            if value > 0 and value >= floor and (not masked or mask[i]):
                out[count] = i
                count += 1
    return count
