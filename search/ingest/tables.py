"""A table's rows as text that stands alone: each value after the name of its column.

A row cut out of its table (``Ban Thakho | 210 | 2 | 6``) says nothing a question can find or a reader can
check; ``Village: Ban Thakho, Households: 210, Washing stations: 2, Buyers: 6`` does. Read the same way from
PDF and Word tables. The first row that has every column names them, unless it holds figures (a table
without a header row); rows above it (a title in a merged cell) and rows of another shape are kept as their
cells joined by `` | ``. Values are joined by commas, not semicolons: a row is one sentence, not four.
"""

from __future__ import annotations

import re
from collections import Counter

CELL_SEPARATOR = " | "
_FIGURE = re.compile(r"[-+−(]?[\d.,%]*\d[\d.,%]*\)?")  # 210, 12,000, 8.5%, (3): a value, not a column's name
_YEAR = re.compile(r"(?:19|20)\d\d")  # ... but a year heads a column of figures


def row_texts(rows: list[list[str]], names: list[str] | None = None) -> list[str]:
    """Each row of a table as one line of text; ``rows`` are its cells, ``""`` for an empty one.

    The header row itself is not given back: its names stand in every row after it. ``names``: the header of
    this table's part on the page before, for a part that does not repeat it.
    """
    rows = _cleaned(rows)
    at = _header(rows)
    if at is None and names is not None and any(len(row) == len(names) for row in rows):
        at = -1
    elif at is not None:
        names = rows[at]
    out = []
    for i, row in enumerate(rows):
        if i == at:
            continue
        if at is not None and i > at and len(row) == len(names):
            out.append(", ".join(f"{name}: {value}" if name else value for name, value in zip(names, row) if value))
        else:
            out.append(CELL_SEPARATOR.join(cell for cell in row if cell))
    return out


def header_of(rows: list[list[str]], names: list[str] | None = None) -> list[str] | None:
    """The names of a table's columns: its header row's, else ``names`` (carried from the page before)."""
    rows = _cleaned(rows)
    at = _header(rows)
    return rows[at] if at is not None else names


def _cleaned(rows: list[list[str]]) -> list[list[str]]:
    rows = [[" ".join(cell.split()) for cell in row] for row in rows]
    return [row for row in rows if any(row)]


def _header(rows: list[list[str]]) -> int | None:
    """Which row names the columns: the first that has every column, when it names them and rows follow it."""
    if not rows:
        return None
    width = Counter(len(row) for row in rows).most_common(1)[0][0]
    at = next(i for i, row in enumerate(rows) if len(row) == width)
    if width < 2 or not _names_columns(rows[at]) or not any(len(row) == width for row in rows[at + 1:]):
        return None
    return at


def _names_columns(row: list[str]) -> bool:
    """Whether a row can be a header: two names or more, and no figure among them but a year."""
    named = [cell for cell in row if cell]
    return len(named) >= 2 and not any(_FIGURE.fullmatch(cell) and not _YEAR.fullmatch(cell) for cell in named)
