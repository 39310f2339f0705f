"""Search time, memory and disk by library size, on a synthetic library.

    python bench/scale.py --passages 10000 [--json OUT] [--work DIR] [--real-up-to 2000]

The library is bench/synthetic.py's: the bundled report's sentences, shuffled per
language, numbers changed, about ``--passages`` passages. Up to ``--real-up-to``
passages it is embedded by the real model; beyond that by ``StandIn``, a fast
deterministic embedder (below), so that a million passages can be built on this
machine. The questions are the dev set's; their vectors are computed before the
clock starts, so search times exclude encoding the question.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import write_library  # noqa: E402

from search.progress import TerminalProgress  # noqa: E402
from search.index.build import build_index, make_embedder  # noqa: E402
from search.retrieve.engine import STAGES as ENGINE_STAGES, Searcher  # noqa: E402
from search.ingest.lang import normalize_text  # noqa: E402
from search.index.generations import current_generation, read_manifest  # noqa: E402
from search.index.records import DENSE, UNITS, IndexConfig  # noqa: E402
from search.ingest.tokenize import tokenize  # noqa: E402

GOLD = Path(__file__).resolve().parent.parent / "eval" / "gold" / "laos-tip-2022.jsonl"
STAGES = tuple(s for s in ENGINE_STAGES if s not in ("encode", "highlight"))  # the search proper
MAPPED = (DENSE, UNITS)  # the FAISS files, memory-mapped at load


class StandIn:
    """A fast, deterministic stand-in for the model, for libraries too big to embed here.

    A text's vector is the normalised sum of fixed random vectors, one per token (its
    hash picks the vector), plus a per-script offset, so that texts sharing words are
    close and languages form two clusters as with the real model. It has the
    interface the build and the search use; its vectors mean nothing beyond that.
    """

    dimension = 384
    model_id = "stand-in/hashed-bag-of-words"
    model = None  # nothing to load
    BUCKETS = 1 << 14

    def __init__(self):
        rng = np.random.default_rng(0)
        self.table = rng.standard_normal((self.BUCKETS, self.dimension)).astype(np.float32)
        self.lao = rng.standard_normal(self.dimension).astype(np.float32) * 3

    def _vector(self, text: str) -> np.ndarray:
        tokens = tokenize(normalize_text(text)) or ["<empty>"]
        buckets = [int.from_bytes(hashlib.blake2b(t.encode(), digest_size=4).digest(), "little") % self.BUCKETS
                   for t in tokens]
        v = self.table[buckets].sum(axis=0)
        if any("\u0e80" <= ch <= "\u0eff" for ch in text):
            v = v + self.lao * np.sqrt(len(tokens))
        return v / max(float(np.linalg.norm(v)), 1e-12)

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + 2

    def embed_queries(self, texts, *, progress=None) -> np.ndarray:
        return self.embed_passages(texts, progress=progress)

    def embed_passages(self, texts, *, progress=None) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), np.float32)
        for i, text in enumerate(texts):
            out[i] = self._vector(text)
        if progress:
            progress(len(texts), len(texts))
        return out

    def embed_passages_and_sentences(self, texts, sentences, *, progress=None):
        spans = [text[a:b] for text, ss in zip(texts, sentences) for a, b in ss]
        return self.embed_passages(texts, progress=progress), self.embed_passages(spans)


class Timed:
    """Wraps an embedder, adding the seconds spent in it to ``seconds``."""

    def __init__(self, inner):
        self.inner, self.seconds = inner, 0.0

    def __getattr__(self, name):
        attr = getattr(self.inner, name)
        if not name.startswith("embed"):
            return attr

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return attr(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start
        return timed


class Precomputed:
    """An embedder that answers questions from vectors computed before the clock started."""

    def __init__(self, inner, texts):
        self.inner = inner
        self.vectors = dict(zip(texts, inner.embed_queries(texts)))

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def embed_queries(self, texts, *, progress=None) -> np.ndarray:
        return np.vstack([self.vectors[t] for t in texts]) if texts else np.zeros((0, self.inner.dimension), np.float32)


def rss_bytes() -> int:
    """The process's resident memory now (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def rss_anon_bytes() -> int:
    """The part of it that is the process's own (heap, arrays): not pages of mapped files, which the
    kernel can drop and read again (Linux)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("RssAnon:"))


def probe(index_dir: Path) -> None:
    """In a fresh process: load the index and everything a search needs; print the time and the memory it took,
    and the memory after the dev questions have been searched once.

    The memory is the growth of resident memory, after the libraries are imported and the
    Lao segmenter and dictionary are loaded (they cost the same at any size). The FAISS files
    are memory-mapped: loading touches little of them, and searching brings in the parts it
    reads (the clusters it scans, the hits' sentence vectors, and the kernel maps up to 64 KB
    around each read), so the second figure is the working set of a searcher in use; of it,
    the process's own memory is reported apart from the mapped files' pages, which the kernel
    can drop under pressure and read again.
    """
    from search.retrieve.bridge import lao_english_dictionary

    tokenize("ລາວ")
    lao_english_dictionary()
    before, before_anon = rss_bytes(), rss_anon_bytes()
    start = time.perf_counter()
    stand_in = StandIn()
    stand_in.model_id = read_manifest(index_dir).model_id  # loading is the same whichever model built it
    searcher = Searcher(index_dir, embedder=stand_in)
    searcher.warm_up()
    elapsed = time.perf_counter() - start
    loaded = rss_bytes() - before
    for question in _questions():
        searcher.search(question, k=10, highlight=True)
    print(json.dumps({"load_s": round(elapsed, 2), "rss_bytes": loaded, "rss_searched_bytes": rss_bytes() - before,
                      "anon_searched_bytes": rss_anon_bytes() - before_anon}))


def _questions() -> list[str]:
    """The dev set's questions."""
    gold = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [g["question"] for g in gold]


