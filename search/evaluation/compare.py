"""Two eval runs side by side: every question that moved, and whether the difference is more than chance.

On 66 questions one question moves hit@k by 0.015, so a summary figure hides what changed. This
lists each question whose first relevant rank moved, and tests each metric's mean difference with
a paired randomization test (Fisher's: the sign of each question's difference flipped at random,
as Smucker, Allan and Carterette (2007) recommend for IR), seeded so a comparison prints the same
p-value every time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from search.evaluation.metrics import RANK_CUTOFF

METRICS = ("hit@1", "hit@5", "hit@10", f"mrr@{RANK_CUTOFF}")


@dataclass(frozen=True)
class Move:
    """A question whose first relevant rank changed (None: not in the top ``k``)."""

    id: str
    pair: str
    before: int | None
    after: int | None

    @property
    def up(self) -> bool:
        return self.after is not None and (self.before is None or self.after < self.before)


@dataclass(frozen=True)
class Comparison:
    n: int
    metrics: dict[str, dict[str, float]]  # metric -> before, after, delta, p
    moves: list[Move]
    only_in_one: int  # questions in one run only (not compared)

    def lost_net(self, k: int = 5) -> int:
        """Questions that left the top ``k`` minus those that entered it (the guard "no question lost net")."""
        inside = lambda rank: rank is not None and rank <= k  # noqa: E731
        return sum(inside(m.before) and not inside(m.after) for m in self.moves) - \
            sum(inside(m.after) and not inside(m.before) for m in self.moves)


def load_ranks(path: Path, retriever: str | None = None) -> dict[str, tuple[str, int | None]]:
    """question id -> (language pair, first relevant rank) from ``eval --json`` output.

    A file written with ``--retriever all`` holds every retriever: name one (default: the first).

    Raises:
        ValueError: the file is not an eval run, or does not hold ``retriever``.
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if "retrievers" in data:
        runs = data["retrievers"]
        if retriever is not None and retriever not in runs:
            raise ValueError(f"{path} holds no run of {retriever!r}; it holds {', '.join(runs)}")
        data = runs[retriever or next(iter(runs))]
    if not isinstance(data, dict) or "questions" not in data:
        raise ValueError(f"{path} is not an eval run (python -m search eval --json)")
    return {q["id"]: (q["pair"], q["rank"]) for q in data["questions"]}


def metric(rank: int | None, name: str) -> float:
    """A question's ``hit@k`` or ``mrr@10`` from its first relevant rank."""
    if rank is None:
        return 0.0
    kind, k = name.split("@")
    return float(rank <= int(k)) if kind == "hit" else (1.0 / rank if rank <= int(k) else 0.0)


def randomization_p(differences: np.ndarray, *, permutations: int = 20_000, seed: int = 0) -> float:
    """Two-sided p-value of a paired randomization test of ``mean(differences) == 0``.

    Each permutation flips the sign of each difference at random; p is the share of permutations
    whose mean is at least as far from zero as the observed one (counting the observed, so never 0).
    """
    d = np.asarray(differences, dtype=float)
    if not d.size or not np.any(d):
        return 1.0
    observed = abs(d.mean())
    signs = np.random.default_rng(seed).choice((-1.0, 1.0), size=(permutations, d.size))
    means = np.abs(signs @ d) / d.size
    return float((np.count_nonzero(means >= observed - 1e-12) + 1) / (permutations + 1))


def compare(before: dict, after: dict, *, permutations: int = 20_000, seed: int = 0) -> Comparison:
    """Compare two runs' ranks (from :func:`load_ranks`) on the questions both measured."""
    common = sorted(before.keys() & after.keys())
    table = {}
    for name in METRICS:
        a = np.array([metric(before[q][1], name) for q in common])
        b = np.array([metric(after[q][1], name) for q in common])
        table[name] = {"before": float(a.mean()) if common else 0.0, "after": float(b.mean()) if common else 0.0,
                       "delta": float((b - a).mean()) if common else 0.0,
                       "p": randomization_p(b - a, permutations=permutations, seed=seed)}
    moves = [Move(q, before[q][0], before[q][1], after[q][1]) for q in common if before[q][1] != after[q][1]]
    return Comparison(len(common), table, moves, len(before.keys() ^ after.keys()))


def format_comparison(c: Comparison) -> str:
    """The metrics before and after with their differences and p-values, then every question that moved."""
    lines = [f"{c.n} questions compared" + (f" ({c.only_in_one} in one run only, left out)" if c.only_in_one else ""),
             f"{'metric':8} {'before':>7} {'after':>7} {'delta':>7} {'p':>7}"]
    for name, m in c.metrics.items():
        lines.append(f"{name:8} {m['before']:7.3f} {m['after']:7.3f} {m['delta']:+7.3f} {m['p']:7.3f}")
    lines.append("")
    for m in c.moves:
        lines.append(f"{m.id:12} {m.pair:10} {m.before or '-':>3} -> {m.after or '-':<3} {'up' if m.up else 'down'}")
    up = sum(m.up for m in c.moves)
    lines.append(f"moved: {up} up, {len(c.moves) - up} down; top 5 lost net: {c.lost_net(5)}")
    return "\n".join(lines)
