"""List the questions that moved between two eval runs (``python -m search eval --json``).

    python bench/compare.py before.json after.json

Kept for old habits: it is ``python -m search compare`` (search/evaluation/compare.py), which also
gives each metric's difference a paired randomization test.
"""

from __future__ import annotations

import sys

from search.cli import cli

if __name__ == "__main__":
    cli(["compare", *sys.argv[1:]])
