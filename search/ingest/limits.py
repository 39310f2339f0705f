"""Limits on the work of reading one report, beyond its size in bytes.

A small file can still be a great deal of work: a PDF of 50,000 one-line pages, a stream
that inflates a thousandfold, an HTML page of millions of tags. Each limit is checked as
early as the reader can see it, and a report over one is refused with a one-line
:class:`~search.errors.DocumentError` naming the limit and the option that sets it. Time and
memory are bounded by reading in a child process (:mod:`search.ingest.bounded`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from search.errors import DocumentError

TAGS_PER_PASSAGE = 15  # an HTML page may hold this many tags per allowed passage (markup, tables, links)


@dataclass(frozen=True)
class ReadLimits:
    """How much work reading one report may take.

    Attributes:
        max_pages: pages of a PDF (``--max-pages``).
        max_chars: characters of extracted text (``--max-chars``); a PDF stream may inflate to at
            most four bytes a character of it.
        max_passages: paragraphs a report may have, and passages it may cut into (``--max-passages``);
            an HTML page may hold ``TAGS_PER_PASSAGE`` tags for each.
        max_ocr_pages: pages of one report that may be OCR'd (``--max-ocr-pages``): scanned PDF pages, images.
        seconds: time to read one report, in the child process (``--read-seconds``); each page OCR'd gives
            it as much again.
        memory_mb: address space of the child process that reads (``--read-memory-mb``).
    """

    max_pages: int = 3000
    max_chars: int = 8_000_000
    max_passages: int = 20_000
    max_ocr_pages: int = 500
    seconds: float = 60.0
    memory_mb: int = 768

    def to_dict(self) -> dict:
        return asdict(self)

    def check(self, amount: int, limit: str, doc_id: str, what: str, *, per: int = 1) -> None:
        """Raise when ``amount`` of ``what`` is over ``per`` times the limit named ``limit``.

        Raises:
            DocumentError: naming the amount, the limit and its option.
        """
        allowed = getattr(self, limit) * per
        if amount > allowed:
            raise DocumentError(f"{doc_id}: {amount:,} {what}, over the limit of {allowed:,} "
                                f"({option_name(limit)}); split the report, or raise the limit")


DEFAULT_LIMITS = ReadLimits()

# Each limit's command-line help, for ``build`` and the app (``--max-pages`` and so on).
LIMIT_HELP = {
    "max_pages": "pages a PDF may have",
    "max_chars": "characters of text a report may have (a PDF stream may inflate to 4 bytes a character)",
    "max_passages": "paragraphs, and passages, a report may have",
    "max_ocr_pages": "pages of a report that may be OCR'd (scanned PDF pages, images)",
    "seconds": "seconds reading one report, or OCR'ing one of its pages, may take (in a child process, stopped past it)",
    "memory_mb": "MB of memory reading one report may take (the child process's address space)",
}

MIN_LIMITS = {"memory_mb": 256}  # the reading process alone takes about 150 MB of address space


def option_name(limit: str) -> str:
    """The command-line option of a limit: ``max_pages`` is ``--max-pages``, ``seconds`` ``--read-seconds``."""
    return "--" + ("read-" if not limit.startswith("max") else "") + limit.replace("_", "-")
