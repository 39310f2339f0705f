"""A PDF page's pieces of text as lines: pieces on one baseline, cut at columns' edges and table cells.

pypdf hands over each piece of text with its position and font (``extract_text``'s visitor). Pieces on
one baseline make a line, split into segments (columns, table cells) where a column of the page starts (an
edge that many lines start at after a gutter of whitespace, found once a page: justified lines reach the
gutter, so a line's own gap says little) and at a wide gap that the lines above and below do not run across
(a justified line's wide word space is not a gutter); a line of three segments or more is a table row.
Spaces are put between pieces where the font's widths show a word space, never before a Lao mark drawn on
its own, and taken out after a mark where pypdf wrote one inside a syllable (:func:`unspace_marks`).
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from search.ingest.lang import has_lao
from search.ingest.pdf_fonts import font_advances
from search.ingest.tokenize import fold_lao_am

SEGMENT_GAP = 2.0  # a gap this many times the font size splits a line into segments
EDGE_ROWS = 3  # a left edge that text starts at, after other text on its line, on this many lines: a column's
EDGE_TOLERANCE = 1.0  # points: starts this close are at one edge
GUTTER = 0.75  # ems of whitespace, at least, between two columns (or a table's cells) on a line
_GAPS = re.compile(" {2,}")


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
    for ch in _GAPS.sub(" ", text):  # pypdf writes a gap it saw between two words as two spaces
        if _mark(ch):
            continue  # a mark sits on the letter before it: it advances nothing
        if ch not in advance:
            return None
        total += advance[ch]
    return total / 1000 * size


def page_lines(pieces: list[Piece]) -> list[Line]:
    """The page's lines, top to bottom, each split into segments at column edges and wide gaps; table rows as
    one line with cells.

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
    spans = [_Spans(row) for row in rows]
    edges = _column_edges(rows, spans)
    lines = []
    for index, row in enumerate(rows):
        size = max(row[0].size, 1.0)
        around = [spans[i] for i in (index - 1, index + 1)
                  if 0 <= i < len(rows) and abs(rows[i][0].y - row[0].y) <= 2 * size]
        made = [_line(segment) for segment in _segments(row, edges, around)]
        for left, right in zip(made, made[1:]):
            left.x1 = min(left.x1, right.x0)  # a justified line measured past where the next column starts
        if len(made) >= 3:  # a table row: one line, its cells kept
            first = made[0]
            lines.append(Line(first.y, first.size, first.bold, first.x0, made[-1].x1,
                              " | ".join(m.text for m in made), [m.text for m in made]))
        else:
            lines.extend(made)
    return lines


def _column_edges(rows: list[list[Piece]], spans: list[_Spans]) -> list[float]:
    """Where a column (or a table's column) starts on this page: a left edge that text starts at, after a gutter
    of ``GUTTER`` ems or more from other text on its line, on at least ``EDGE_ROWS`` lines; and that the lines
    between the first and the last of them do not run across (no more than half as many).

    The whitespace of a gutter is shared by the lines down the page; a wide word gap of justified text is not.
    The edge is where the next column's lines start (an exact position), not a gap measured after the line
    before it: a justified line's end is known only as well as its words' widths.
    """
    starts = []  # (x, row) of each piece with a gutter's width of whitespace before it on its line
    for index, row in enumerate(rows):
        for piece in row:
            gap = spans[index].gap_at(piece.x)
            if gap is not None and gap >= GUTTER * max(piece.size, 1.0):
                starts.append((piece.x, index))
    starts.sort()
    edges, group = [], []
    for x, index in starts + [(math.inf, -1)]:
        if group and x - group[-1][0] > EDGE_TOLERANCE:
            edge = _edge(group, rows, spans)
            if edge is not None:
                edges.append(edge)
            group = []
        group.append((x, index))
    return edges


class _Spans:
    """A line's pieces by where they start, to ask how much whitespace lies before a point (log time)."""

    def __init__(self, row: list[Piece]):
        ordered = sorted(row, key=lambda piece: piece.x)
        self.starts = [piece.x for piece in ordered]
        self.ends = list(itertools.accumulate((piece.x + _width(piece) for piece in ordered), max))

    def gap_at(self, x: float) -> float | None:
        """The whitespace just before ``x`` (0 when a piece runs across it), or None when the line has no text
        on one side of ``x``."""
        before = bisect.bisect_left(self.starts, x - EDGE_TOLERANCE)
        if before == 0 or before == len(self.starts):
            return None
        return max(0.0, self.starts[before] - self.ends[before - 1])

    def covers(self, x: float) -> bool:
        """Whether a piece of the line runs across ``x``."""
        before = bisect.bisect_right(self.starts, x)
        return before > 0 and self.ends[before - 1] > x


