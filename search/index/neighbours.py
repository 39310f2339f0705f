"""Keeping each vector's nearest neighbours up to date when reports are added or removed.

The hub discount needs every vector's mean cosine with its ``HUB_NEIGHBOURS`` nearest others in its index
(:mod:`search.index.hubness`). Measured again for every vector, an upload to a library of 128,000 passages
spent 20 s on it. A build keeps each vector's neighbours, their scores and the clusters its search scanned
(``neighbours.npy``, ``neighbour-scores.npy``), and an update measures only what can have moved:

* a new vector (or one whose centering moved: its language's mean is the library's own) is searched as
  a full build searches it;
* a kept vector that had a vector now gone among its neighbours is searched again;
* every other kept vector keeps its list, merged with the new vectors it would have met: those in the
  clusters its own search scanned (all of them for an exact index), scored by FAISS as the full search
  scores them (same codes, same clusters' scores).

The result is the list a full measurement gives, so the hubness is the same (ties may swap neighbours of
equal score, never the mean). It needs the previous index's clusters unchanged; otherwise, or when more
than half the vectors would be searched again anyway, everything is measured again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from search.index.dense import DenseIndex
from search.index.records import NEIGHBOUR_SCORES, NEIGHBOURS
from search.index.hubness import HUB_NEIGHBOURS, HUB_NPROBE, Neighbourhoods, gather, measure, search_clusters

REDO_SHARE = 0.5  # when more of the vectors than this would be searched again, all are (as fast, and simpler)


def updated(previous: Neighbourhoods | None, index: DenseIndex, vectors: np.ndarray | Sequence[np.ndarray],
            carried: np.ndarray, moved: np.ndarray, *, like: DenseIndex | None = None,
            neighbours: int = HUB_NEIGHBOURS, nprobe: int = HUB_NPROBE,
            progress: Callable[[int, int], None] | None = None) -> Neighbourhoods:
    """The :class:`Neighbourhoods` of every row of ``index`` (whose rows are ``vectors``), from the previous
    index's where they hold.

    Args:
        previous: the previous index's neighbourhoods (None: measure every row).
        index: the new index.
        vectors: its rows, as :func:`search.index.hubness.measure` takes them.
        carried: each row's row in the previous index (-1 for a new vector).
        moved: rows whose vector is not the one the previous index held (centered otherwise).
        like: the previous index (its clusters must be ``index``'s for the lists to be reused).
        neighbours, nprobe: as :func:`search.index.hubness.measure`.
        progress: called as ``progress(done, total)``, ``total`` being every row.
    """
    parts = [vectors] if isinstance(vectors, np.ndarray) else list(vectors)
    n = sum(len(v) for v in parts)
    carried = np.asarray(carried, np.int64)
    kept = np.flatnonzero((carried >= 0) & ~np.asarray(moved, bool))
    if previous is None or not _comparable(previous, index, like, n, neighbours, nprobe):
        return measure(index, parts, neighbours=neighbours, nprobe=nprobe, progress=progress)
    new_of_old = np.full(len(previous) + 1, -1, np.int64)  # the last slot answers -1 for -1
    new_of_old[carried[kept]] = kept
    old = carried[kept]
    old_ids = previous.ids[old].astype(np.int64)
    mapped = new_of_old[np.where(old_ids >= 0, old_ids, len(previous))]
    lost = ((old_ids >= 0) & (mapped < 0)).any(axis=1)
    searched = np.ones(n, bool)
    searched[kept[~lost]] = False
    fresh = np.setdiff1d(np.arange(n), kept, assume_unique=True)
    redo = np.flatnonzero(searched)
    if len(redo) > REDO_SHARE * n:
        return measure(index, parts, neighbours=neighbours, nprobe=nprobe, progress=progress)
    out = Neighbourhoods.empty(n, neighbours, nprobe)
    out.put(kept, Neighbourhoods(mapped.astype(np.int32), previous.scores[old], previous.probes[old],
                                 previous.probe_scores[old]))
    out.put(redo, measure(index, parts, rows=redo, neighbours=neighbours, nprobe=nprobe))
    if len(fresh) and len(redo) < n:
        _meet(out, ~searched, fresh, index, parts, min(neighbours, n - 1))
    if progress:
        progress(n, n)
    return out


def _comparable(previous: Neighbourhoods, index: DenseIndex, like: DenseIndex | None, n: int, neighbours: int,
                nprobe: int) -> bool:
    """Whether the previous lists can be reused: as many neighbours wanted, and the same clusters (or none)."""
    if previous.ids.shape[1] != neighbours or previous.probes.shape[1] != nprobe or like is None:
        return False
    if min(neighbours, n - 1) != min(neighbours, len(previous) - 1) or n < 2:
        return False
    if index.exact or like.exact:
        return index.exact and like.exact
    d = index.dimension
    theirs = like.centroids(d, like.index.nlist)
    return theirs is not None and index.index.nlist == like.index.nlist and np.array_equal(
        theirs, index.centroids(d, index.index.nlist))


def _meet(out: Neighbourhoods, stay: np.ndarray, fresh: np.ndarray, index: DenseIndex, parts, wanted: int) -> None:
    """Merge into the lists of the rows where ``stay`` is true the rows ``fresh`` each would have found: an index
    of the fresh vectors alone, of the same kind and clusters, searched in each row's own scanned clusters (in
    an inverted file, only the clusters that hold a fresh vector: a row that scans none is not searched)."""
    import faiss

    fresh_vectors = gather(parts, fresh)
    small = index.emptied()
    if index.exact:
        small.index.add(fresh_vectors)
    else:
        places = index.places()[fresh]
        small.index.add_core(len(fresh), faiss.swig_ptr(fresh_vectors), faiss.swig_ptr(np.ascontiguousarray(fresh)),
                             faiss.swig_ptr(np.ascontiguousarray(places)))
        holds = np.zeros(index.index.nlist + 1, bool)  # the last slot answers for -1
        holds[places] = True
    start = 0
    for part in parts:  # each part searched where it lies, whole: its rows are not copied
        rows = np.arange(start, start + len(part))
        start += len(part)
        vectors = np.ascontiguousarray(part, dtype=np.float32)
        if index.exact:
            scores, found = small.search_matrix(vectors, wanted)
            ids = np.where(found >= 0, fresh[np.maximum(found, 0)], -1)
            queries = np.flatnonzero(stay[rows])
        else:
            probes = out.probes[rows]
            scanned = holds[probes] & stay[rows][:, None]  # a cluster scanned that holds a fresh vector
            queries = np.flatnonzero(scanned.any(axis=1))
            if not len(queries):
                continue
            # the other rows scan no cluster (-1): FAISS passes over them
            scores, ids = search_clusters(small, vectors, wanted, np.where(scanned, probes, -1), out.probe_scores[rows])
        _merge(out, rows[queries], ids[queries], scores[queries], wanted)


def _merge(out: Neighbourhoods, queries: np.ndarray, ids: np.ndarray, scores: np.ndarray, wanted: int) -> None:
    """Rows ``queries``' lists merged with the ids and scores found for them (best first, -1 for none)."""
    merged_ids = np.concatenate([out.ids[queries].astype(np.int64), ids], axis=1)
    merged_scores = np.concatenate([out.scores[queries], scores], axis=1)
    rank = np.where(merged_ids >= 0, merged_scores, -np.inf)
    order = np.argsort(-rank, axis=1, kind="stable")[:, :out.ids.shape[1]]
    top_ids = np.take_along_axis(merged_ids, order, axis=1)
    top_scores = np.take_along_axis(merged_scores, order, axis=1)
    keep = np.arange(order.shape[1]) < wanted  # no more than a full measurement keeps
    out.ids[queries] = np.where(keep & (top_ids >= 0), top_ids, -1)
    out.scores[queries] = np.where(keep & (top_ids >= 0), top_scores, 0)


