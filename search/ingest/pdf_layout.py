"""A PDF page's text by its layout: lines joined into paragraphs, headings found, page furniture dropped.

The page's pieces of text become lines (:mod:`search.ingest.pdf_lines`: columns' edges, table cells, Lao
marks). Then, per page:

- running headers and footers (a line at the top or bottom of the page whose text, digits aside, stands
  on at least half of the pages) and page numbers there (``7``, ``Page 7``, ``- 7 -``, ``7 of 40``) are
  dropped; a number alone in the body (a table's cell) stays;
- two columns are read one after the other, between the lines that span the page;
- lines of the body's size that follow each other at the body's line spacing are joined into one
  paragraph; a word hyphenated at a line's end is joined again (``employ-`` + ``ment``), and Lao lines
  run on without a space (Lao puts none between words; a Lao line breaks between two words);
- a line set larger than the body, or a short bold line, is a heading, written ``# heading`` (the shape
  the paragraph splitter knows from Markdown and Word files), so that it becomes the section of what follows;
- text smaller than the body (footnotes) stays in paragraphs of its own, and a line of three or more
  segments is a table row: the rows one after the other are a table, each row read with its columns'
  names (:mod:`search.ingest.tables`).

A paragraph that runs on to the next column or the next page (no full stop at the end, a lower-case letter
after the break) is joined with it; it is cited at the page where it starts.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter

from search.ingest.lang import has_lao
from search.ingest.pdf_lines import Line, Piece, page_lines, unspace_marks
from search.ingest.tables import header_of, row_texts

HEADING_SIZE = 1.15  # a line this many times the body's size, or more, is a heading
SMALL_SIZE = 0.9  # below this many times the body's size: a footnote, kept apart
PARAGRAPH_GAP = 1.45  # a vertical step this many times the body's usual line step starts a new paragraph
FURNITURE_SHARE = 0.5  # a top or bottom line repeated on this share of the pages is a running header or footer
FURNITURE_BAND = 0.1  # ... when it lies within this share of the page's height from its top or bottom
_PAGE_NUMBER = re.compile(r"(?i)^(?:page\s+)?[-–—]?\s*\d{1,4}\s*[-–—]?(?:\s*(?:of|/)\s*\d{1,4})?$")
_DIGITS = re.compile(r"\d+")
SENTENCE_END = re.compile(r"[.!?:;。\"”’)\]]$")
_HYPHENATED = re.compile(r"[^\W\d_]-$")


def layout_pages(pages: list[list[Piece]], heights: list[float], widths: list[float]) -> list[list[str]]:
    """Each page's paragraphs, in reading order, with headings as ``# …`` and furniture dropped.

    Args:
        pages: the pieces drawn on each page.
        heights, widths: each page's size (points).
    """
    unspace_marks(pages)
    lines = [page_lines(pieces) for pieces in pages]
    furniture = _furniture(lines, heights)
    body = _body_size(lines)
    step = _line_step(lines, body)
    out, names = [], None
    for page_lines_, width, height in zip(lines, widths, heights):
        kept = [line for line in page_lines_ if _key(line.text) not in furniture
                and not (_PAGE_NUMBER.match(line.text) and _at_edge(line, height))]
        paragraphs, names = _tables(_paragraphs(_reading_order(kept, width), body, step), names)
        out.append(paragraphs)
    return _join_across_pages(out)


def _key(text: str) -> str:
    return _DIGITS.sub("#", text.strip().lower())


def _at_edge(line: Line, height: float) -> bool:
    """Whether a line lies in the band at the top or bottom of its page where headers, footers and page numbers go."""
    return line.y >= (1 - FURNITURE_BAND) * height or line.y <= FURNITURE_BAND * height


def _furniture(lines: list[list[Line]], heights: list[float]) -> set[str]:
    """Running headers and footers: top or bottom lines whose text, digits aside, repeats on half the pages."""
    if len(lines) < 2:
        return set()
    seen: Counter = Counter()
    for page, height in zip(lines, heights):
        edges = {_key(line.text) for line in page if _at_edge(line, height)}
        seen.update(edges)
    return {key for key, n in seen.items() if n >= max(2, FURNITURE_SHARE * len(lines))}


def _body_size(lines: list[list[Line]]) -> float:
    sizes: Counter = Counter()
    for page in lines:
        for line in page:
            sizes[line.size] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 0.0


def _line_step(lines: list[list[Line]], body: float) -> float:
    """The body's usual distance from one line's baseline to the next's (the median)."""
    steps = []
    for page in lines:
        body_lines = [line for line in page if abs(line.size - body) < 0.05 * body]
        steps += [a.y - b.y for a, b in zip(body_lines, body_lines[1:]) if 0 < a.y - b.y < 3 * body]
    steps.sort()
    return steps[len(steps) // 2] if steps else 1.2 * body


def _reading_order(lines: list[Line], width: float) -> list[Line]:
    """Two columns one after the other, in bands between lines that span the middle of the page."""
    middle = width / 2
    out, band = [], []

    def flush():
        left = [line for line in band if line.x0 < middle]
        right = [line for line in band if line.x0 >= middle]
        out.extend(left + right)
        band.clear()

    for line in lines:
        spans = line.x0 < middle - 0.05 * width and line.x1 > middle + 0.05 * width
        if spans and not line.cells:
            flush()
            out.append(line)
        else:
            band.append(line)
    flush()
    return out


def _is_heading(line: Line, body: float) -> bool:
    words = len(line.text.split())
    if line.cells or not body:
        return False
    if line.size >= HEADING_SIZE * body:
        return words <= 25
    return line.bold and words <= 12 and not SENTENCE_END.search(line.text) and abs(line.size - body) < 0.15 * body


def _paragraphs(lines: list[Line], body: float, step: float) -> list[tuple[str, str]]:
    """The page's paragraphs as (kind, text): kind ``heading``, ``body``, ``small`` (footnotes) or ``table``."""
    out: list[list] = []
    previous: Line | None = None
    for line in lines:
        if _is_heading(line, body):
            if out and out[-1][0] == "heading" and abs(previous.size - line.size) < 0.05 * body \
                    and 0 < previous.y - line.y <= 1.6 * line.size:
                out[-1][1] += " " + line.text  # a heading wrapped over two lines
            else:
                out.append(["heading", line.text, []])
            previous = line
            continue
        kind = "table" if line.cells else "small" if line.size < SMALL_SIZE * body else "body"
        joins = (out and out[-1][0] == kind and kind != "table" and abs(previous.size - line.size) < 0.05 * max(body, 1.0)
                 and (0 < previous.y - line.y <= PARAGRAPH_GAP * (step if kind == "body" else 1.2 * line.size)
                      or _next_column(previous, line) and runs_on(out[-1][1], line.text)))
        if joins:
            out[-1][1] = join_lines(out[-1][1], line.text)
        else:
            out.append([kind, line.text, line.cells])
        previous = line
    return out


def _tables(out: list[list], names: list[str] | None) -> tuple[list[tuple[str, str]], list[str] | None]:
    """The page's paragraphs as (kind, text), the rows of each table (table rows one after the other) read with
    the names of their columns; and those names when the page ends in a table, for its rows on the next page
    (``names``: the names the page before ended with)."""
    done: list[tuple[str, str]] = []
    for kind, group in itertools.groupby(out, key=lambda paragraph: paragraph[0]):
        group = list(group)
        if kind == "table":
            rows = [cells for _, _, cells in group]
            done += [("table", text) for text in row_texts(rows, names)]
            names = header_of(rows, names)
        else:
            done += [(kind, text) for kind, text, _ in group]
            if kind != "small":  # a footnote may stand between a table's parts; anything else ends it
                names = None
    return done, names


def _next_column(previous: Line, line: Line) -> bool:
    """Whether ``line`` starts the next column after ``previous`` ended one: higher up the page, further right."""
    return line.y > previous.y and line.x0 > previous.x0 + max(line.size, 1.0)


def runs_on(text: str, more: str) -> bool:
    """Whether a paragraph broken off at a column's or a page's end goes on in ``more``: no sentence ends
    it, and ``more`` starts with a lower-case letter."""
    return not SENTENCE_END.search(text) and more[:1].islower()


def join_lines(text: str, more: str) -> str:
    """Two lines of a paragraph: a word hyphenated at the break joined again; Lao run on (Lao is written
    without spaces between words, and a line breaks between two words); else a space."""
    if _HYPHENATED.search(text) and more[:1].islower():
        return text[:-1] + more
    if has_lao(text[-1:]) and has_lao(more[:1]):
        return text + more
    return text + " " + more


def _join_across_pages(pages: list[list[tuple[str, str]]]) -> list[list[str]]:
    """Each page's paragraphs as text, a body paragraph that runs on to the next page (no sentence end, a
    lower-case start there) joined with it, past any footnotes between them."""
    pages = [[list(p) for p in page] for page in pages]
    for here, there in zip(pages, pages[1:]):
        last = next((p for p in reversed(here) if p[0] != "small"), None)
        first = next((p for p in there if p[0] != "small"), None)
        if last and first and last[0] == first[0] == "body" and runs_on(last[1], first[1]):
            last[1] = join_lines(last[1], first[1])
            there.remove(first)
    return [[("# " + text) if kind == "heading" else text for kind, text in page] for page in pages]
