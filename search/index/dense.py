"""The dense vector index: inner product over L2-normalised vectors (cosine), in FAISS.

Vectors are kept as 16-bit floats. Exact search below ``IVF_FROM`` vectors; from there
on an inverted file: the vectors are clustered at build time (k-means, seeded) and a
search scans only the ``IVF_NPROBE`` clusters nearest the question. The threshold and
parameters are measured by ``bench/scale.py`` (docs/scaling.md); an HNSW graph was
measured too and lost recall on libraries with many repeated sentences.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from search.errors import REBUILD_HINT, IndexFormatError


IVF_FROM = 50_000  # vectors; below it exact search is fast enough (about 10 ms at most) and has no recall to lose
# The best-sentence list is scanned two or three times a question, so its own threshold is lower: on a
# 12,674-passage library (32,886 units) an inverted file took the sentence stage from 7.6 to 2.2 ms and
# search p50 from 12.7 to 7.4 ms, recall@100 1.0 either way. Passages keep 50,000: at 31,852 passages an
# inverted file found 0.989 of the exact top 100 (dense 4.2 -> 1.1 ms), where exact loses nothing.
UNITS_IVF_FROM = 20_000
IVF_LISTS_PER_SQRT = 4  # clusters: 4 × √n (1,429 at 128,000 vectors)
IVF_TRAIN_PER_LIST = 64  # k-means trains on at most this many vectors per cluster (a seeded sample)
REUSE_LISTS_WITHIN = 0.25  # a build reuses a previous inverted file's clusters while their number is this close
IVF_NPROBE = 64  # clusters scanned per search: recall@100 0.996 at 128,000 stand-in vectors, 1.1 ms
HUB_FETCH = 2  # a search discounting hubs ranks this many times the ids it returns (docs/library.md)


class DenseIndex:
    """A FAISS inner-product index: exact (flat) for small libraries, an inverted file for big ones.

    Args:
        index: a FAISS inner-product index: flat (``IndexScalarQuantizer`` in float16, or
            ``IndexFlatIP``) or an inverted file (``IndexIVFScalarQuantizer`` or ``IndexIVFFlat``).
    """

    def __init__(self, index):
        self.index = index
        self.hubness: np.ndarray | None = None  # per id, set by the stored index (search/index/hubness.py)

    @classmethod
    def from_vectors(cls, vectors: np.ndarray | Sequence[np.ndarray], *, ivf_from: int = IVF_FROM, half: bool = True,
                     like: "DenseIndex | None" = None, carried: np.ndarray | None = None) -> "DenseIndex":
        """Build an index over rows of ``vectors`` (already L2-normalised); row i gets id i.

        Args:
            vectors: the rows to index: one array, or arrays whose rows follow each other (added in turn,
                so that a caller need not stack them into a copy).
            ivf_from: from this many rows on, build an inverted file instead of an exact index.
            half: keep the vectors as 16-bit floats: half the memory, and faster to scan (less to
                read). Scores move by about 1e-4; on the dev set every question's answer keeps its
                rank, and only near-ties below it swap (two top-10 lists of 66).
            like: a previous build's index of the same vectors, more or less: when it is an inverted
                file whose number of clusters is within ``REUSE_LISTS_WITHIN`` of this one's, its
                clusters are taken as they are instead of training k-means again (27 s of a 128,000
                passage build). Adding or removing a report moves few vectors and no cluster far.
            carried: with ``like``'s clusters, each row's id in ``like`` (-1 for a new vector): a kept
                vector goes to the cluster it was in, and only new ones are compared with the centres.
        """
        import faiss

        parts = [np.ascontiguousarray(v, dtype=np.float32) for v in ([vectors] if isinstance(vectors, np.ndarray)
                                                                       else vectors)]
        d = parts[0].shape[1]
        n = sum(len(v) for v in parts)
        starts = np.cumsum([0] + [len(v) for v in parts])

        def rows(ids: np.ndarray) -> np.ndarray:  # rows ``ids`` (ascending) of the parts, as one array
            return np.concatenate([v[ids[(ids >= a) & (ids < b)] - a] for v, a, b in zip(parts, starts, starts[1:])])

        ip, fp16 = faiss.METRIC_INNER_PRODUCT, faiss.ScalarQuantizer.QT_fp16
        if n < ivf_from:
            index = faiss.IndexScalarQuantizer(d, fp16, ip) if half else faiss.IndexFlatIP(d)
        else:
            lists = max(1, int(IVF_LISTS_PER_SQRT * np.sqrt(n)))
            centroids = like.centroids(d, lists) if like is not None else None
            quantizer = faiss.IndexFlatIP(d)
            if centroids is not None:
                lists = len(centroids)
                quantizer.add(centroids)  # a trained quantizer: IndexIVF.train leaves it as it is
            index = (faiss.IndexIVFScalarQuantizer(quantizer, d, lists, fp16, ip) if half
                     else faiss.IndexIVFFlat(quantizer, d, lists, ip))
            if centroids is None:
                sample = np.random.default_rng(0).choice(n, min(n, IVF_TRAIN_PER_LIST * lists), replace=False)
                index.train(rows(np.sort(sample)))
            else:  # only the 16-bit coder is left to train, which needs no statistics: a few rows will do
                index.train(rows(np.arange(min(n, 256))))
                if carried is not None and len(carried) == n:
                    places = like.places()
                    carried = np.asarray(carried, np.int64)
                    known = (carried >= 0) & (carried < len(places))
                    assign = np.full(n, -1, np.int64)
                    assign[known] = places[carried[known]]
                    fresh = np.flatnonzero(assign < 0)
                    if len(fresh):
                        assign[fresh] = quantizer.search(rows(fresh), 1)[1].ravel()
                    for v, a in zip(parts, starts):
                        if len(v):
                            part_assign = np.ascontiguousarray(assign[a:a + len(v)])
                            index.add_core(len(v), faiss.swig_ptr(v), None, faiss.swig_ptr(part_assign))
                    return cls(index)
        for v in parts:
            if len(v):
                index.add(v)
        return cls(index)

    def places(self) -> np.ndarray:
        """An inverted file's cluster of each id (-1 for an id in none)."""
        import faiss

        out = np.full(len(self), -1, np.int64)
        lists = self.index.invlists
        for cluster in range(self.index.nlist):
            size = lists.list_size(cluster)
            if size:
                out[faiss.rev_swig_ptr(lists.get_ids(cluster), size)] = cluster
        return out

    def emptied(self) -> "DenseIndex":
        """An empty index of the same kind, coding vectors as this one does; an inverted file keeps its clusters
        (add to it with ``add_core`` and the clusters to put each vector in)."""
        import faiss

        index = faiss.downcast_index(self.index)
        d, ip = self.dimension, faiss.METRIC_INNER_PRODUCT
        if self.exact:
            return DenseIndex(faiss.IndexFlatIP(d) if isinstance(index, faiss.IndexFlat)
                              else faiss.IndexScalarQuantizer(d, index.sq.qtype, ip))
        quantizer = faiss.IndexFlatIP(d)
        quantizer.add(faiss.downcast_index(index.quantizer).reconstruct_n(0, index.nlist))
        if isinstance(index, faiss.IndexIVFScalarQuantizer):
            empty = faiss.IndexIVFScalarQuantizer(quantizer, d, index.nlist, index.sq.qtype, ip, index.by_residual)
            empty.train(quantizer.reconstruct_n(0, min(index.nlist, 256)))  # the coder: 16-bit floats need no statistics
        else:
            empty = faiss.IndexIVFFlat(quantizer, d, index.nlist, ip)
        return DenseIndex(empty)

    def centroids(self, d: int, lists: int) -> np.ndarray | None:
        """This inverted file's cluster centres, if it has about ``lists`` of ``d`` dimensions (else None)."""
        import faiss

        if self.exact or self.dimension != d or abs(self.index.nlist - lists) > REUSE_LISTS_WITHIN * lists:
            return None
        quantizer = faiss.downcast_index(self.index.quantizer)
        return quantizer.reconstruct_n(0, self.index.nlist)

    @property
    def exact(self) -> bool:
        """True for an exact (flat) index."""
        return not hasattr(self.index, "nprobe")

    @staticmethod
    def selector(ids: np.ndarray):
        """A FAISS selector of these ids, to pass to :meth:`search` (make it once per filter, not per search).

        A bitmap (one bit per id up to the largest): FAISS asks it about every vector it scans,
        and a bit costs less than a hash-set lookup (``IDSelectorBatch``): at 2.5 million
        sentences, the 0.94 million that state a quantity were searched in 3.6 ms instead of 8.3.
        """
        import faiss

        ids = np.asarray(ids, dtype=np.int64)
        bits = np.zeros(int(ids.max()) + 1 if len(ids) else 1, bool)
        bits[ids] = True
        bitmap = np.packbits(bits, bitorder="little")
        selector = faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap))
        selector.bitmap_array = bitmap  # FAISS reads it at every search: it lives as long as the selector
        return selector

    @classmethod
    def load(cls, path: Path) -> "DenseIndex":
        """Read an index written by :meth:`save`, its vectors memory-mapped (``IO_FLAG_MMAP_IFC``).

        Loading reads the header only (a million passages' 2 GB of sentence vectors: 0.25 s
        instead of 2.8), processes serving one index share one copy in the page cache, and
        results are the same bit for bit. A generation's files are never rewritten, so the
        mapping stays valid while a new build replaces the generation.

        Raises:
            IndexFormatError: the file is missing or not a FAISS index.
        """
        import faiss

        try:
            return cls(faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC))
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
        """All stored vectors, in id order (as stored: float16 indexes give them back rounded to 16 bits)."""
        if not len(self):
            return np.zeros((0, self.dimension), np.float32)
        if not self.exact:
            self.index.make_direct_map()
        return self.index.reconstruct_n(0, len(self))

    def search(self, queries: np.ndarray, k: int, *, allowed: Iterable[int] | None = None,
               selector=None, hub_weight: float = 0.0) -> list[list[tuple[int, float]]]:
        """Return, per query, up to ``k`` (id, cosine) pairs, best first, ties by id.

        Args:
            queries: L2-normalised query vectors, one per row.
            k: how many neighbours per query.
            allowed: restrict the search to these ids (a language filter).
            selector: the same, made once by :meth:`selector` (``allowed`` then gives only its size).
            hub_weight: rank by cosine less this share of each id's :attr:`hubness` (when it has one);
                the scores are then those differences.
        """
        out = []
        for ids, scores in self.search_arrays(queries, k, allowed=allowed, selector=selector, hub_weight=hub_weight):
            order = np.lexsort((ids, -scores))
            out.append([(int(i), float(s)) for i, s in zip(ids[order], scores[order])])
        return out

    def search_arrays(self, queries: np.ndarray, k: int, *, allowed: Iterable[int] | None = None,
                      selector=None, hub_weight: float = 0.0, nprobe: int = IVF_NPROBE) -> list[tuple[np.ndarray, np.ndarray]]:
        """As :meth:`search`, but per query an array of ids and one of scores, best first (FAISS's order).

        With ``hub_weight``, the ``HUB_FETCH`` × ``k`` ids closest by cosine are ranked by the discounted score
        and the first ``k`` kept: a re-ranking of the cosine's head, as cheap as the plain search. (Discounting
        every vector instead gave the same fused top 10 for every dev question in the dev library; the
        lists' tails differ.) ``nprobe``: an inverted file's clusters scanned per query."""
        if not hub_weight or self.hubness is None:
            return self._search_arrays(queries, k, allowed=allowed, selector=selector, nprobe=nprobe)
        out = []
        for ids, scores in self._search_arrays(queries, HUB_FETCH * k, allowed=allowed, selector=selector, nprobe=nprobe):
            scores = scores - np.float32(hub_weight) * self.hubness[ids]
            order = np.argsort(-scores, kind="stable")[:k]
            out.append((ids[order], scores[order]))
        return out

    def _search_arrays(self, queries: np.ndarray, k: int, *, allowed: Iterable[int] | None = None,
                       selector=None, nprobe: int = IVF_NPROBE) -> list[tuple[np.ndarray, np.ndarray]]:
        scores, ids = self.search_matrix(queries, k, allowed=allowed, selector=selector, nprobe=nprobe)
        return [(row_ids[row_ids >= 0], row_scores[row_ids >= 0]) for row_ids, row_scores in zip(ids, scores)]

    def search_matrix(self, queries: np.ndarray, k: int, *, allowed: Iterable[int] | None = None,
                      selector=None, nprobe: int = IVF_NPROBE) -> tuple[np.ndarray, np.ndarray]:
        """FAISS's own answer: scores and ids, one row per query, at most ``k`` columns, -1 where no id was
        found (fewer than ``k`` allowed, or an inverted file's scanned clusters hold fewer)."""
        import faiss

        empty = np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
        if allowed is not None:
            ids = np.fromiter(allowed, dtype=np.int64) if selector is None else None
            size = len(ids) if ids is not None else len(allowed)
            if not size:
                return empty
            selector = selector if selector is not None else self.selector(ids)
            k = min(k, size)
        k = min(k, len(self))
        if k <= 0:
            return empty
        if self.exact:
            params = faiss.SearchParameters(sel=selector) if selector is not None else None
        else:
            params = faiss.SearchParametersIVF(nprobe=nprobe)
            if selector is not None:
                params.sel = selector
        threads = faiss.omp_get_max_threads()
        if len(queries) == 1:
            faiss.omp_set_num_threads(1)  # one question: a second thread costs more than it brings (measured)
        try:
            return self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k, params=params)
        finally:
            faiss.omp_set_num_threads(threads)
