"""Every bench starts: each bench/*.py runs in a tiny mode, as a user runs it (its own process), so a function
that moves or an argument that changes breaks the suite instead of the next measurement. No timing is
checked; a bench's figures are checked where the README shows them (tests/test_readme.py).

Benches that build the bundled report's index find the session's (copied where they keep theirs), so that
they embed only what they add; each runs in seconds to a minute."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

BENCH = ROOT / "bench"

# bench -> (its arguments, given the work folder; a line its output must hold; indexes of the bundled report
# it keeps under the work folder, seeded with the session's)
TINY = {
    "build.py": (lambda w: ["--passages", "10", "--work", w], "build/raw throughput", ()),
    "compare.py": (lambda w: [f"{w}/run.json", f"{w}/run.json"], "", ()),
    "expansion.py": (lambda w: ["--index", f"{w}/index"], "query-side", ("index",)),
    "hostile.py": (lambda w: ["--work", w, "--searches", "5", "--only", "tags"], "20 MB of tiny tags", ("index",)),
    "hubness.py": (lambda w: ["--passages", "3000"], "hubness", ()),
    "latency.py": (lambda w: ["--engines", "onnx-fp32", "--questions", "3", "--repeat", "1", "--dictionary-words", "50",
                              "--work", w],
                   "default retriever", ("onnx-fp32",)),
    "library.py": (lambda w: ["--library-reports", "1", "--no-latency", "--work", w], "alone", ("index-alone", "index-library")),
    "parallel.py": (lambda w: ["--pairs", "24"], "lo->en", ()),
    "pdf.py": (lambda w: ["--repeat", "1"], "pages", ()),
    "ray_build.py": (lambda w: ["--passages", "10", "--cpus", "1", "--work", w], "ray", ()),
    "readme.py": (lambda w: ["--scale-only", "--check"], "", ()),
    "scale.py": (lambda w: ["--passages", "200", "--real-up-to", "0", "--repeat", "1", "--work", w], "search_ms", ()),
    "screenshots.py": (lambda w: ["--index", f"{w}/index", "--out", w], "screenshot", ("index",)),
    "serve.py": (lambda w: ["--clients", "1", "--requests", "2", "--rounds", "1", "--work", w], "engine", ("index",)),
    "synthetic.py": (lambda w: ["--passages", "20", "--out", f"{w}/library"], "", ()),
    "terms.py": (lambda w: ["--distractors", "3", "--caps", "0", "--work", w], "terms", ("index",)),
    "update.py": (lambda w: ["--paragraphs", "200", "--report", "10", "--repeat", "1", "--work", w], '"add_s"', ()),
}


# Benches a test of their subject starts in their tiny mode, checking their figures too.
STARTED_ELSEWHERE = {"ocr.py": "tests/test_ocr.py::test_the_ocr_bench_runs_in_its_tiny_mode"}


def test_every_bench_has_a_tiny_mode():
    assert sorted([*TINY, *STARTED_ELSEWHERE]) == sorted(p.name for p in BENCH.glob("*.py"))


@pytest.mark.parametrize("name", sorted(TINY))
def test_a_bench_starts_and_finishes(name, tip_index, tmp_path):
    arguments, expected, seeded = TINY[name]
    work = tmp_path / "work"
    work.mkdir()
    for folder in seeded:  # the bundled report's index, as a previous run of the bench would have left it
        shutil.copytree(tip_index, work / folder)
    if name == "compare.py":
        subprocess.run([sys.executable, "-m", "search", "eval", str(ROOT / "eval" / "gold" / "laos-tip-2022.jsonl"),
                        "--index", str(tip_index), "--json", str(work / "run.json")], check=True, cwd=ROOT,
                       capture_output=True, env=_env())
    if name == "screenshots.py" and not Path("/usr/bin/chromium").exists():
        pytest.skip("Debian's chromium is not installed (bash tests/setup.sh)")
    done = subprocess.run([sys.executable, str(BENCH / name), *arguments(str(work))], cwd=ROOT, capture_output=True,
                          text=True, env=_env(), timeout=600)
    assert done.returncode == 0, f"{name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert expected in done.stdout + done.stderr, done.stdout[-3000:]


def _env() -> dict:
    """This session's environment (its model cache, offline), with the worktree's package first."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
