"""The request log: one JSON line per search, for whoever runs the app.

Each line: ``time`` (UTC), ``user``, ``endpoint`` (``page``, ``gradio-api``, ``api``), ``lang`` (the question's
detected language), ``k``, ``docs`` (how many reports the search was limited to), ``hits``, ``ms`` (the whole
search) and ``stages`` (milliseconds per stage of the engine: encode, dense, sentences, bridge, bm25, fusion,
highlight), ``outcome`` (``ok``, ``refused: …``, ``failed: …``). The question's text only when asked for
(``--log-questions``): questions can be sensitive.

Lines go to the logger ``report-search.requests`` at INFO; ``serve --request-log FILE`` sends them to a file.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime, timezone

from search.display import bounded, json_line
from search.errors import SearchError
from search.retrieve.engine import SearchResult, Searcher

LOGGER = "report-search.requests"


class RequestLog:
    """Writes the request log's lines; ``questions`` adds each question's text."""

    def __init__(self, *, questions: bool = False, logger: logging.Logger | None = None):
        self.questions = questions
        self.log = logger or logging.getLogger(LOGGER)

    def search(self, searcher: Searcher, question: str, *, endpoint: str, user: str | None, k: int,
               lang: str | None, docs: Sequence[str] | None) -> SearchResult:
        """``searcher.search`` (with highlights), timed by stage and recorded whatever its outcome."""
        stages: dict[str, float] = {}
        start = time.perf_counter()
        scope = len(docs) if isinstance(docs, (list, tuple)) else int(bool(docs))  # a bad docs is refused by the search
        record = {"user": user, "endpoint": endpoint, "k": k, "docs": scope, "filter": lang}
        try:
            result = searcher.search(question, k=k, lang=lang, highlight=True, docs=docs or None, timings=stages)
        except SearchError as exc:
            self._write(record, question, start, stages, outcome=f"refused: {bounded(str(exc))}")
            exc.request_logged = True  # the caller need not log this refusal again (see already_logged)
            raise
        except Exception as exc:
            self._write(record, question, start, stages, outcome=f"failed: {type(exc).__name__}")
            raise
        self._write({**record, "lang": result.question_lang, "hits": len(result.hits)}, question, start, stages,
                    outcome="ok")
        return result

    def _write(self, record: dict, question: str, start: float, stages: dict, *, outcome: str) -> None:
        if not self.log.isEnabledFor(logging.INFO):
            return
        line = {"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), **record,
                "ms": round((time.perf_counter() - start) * 1000, 2),
                "stages": {name: round(ms, 2) for name, ms in stages.items()}, "outcome": outcome}
        if self.questions:
            line["question"] = question
        self.log.info(json_line(line))  # Lao as Lao; every line break escaped


def already_logged(exc: BaseException) -> bool:
    """Whether ``exc`` is a refusal the request log has recorded: logged once, not again by the page or the API."""
    return getattr(exc, "request_logged", False)


def configure(level: str = "info", request_log=None) -> None:
    """Logging for ``serve``: this program's loggers on the console at ``level`` (other libraries' at warning,
    so a request is not also an HTTP client's line); request lines to ``request_log`` (a path) when given."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("report-search", "search"):  # the app's logger and the library's module loggers
        logging.getLogger(name).setLevel(level.upper())
    if request_log is not None:
        handler = logging.FileHandler(request_log, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(message)s"))
        requests = logging.getLogger(LOGGER)
        requests.addHandler(handler)
        requests.setLevel(logging.INFO)
        requests.propagate = False