def main() -> None:
    if sys.argv[1:2] == ["--probe"]:
        return probe(Path(sys.argv[2]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, required=True)
    parser.add_argument("--real-up-to", type=int, default=2000, help="use the real model up to this many passages")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--keep-index", action="store_true",
                        help="search the index already in --work (same library) instead of building it again")
    args = parser.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    library, index_dir = work / "library", work / "index"
    if not library.exists():
        write_library(library, args.passages)
    real = args.passages <= args.real_up_to
    embedder = make_embedder(IndexConfig(), cache_dir=os.environ.get("REPORT_SEARCH_CACHE"), threads=None) if real else StandIn()
    if real:
        embedder.embed_passages(["warm-up"])
    timed = Timed(embedder)
    if args.keep_index and (index_dir / "CURRENT").exists():  # search figures only: the build is not timed
        build_s, n = None, read_manifest(index_dir).passage_count
    else:
        shutil.rmtree(index_dir, ignore_errors=True)  # a build from scratch: nothing reused
        start = time.perf_counter()
        n = build_index(library, index_dir, embedder=timed, progress=TerminalProgress()).passages  # bars on stderr
        build_s = time.perf_counter() - start

    questions = _questions()
    words = [read for q in questions for read in _readings(q)]
    loaded = json.loads(subprocess.run([sys.executable, __file__, "--probe", str(index_dir)], check=True,
                                      capture_output=True, text=True).stdout)
    searcher = Searcher(index_dir, embedder=Precomputed(embedder, questions + words))
    searcher.warm_up()

    totals, stages, highlights = [], {stage: [] for stage in STAGES}, []
    for _ in range(args.repeat):
        for q in questions:
            timings: dict[str, float] = {}
            searcher.search(q, k=10, timings=timings, highlight=True)  # as the app and the API search
            totals.append(sum(v for stage, v in timings.items() if stage not in ("encode", "highlight")))
            highlights.append(timings["highlight"])
            for stage in STAGES:
                stages[stage].append(timings.get(stage, 0.0))

    generation, manifest = current_generation(index_dir)
    disk = sum(info["bytes"] for info in manifest.files.values()) + (generation / "manifest.json").stat().st_size
    result = {
        "passages": n,
        "embedder": "model" if real else StandIn.model_id,
        "search_ms": {"p50": round(float(np.percentile(totals, 50)), 2), "p95": round(float(np.percentile(totals, 95)), 2)},
        "stages_ms": {stage: round(float(np.median(v)), 3) for stage, v in stages.items()},
        # highlights, the answer sentence and why-this-passage for the 10 hits (not in search_ms, as the issue defines it)
        "highlight_ms": {"p50": round(float(np.percentile(highlights, 50)), 2),
                         "p95": round(float(np.percentile(highlights, 95)), 2)},
        "ann_recall_at_100": _ann_recall(searcher, questions, "dense"),
        "units_recall_at_100": _ann_recall(searcher, questions, "units"),
        "dense_index": type(searcher.index.dense.index).__name__,
        "rss_bytes_per_passage": round(loaded["rss_bytes"] / n, 1),
        "rss_searched_bytes_per_passage": round(loaded["rss_searched_bytes"] / n, 1),
        "anon_searched_bytes_per_passage": round(loaded["anon_searched_bytes"] / n, 1),
        "mapped_bytes_per_passage": round(sum(manifest.files[f]["bytes"] for f in MAPPED if f in manifest.files) / n, 1),
        "disk_bytes_per_passage": round(disk / n, 1),
        "load_s": loaded["load_s"],
        "build_s": None if build_s is None else round(build_s, 1),
        "build_s_without_embedding": None if build_s is None else round(build_s - timed.seconds, 1),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


def _readings(question: str) -> list[str]:
    """The texts a search embeds besides the question, so they can be precomputed: the question read as
    Thai and by the dictionary (the model's lists search with them too) and its Lao words read as Thai (the bridge)."""
    from search.retrieve.bridge import dictionary_reading, lao_content_words, read_as_thai

    glosses = dictionary_reading(tokenize(question, keep_stopwords=True))
    return ([read_as_thai(question)] + ([glosses] if glosses else [])
            + [read_as_thai(w) for w in lao_content_words(tokenize(question))])


def _ann_recall(searcher: Searcher, questions: list[str], which: str) -> float:
    """Share of the exact top 100 (centered cosine) that an index's own search returns (ties count as found).

    ``which`` is ``"dense"`` (passages) or ``"units"`` (the best-sentence list's sentences).
    """
    index = searcher.index
    ann = index.dense if which == "dense" else index.units
    langs = [searcher.search(q, k=1).question_lang for q in questions]
    centered = index.centering.apply(searcher.embedder.embed_queries(questions), langs)
    exact = ann.vectors() @ centered.T
    found = ann.search(centered, 100)
    hits = []
    for i, row in enumerate(found):
        scores = exact[:, i]
        depth = min(100, len(scores))
        kth = np.sort(scores)[-depth]
        hits.append(sum(scores[r] >= kth - 1e-3 for r, _ in row[:depth]) / depth)
    return round(float(np.mean(hits)), 4)


if __name__ == "__main__":
    main()
