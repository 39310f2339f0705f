"""Query latency of each retriever against plain dense, side by side in one process.

    python bench/latency.py [--index index] [--gold eval/gold/laos-tip-2022.jsonl] [--repeat 5]

Each question of the gold set is asked of every retriever in turn (interleaved, so
machine noise hits all alike), one question at a time as a user would; prints the
median and 90th percentile per retriever and the ratio of medians to plain dense
(``dense-raw``). The bridge's cache of embedded question words is off, so every
Lao question pays for embedding its words: the worst case.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from search import Searcher
from search.engine import RETRIEVERS
from search.gold import load_gold


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=Path("index"))
    parser.add_argument("--gold", type=Path, default=Path("eval/gold/laos-tip-2022.jsonl"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("-k", type=int, default=10)
    args = parser.parse_args()
    questions = [q.question for q in load_gold(args.gold)[0]]
    searcher = Searcher(args.index, word_cache_size=0)
    searcher.warm_up()
    for name in RETRIEVERS:  # first calls pay for lazy set-up; keep them out of the timings
        searcher.search(questions[0], k=args.k, retriever=name)
    timings: dict[str, list[float]] = {name: [] for name in RETRIEVERS}
    for _ in range(args.repeat):
        for question in questions:
            for name in RETRIEVERS:
                start = time.perf_counter()
                searcher.search(question, k=args.k, retriever=name)
                timings[name].append((time.perf_counter() - start) * 1000)
    base = statistics.median(timings["dense-raw"])
    print(f"{len(questions)} questions x {args.repeat} repeats, k={args.k}")
    width = max(map(len, RETRIEVERS)) + 2
    print(f"{'retriever':<{width}}{'median ms':>11}{'p90 ms':>9}{'ratio':>8}")
    for name, values in timings.items():
        p90 = statistics.quantiles(values, n=10)[-1]
        print(f"{name:<{width}}{statistics.median(values):>11.1f}{p90:>9.1f}{statistics.median(values) / base:>8.2f}")


if __name__ == "__main__":
    main()
