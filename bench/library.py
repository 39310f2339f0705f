"""Quality alone and in a library: the dev sets on the bundled report, then on it among thousands of other passages.

    python bench/library.py [--retrievers default|all|NAME,...] [--work DIR] [--json OUT] [--threads N] [--engine E]
                            [--sentence-vectors separate|late] [--model-context title,path] [--bm25-context title,path]
                            [--gold FILE ...]

Users search a library, not one report. This bench indexes the bundled report twice: alone, and
beside the dev library of ``eval/library/reports/`` (public English legal text on the same
subjects, the Universal Declaration of Human Rights in Lao and English, and Lao reports on the
same subjects; ``eval/library/README.md`` lists each with its source and licence). Both indexes
are kept in ``--work`` and rebuilt incrementally, so a second run embeds nothing.

Every question of both dev sets gets ``doc`` set to the bundled report, so relevance stays with
it while the library competes for every rank; the 20 questions of ``eval/no-answer.jsonl``
count the answers shown where none is right, and so do those of ``eval/contradictions.jsonl``
(the report contradicts the year, number or place they name). For each retriever it prints, alone
and in the library side by side: hit@5 and mrr@10 (all, Lao questions, lo->en), the second set's, the
answer box (right / wrong / empty) and the unanswerable questions answered; ``--json`` writes
the same with every question's rank, for ``bench/compare.py``-style comparisons. In the library, the 20
questions of ``eval/library-no-answer.jsonl`` (no report of the dev library answers them) count answers shown too.

``--gold FILE`` (repeatable) runs a gold set about the library's other reports in the library, each
question's own ``doc`` kept (alone, the bundled report cannot answer it), and prints it beside the others.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

from search import Searcher
from search.evaluation.evaluate import EvalRun, evaluate
from search.evaluation.gold import load_gold
from search.index.build import build_index, make_embedder
from search.index.records import IndexConfig
from search.model.embed import DEFAULT_ENGINE, ENGINES
from search.retrieve.engine import DEFAULT_RETRIEVER, RETRIEVERS, one_blas_thread

ROOT = Path(__file__).resolve().parents[1]
REPORT = "laos-tip-2022-voa.txt"
LIBRARY = ROOT / "eval" / "library" / "reports"
SETS = {"dev": ROOT / "eval" / "gold" / "laos-tip-2022.jsonl", "second": ROOT / "eval" / "gold" / "laos-tip-2022-lo-en.jsonl"}
NO_ANSWER = ROOT / "eval" / "no-answer.jsonl"
CONTRADICTIONS = ROOT / "eval" / "contradictions.jsonl"  # questions whose year, number or place the report contradicts
LIBRARY_NO_ANSWER = ROOT / "eval" / "library-no-answer.jsonl"  # questions no report of the dev library answers


def corpus(folder: Path, *, library: bool, reports: int | None = None) -> Path:
    """``folder`` holding the bundled report and, with ``library``, the dev library's reports (copied
    only when changed, so the index's incremental build reuses every vector); with ``reports``, only
    that many of them, the smallest (a smoke run)."""
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {REPORT: ROOT / "corpus" / REPORT}
    if library:
        files = sorted(p for p in LIBRARY.iterdir() if p.is_file())
        if reports is not None:
            files = sorted(sorted(files, key=lambda p: p.stat().st_size)[:reports])
        wanted.update({p.name: p for p in files})
    for stale in folder.iterdir():
        if stale.name not in wanted:
            stale.unlink() if stale.is_file() else shutil.rmtree(stale)
    for name, source in wanted.items():
        target = folder / name
        if not target.exists() or target.read_bytes() != source.read_bytes():
            shutil.copyfile(source, target)
    return folder


def build(work: Path, name: str, *, library: bool, embedder, config: IndexConfig, reports: int | None = None) -> dict:
    """Build (or bring up to date) one index; what it holds and how long it took."""
    last = {}

    def progress(stage, done, total):
        if done == total or done - last.get(stage, 0) >= max(1, total // 10):
            last[stage] = done
            print(f"  {name}: {stage} {done}/{total}", file=sys.stderr, flush=True)

    started = time.perf_counter()
    report = build_index(corpus(work / f"corpus-{name}", library=library, reports=reports), work / f"index-{name}",
                         embedder=embedder, config=config, progress=progress)
    return {"reports": len(report.documents), "passages": report.passages, "embedded": report.embedded,
            "build_s": round(time.perf_counter() - started, 1)}


def scoped(path: Path):
    """A gold set with every question's relevance restricted to the bundled report."""
    questions, problems = load_gold(path)
    return [dataclasses.replace(q, doc=REPORT) for q in questions], problems


