"""Word reports (``.docx``) to plain text: one block per paragraph, heading styles as ``#`` lines (``##`` for
Heading 2, …), tables as rows.

The body is read in its own order, paragraphs and tables alike. Headers, footers and footnotes are
not body text and stay out of the passages (a running header repeated on every page would otherwise
stand in every search). A table becomes one block per row, each value after its column's name
(:mod:`search.ingest.tables`, as PDF tables are read); a cell merged across columns is read once.
"""

from __future__ import annotations

import io
import re

from search.errors import DocumentError
from search.ingest.tables import row_texts

_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


def docx_text(data: bytes, doc_id: str) -> str:
    """The readable text of a Word file, paragraphs separated by blank lines; its title and headings as
    ``#`` lines (the shapes the paragraph splitter knows from Markdown).

    Raises:
        DocumentError: the file is not a readable ``.docx`` (an old ``.doc``, a damaged or foreign zip).
    """
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
        blocks = []
        for item in document.iter_inner_content():
            blocks.extend(_table_rows(item) if isinstance(item, Table) else _paragraph(item))
    except DocumentError:
        raise
    except Exception as exc:  # noqa: BLE001 - zipfile, lxml and python-docx each raise their own types
        hint = " (an old .doc: save it as .docx or PDF)" if data[:4] == b"\xd0\xcf\x11\xe0" else ""
        raise DocumentError(f"{doc_id}: cannot read this Word file{hint} ({type(exc).__name__}: {exc}); "
                            "save it again as .docx or as PDF") from exc
    return "\n\n".join(blocks) + "\n"


def _paragraph(paragraph) -> list[str]:
    lines = [_SPACES.sub(" ", line).strip() for line in paragraph.text.split("\n")]
    lines = [line for line in lines if line]
    if not lines:
        return []
    level = _heading_level(paragraph)
    if level:
        return ["#" * level + " " + " ".join(lines)]
    return ["\n".join(lines)]


def _heading_level(paragraph) -> int | None:
    """1 for a Title style, N for "Heading N" (1 when unnumbered), the same for a style built on one (a
    report's own "Chapter heading"); None for a body paragraph."""
    style = paragraph.style
    while style is not None:
        name = (style.name or "").lower()
        if name == "title":
            return 1
        if name.startswith("heading"):
            number = re.search(r"[0-9]+", name)
            return min(int(number.group()), 9) if number else 1
        style = style.base_style
    return None


def _table_rows(table) -> list[str]:
    rows = []
    for row in table.rows:
        cells, seen = [], []  # the cells' XML elements, held: lxml gives one element one object while it lives
        for cell in row.cells:
            if any(cell._tc is other for other in seen):  # a merged cell is listed once per column it spans
                continue
            seen.append(cell._tc)
            cells.append(_SPACES.sub(" ", " ".join(cell.text.split())).strip())
        rows.append(cells)
    return row_texts(rows)
