"""What a search is asked, checked before anything runs: the question, the reports it is limited to, and k."""

from __future__ import annotations

import numbers
import re

from search.errors import EmptyQueryError, QueryError, ScopeError

MAX_QUESTION_CHARS = 2000
MAX_K = 100  # passages one search may return, everywhere (the page shows at most PAGE_MAX_K of them)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # control characters, read as spaces


def check_question(question: str) -> str:
    """Return the question stripped, or raise if it cannot be searched.

    Raises:
        EmptyQueryError: empty or only whitespace.
        QueryError: longer than ``MAX_QUESTION_CHARS``.
    """
    if not isinstance(question, str):
        raise QueryError(f"the question must be text, got {type(question).__name__}")
    question = _CONTROL.sub(" ", question).strip()
    if not question:
        raise EmptyQueryError("the question is empty; type a question in Lao or English")
    if len(question) > MAX_QUESTION_CHARS:
        raise QueryError(f"the question is {len(question)} characters long; the limit is {MAX_QUESTION_CHARS}. Ask about one thing at a time")
    try:
        question.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise QueryError(f"the question holds an invalid character at position {exc.start + 1} (a lone surrogate, "
                         "from a broken copy and paste); type it again") from exc
    return question


def check_docs(docs, known) -> tuple[str, ...]:
    """The reports a search is limited to, sorted and each once; () for all.

    Args:
        docs: report names (file names in the corpus, as citations give them), or None.
        known: the index's reports.

    Raises:
        ScopeError: ``docs`` is not a list of names, or names a report the index does not hold.
    """
    if docs is None:
        return ()
    if not isinstance(docs, (list, tuple, set, frozenset)) or not all(isinstance(d, str) for d in docs):
        raise ScopeError(f"docs must be a list of report names, got {docs!r}")
    missing = sorted({d for d in docs if d not in known})
    if missing:
        shown = ", ".join(repr(d) for d in missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise ScopeError(f"no report named {shown} in the index; reports are named by their file names, "
                         "as in citations and the corpus panel")
    return tuple(sorted(set(docs)))


def check_k(k) -> int:
    """Return ``k`` if it is a whole number from 1 to ``MAX_K``.

    Raises:
        QueryError: anything else (``1.5``, ``"5"``, ``True``, ``0``).
    """
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k <= MAX_K:
        raise QueryError(f"k must be a whole number from 1 to {MAX_K}, got {k!r}")
    return int(k)
