"""Gold question sets (JSON Lines, notes/gold-format.md): loading, checking, relevance.

A passage is relevant to a question when its text contains one of the question's
evidence strings, both sides NFC-normalised, whitespace runs made one space, and
casefolded; with ``doc`` set, only passages of that document count.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from search.errors import SearchError


@dataclass(frozen=True)
class GoldQuestion:
    """One gold line. ``line`` is its 1-based line number in the file."""

    id: str
    question: str
    answers: tuple[str, ...]
    lang: str | None = None
    doc: str | None = None
    line: int = 0


@dataclass(frozen=True)
class GoldProblem:
    """A gold line that cannot be used as it stands, and why."""

    line: int
    id: str | None
    problem: str

    def __str__(self) -> str:
        label = f" ({self.id})" if self.id else ""
        return f"line {self.line}{label}: {self.problem}"


def match_form(text: str) -> str:
    """The form both sides take before matching: NFC, single spaces, casefolded."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).casefold()


def load_gold(path: Path) -> tuple[list[GoldQuestion], list[GoldProblem]]:
    """Read a gold set, keeping every usable line and naming every broken one.

    Returns:
        The questions, and the problems (invalid JSON, missing or mistyped fields, repeated ids).

    Raises:
        SearchError: the file cannot be read as UTF-8 text.
    """
    try:
        # split at line feeds only: U+2028, U+0085 and the like may stand raw inside a JSON string
        lines = Path(path).read_text(encoding="utf-8-sig").split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise SearchError(f"cannot read gold set {path}: {exc}") from exc
    questions, problems, seen = [], [], set()
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        question, problem = _parse_line(raw, number)
        if problem is None and question.id in seen:
            problem = GoldProblem(number, question.id, "id repeats an earlier line")
        if problem:
            problems.append(problem)
            continue
        seen.add(question.id)
        questions.append(question)
    return questions, problems


def _parse_line(raw: str, number: int) -> tuple[GoldQuestion | None, GoldProblem | None]:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        return None, GoldProblem(number, None, f"invalid JSON ({exc.msg})")
    if not isinstance(data, dict):
        return None, GoldProblem(number, None, "a line must be a JSON object")
    qid = data.get("id")
    qid = str(qid) if isinstance(qid, (str, int)) else None
    missing = [name for name in ("id", "question", "answers") if name not in data]
    if missing:
        return None, GoldProblem(number, qid, f"missing field(s): {', '.join(missing)}")
    answers = data["answers"]
    if not isinstance(data["question"], str) or not data["question"].strip():
        return None, GoldProblem(number, qid, "question must be a non-empty string")
    if not isinstance(answers, list) or not answers or not all(isinstance(a, str) and a.strip() for a in answers):
        return None, GoldProblem(number, qid, "answers must be a non-empty list of non-empty strings")
    for name in ("lang", "doc"):
        if data.get(name) is not None and not isinstance(data[name], str):
            return None, GoldProblem(number, qid, f"{name} must be a string")
    return GoldQuestion(qid, data["question"], tuple(answers), data.get("lang"), data.get("doc"), number), None


def relevant_ids(question: GoldQuestion, passages, forms: list[str] | None = None) -> set[str]:
    """Ids of the passages whose text contains one of the question's answers (within ``doc`` if set).

    Args:
        question: the gold question.
        passages: the index's passages.
        forms: ``match_form`` of each passage's text, when already computed.
    """
    answers = [match_form(a) for a in question.answers]
    forms = forms if forms is not None else [match_form(p.text) for p in passages]
    return {
        p.passage_id for p, form in zip(passages, forms)
        if (question.doc is None or p.citation.document == question.doc) and any(a in form for a in answers)
    }
