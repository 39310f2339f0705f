"""A PDF page's text by its layout: lines joined into paragraphs, headings found, page furniture dropped.

pypdf hands over each piece of text with its position and font (``extract_text``'s visitor). Pieces on
one baseline make a line; a wide gap splits a line into segments (columns, table cells). Then, per page:

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
  segments is a table row, its cells joined by `` | ``.

A paragraph that runs on to the next page (no full stop at the end, a lower-case letter after the break)
is joined with it; it is cited at the page where it starts.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from search.ingest.lang import has_lao
from search.ingest.pdf_fonts import font_advances
from search.ingest.tokenize import fold_lao_am

HEADING_SIZE = 1.15  # a line this many times the body's size, or more, is a heading
SMALL_SIZE = 0.9  # below this many times the body's size: a footnote, kept apart
SEGMENT_GAP = 2.0  # a gap this many times the font size splits a line into segments
PARAGRAPH_GAP = 1.45  # a vertical step this many times the body's usual line step starts a new paragraph
FURNITURE_SHARE = 0.5  # a top or bottom line repeated on this share of the pages is a running header or footer
FURNITURE_BAND = 0.1  # ... when it lies within this share of the page's height from its top or bottom
_PAGE_NUMBER = re.compile(r"(?i)^(?:page\s+)?[-–—]?\s*\d{1,4}\s*[-–—]?(?:\s*(?:of|/)\s*\d{1,4})?$")
_DIGITS = re.compile(r"\d+")
SENTENCE_END = re.compile(r"[.!?:;。\"”’)\]]$")
_HYPHENATED = re.compile(r"[^\W\d_]-$")


@dataclass
class Piece:
    """One piece of text as pypdf drew it: where its baseline starts, its font size, whether bold."""

    x: float
    y: float
    size: float
    bold: bool
    text: str
    width: float | None = None  # from the font's widths (a simple font); None when unknown


@dataclass
class Line:
    """The pieces on one baseline, or one segment of them (a column's part, a table cell)."""

    y: float
    size: float
    bold: bool
    x0: float
    x1: float
    text: str
    cells: list[str] = field(default_factory=list)


def visitor(pieces: list[Piece], advances: dict | None = None):
    """A ``visitor_text`` for ``PageObject.extract_text`` that appends each piece drawn to ``pieces``.

    ``advances`` caches each font's character advances; pass one dict for every page of a document, so that a
    font's maps are read once, not once a page (pypdf hands every page the same font object).
    """
    # per font dict: (the dict, kept so that its id is not reused; each character's advance, thousandths of an em)
    advances = {} if advances is None else advances

    def visit(text, cm, tm, font_dict, font_size):
        if not text or not text.strip():
            return
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        scale = math.hypot(tm[2], tm[3]) * math.hypot(cm[2], cm[3])
        name = str((font_dict or {}).get("/BaseFont", ""))
        bold = bool(re.search(r"(?i)bold|black|heavy|semibold", name))
        size = float(font_size) * (scale or 1.0)
        text = text.replace("\n", " ")
        key = id(font_dict)
        if key not in advances:
            advances[key] = (font_dict, font_advances(font_dict))
        pieces.append(Piece(x, y, round(size, 1), bold, text, _drawn_width(text, advances[key][1], size)))
    return visit


def _drawn_width(text: str, advance: dict[str, float] | None, size: float) -> float | None:
    """How wide ``text`` is drawn at ``size``, or None when a character's advance is not known."""
    if advance is None:
        return None
    total = 0.0
    for ch in text:
        if _mark(ch):
            continue  # a mark sits on the letter before it: it advances nothing
        if ch not in advance:
            return None
        total += advance[ch]
    return total / 1000 * size


def page_lines(pieces: list[Piece]) -> list[Line]:
    """The page's lines, top to bottom, each split into segments at wide gaps; table rows as one line with cells.

    Pieces keep the order they were drawn in within a line: a Lao vowel or tone mark is drawn as a piece
    of its own just left of where the letter before it ends, so ordering by position would move it.
    """
    rows: list[list[Piece]] = []
    for piece in pieces:  # in the order drawn; a piece joins the line whose baseline it sits on
        row = next((r for r in reversed(rows) if abs(r[0].y - piece.y) <= 0.4 * max(piece.size, r[0].size, 1.0)), None)
        if row is None:
            rows.append([piece])
        else:
            row.append(piece)
    rows.sort(key=lambda r: -r[0].y)
    lines = []
    for row in rows:
        made = [_line(segment) for segment in _segments(row)]
        if len(made) >= 3:  # a table row: one line, its cells kept
            first = made[0]
            lines.append(Line(first.y, first.size, first.bold, first.x0, made[-1].x1,
                              " | ".join(m.text for m in made), [m.text for m in made]))
        else:
            lines.extend(made)
    return lines


def _segments(row: list[Piece]) -> list[list[Piece]]:
    """A line's pieces cut where a wide gap lies between them (columns, table cells), segments left to right."""
    segments: list[list[Piece]] = [[row[0]]]
    for piece in row[1:]:
        current = segments[-1]
        gap = SEGMENT_GAP * max(piece.size, 1.0)
        if piece.x - (current[-1].x + _width(current[-1])) > gap or piece.x < current[0].x - gap:
            segments.append([piece])  # far ahead, or back before this segment began (another column drawn later)
        else:
            current.append(piece)
    segments.sort(key=lambda segment: segment[0].x)
    merged = [segments[0]]
    for segment in segments[1:]:  # drawn apart but side by side: one segment
        last = merged[-1][-1]
        if segment[0].x - (last.x + _width(last)) <= SEGMENT_GAP * max(segment[0].size, 1.0):
            merged[-1].extend(segment)
        else:
            merged.append(segment)
    return merged


def _width(piece: Piece) -> float:
    """How wide a piece is drawn: its font's widths, or half an em a character when they are not known."""
    if piece.width is not None:
        return piece.width
    return 0.5 * max(piece.size, 1.0) * sum(not _mark(ch) for ch in piece.text)


def _mark(ch: str) -> bool:
    """A combining mark (a Lao vowel or tone mark above or below its letter): drawn on the letter before it."""
    return unicodedata.category(ch).startswith("M")


def _line(pieces: list[Piece]) -> Line:
    text, base = "", None
    for piece in pieces:
        drawn = piece.text
        marks = all(_mark(ch) for ch in drawn.strip())
        if marks:
            # pypdf's own space after a mark: measured from the mark, which advances nothing and is drawn left of
            # where its letter ends, so the letter after looks far. Measured again below from the letter.
            drawn = drawn.rstrip()
        if base is not None and not text.endswith(" ") and not drawn.startswith(" ") and _spaced(base, piece):
            text += " "
        text += drawn
        if not marks:
            base = piece
    sizes = Counter()
    for piece in pieces:
        sizes[piece.size] += len(piece.text.strip())
    size = sizes.most_common(1)[0][0]
    bold = all(p.bold for p in pieces if p.text.strip())
    text = fold_lao_am(" ".join(text.split()))  # ຳ drawn as ໍ + າ (fonts without its glyph): ຳ again, as typed
    return Line(pieces[0].y, size, bold, pieces[0].x, pieces[-1].x + _width(pieces[-1]), text)


def _spaced(before: Piece, piece: Piece) -> bool:
    """Whether a word space lies between two pieces of a line: never before a combining mark; else the gap
    between them, where the font's widths give it; without them, Lao runs on (it is written without spaces
    between words) and other text is spaced."""
    if _mark(piece.text[:1] or " "):
        return False  # a vowel or tone mark drawn on its own sits on the letter before it
    gap = piece.x - (before.x + _width(before))
    if before.width is not None:
        return gap > 0.15 * max(piece.size, 1.0)
    if has_lao(before.text[-1:]) and has_lao(piece.text[:1]):
        return gap > 0.5 * max(piece.size, 1.0)
    return True


def layout_pages(pages: list[list[Piece]], heights: list[float], widths: list[float]) -> list[list[str]]:
    """Each page's paragraphs, in reading order, with headings as ``# …`` and furniture dropped.

    Args:
        pages: the pieces drawn on each page.
        heights, widths: each page's size (points).
    """
    lines = [page_lines(pieces) for pieces in pages]
    furniture = _furniture(lines, heights)
    body = _body_size(lines)
    step = _line_step(lines, body)
    out = []
    for page_lines_, width, height in zip(lines, widths, heights):
        kept = [line for line in page_lines_ if _key(line.text) not in furniture
                and not (_PAGE_NUMBER.match(line.text) and _at_edge(line, height))]
        out.append(_paragraphs(_reading_order(kept, width), body, step))
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
    out: list[list[str]] = []
    previous: Line | None = None
    for line in lines:
        if _is_heading(line, body):
            if out and out[-1][0] == "heading" and abs(previous.size - line.size) < 0.05 * body \
                    and 0 < previous.y - line.y <= 1.6 * line.size:
                out[-1][1] += " " + line.text  # a heading wrapped over two lines
            else:
                out.append(["heading", line.text])
            previous = line
            continue
        kind = "table" if line.cells else "small" if line.size < SMALL_SIZE * body else "body"
        joins = (out and out[-1][0] == kind and kind != "table" and abs(previous.size - line.size) < 0.05 * max(body, 1.0)
                 and 0 < previous.y - line.y <= PARAGRAPH_GAP * (step if kind == "body" else 1.2 * line.size))
        if joins:
            out[-1][1] = join_lines(out[-1][1], line.text)
        else:
            out.append([kind, line.text])
        previous = line
    return [(kind, text) for kind, text in out]


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
        if last and first and last[0] == first[0] == "body" and not SENTENCE_END.search(last[1]) \
                and first[1][:1].islower():
            last[1] = join_lines(last[1], first[1])
            there.remove(first)
    return [[("# " + text) if kind == "heading" else text for kind, text in page] for page in pages]
