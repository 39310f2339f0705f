"""How faithfully a reader gives back a document's text: character error rate and heading recall."""

from __future__ import annotations

import re
from collections.abc import Sequence

from search.ingest.tokenize import fold_lao_am


def character_error_rate(got: Sequence[str], source: Sequence[str]) -> float:
    """Edit distance (insertions, deletions, substitutions) over the source's length, paragraph by paragraph.

    A paragraph missing from ``got`` counts whole; one too many counts whole too. The Lao vowel AM counts as
    one letter in either of its encodings (``ຳ``, or ``ໍ`` + ``າ`` as fonts without its glyph draw it): they look
    the same on the page, and the PDF reader writes ``ຳ`` whatever the text layer held.

    >>> character_error_rate(["ລາວ", "abcd"], ["ລາວ", "abxd"]) == 1 / 7
    True
    >>> character_error_rate(["ນຳ"], ["ນໍາ"])
    0.0
    """
    got, source = [fold_lao_am(t) for t in got], [fold_lao_am(t) for t in source]
    errors = sum(len(extra) for extra in got[len(source):]) + sum(len(lost) for lost in source[len(got):])
    for a, b in zip(got, source):
        row = list(range(len(b) + 1))
        for i, ch in enumerate(a, 1):
            diagonal, row[0] = row[0], i
            for j, other in enumerate(b, 1):
                diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (ch != other))
        errors += row[-1]
    return errors / max(1, sum(map(len, source)))


def heading_recall(sections: Sequence[str | None], headings: Sequence[str]) -> float:
    """The share of ``headings`` that stand as the section of some paragraph."""
    found = set(sections)
    return sum(h in found for h in headings) / max(1, len(headings))


_LAO_SPACE = re.compile(r"(?<=[\u0e80-\u0eff])\s+(?=[\u0e80-\u0eff])")


def page_error_rate(got: Sequence[str], source: Sequence[str]) -> float:
    """The character error rate of a page read by OCR: its paragraphs against the source's, each side taken
    as one text in reading order (where a paragraph was split does not count), ``# `` heading marks dropped,
    spaces between two Lao letters dropped (Lao spaces phrases, not words, and a line that breaks at one loses
    it) and other runs of white space taken as one space.

    >>> page_error_rate(["# Title", "ລາວ ລາວ"], ["Title", "ລາວລາວ"])
    0.0
    """
    def fold(paragraphs: Sequence[str]) -> str:
        text = " ".join(p.removeprefix("# ") for p in paragraphs)
        return re.sub(r"\s+", " ", _LAO_SPACE.sub("", text)).strip()

    return character_error_rate([fold(got)], [fold(source)])