def _edge(group: list[tuple[float, int]], rows: list[list[Piece]], spans: list[_Spans]) -> float | None:
    """The x of a group of aligned starts if it is a column's edge, else None."""
    at = {index for _, index in group}
    if len(at) < EDGE_ROWS:
        return None
    x = sorted(x for x, _ in group)[len(group) // 2]
    crossing = 0
    for index in range(min(at), max(at) + 1):
        gap = None if index in at else spans[index].gap_at(x)
        crossing += gap is not None and gap < GUTTER * max(rows[index][0].size, 1.0)
        if 2 * crossing > len(at):
            return None
    return x


def _segments(row: list[Piece], edges: list[float] = (), around: list[_Spans] = ()) -> list[list[Piece]]:
    """A line's pieces cut at the page's column edges and where a wide gap lies between them (table cells),
    segments left to right. A wide gap that the line above and the line below both run across is a justified line's
    word space, not a gutter: it does not cut."""
    def at_edge(piece: Piece, start: float) -> bool:
        return piece.x > start + EDGE_TOLERANCE and any(abs(piece.x - edge) <= EDGE_TOLERANCE for edge in edges)

    def cuts(after: Piece, piece: Piece) -> bool:
        end = after.x + _width(after)
        if piece.x - end <= SEGMENT_GAP * max(piece.size, 1.0):
            return False
        return not (len(around) == 2 and all(spans.covers((end + piece.x) / 2) for spans in around))

    segments: list[list[Piece]] = [[row[0]]]
    for piece in row[1:]:
        current = segments[-1]
        if cuts(current[-1], piece) or piece.x < current[0].x - SEGMENT_GAP * max(piece.size, 1.0) \
                or at_edge(piece, current[0].x):
            segments.append([piece])  # far ahead, at a column's edge, or back before this segment began
        else:
            current.append(piece)
    segments.sort(key=lambda segment: segment[0].x)
    merged = [segments[0]]
    for segment in segments[1:]:  # drawn apart but side by side: one segment
        if not cuts(merged[-1][-1], segment[0]) and not at_edge(segment[0], merged[-1][0].x):
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


_LAO_MARK = "\u0eb1\u0eb4-\u0ebc\u0ec8-\u0ecd"  # vowels above or below their letter, tone marks
_LAO_FOLLOWING = "\u0eb0-\u0ebd\u0ec8-\u0ecd"  # ... and the vowels that follow a letter: no syllable starts with one
_SPACE_AFTER_MARK = re.compile(f"([{_LAO_MARK}]) (?=[^ ])")
_SPACE_IN_SYLLABLE = re.compile(f"([{_LAO_MARK}]) (?=[{_LAO_FOLLOWING}])")
MARK_EVIDENCE = 0.1  # share of the spaces after a mark that fall inside a syllable, from which on all are pypdf's


def unspace_marks(pages: list[list[Piece]]) -> None:
    """Take out the spaces pypdf writes after a Lao mark drawn in one piece with its line (HarfBuzz-shaped text,
    as fpdf2's ``set_text_shaping`` draws it: each glyph placed by itself).

    pypdf measures the gap to the next glyph from where the mark is drawn, left of where its letter ends, and
    sees a word space (``ກຸ່ ມ``, ``ແມ່ ຍິງ``). A space before a vowel that follows its letter (``ຕ່ າງ``) is inside
    a syllable: always pypdf's. When those are ``MARK_EVIDENCE`` of the spaces after a mark, or more, the
    document's text is drawn so: every single space after that mark is pypdf's, and a real one shows as two
    (pypdf's and the drawn one). Otherwise single spaces after marks are kept: they are the writer's.
    """
    after: Counter = Counter()
    inside: Counter = Counter()
    for pieces in pages:
        for piece in pieces:
            after.update(m.group(1) for m in _SPACE_AFTER_MARK.finditer(piece.text))
            inside.update(m.group(1) for m in _SPACE_IN_SYLLABLE.finditer(piece.text))
    if not inside:
        return
    drawn_apart = "".join(mark for mark, n in inside.items() if n >= 2 and n >= MARK_EVIDENCE * after[mark])
    everywhere = re.compile(f"([{re.escape(drawn_apart)}]) (?=[^ ])") if drawn_apart else None
    for pieces in pages:
        for piece in pieces:
            text = _SPACE_IN_SYLLABLE.sub(r"\1", piece.text)
            piece.text = everywhere.sub(r"\1", text) if everywhere else text