def unanswerable_answered(searcher: Searcher, retriever: str, path: Path = NO_ANSWER) -> list[str]:
    """Ids of the questions of ``path`` (``eval/no-answer.jsonl``, ``eval/contradictions.jsonl``) that get an
    answer (any answer there is wrong)."""
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    results = searcher.search_batch([q["question"] for q in lines], k=10, retriever=retriever, highlight=True)
    return [q["id"] for q, r in zip(lines, results) if r.answer is not None]


def latency(searcher: Searcher, questions: list[str], retriever: str) -> dict:
    """Median and 90th percentile of one question's search, one at a time, as the app asks."""
    laps = []
    for question in questions:
        started = time.perf_counter()
        searcher.search(question, k=10, retriever=retriever, highlight=True)
        laps.append((time.perf_counter() - started) * 1000)
    laps.sort()
    return {"p50_ms": round(statistics.median(laps), 1), "p90_ms": round(laps[int(0.9 * (len(laps) - 1))], 1)}


def summary(run: EvalRun) -> dict:
    """The figures the table shows, and every question's rank and answer outcome."""
    pick = lambda m: {"hit@1": m["hit@1"], "hit@5": m["hit@5"], "mrr@10": m["mrr@10"], "n": m["n"]}  # noqa: E731
    return {"all": pick(run.overall), "lo": pick(run.by_lang["lo"]) if "lo" in run.by_lang else None,
            "lo->en": pick(run.by_pair["lo->en"]) if "lo->en" in run.by_pair else None,
            "answer_box": {k: run.answer_box[k] for k in ("right", "wrong", "empty")},
            "ranks": {q["id"]: q["rank"] for q in run.questions},
            "answers": {q["id"]: q["answer"] for q in run.questions},
            "broken": [str(p) for p in run.problems]}


def measure(searcher: Searcher, retriever: str, gold: dict[str, Path] | None = None) -> dict:
    """The dev sets (scoped to the bundled report), the unanswerable questions, and the ``gold`` sets as they are."""
    out = {}
    for name, path in SETS.items():
        questions, problems = scoped(path)
        out[name] = summary(evaluate(searcher, questions, retriever=retriever, problems=problems))
    out["unanswerable_answered"] = unanswerable_answered(searcher, retriever)
    out["contradictions_answered"] = unanswerable_answered(searcher, retriever, CONTRADICTIONS)
    if gold is not None:  # in the library: the questions none of its reports answers
        out["library_unanswerable_answered"] = unanswerable_answered(searcher, retriever, LIBRARY_NO_ANSWER)
    for name, path in (gold or {}).items():
        questions, problems = load_gold(path)
        out[name] = summary(evaluate(searcher, questions, retriever=retriever, problems=problems))
    return out


def gold_table(results: dict, names: list[str]) -> str:
    """The ``--gold`` sets in the library, per retriever."""
    lines = ["| retriever | gold set | n | hit@1 | hit@5 | mrr@10 | Lao hit@5 | lo->en mrr@10 | answer box right/wrong/empty |",
             "|" + "---|" * 9]
    for retriever, row in results["retrievers"].items():
        for name in names:
            r = row["library"][name]
            lo = f"{r['lo']['hit@5']:.3f}" if r["lo"] else "–"
            pair = f"{r['lo->en']['mrr@10']:.3f}" if r["lo->en"] else "–"
            box = r["answer_box"]
            lines.append(f"| {retriever} | {name} | {r['all']['n']} | {r['all']['hit@1']:.3f} | {r['all']['hit@5']:.3f} "
                         f"| {r['all']['mrr@10']:.3f} | {lo} | {pair} | {box['right']}/{box['wrong']}/{box['empty']} |")
    return "\n".join(lines)


def _pair(a: dict | None, b: dict | None, key: str = "hit@5") -> str:
    if a is None:
        return "–"
    return f"{a[key]:.3f} → {b[key]:.3f}"


def table(results: dict) -> str:
    """Alone → in the library, per retriever."""
    head = ("| retriever | dev hit@5 | dev mrr@10 | dev Lao hit@5 | dev lo->en mrr@10 | second hit@5 | second mrr@10 "
            "| answer box dev right/wrong | unanswerable answered |")
    lines = [head, "|" + "---|" * 9]
    for retriever, row in results["retrievers"].items():
        a, b = row["alone"], row["library"]
        box = lambda r: f"{r['dev']['answer_box']['right']}/{r['dev']['answer_box']['wrong']}"  # noqa: E731
        lines.append(
            f"| {retriever} | {_pair(a['dev']['all'], b['dev']['all'])} | {_pair(a['dev']['all'], b['dev']['all'], 'mrr@10')} "
            f"| {_pair(a['dev']['lo'], b['dev']['lo'])} | {_pair(a['dev']['lo->en'], b['dev']['lo->en'], 'mrr@10')} "
            f"| {_pair(a['second']['all'], b['second']['all'])} | {_pair(a['second']['all'], b['second']['all'], 'mrr@10')} "
            f"| {box(a)} → {box(b)} | {len(a['unanswerable_answered'])} → {len(b['unanswerable_answered'])} |")
    return "\n".join(lines)


