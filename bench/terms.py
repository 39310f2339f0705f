"""What the bridge's cap on terms per language costs in a big library, measured with the real model.

    python bench/terms.py [--distractors 10000] [--caps 4000,0] [--work DIR] [--json OUT]

The bridge embeds the content terms of the library, at most ``MAX_TERMS_PER_LANGUAGE``
per language, chosen by document frequency. Alone, the bundled report has about 900
English and 200 Lao terms, so the cap never binds and the dev sets cannot see it. In a
library of many reports the report's rarer terms (a place, a law, an agency) fall
below the cap, behind words common to the other reports.

This script indexes the bundled report beside ``--distractors`` passages of other
reports, with the real model (the adapter included), and runs both dev sets with the
default retriever once per cap (0: no cap). The other reports are word salad drawn from
laonlp's dictionary: Lao passages from its Lao words, English passages from the words of
its glosses, each vocabulary in a seeded random order with Zipf frequencies (the word of
rank r drawn with weight 1/r), so that, as in real text, a few thousand words are common
to most reports and tens of thousands are rare. They answer no question; they compete
for the cap, for BM25 and for the dense search, as other reports would.

Each cap's build reuses the previous build's passage and term vectors, so only new
terms are embedded. The figures go to stdout and, with ``--json``, to a file.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from search import Searcher
from search.evaluation.evaluate import evaluate
from search.evaluation.gold import load_gold
from search.index.build import _tokens, build_index, make_embedder
from search.index import terms as term_tables
from search.index.records import IndexConfig
from search.ingest.lang import is_lao_char
from search.ingest.tokenize import tokenize
from search.retrieve import bridge
from search.retrieve.engine import DEFAULT_RETRIEVER

ROOT = Path(__file__).resolve().parents[1]
SETS = {"dev": ROOT / "eval" / "gold" / "laos-tip-2022.jsonl", "second": ROOT / "eval" / "gold" / "laos-tip-2022-lo-en.jsonl"}
PARAGRAPHS_PER_REPORT = 40


def vocabularies() -> dict[str, list[str]]:
    """The dictionary's Lao words and its glosses' English words, each in a seeded random order."""
    lao, english = set(), set()
    for word, glosses in bridge.lao_english_dictionary().items():
        if " " not in word and all(is_lao_char(c) for c in word):
            lao.add(word)
        for gloss in glosses:
            english.update(w for w in re.findall(r"[a-z]+", gloss.lower()) if len(w) >= 3)
    out = {}
    for lang, words in (("lo", lao), ("en", english)):
        ordered = sorted(words)
        random.Random(lang).shuffle(ordered)
        out[lang] = ordered
    return out


def write_distractors(folder: Path, passages: int, *, seed: int = 0) -> int:
    """Write reports of word-salad paragraphs (one sentence each), Lao and English in turn; return how many."""
    rng = random.Random(seed)
    vocab = vocabularies()
    weights = {lang: [1.0 / r for r in range(1, len(words) + 1)] for lang, words in vocab.items()}
    folder.mkdir(parents=True, exist_ok=True)
    made, report = 0, 0
    while made < passages:
        lang = ("lo", "en")[report % 2]
        paragraphs = []
        for _ in range(min(PARAGRAPHS_PER_REPORT, passages - made)):
            words = rng.choices(vocab[lang], weights=weights[lang], k=rng.randint(18, 30))
            if lang == "lo":  # Lao writes words together, with a space between phrases
                text = " ".join("".join(words[i:i + 4]) for i in range(0, len(words), 4))
            else:
                text = " ".join(words).capitalize()
            paragraphs.append(text + ".")
        title = ("ບົດລາຍງານອື່ນ" if lang == "lo" else "Other report") + f" {report + 1}"
        (folder / f"other-{report + 1:05d}-{lang}.txt").write_text(title + "\n\n" + "\n\n".join(paragraphs) + "\n",
                                                                  encoding="utf-8")
        made += len(paragraphs)
        report += 1
    return made


def report_terms(searcher: Searcher, doc: str) -> dict[str, set[str]]:
    """The terms the bridge would choose from one report alone, per language (no cap binds there)."""
    counts = term_tables.TermCounts()
    mine = [p for p in searcher.index.passages if p.citation.document == doc]
    for _ in _tokens(mine, counts):
        pass
    return {lang: set(counts.df[lang]) for lang in counts.df}


def graph_check(tables: dict, embedder) -> dict:
    """Per table: the closest terms the HNSW graph finds (as a table above TERMS_ANN_FROM uses) against
    scoring every term, for the questions of both dev sets and their Lao words read as Thai: recall@10,
    and the median ms of 8 vectors (about one Lao question and its words) each way, one thread."""
    import faiss

    questions = [q.question for path in SETS.values() for q in load_gold(path)[0]]
    words = [bridge.read_as_thai(w) for q in questions for w in bridge.lao_content_words(tokenize(q))]
    vectors = embedder.embed_queries(questions + words)
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    out = {}
    for lang, table in tables.items():
        if len(table.keys) < 1000:
            continue
        exact = term_tables.TermTable(lang, table.keys, table.words, np.asarray(table.vectors), table.hub)
        started = time.perf_counter()
        graph = term_tables.TermTable(lang, table.keys, table.words, exact.vectors, table.hub,
                                      term_tables.term_graph(exact.vectors, table.hub))
        build_s = time.perf_counter() - started
        truth, found = exact.closest_many(vectors, 10), graph.closest_many(vectors, 10)
        recall = float(np.mean([len(set(a) & set(b)) / max(1, len(a)) for a, b in zip(truth, found)]))
        times = {}
        for name, t in (("every_term", exact), ("graph", graph)):
            laps = []
            for i in range(0, len(vectors), 8):
                start = time.perf_counter()
                t.closest_many(vectors[i:i + 8], 10)
                laps.append((time.perf_counter() - start) * 1000)
            times[name] = round(statistics.median(laps), 2)
        out[lang] = {"terms": len(table.keys), "recall_at_10": round(recall, 4), "ms_per_8_vectors": times,
                     "graph_build_s": round(build_s, 1)}
    faiss.omp_set_num_threads(threads)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--distractors", type=int, default=10_000)
    parser.add_argument("--caps", default="4000,0", help="comma-separated caps per language; 0 is no cap")
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-terms"))
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    library, index_dir = args.work / "library", args.work / "index"
    if not (library / "laos-tip-2022-voa.txt").exists() or not (library / "other").is_dir():
        shutil.rmtree(library, ignore_errors=True)
        library.mkdir(parents=True)
        shutil.copy(ROOT / "corpus" / "laos-tip-2022-voa.txt", library)
        write_distractors(library / "other", args.distractors)
    embedder = make_embedder(IndexConfig(), threads=args.threads)
    results = {"distractor_passages": args.distractors, "caps": {}}
    for cap in [int(c) for c in args.caps.split(",")]:
        term_tables.MAX_TERMS_PER_LANGUAGE = cap or sys.maxsize
        started = time.perf_counter()
        last = {}

        def progress(stage, done, total):
            if done == total or done - last.get(stage, 0) >= max(1, total // 20):
                last[stage] = done
                print(f"  {stage} {done}/{total}", file=sys.stderr, flush=True)

        report = build_index(library, index_dir, embedder=embedder, progress=progress)
        build_s = time.perf_counter() - started
        searcher = Searcher(index_dir, embedder=embedder, threads=1)
        tables = searcher.index.terms
        own = report_terms(searcher, "laos-tip-2022-voa.txt")
        row = {"passages": report.passages, "build_s": round(build_s, 1),
               "terms": {lang: len(t.keys) for lang, t in tables.items()},
               "report_terms_kept": {lang: f"{len(own[lang] & set(tables[lang].keys))}/{len(own[lang])}" for lang in own}}
        for name, path in SETS.items():
            questions, problems = load_gold(path)
            run = evaluate(searcher, questions, retriever=DEFAULT_RETRIEVER, problems=problems)
            timings = []
            for q in questions:  # the bridge's share of one search, as a user asks
                out: dict[str, float] = {}
                searcher.search(q.question, k=10, retriever=DEFAULT_RETRIEVER, timings=out)
                timings.append(out)
            row[name] = {"hit@5": run.overall["hit@5"], "mrr@10": run.overall["mrr@10"],
                         "lo->en": {k: run.by_pair["lo->en"][k] for k in ("hit@5", "mrr@10")},
                         "ranks": {q["id"]: q["rank"] for q in run.questions},
                         "bridge_ms_p50": round(statistics.median(t.get("bridge", 0.0) for t in timings), 2)}
        row["graph"] = graph_check(tables, embedder)
        results["caps"][str(cap)] = row
        print(f"cap {cap or 'none'}: {report.passages} passages, terms {row['terms']}, the report's terms kept "
              f"{row['report_terms_kept']}, build {build_s:.0f} s", flush=True)
        print(f"  HNSW graph over the terms: {row['graph']}", flush=True)
        for name in SETS:
            r = row[name]
            print(f"  {name:6} hit@5 {r['hit@5']:.3f} mrr@10 {r['mrr@10']:.3f}  lo->en {r['lo->en']['hit@5']:.3f} / "
                  f"{r['lo->en']['mrr@10']:.3f}  bridge p50 {r['bridge_ms_p50']} ms", flush=True)
    caps = list(results["caps"])
    for name in SETS:
        base = results["caps"][caps[0]][name]["ranks"]
        for cap in caps[1:]:
            now = results["caps"][cap][name]["ranks"]
            moved = [f"{q} {base[q] or '-'}→{now[q] or '-'}" for q in base if base[q] != now[q]]
            print(f"{name}, cap {caps[0]} → {cap}: " + (", ".join(moved) or "no question moved"))
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
