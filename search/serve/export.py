"""Search results as files a reader keeps: CSV (for a spreadsheet) and JSON, with full citations and links."""

from __future__ import annotations

import atexit
import csv
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from search.cite import human_citation
from search.display import json_line
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
    with open(path, "w", encoding="utf-8-sig", newline="", errors="backslashreplace") as f:  # a lone surrogate: \udcff
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
    Path(path).write_text(json_line(data, indent=2), encoding="utf-8")
    return Path(path)


class ExportFolder:
    """Where a server's export files go: one private folder per process (``mkdtemp``, mode 700), made on
    first use and removed at exit; each search's files in a subfolder of their own, swept after
    ``keep_seconds``.

    The folder's name is random, so nobody can plant a link at it beforehand, and the sweep removes
    only the subfolders this object made, by the names it recorded: a link planted inside is never
    followed.
    """

    def __init__(self, keep_seconds: float = 3600, sweep_every: float = 60):
        self.keep_seconds, self.sweep_every = keep_seconds, sweep_every
        self._root: Path | None = None
        self._made: dict[Path, float] = {}
        self._last_sweep = 0.0
        self._lock = threading.Lock()

    def new(self) -> Path:
        """A new, empty, private subfolder for one search's files (older ones are swept first)."""
        self.sweep()
        with self._lock:
            if self._root is None:
                self._root = Path(tempfile.mkdtemp(prefix="report-search-exports-"))
                atexit.register(shutil.rmtree, self._root, True)
            folder = Path(tempfile.mkdtemp(dir=self._root))
            self._made[folder] = time.monotonic()
        return folder

    def sweep(self, *, force: bool = False) -> None:
        """Remove subfolders older than ``keep_seconds``, at most once every ``sweep_every`` seconds."""
        now = time.monotonic()
        with self._lock:
            if not force and now - self._last_sweep < self.sweep_every:
                return
            self._last_sweep = now
            old = [folder for folder, made in self._made.items() if now - made >= self.keep_seconds]
            for folder in old:
                del self._made[folder]
        for folder in old:
            if not folder.is_symlink():
                shutil.rmtree(folder, ignore_errors=True)
