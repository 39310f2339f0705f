"""Query latency per engine and retriever, side by side in one process, with ratios.

    python bench/latency.py [--corpus corpus] [--gold eval/gold/laos-tip-2022.jsonl] [--repeat 3]
                            [--retrievers dense-raw,dense,DEFAULT] [--json OUT] [--cold 3]

Builds an index of the corpus per engine (``onnx-int8`` and ``torch``) in a temporary
folder (or ``--work DIR``, reused when it is up to date), then asks every gold question of
every engine and retriever in turn (interleaved, so machine noise hits all alike), one
question at a time as a user would. ``raw`` is the question's encoding plus one FAISS search,
nothing else. The bridge's cache of embedded question words is off. A Lao question's words the index
lacks (its Lao terms' Thai readings are the index's, terms-thai.npy) are looked up in the dictionary's words,
embedded once per model beforehand (``Searcher.prepare_thai_words``, as a served app does in its first minutes;
a few minutes the first time on a machine), and the default retriever is timed again embedding them as the
question comes (``default-words-embedded``, the worst case; ``--no-thai-words`` times only that one). With
``--cold N``, also times N one-shot
``python -m search query`` processes per engine (start-up, model load, one question).

Prints medians, 90th percentiles and ratios; ``--json`` writes
``{"engines": {ENGINE: {"raw_p50_ms", "dense_p50_ms", "default_p50_ms", ..., "quality"}}, ...}`` (see
bench/README.md); ``quality`` is the default retriever's hit@5 and mrr@10 on the gold set, all and Lao questions.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from search import Searcher, build_index
from search.index.build import make_embedder
from search.model.embed import ENGINES
from search.model.thai_words import dictionary_words
from search.progress import TerminalProgress
from search.retrieve.checks import check_question
from search.retrieve.engine import DEFAULT_RETRIEVER
from search.evaluation.evaluate import evaluate
from search.evaluation.gold import load_gold
from search.index.records import IndexConfig


WORDS_EMBEDDED = "default-words-embedded"  # the default retriever without the dictionary's words


def _raw(searcher: Searcher, question: str, k: int) -> None:
    """Encode one question and search the exact FAISS index: the floor every retriever stands on."""
    vector = searcher.embedder.embed_queries([check_question(question)])
    searcher.index.dense.search(vector, k)


def _p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def _cold(index: Path, question: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "search", "query", question, "--index", str(index), "-k", "3"],
                       check=True, capture_output=True)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    parser.add_argument("--gold", type=Path, default=Path("eval/gold/laos-tip-2022.jsonl"))
    parser.add_argument("--work", type=Path, default=None, help="where the per-engine indexes are built (default: a temporary folder)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--retrievers", default=f"dense-raw,dense,{DEFAULT_RETRIEVER}")
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--cold", type=int, default=0, help="also time this many one-shot CLI queries per engine")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated; the ratios to torch need torch")
    parser.add_argument("--questions", type=int, default=None, help="time only the first N questions (a smoke run)")
    parser.add_argument("--thai-words", action=argparse.BooleanOptionalAction, default=True,
                        help="embed the dictionary's Lao words once per model first (minutes, the first time)")
    parser.add_argument("--dictionary-words", type=int, default=None, help="embed only the first N (a smoke run)")
    args = parser.parse_args()
    engines = args.engines.split(",")
    work = args.work or Path(tempfile.mkdtemp(prefix="latency-"))
    questions = [q.question for q in load_gold(args.gold)[0]][:args.questions]
    retrievers = args.retrievers.split(",")
    searchers, baselines = {}, {}  # baselines: the default retriever embedding a Lao question's words as it comes
    for engine in engines:
        config = IndexConfig(engine=engine)
        embedder = make_embedder(config, cache_dir=os.environ.get("REPORT_SEARCH_CACHE"), threads=1)
        build_index(args.corpus, work / engine, config=config, embedder=embedder)
        searchers[engine] = Searcher(work / engine, embedder=embedder, word_cache_size=0, thai_words=args.thai_words)
        if args.thai_words:
            bar = TerminalProgress()
            words = dictionary_words()[:args.dictionary_words] if args.dictionary_words else None
            count = searchers[engine].prepare_thai_words(
                progress=lambda done, total: bar("dictionary words", done, total), words=words)
            print(f"{engine}: {count} dictionary words read as Thai, embedded (once per model)", file=sys.stderr)
            baselines[engine] = Searcher(work / engine, embedder=embedder, word_cache_size=0, thai_words=False)
            baselines[engine].warm_up()
            baselines[engine].search(questions[0], k=args.k)
        searchers[engine].warm_up()
        for name in retrievers:  # first calls pay for lazy set-up; keep them out of the timings
            searchers[engine].search(questions[0], k=args.k, retriever=name)
    timings = {engine: {name: [] for name in ["raw", *retrievers, *([WORDS_EMBEDDED] if baselines else [])]}
               for engine in engines}
    for _ in range(args.repeat):
        for question in questions:
            for engine, searcher in searchers.items():
                start = time.perf_counter()
                _raw(searcher, question, args.k)
                timings[engine]["raw"].append((time.perf_counter() - start) * 1000)
                for name in retrievers:
                    start = time.perf_counter()
                    searcher.search(question, k=args.k, retriever=name)
                    timings[engine][name].append((time.perf_counter() - start) * 1000)
                if engine in baselines:
                    start = time.perf_counter()
                    baselines[engine].search(question, k=args.k)
                    timings[engine][WORDS_EMBEDDED].append((time.perf_counter() - start) * 1000)
    report = {"questions": len(questions), "repeat": args.repeat, "k": args.k, "engines": {}}
    gold, problems = load_gold(args.gold)
    quality = {}
    for engine, searcher in searchers.items():  # what each engine's vectors rank: the default retriever, hit@5 / mrr@10
        run = evaluate(searcher, gold, retriever=DEFAULT_RETRIEVER, k=10, problems=problems)
        quality[engine] = {"all": {m: round(run.overall[m], 3) for m in ("hit@5", "mrr@10")},
                           "lo": {m: round(run.by_lang["lo"][m], 3) for m in ("hit@5", "mrr@10")}}
    print(f"{len(questions)} questions x {args.repeat} repeats, k={args.k}, one question at a time, one thread")
    width = max(map(len, timings[engines[0]])) + 2
    print(f"{'engine':<11}{'retriever':<{width}}{'p50 ms':>9}{'p90 ms':>9}{'/ raw':>8}{'/ torch':>9}")
    for engine in engines:
        stats = {}
        for name, values in timings[engine].items():
            p50, p90 = statistics.median(values), _p(values, 90)
            torch_p50 = statistics.median(timings["torch"][name]) if "torch" in timings else float("nan")
            raw_p50 = statistics.median(timings[engine]["raw"])
            print(f"{engine:<11}{name:<{width}}{p50:>9.1f}{p90:>9.1f}{p50 / raw_p50:>8.2f}{p50 / torch_p50:>9.2f}")
            key = "default" if name == DEFAULT_RETRIEVER else name
            stats[f"{key}_p50_ms"], stats[f"{key}_p90_ms"] = round(p50, 2), round(p90, 2)
        report["engines"][engine] = {**stats, "quality": quality[engine]}
    if args.cold:
        for engine in engines:
            values = _cold(work / engine, questions[0], args.cold)
            report["engines"][engine]["cold_query_p50_ms"] = round(statistics.median(values), 1)
        print("cold one-shot `python -m search query` p50: " + ", ".join(
            f"{engine} {report['engines'][engine]['cold_query_p50_ms']:.0f} ms" for engine in engines))
    for engine in engines:
        if engine != "torch":
            stats = report["engines"][engine]
            stats["default_over_raw"] = round(stats["default_p50_ms"] / stats["raw_p50_ms"], 2)
            stats["default_p90_over_raw_p90"] = round(stats["default_p90_ms"] / stats["raw_p90_ms"], 2)
            said = (f"{engine}: default retriever {stats['default_over_raw']:.2f}x its own raw encode + search at p50, "
                    f"{stats['default_p90_over_raw_p90']:.2f}x at p90")
            if engine in baselines:
                stats["words_embedded_p90_over_raw_p90"] = round(stats[f"{WORDS_EMBEDDED}_p90_ms"] / stats["raw_p90_ms"], 2)
                said += f" ({stats['words_embedded_p90_over_raw_p90']:.2f}x embedding a Lao question's words as it comes)"
            if "torch" in engines:
                stats["default_speedup_vs_torch"] = round(report["engines"]["torch"]["default_p50_ms"] / stats["default_p50_ms"], 2)
                said += f", {stats['default_speedup_vs_torch']:.2f}x faster than torch"
                if args.cold:
                    stats["cold_speedup_vs_torch"] = round(report["engines"]["torch"]["cold_query_p50_ms"] / stats["cold_query_p50_ms"], 2)
                    said += f"; cold start {stats['cold_speedup_vs_torch']:.2f}x faster"
            print(said)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
