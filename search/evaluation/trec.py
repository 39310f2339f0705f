"""An evaluation as the field's files: a TREC run and its qrels, readable by trec_eval, ir_measures and ranx.

A run line is ``qid Q0 docno rank score tag``; a qrels line ``qid 0 docno 1``. The document numbers
are passage ids (``report.txt#12``); relevance is the gold format's (a passage holding an answer), so
a tool computing ``Success@k``, ``RR@10`` and ``nDCG@10`` on these files gives this program's
``hit@k``, ``mrr@10`` and ``ndcg@10`` (tested with ir_measures).

Evaluation tools order a run by score, not by the rank column. Fused scores can tie or (after the
answer-type step) rise a little down the list, so each score written is the system's score, lowered
just below the previous one where needed: the order read back is the order shown.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote, unquote

from search.evaluation.evaluate import EvalRun

METRIC_NAMES = {"hit@1": "Success@1", "hit@3": "Success@3", "hit@5": "Success@5", "hit@10": "Success@10",
                "mrr@10": "RR@10", "ndcg@10": "nDCG@10"}  # this program's names, as ir_measures and ranx spell them
_SPACE = re.compile(r"[\s%]")


def trec_id(name: str) -> str:
    """An id without whitespace (TREC files are split on it): each whitespace character, and ``%`` itself, as the
    ``%XX`` of its UTF-8 bytes, so :func:`from_trec_id` gives the id back exactly (``a%20b`` stays apart from ``a b``)."""
    return _SPACE.sub(lambda m: quote(m.group(), safe=""), name)


def from_trec_id(word: str) -> str:
    """The id :func:`trec_id` was given."""
    return unquote(word)


def write_run(path: Path, run: EvalRun, tag: str | None = None) -> Path:
    """Write the run's ranked lists as a TREC run file (``tag`` defaults to the retriever's name)."""
    lines = []
    for qid, hits in run.ranked.items():
        previous = None
        for rank, (pid, score) in enumerate(hits, 1):
            score = float(score) if previous is None else min(float(score), previous - 1e-6)
            previous = score
            lines.append(f"{trec_id(qid)} Q0 {trec_id(pid)} {rank} {score:.6f} {trec_id(tag or run.retriever)}\n")
    Path(path).write_text("".join(lines), encoding="utf-8")
    return Path(path)


def write_qrels(path: Path, run: EvalRun) -> Path:
    """Write the passages that hold each question's answers as TREC qrels (binary relevance)."""
    lines = [f"{trec_id(qid)} 0 {trec_id(pid)} 1\n" for qid, ids in run.judged.items() for pid in ids]
    Path(path).write_text("".join(lines), encoding="utf-8")
    return Path(path)
