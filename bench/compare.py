"""List the questions that moved between two eval runs (``python -m search eval --json``).

    python bench/compare.py before.json after.json

One question moves hit@k by 1/n, so a small gold set's summary figures hide what
changed; this prints every question whose rank of the first relevant passage moved,
and the count that went up, went down, entered or left the top 5.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def ranks(path: Path) -> dict[str, tuple[str, int | None]]:
    """question id → (language pair, rank of its first relevant passage, None when missed)."""
    run = json.loads(Path(path).read_text(encoding="utf-8"))
    return {q["id"]: (q["pair"], q["rank"]) for q in run["questions"]}


def moves(before: dict, after: dict) -> list[tuple[str, str, int | None, int | None]]:
    """(id, pair, rank before, rank after) of the questions whose rank changed, in id order."""
    return [(qid, pair, rank, after[qid][1]) for qid, (pair, rank) in sorted(before.items())
            if qid in after and after[qid][1] != rank]


def _better(a: int | None, b: int | None) -> bool:
    """True when rank ``b`` is better than rank ``a`` (None is a miss)."""
    return b is not None and (a is None or b < a)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    before, after = ranks(args.before), ranks(args.after)
    moved = moves(before, after)
    for qid, pair, a, b in moved:
        print(f"{qid:10} {pair:10} {a or '-':>3} -> {b or '-':<3} {'up' if _better(a, b) else 'down'}")
    up = sum(_better(a, b) for _, _, a, b in moved)
    into = sum(b is not None and b <= 5 and (a is None or a > 5) for _, _, a, b in moved)
    out = sum(a is not None and a <= 5 and (b is None or b > 5) for _, _, a, b in moved)
    print(f"{len(before)} questions: {up} up, {len(moved) - up} down; top 5: {into} in, {out} out")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