def _box(run: dict) -> str:
    return "/".join(str(run["answer_box"][k]) for k in ("right", "wrong", "empty"))


def moved(results: dict) -> list[str]:
    """Per retriever and set, the questions whose rank differs alone and in the library."""
    out = []
    for retriever, row in results["retrievers"].items():
        for name in SETS:
            a, b = row["alone"][name]["ranks"], row["library"][name]["ranks"]
            changes = [f"{q} {a[q] or '–'}→{b.get(q) or '–'}" for q in a if a[q] != b.get(q)]
            out.append(f"{retriever}, {name}: " + (", ".join(changes) or "no question moved"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--retrievers", default="default", help="'default', 'all', or comma-separated names")
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-library"))
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-latency", action="store_true", help="skip the per-question timing")
    parser.add_argument("--engine", choices=ENGINES, default=DEFAULT_ENGINE,
                        help="how the model runs (give each engine its own --work)")
    parser.add_argument("--sentence-vectors", choices=("separate", "late"), default=IndexConfig.sentence_vectors,
                        help="how sentences are embedded (give each its own --work)")
    parser.add_argument("--library-reports", type=int, default=None,
                        help="only the N smallest reports of the dev library (a smoke run; give it its own --work)")
    parser.add_argument("--model-context", default=None, help="what the model reads before a passage: "
                        "'title', 'path', 'title,path' or 'none' (default: the index's default)")
    parser.add_argument("--bm25-context", default=None, help="the same for BM25's words")
    parser.add_argument("--gold", type=Path, action="append", default=[],
                        help="a gold set about the library's reports, run in the library with its own doc fields "
                             "(repeatable)")
    args = parser.parse_args()
    gold = {path.stem: path for path in args.gold}
    context = {f"{reader}_context": tuple(p for p in value.split(",") if p and p != "none")
               for reader, value in (("model", args.model_context), ("bm25", args.bm25_context)) if value is not None}
    retrievers = ([DEFAULT_RETRIEVER] if args.retrievers == "default" else list(RETRIEVERS) if args.retrievers == "all"
                  else args.retrievers.split(","))
    config = IndexConfig(engine=args.engine, sentence_vectors=args.sentence_vectors, **context)
    embedder = make_embedder(config, threads=args.threads)
    results = {"builds": {}, "retrievers": {}, "latency": {}}
    for name, library in (("alone", False), ("library", True)):
        results["builds"][name] = build(args.work, name, library=library, embedder=embedder, config=config,
                                         reports=args.library_reports)
    one_blas_thread()  # as the app and the CLI do once the index is built: a search's products are small
    searchers = {name: Searcher(args.work / f"index-{name}", embedder=embedder, threads=1) for name in results["builds"]}
    for retriever in retrievers:
        results["retrievers"][retriever] = {name: measure(s, retriever, gold if name == "library" else None)
                                            for name, s in searchers.items()}
    if not args.no_latency:
        questions = [q.question for path in SETS.values() for q in load_gold(path)[0]]
        for name, searcher in searchers.items():
            searcher.search(questions[0], k=10)  # load everything first
            results["latency"][name] = latency(searcher, questions, DEFAULT_RETRIEVER)
    for name, b in results["builds"].items():
        print(f"{name}: {b['reports']} reports, {b['passages']} passages ({b['embedded']} embedded now, {b['build_s']} s)"
              + (f"; default retriever p50 {results['latency'][name]['p50_ms']} ms, p90 {results['latency'][name]['p90_ms']} ms"
                 if name in results["latency"] else ""))
    print(table(results))
    if gold:
        print(gold_table(results, list(gold)))
    for line in moved(results):
        print(line)
    for retriever, row in results["retrievers"].items():
        print(f"{retriever}: answer box right/wrong/empty, alone → library: "
              + "; ".join(f"{name} {_box(row['alone'][name])} → {_box(row['library'][name])}" for name in SETS)
              + "; contradictions answered (eval/contradictions.jsonl): "
              + " → ".join(str(len(row[where]["contradictions_answered"])) for where in ("alone", "library"))
              + "; in the library, questions no report answers answered (eval/library-no-answer.jsonl): "
              + str(len(row["library"]["library_unanswerable_answered"])))
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
