"""Headings as authors wrote them: which lines are headings, their levels, and the heading path in force.

A report's structure is a tree of headings. Markdown gives each heading its level (``#`` marks, any
number of them: the US Code's Markdown goes to eight); several heading lines may follow one another
with no blank line between (``#### § 7103. …`` over ``##### (c) Chairman``), each its own heading.
Legal numbering standing alone (``§ 7103.``, ``Article 12``, ``ມາດຕາ 12``, ``(a)``, ``(13)``) heads what
follows too. Headings without a written level take one from their kind (a part over a chapter over an
article over ``(a)`` over ``(1)`` over ``(A)`` over ``(i)`` over ``(I)``), below any Markdown level.

The path of a paragraph is its headings from the top, joined by :data:`PATH_SEPARATOR`; the document's
title, shown apart, is left out of it when other headings follow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from search.cite import PATH_SEPARATOR

MD_HEADING_RE = re.compile(r"(#{1,9})[ \t]+(.+?)[ \t#]*")
# Lao has no capitals: a Lao heading is a numbered part, chapter, section or article at the start of a
# line ("ພາກທີ I", "ໝວດທີ 2", "ມາດຕາ ໑໕ ການຄ້າມະນຸດ"), in Arabic, Lao or Roman numerals, as laws and
# government reports number them. A short unnumbered Lao line is not taken for one: in web articles those
# are links, date lines and captions.
LAO_HEADING_RE = re.compile(r"(?:(?:ພາກ|ໝວດ|ຫມວດ|ບົດ|ສ່ວນ|ຂໍ້)\s*ທີ|ມາດຕາ)\s*(?:[0-9໐-໙]+|[IVXLC]+)(?![0-9໐-໙A-Za-z])")
_LAO_RANKS = (("ພາກ", 0), ("ໝວດ", 1), ("ຫມວດ", 1), ("ບົດ", 1), ("ສ່ວນ", 1), ("ມາດຕາ", 2), ("ຂໍ້", 3))
# "§ 7103.", "§§ 12-14", "Article 12", "Section 4.": an article's number, with or without its name.
_ARTICLE_RE = re.compile(r"(?:§{1,2}\s*|(?:Article|ARTICLE|Section|SECTION|Art\.)\s+)[0-9][0-9A-Za-z.\-–]*")
# "(a)", "(13)", "(A)", "(ii)", "(IV)", "(aa)": a subsection's label.
_LABEL_RE = re.compile(r"\(([0-9]{1,3}|[a-z]{1,4}|[A-Z]{1,4})\)(?=\s|$)")
_ROMAN_RE = re.compile(r"(?=[ivx])x{0,3}(?:ix|iv|v?i{0,3})", re.I)
_ARTICLE_RANK = 2
_SENTENCE_END = (".", ";", ":", ",", "!", "?")
_UNLEVELED = 10  # headings without a written level stand below every Markdown level: 10 + their rank


@dataclass(frozen=True)
class Heading:
    """A heading: its level (lower is higher in the tree), its text, and its legal rank when it is numbered."""

    level: int
    text: str
    rank: int | None = None


def label_rank(text: str) -> int | None:
    """The rank of the legal label ``text`` starts with: 2 an article (``§ 12``, ``Article 12``, ``ມາດຕາ 12``),
    3 ``(a)``, 4 ``(1)``, 5 ``(A)``, 6 ``(i)``, 7 ``(I)``, 8 ``(aa)``; 0 and 1 a Lao part and chapter; else None.

    >>> [label_rank(t) for t in ("§ 7103. Task Force", "(c) Chairman", "(13)", "(C) An alien", "(iv) has", "(II) is", "Whoever")]
    [2, 3, 4, 5, 6, 7, None]
    """
    if _ARTICLE_RE.match(text):
        return _ARTICLE_RANK
    lao = LAO_HEADING_RE.match(text)
    if lao:
        return next(rank for word, rank in _LAO_RANKS if lao.group().startswith(word))
    label = _LABEL_RE.match(text)
    if not label:
        return None
    mark = label.group(1)
    if mark.isdigit():
        return 4
    if _ROMAN_RE.fullmatch(mark):
        return 6 if mark.islower() else 7
    if len(mark) > 1:
        return 8
    return 3 if mark.islower() else 5


def heading_line(line: str, *, markdown: bool) -> Heading | None:
    """The heading one line is on its own, or None: a Markdown heading (with ``markdown``) of any length, or
    legal numbering standing alone: a label (``(a)``, ``(13)``), or an article's number (``§ 7103.``,
    ``Article 12``) with at most a short name after it that does not end like a sentence."""
    line = line.strip()
    md = MD_HEADING_RE.fullmatch(line) if markdown else None
    if md:
        text = md.group(2).strip()
        return Heading(len(md.group(1)), text, label_rank(text))
    found = _ARTICLE_RE.match(line) or _LABEL_RE.match(line)  # Lao numbering has its own rule (read.py)
    if not found:
        return None
    rank = label_rank(line)
    rest = line[found.end():].strip(" .–—-:")
    if rest and (rank > _ARTICLE_RANK or len(rest.split()) > 12 or line.endswith(_SENTENCE_END) or not rest[0].isupper()):
        return None  # "(a) Apples" is a list's item; "Article 215 of the code …" a sentence
    return Heading(_UNLEVELED + rank, line, rank)


def unleveled(text: str) -> Heading:
    """A heading found by its shape (capitals, Lao numbering) rather than a written level."""
    rank = label_rank(text)
    return Heading(_UNLEVELED + (rank or 0), text, rank)


class Outline:
    """The headings in force while a report is read, from the top."""

    def __init__(self, title: str | None = None):
        self.title = title
        self.open: list[Heading] = []

    def enter(self, heading: Heading) -> None:
        """A new heading closes those at its level or below, and those numbered at its rank or deeper."""
        self._close(heading.rank)
        while self.open and self.open[-1].level >= heading.level:
            self.open.pop()
        self.open.append(heading)

    def close_numbered(self, rank: int | None) -> None:
        """A paragraph numbered ``(14)`` ends the ``(13)`` (and its ``(A)``) that stood over the ones before it."""
        if rank is not None and rank > _ARTICLE_RANK:  # a sentence may start with "§ 12" or "Article 12"
            self._close(rank)

    def _close(self, rank: int | None) -> None:
        while rank is not None and self.open and self.open[-1].rank is not None and self.open[-1].rank >= rank:
            self.open.pop()

    def path(self) -> str | None:
        """The headings in force, joined by :data:`PATH_SEPARATOR`; the title left out when others follow."""
        texts = [h.text for h in self.open]
        if len(texts) > 1 and texts[0] == self.title:
            texts = texts[1:]
        return PATH_SEPARATOR.join(texts) or None
