"""The Markdown evaluation report with a chart of hit@k per language pair and retriever."""

from __future__ import annotations

from pathlib import Path

from search.evaluation.evaluate import EvalRun, format_table
from search.evaluation.metrics import HIT_CUTOFFS


def write_report(runs: list[EvalRun], out_dir: Path, *, title: str) -> Path:
    """Write ``report.md`` and ``hit_at_k.png`` into ``out_dir``.

    Args:
        runs: one run per retriever, on the same gold set.
        out_dir: the folder to write into (created if needed).
        title: the report's heading, e.g. the gold set's name.

    Returns:
        The path of ``report.md``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _chart(runs, out_dir / "hit_at_k.png")
    parts = [f"# Evaluation: {title}", "", "![hit@k per language pair and retriever](hit_at_k.png)", ""]
    for run in runs:
        parts += [f"## Retriever `{run.retriever}`", "", "```", format_table(run), "```", ""]
        misses = [q for q in run.questions if q["rank"] is None]
        if misses:
            parts += [f"Questions with no relevant passage in the top {run.k}: " + ", ".join(q["id"] for q in misses), ""]
    problems = runs[0].problems if runs else []
    if problems:
        parts += ["## Broken gold lines", ""] + [f"- {p}" for p in problems] + [""]
    path = out_dir / "report.md"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def _chart(runs: list[EvalRun], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = sorted({pair for run in runs for pair in run.by_pair})
    fig, axes = plt.subplots(1, max(len(pairs), 1), figsize=(3.2 * max(len(pairs), 1), 3.4), sharey=True, squeeze=False)
    for ax, pair in zip(axes[0], pairs):
        for run in runs:
            metrics = run.by_pair.get(pair)
            if metrics:
                ax.plot(HIT_CUTOFFS, [metrics[f"hit@{k}"] for k in HIT_CUTOFFS], marker="o", label=run.retriever)
        n = next((run.by_pair[pair]["n"] for run in runs if pair in run.by_pair), 0)
        ax.set_title(f"{pair} (n={n})")
        ax.set_xticks(HIT_CUTOFFS)
        ax.set_xlabel("k")
        ax.set_ylim(0, 1.05)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("hit@k")
    axes[0][-1].legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
