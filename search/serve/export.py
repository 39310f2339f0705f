"""Search results as files a reader keeps: CSV (for a spreadsheet) and JSON, with full citations and links."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

from search.cite import human_citation
from search.retrieve.engine import SearchResult

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = ("question", "rank", "text", "lang", "citation", "document", "title", "section", "paragraph", "page", "link")


def result_rows(result: SearchResult, link: Callable[[str, tuple[int, int] | None], str]) -> list[dict]:
    """One row per hit: the question, rank, text, language, the citation in words and in parts, and a link.

    Args:
        result: a search result.
        link: makes the link to a passage (its id and highlighted span) in the source.
    """
    return [{"question": result.question, "rank": h.rank, "text": h.text, "lang": h.lang,
             "citation": human_citation(h.citation), "document": h.citation.document, "title": h.citation.title,
             "section": h.citation.section or "", "paragraph": h.citation.paragraph,
             "page": "" if h.citation.page is None else h.citation.page, "link": link(h.passage_id, h.highlight)}
            for h in result.hits]


def write_csv(path: Path, rows: list[dict]) -> Path:
    """Write rows as UTF-8 CSV with a byte-order mark, so spreadsheet programs read Lao correctly.

    A text cell that a spreadsheet would run as a formula (it starts with ``=``, ``+``, ``-``, ``@``,
    a tab or a carriage return) gets a leading ``'``, as OWASP advises against CSV injection; the
    JSON export keeps every text exactly.
    """
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({key: _inert(value) for key, value in row.items()} for row in rows)
    return Path(path)


def _inert(value):
    return "'" + value if isinstance(value, str) and value[:1] in FORMULA_STARTS else value


def write_json(path: Path, result: SearchResult, rows: list[dict]) -> Path:
    """Write the question, the answer and the rows as JSON (Lao as Lao, not escapes)."""
    data = {"question": result.question, "question_lang": result.question_lang,
            "answer": result.answer.to_dict() if result.answer else None, "results": rows}
    Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    return Path(path)
