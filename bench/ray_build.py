"""A build on a local Ray cluster against a local build of the same synthetic library, in one run.

    python bench/ray_build.py [--passages 1000] [--cpus 2] [--json OUT] [--work DIR]

Writes the synthetic library of ``bench/build.py``, builds its index here (every core for batches),
then again with ``build --ray``'s path: a local Ray cluster of ``--cpus`` CPUs reads and embeds each
report as a task (one thread each), the driver builds the rest. Prints both wall times (model loads
included: each Ray worker loads its own), passages/s, their ratio and the largest difference between
the two indexes' vectors. On one machine Ray can only match a local build; it pays off when nodes
add cores. See docs/scaling.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import write_library  # noqa: E402

from search.index.build import build_index, make_embedder  # noqa: E402
from search.index.cluster import embed_on_ray  # noqa: E402
from search.index.records import IndexConfig  # noqa: E402
from search.index.store import load_index  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=1000)
    parser.add_argument("--cpus", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    import ray

    work = args.work or Path(tempfile.mkdtemp(prefix="bench-ray-"))
    library = work / "library"
    write_library(library, args.passages)
    config = IndexConfig()
    embedder = make_embedder(config, cache_dir=os.environ.get("REPORT_SEARCH_CACHE"))
    embedder.embed_passages(["warm-up: load the model before the clock starts"])

    start = time.perf_counter()
    local = build_index(library, work / "local", config=config, embedder=embedder)
    local_s = time.perf_counter() - start

    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        start = time.perf_counter()
        embedded = embed_on_ray(library, work / "ray", config, model_id=embedder.model_id, cache_dir=embedder.cache_dir,
                                address=None)
        on_ray_s = time.perf_counter() - start
        remote = build_index(library, work / "ray", config=config, embedder=embedder, embedded=embedded)
        ray_s = time.perf_counter() - start
    finally:
        ray.shutdown()
    a, b = load_index(work / "local"), load_index(work / "ray")
    result = {
        "passages": local.passages, "reports": len(local.documents), "cpus": args.cpus,
        "local_s": round(local_s, 1), "ray_s": round(ray_s, 1), "ray_tasks_s": round(on_ray_s, 1),
        "local_passages_per_s": round(local.passages / local_s, 1), "ray_passages_per_s": round(remote.passages / ray_s, 1),
        "ray_over_local": round(local_s / ray_s, 2), "embedded_by_driver": remote.embedded,
        "max_vector_difference": float(np.abs(np.asarray(a.vectors) - np.asarray(b.vectors)).max()),
        "same_passages": [p.text for p in a.passages] == [p.text for p in b.passages],
    }
    for key, value in result.items():
        print(f"{key:>24}: {value}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
