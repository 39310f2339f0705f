"""Index build throughput against a plain encode of the same passages, on a synthetic library.

    python bench/build.py [--passages 2000] [--engine onnx-fp32] [--threads N] [--json OUT]

Writes a deterministic synthetic library (bench/synthetic.py) of about ``--passages``
paragraphs, builds its index from scratch with the given engine, then encodes the
index's passages once more with the same embedder (``raw``: ``Embedder.embed_passages``,
nothing else). Prints the stage times, the texts the build gave the model per passage,
and the build's throughput as a ratio of the raw one, both measured in this run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import write_library  # noqa: E402

from search.index.build import build_index, make_embedder  # noqa: E402
from search.model.embed import DEFAULT_ENGINE, ENGINES  # noqa: E402
from search.index.records import IndexConfig  # noqa: E402
from search.index.store import load_index  # noqa: E402


class Counting:
    """Counts the texts and tokens an embedder's model is given (wraps its two entry points)."""

    def __init__(self, embedder):
        self.texts = 0
        self.tokens = 0
        self.on = True
        for name in ("_encode", "_token_states"):
            inner = getattr(embedder, name)

            def counted(texts, inner=inner):
                if self.on:
                    self.texts += len(texts)
                    self.tokens += sum(map(self._tokens, texts))
                return inner(texts)
            setattr(embedder, name, counted)
        self._embedder = embedder

    def _tokens(self, text: str) -> int:
        tokenizer = self._embedder.model.tokenizer
        return len(tokenizer.encode(text).ids) if hasattr(tokenizer, "encode_batch") else len(tokenizer(text)["input_ids"])


class Stages:
    """Wall time of each build stage, from its first progress call to its last."""

    def __init__(self):
        self.first, self.last = {}, {}

    def __call__(self, stage: str, done: int, total: int):
        now = time.perf_counter()
        self.first.setdefault(stage, now)
        self.last[stage] = now

    def seconds(self, start: float) -> dict[str, float]:
        # A stage starts when the previous one ended (its first call comes after its first unit of work).
        out, previous = {}, start
        for stage in sorted(self.first, key=self.first.get):
            out[stage] = round(self.last[stage] - previous, 2)
            previous = self.last[stage]
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=2000)
    parser.add_argument("--engine", choices=ENGINES, default=DEFAULT_ENGINE)
    parser.add_argument("--sentence-vectors", choices=("separate", "late"), default=IndexConfig.sentence_vectors)
    parser.add_argument("--threads", type=int, default=None, help="threads for batches (default: every core)")
    parser.add_argument("--work", type=Path, default=None, help="folder for the library and index (default: a temporary one)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="bench-build-"))
    library, index_dir = work / "library", work / "index"
    write_library(library, args.passages)
    config = IndexConfig(engine=args.engine, sentence_vectors=args.sentence_vectors)
    embedder = make_embedder(config, cache_dir=os.environ.get("REPORT_SEARCH_CACHE"), threads=args.threads)
    embedder.embed_passages(["warm-up: load the model before the clock starts"])
    counting = Counting(embedder)

    stages = Stages()
    build_start = time.perf_counter()
    report = build_index(library, index_dir, config=config, embedder=embedder, progress=stages)
    build_s = time.perf_counter() - build_start
    counting.on = False

    passages = [p.text for p in load_index(index_dir).passages]
    passage_tokens = sum(embedder.count_tokens(p) for p in passages)
    start = time.perf_counter()
    embedder.embed_passages(passages)
    raw_s = time.perf_counter() - start

    n = report.passages
    result = {
        "passages": n,
        "reports": len(report.documents),
        "engine": args.engine,
        "sentence_vectors": args.sentence_vectors,
        "threads": args.threads or os.cpu_count(),
        "texts_embedded_per_passage": round(counting.texts / n, 3),
        "tokens_embedded_per_passage_token": round(counting.tokens / passage_tokens, 3),
        "build_s": round(build_s, 2),
        "build_passages_per_s": round(n / build_s, 2),
        "raw_encode_passages_per_s": round(n / raw_s, 2),
        "build_to_raw": round(raw_s / build_s, 3),
        "stages_s": stages.seconds(build_start),
    }
    print(f"{n} passages in {len(report.documents)} reports, engine {args.engine}, sentence vectors {args.sentence_vectors}")
    print(f"texts embedded per passage: {result['texts_embedded_per_passage']} "
          f"(tokens: {result['tokens_embedded_per_passage_token']}x the passages' own)")
    print(f"build: {result['build_passages_per_s']} passages/s ({build_s:.1f} s); raw encode: "
          f"{result['raw_encode_passages_per_s']} passages/s; build/raw throughput {result['build_to_raw']}")
    print("stages (s): " + ", ".join(f"{k} {v}" for k, v in result["stages_s"].items()))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
