"""Batch evaluation: run a gold set through the same search path users get, and break the metrics down."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from search.retrieve.answer import ANSWER_THRESHOLD
from search.retrieve.checks import check_question
from search.retrieve.engine import Searcher
from search.errors import QueryError
from search.evaluation.gold import GoldProblem, GoldQuestion, match_form, relevant_ids
from search.ingest.lang import detect_lang
from search.evaluation.metrics import RANK_CUTOFF, mean_metrics, question_metrics


@dataclass
class EvalRun:
    """The result of one retriever on one gold set (the ``--json`` output is :meth:`to_dict`)."""

    retriever: str
    k: int
    overall: dict
    by_lang: dict
    by_pair: dict
    questions: list[dict]
    problems: list[GoldProblem] = field(default_factory=list)
    config: dict = field(default_factory=dict)
    answer_box: dict = field(default_factory=dict)  # right / wrong / empty counts, and the threshold
    # For TREC files (search/evaluation/trec.py), not in the JSON: each question's relevant passages,
    # and its ranked (passage id, score) list.
    judged: dict[str, list[str]] = field(default_factory=dict, repr=False)
    ranked: dict[str, list[tuple[str, float]]] = field(default_factory=dict, repr=False)

    @property
    def n(self) -> int:
        """How many questions were measured (broken lines are not)."""
        return len(self.questions)

    def to_dict(self) -> dict:
        return {
            "overall": self.overall, "by_lang": self.by_lang, "by_pair": self.by_pair,
            "questions": self.questions, "config": self.config, "answer_box": self.answer_box,
            "broken": [{"line": p.line, "id": p.id, "problem": p.problem} for p in self.problems],
        }


def language_pair(question_lang: str, passage_langs: set[str]) -> str:
    """``"lo->en"``: the question's language, then those of the passages holding its answers (``en+lo`` for both)."""
    return f"{question_lang}->{'+'.join(sorted(passage_langs))}"


def evaluate(
    searcher: Searcher,
    questions: list[GoldQuestion],
    *,
    retriever: str = "dense",
    k: int = 10,
    problems: list[GoldProblem] = (),
    docs: list[str] | None = None,
) -> EvalRun:
    """Run every question and compute the metrics overall, per question language and per language pair.

    Questions whose answers occur in no passage of the index are reported as
    problems and left out of the averages, never dropped silently.

    Args:
        searcher: the searcher over the index to evaluate.
        questions: the gold questions.
        retriever: the retrieval method (see ``Searcher.retrievers``).
        k: how many passages to retrieve per question (metrics use the top 10 at most).
        problems: problems found while loading the gold set, carried into the result.
        docs: search only these reports (as a user who chose them would); all when None.
    """
    passages = list(searcher.index.passages)  # read once: the index reads lines when asked
    forms = [match_form(p.text) for p in passages]
    lang_of = {p.passage_id: p.lang for p in passages}
    problems, usable, relevant = list(problems), [], []
    for q in questions:
        try:
            check_question(q.question)
        except QueryError as exc:
            problems.append(GoldProblem(q.line, q.id, f"the question cannot be searched: {exc}"))
            continue
        ids = relevant_ids(q, passages, forms)
        if ids:
            usable.append(q)
            relevant.append(ids)
        else:
            where = f" of document {q.doc}" if q.doc else ""
            problems.append(GoldProblem(q.line, q.id, f"answers found in no passage{where} of the index"))
    results = searcher.search_batch([q.question for q in usable], k=max(k, 1), retriever=retriever,
                                    highlight=True, docs=docs) if usable else []
    candidates = searcher.languages()
    rows, groups, judged, scored = [], defaultdict(list), {}, {}
    for q, ids, result in zip(usable, relevant, results):
        ranked = [h.passage_id for h in result.hits]
        judged[q.id], scored[q.id] = sorted(ids), [(h.passage_id, h.score) for h in result.hits]
        lang = q.lang or detect_lang(q.question, candidates=candidates)
        pair = language_pair(lang, {lang_of[i] for i in ids})
        metrics = question_metrics(ranked[:RANK_CUTOFF], ids)
        groups[("lang", lang)].append(metrics)
        groups[("pair", pair)].append(metrics)
        groups[("all", "")].append(metrics)
        rank = next((i for i, pid in enumerate(ranked, 1) if pid in ids), None)
        rows.append({"id": q.id, "lang": lang, "pair": pair, "rank": rank, "top": ranked, **_answer_row(q, result)})
    by = lambda kind: {name: mean_metrics(m) for (g, name), m in sorted(groups.items()) if g == kind}  # noqa: E731
    box = {"threshold": ANSWER_THRESHOLD, **{o: sum(r["answer"] == o for r in rows) for o in ("right", "wrong", "empty")}}
    return EvalRun(retriever, k, mean_metrics(groups[("all", "")]), by("lang"), by("pair"), rows,
                   sorted(problems, key=lambda p: p.line), answer_box=box, judged=judged, ranked=scored)


def _answer_row(question: GoldQuestion, result) -> dict:
    """How the answer box did: ``right`` (shown, and its sentence holds an answer), ``wrong`` (shown, it does
    not) or ``empty`` (not confident enough); with the candidate's confidence and correctness, for calibration."""
    candidate = result.candidate
    holds = candidate is not None and any(match_form(a) in match_form(candidate.text) for a in question.answers)
    outcome = "empty" if result.answer is None else "right" if holds else "wrong"
    return {"answer": outcome, "answer_confidence": None if candidate is None else round(candidate.confidence, 4),
            "answer_agreed": candidate is not None and candidate.agreed, "answer_holds": holds}


def format_table(run: EvalRun) -> str:
    """A fixed-width table: overall, per language, per pair; one column per metric."""
    keys = ["n", "hit@1", "hit@3", "hit@5", "hit@10", "mrr@10", "ndcg@10"]
    lines = [f"{'':<16}" + "".join(f"{key:>9}" for key in keys)]
    for label, metrics in _labelled(run):
        lines.append(f"{label:<16}" + "".join(_cell(metrics[key]) for key in keys))
    if run.answer_box:
        box = run.answer_box
        lines.append(f"answer box (confidence >= {box['threshold']:.2f}, or the three lists agree): {box['right']} right, "
                     f"{box['wrong']} wrong, {box['empty']} empty")
    return "\n".join(lines)


def format_side_by_side(runs: list[EvalRun], keys=("hit@1", "hit@5", "mrr@10")) -> str:
    """Several retrievers in one table: per group, the chosen metrics of each retriever."""
    header = f"{'':<16}{'n':>5}" + "".join(f"{r.retriever + ' ' + key:>{max(18, len(r.retriever) + 8)}}" for r in runs for key in keys)
    lines = [header]
    labelled = [dict(_labelled(r)) for r in runs]
    for label, metrics in _labelled(runs[0]):
        cells = "".join(f"{labelled[i][label][key]:>{max(18, len(r.retriever) + 8)}.3f}" for i, r in enumerate(runs) for key in keys)
        lines.append(f"{label:<16}{metrics['n']:>5}" + cells)
    return "\n".join(lines)


def _labelled(run: EvalRun):
    yield "all", run.overall
    for lang, metrics in run.by_lang.items():
        yield f"lang {lang}", metrics
    for pair, metrics in run.by_pair.items():
        yield f"pair {pair}", metrics


def _cell(value) -> str:
    return f"{value:>9}" if isinstance(value, int) else f"{value:>9.3f}"
