"""What the hub discount adds to a build: each vector's mean cosine with its nearest neighbours, by library size.

    python bench/hubness.py --passages 127000 [--units-per-passage 1.5] [--repeat 1]

Synthetic vectors (384 dimensions, gathered around topics as a library's passages are), indexed as a build
indexes them (exact, or an inverted file from ``IVF_FROM`` passages and ``UNITS_IVF_FROM`` units); prints the
medians of writing the two FAISS indexes (the baseline, in the same process) and of the hubness of every
vector, and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from search.index.dense import UNITS_IVF_FROM, DenseIndex
from search.index.hubness import neighbour_similarity


def clustered(n: int, topics: int, d: int = 384, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(topics, d)).astype(np.float32)
    v = centres[rng.integers(0, topics, n)] + 1.2 * rng.normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=127_000)
    parser.add_argument("--units-per-passage", type=float, default=1.5)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    passages = clustered(args.passages, topics=max(10, args.passages // 300))
    units = clustered(int(args.passages * args.units_per_passage), topics=max(10, args.passages // 300), seed=1)
    index_s, hub_s = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        dense = DenseIndex.from_vectors(passages)
        unit_index = DenseIndex.from_vectors(units, ivf_from=UNITS_IVF_FROM)
        index_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        neighbour_similarity(dense, passages)
        neighbour_similarity(unit_index, units)
        hub_s.append(time.perf_counter() - start)
    index_m, hub_m = statistics.median(index_s), statistics.median(hub_s)
    kinds = "exact" if dense.exact else "inverted file", "exact" if unit_index.exact else "inverted file"
    print(f"{args.passages} passages ({kinds[0]}), {len(units)} units ({kinds[1]}): "
          f"FAISS indexes {index_m:.1f} s, hubness {hub_m:.1f} s ({hub_m / index_m:.2f}x the indexes)")


if __name__ == "__main__":
    main()
