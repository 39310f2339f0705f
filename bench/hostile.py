"""Hostile uploads: how fast each is refused, in how much memory, and what other users' searches see meanwhile.

    python bench/hostile.py [--work DIR] [--searches N] [--only LABEL]

#25 asks that a 50,000-page PDF, a 120,000-paragraph HTML page and a small PDF that inflates to
70 MB each be refused or bounded within 30 s and 500 MB, with other users' searches still
answered. This bench indexes the bundled corpus (kept in ``--work``), then uploads each hostile
file through the app's own path (:class:`search.serve.curate.Curator`) while a second thread
searches the dev questions without pause. It prints, per file: the outcome, the seconds to it,
the reading process's peak resident memory (sampled from /proc), and the searches' median and
worst latency during the upload against a baseline measured in the same process just before.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import hostile_files as hostile  # noqa: E402 - the same files the tests refuse

from search import Searcher, build_index  # noqa: E402
from search.errors import SearchError  # noqa: E402
from search.index.build import make_embedder  # noqa: E402
from search.index.records import IndexConfig  # noqa: E402
from search.serve.curate import Curator  # noqa: E402

FILES = {"50,000-page PDF": ("pages.pdf", hostile.many_pages), "PDF inflating to 73 MB": ("bomb.pdf", hostile.inflating),
         "120,000-paragraph HTML": ("paragraphs.html", hostile.many_paragraphs), "20 MB of tiny tags": ("tags.html", hostile.tiny_tags)}


def _children_peak_kb(stop: threading.Event, peak: list[int]) -> None:
    """Sample the peak resident memory (VmHWM) of this process's reading children until ``stop``."""
    while not stop.is_set():
        for task in Path("/proc/self/task").iterdir():
            for pid in (task / "children").read_text().split():
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                    if b"search.ingest.bounded" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                        continue
                except OSError:
                    continue
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        peak[0] = max(peak[0], int(line.split()[1]))
        time.sleep(0.05)


def _search_loop(searcher: Searcher, questions: list[str], stop: threading.Event, times: list[float]) -> None:
    i = 0
    while not stop.is_set():
        start = time.perf_counter()
        searcher.search(questions[i % len(questions)], k=5)
        times.append(time.perf_counter() - start)
        i += 1


def _during(searcher, questions, work) -> tuple[object, float, list[float], int]:
    """Run ``work`` while searches run and children are sampled: its outcome, seconds, search times, child peak KB."""
    stop, times, peak = threading.Event(), [], [0]
    threads = [threading.Thread(target=_search_loop, args=(searcher, questions, stop, times)),
               threading.Thread(target=_children_peak_kb, args=(stop, peak))]
    for t in threads:
        t.start()
    start = time.perf_counter()
    try:
        outcome = work()
    except SearchError as exc:
        outcome = exc
    seconds = time.perf_counter() - start
    stop.set()
    for t in threads:
        t.join()
    return outcome, seconds, times, peak[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-hostile"))
    parser.add_argument("--searches", type=int, default=200, help="searches in the baseline")
    parser.add_argument("--only", default=None, help="only the uploads whose label holds this (e.g. 'tags')")
    args = parser.parse_args()
    corpus, index, files = args.work / "corpus", args.work / "index", args.work / "files"
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.copytree(ROOT / "corpus", corpus)
    files.mkdir(parents=True, exist_ok=True)
    embedder = make_embedder(IndexConfig())
    build_index(corpus, index, embedder=embedder)
    searcher = Searcher(index, embedder=embedder)
    questions = [json.loads(line)["question"] for line in (ROOT / "eval" / "gold" / "laos-tip-2022.jsonl").open(encoding="utf-8")]
    searcher.warm_up()
    baseline = []
    for i in range(args.searches):
        start = time.perf_counter()
        searcher.search(questions[i % len(questions)], k=5)
        baseline.append(time.perf_counter() - start)
    print(f"baseline: {len(baseline)} searches, p50 {statistics.median(baseline) * 1000:.1f} ms, "
          f"max {max(baseline) * 1000:.1f} ms")
    curator = Curator(searcher, corpus, max_upload_bytes=50 * 2**20, uploads_per_minute=100)
    print("| upload | size | outcome | seconds | reader peak RSS | searches meanwhile | p50 (x baseline) | max |")
    print("|---|---|---|---|---|---|---|---|")
    for label, (name, make) in FILES.items():
        if args.only and args.only not in label:
            continue
        path = files / name
        path.write_bytes(make())
        outcome, seconds, times, peak = _during(searcher, questions, lambda: curator.add(None, path, name))
        said = str(outcome).split(": ", 1)[-1].split(";")[0] if isinstance(outcome, SearchError) else "added"
        p50 = statistics.median(times) if times else float("nan")
        print(f"| {label} | {path.stat().st_size / 2**20:.1f} MB | {said} | {seconds:.1f} | {peak / 1024:.0f} MB | "
              f"{len(times)} | {p50 * 1000:.1f} ms ({p50 / statistics.median(baseline):.2f}x) | "
              f"{max(times, default=float('nan')) * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
