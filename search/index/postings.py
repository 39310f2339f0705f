"""Compiled loops over BM25 posting lists (numba), for :mod:`search.index.sparse`.

A million passages give posting lists of hundreds of thousands of rows, and a Lao
question with its translations touches 1–2 million postings. numpy's scatter-add
(``bincount``) over them costs about 15 ns a posting, most of it cache misses on the
array of sums (10 MB); this loop walks the rows in blocks whose sums stay in the core's
cache, about 5 ns a posting. It computes exactly what the numpy formula does (float32
products summed in float64, in query order), so rankings do not move by a bit.
Compiled once, then cached beside this file (numba's ``cache``); used only for libraries
big enough to need it (:data:`search.index.sparse.COMPILED_FROM`), since importing numba
costs about half a second and 95 MB of shared libraries.
"""

from __future__ import annotations

import numpy as np
from numba import njit


def _compiled(function):
    """``function`` compiled, its machine code kept on disk for the next process when there is a place for it."""
    try:
        return njit(cache=True, nogil=True)(function)
    except RuntimeError:  # a read-only install and no writable cache folder: compile in each process
        return njit(nogil=True)(function)


@_compiled
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
