"""Adding and removing one report in a big library, against building that library from scratch.

    python bench/update.py [--paragraphs 100000] [--report 100] [--repeat 3] [--work DIR] [--json OUT] [--profile]

The library is bench/synthetic.py's (100,000 paragraphs make about 128,000 passages), embedded by bench/scale.py's ``StandIn`` (the model would take a
day here; a build's work besides embedding is the same whichever model). The bench builds it from scratch
(the baseline), then adds a synthetic report of at least ``--report`` passages and removes it again,
``--repeat`` times, each a ``build_index`` run as ``python -m search build`` does it. Times exclude
the embedding of the added report (the StandIn's own time is measured and taken off); medians are printed
with the ratio to the from-scratch build, all measured in this run. Then the app's start-up check
(``index_is_stale``, which takes an unchanged file's hash from its stamp) against hashing every report.
With ``--profile``, one more add is profiled and its time given by stage (docs/scaling.md).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale import StandIn, Timed  # noqa: E402
from synthetic import write_library  # noqa: E402

from search.fileio import file_sha256  # noqa: E402
from search.index.build import build_index, document_passages  # noqa: E402
from search.index.freshness import index_is_stale  # noqa: E402
from search.ingest.read import list_corpus  # noqa: E402
from search.ingest.chunk import ChunkSettings  # noqa: E402
from search.ingest.read import read_document  # noqa: E402
from search.progress import TerminalProgress  # noqa: E402

ADDED = "zz-added-report.txt"  # sorts last: the added report's passages come after the library's
# An add's stages: (label, module path suffix, function, only its calls from this function or None), timed
# inclusively by a profile of one add ("of which" rows are part of the row above).
STAGES = (
    ("the live generation: checksums", "index/generations.py", "damaged_files", None),
    ("the live generation: loading (checksums included)", "index/build.py", "_reusable", None),
    ("reading (stamps; the new report)", "index/build.py", "_read_or_reuse", None),
    ("gathering vectors (embedding included)", "index/build.py", "_embed_new", None),
    ("BM25 and term counts", "index/build.py", "_lexical", None),
    ("the bridge's term tables", "index/terms.py", "build_term_tables", None),
    ("the centering's reference means (cached)", "index/build.py", "language_reference", None),
    ("writing the generation", "index/publish.py", "_write_generation", None),
    ("  of which passages.jsonl and its table", "index/publish.py", "_write_lines", None),
    ("  of which vector files", "index/vector_files.py", "save_vectors", None),
    ("    of which neighbourhoods (hub discount)", "index/neighbours.py", "updated", None),
    ("    of which FAISS indexes", "index/dense.py", "from_vectors", None),
    ("    of which centering", "index/centering.py", "apply", None),
    ("  of which checksums of the new files (the wait)", "search/fileio.py", "sha256", "_write_generation"),
    ("  of which flushing to disk", "search/fileio.py", "sync_tree", None),
)


def timed_build(library: Path, index_dir: Path, embedder: Timed, progress=None) -> tuple[float, int]:
    """Seconds of one build, less the embedder's own, and the passages it holds."""
    embedder.seconds = 0.0
    start = time.perf_counter()
    report = build_index(library, index_dir, embedder=embedder, progress=progress)
    return time.perf_counter() - start - embedder.seconds, report.passages


def profiled_add(library: Path, index_dir: Path, embedder: Timed, added: Path) -> dict[str, float]:
    """One more add, profiled: seconds per stage (``STAGES``; inclusive, so nested rows are part of the row
    above), the embedder's own time taken off the whole; the report is removed again after."""
    import cProfile
    import pstats

    shutil.copy(added, library / ADDED)
    profile = cProfile.Profile()
    profile.enable()
    seconds, _ = timed_build(library, index_dir, embedder)
    profile.disable()
    (library / ADDED).unlink()
    timed_build(library, index_dir, embedder)
    stats = pstats.Stats(profile).stats  # (file, line, function) -> (calls, primitive, own, inclusive, callers)
    out = {}
    for label, path, function, caller in STAGES:
        total = 0.0
        for (file, _, name), (_, _, _, inclusive, callers) in stats.items():
            if name == function and file.endswith(path):
                total += inclusive if caller is None else sum(c[3] for k, c in callers.items() if k[2] == caller)
        out[label] = round(total, 3)
    out["all (profiled)"] = round(seconds, 2)
    return out