def save_neighbourhoods(folder: Path, neighbourhoods: Neighbourhoods) -> None:
    """Write ``neighbours.npy`` (each row's neighbour ids, then its scanned clusters; int32) and
    ``neighbour-scores.npy`` (their scores; float32), plain numpy."""
    np.save(folder / NEIGHBOURS, np.hstack([neighbourhoods.ids, neighbourhoods.probes]), allow_pickle=False)
    np.save(folder / NEIGHBOUR_SCORES, np.hstack([neighbourhoods.scores, neighbourhoods.probe_scores]), allow_pickle=False)


def load_neighbourhoods(folder: Path, rows: int, *, neighbours: int = HUB_NEIGHBOURS,
                        nprobe: int = HUB_NPROBE) -> Neighbourhoods | None:
    """What :func:`save_neighbourhoods` wrote for ``rows`` rows; None when missing, damaged, or of other settings
    (the next build then measures every row)."""
    try:
        ids = np.load(folder / NEIGHBOURS, mmap_mode="r", allow_pickle=False)
        scores = np.load(folder / NEIGHBOUR_SCORES, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    shape = (rows, neighbours + nprobe)
    if ids.shape != shape or scores.shape != shape or ids.dtype != np.int32 or scores.dtype != np.float32:
        return None
    return Neighbourhoods(ids[:, :neighbours], scores[:, :neighbours], ids[:, neighbours:], scores[:, neighbours:])
