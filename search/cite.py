"""Citations: where a passage comes from, in words a reader can check."""

from __future__ import annotations

from dataclasses import asdict, dataclass

PATH_SEPARATOR = " › "  # between the headings of a section's path, from the top


@dataclass(frozen=True)
class Citation:
    """Where a passage stands in its report.

    Attributes:
        document: file name in ``corpus/``.
        title: the report's title.
        section: the heading path in force (``§ 7103. … › (c) Chairman``, the report's title left out), or None.
        paragraph: paragraph number in the document, from 1.
        start: first character of the passage in the document's source text.
        end: one past its last character.
        page: page number for PDFs, else None.
    """

    document: str
    title: str
    section: str | None
    paragraph: int
    start: int
    end: int
    page: int | None = None

    def to_dict(self) -> dict:
        """The citation as a JSON-ready dict."""
        return asdict(self)


def format_citation(citation: Citation, *, title: bool = True, chars: bool = True) -> str:
    """One line a person can follow: report, title, section, page, paragraph, characters (the title and the
    characters left out when asked: the source view shows the title above, and marks the passage).

    Example: ``laos-tip-2022-voa.txt · "TRAFFICKING…" · PROSECUTION · ¶ 12 · chars 6326–6871``.
    """
    parts = [citation.document]
    titled = title and citation.title and citation.title != citation.document
    if titled:
        shown = citation.title if len(citation.title) <= 60 else citation.title[:59].rstrip() + "…"
        parts.append(f"“{shown}”")
    if citation.section and not (titled and citation.section == citation.title):  # not "LAOS: TIER 2" twice
        parts.append(short_path(citation.section))  # each heading cut for display; the stored path is whole
    parts.append(place(citation))
    if chars:
        parts.append(f"chars {citation.start}–{citation.end}")
    return " · ".join(parts)


def place(citation: Citation) -> str:
    """Where in its report: ``p. 3 · ¶ 12``, or ``¶ 12`` for a report without pages."""
    return (f"p. {citation.page} · " if citation.page is not None else "") + f"¶ {citation.paragraph}"


def human_citation(citation: Citation) -> str:
    """A citation to paste into an article: title, file, section, paragraph, page (no character offsets).

    Example: ``“Trafficking in Persons Report 2022: Laos” (laos-tip-2022-voa.txt), PROSECUTION, ¶ 12``.
    """
    titled = citation.title and citation.title != citation.document
    parts = [f"“{citation.title}” ({citation.document})" if titled else citation.document]
    if citation.section and not (titled and citation.section == citation.title):
        parts.append(short_path(citation.section))
    parts.append(f"¶ {citation.paragraph}")
    if citation.page is not None:
        parts.append(f"p. {citation.page}")
    return ", ".join(parts)


def path_parts(section: str | None) -> list[str]:
    """The headings of a heading path, from the top."""
    return section.split(PATH_SEPARATOR) if section else []


def short_path(section: str | None, width: int = 48) -> str | None:
    """A heading path for display: each heading cut to ``width`` characters (``…`` marks the cut).

    >>> short_path("§ 7103. Interagency Task Force to Monitor and Combat Trafficking › (c) Chairman", 30)
    '§ 7103. Interagency Task Force… › (c) Chairman'
    """
    if not section:
        return section
    cut = [p if len(p) <= width else p[:width].rstrip(" ,;:—–-") + "…" for p in path_parts(section)]
    return PATH_SEPARATOR.join(cut)