def report_of(folder: Path, passages: int) -> Path:
    """One synthetic report that the build cuts into at least ``passages`` passages (the synthetic library's
    reports, 40 paragraphs each, joined under one title)."""
    paragraphs = max(1, passages * 3 // 4)  # about 1.28 passages a paragraph
    while True:
        shutil.rmtree(folder, ignore_errors=True)
        parts = write_library(folder / "parts", paragraphs, seed=7)
        bodies = [part.read_text(encoding="utf-8").split("\n\n", 1)[1].strip() for part in parts]
        path = folder / ADDED
        path.write_text("Added report\n\n" + "\n\n".join(bodies) + "\n", encoding="utf-8")
        if len(document_passages(read_document(path, path.name), None, ChunkSettings())) >= passages:
            return path
        paragraphs += max(1, paragraphs // 20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paragraphs", type=int, default=100_000, help="of the library (about 1.28 passages each)")
    parser.add_argument("--report", type=int, default=100, help="passages of the report added and removed")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=None, help="folder for the library and index (default: a temporary one)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--profile", action="store_true", help="then profile one more add, by stage")
    args = parser.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="bench-update-"))
    library, index_dir, extra = work / "library", work / "index", work / "report"
    shutil.rmtree(library, ignore_errors=True)
    shutil.rmtree(index_dir, ignore_errors=True)
    shutil.rmtree(extra, ignore_errors=True)
    write_library(library, args.paragraphs)
    added = report_of(extra, args.report)
    embedder = Timed(StandIn())

    scratch_s, n = timed_build(library, index_dir, embedder, TerminalProgress())
    print(f"from scratch: {n} passages, {scratch_s:.1f} s besides embedding", flush=True)
    adds, removes, added_passages = [], [], 0
    for _ in range(args.repeat):
        shutil.copy(added, library / ADDED)
        seconds, total = timed_build(library, index_dir, embedder)
        adds.append(seconds)
        added_passages = total - n
        (library / ADDED).unlink()
        removes.append(timed_build(library, index_dir, embedder)[0])
        print(f"add {adds[-1]:.1f} s, remove {removes[-1]:.1f} s", flush=True)

    stale_s, hashed_s = [], []  # the start-up check, against hashing every report as it did before stamps
    files = list_corpus(library)[0]
    for _ in range(args.repeat):
        start = time.perf_counter()
        assert not index_is_stale(library, index_dir)
        stale_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        for path in files:
            file_sha256(path)
        hashed_s.append(time.perf_counter() - start)
    corpus_mb = sum(p.stat().st_size for p in files) / 1e6
    print(f"start-up check {statistics.median(stale_s):.2f} s; hashing every report ({corpus_mb:.0f} MB) "
          f"{statistics.median(hashed_s):.2f} s", flush=True)

    stages = profiled_add(library, index_dir, embedder, added) if args.profile else None
    if stages:
        width = max(map(len, stages))
        print("one add, profiled (seconds, embedding included where a stage embeds):")
        for label, seconds in stages.items():
            print(f"  {label:<{width}} {seconds:7.2f}")

    result = {
        "passages": n,
        "report_passages": added_passages,
        "repeat": args.repeat,
        "scratch_s": round(scratch_s, 1),
        "add_s": round(statistics.median(adds), 2),
        "remove_s": round(statistics.median(removes), 2),
        "add_over_scratch": round(statistics.median(adds) / scratch_s, 3),
        "remove_over_scratch": round(statistics.median(removes) / scratch_s, 3),
        "add_runs_s": [round(s, 2) for s in adds],
        "remove_runs_s": [round(s, 2) for s in removes],
        "corpus_files": len(files),
        "corpus_mb": round(corpus_mb, 1),
        "startup_check_s": round(statistics.median(stale_s), 3),
        "hash_every_report_s": round(statistics.median(hashed_s), 3),
        **({"add_stages_s": stages} if stages else {}),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
