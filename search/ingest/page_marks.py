"""Where a passage stands on a page read by OCR: the boxes of its lines, from Tesseract's words.

The page's text was made from its words (:mod:`search.ingest.ocr`): lines joined into paragraphs, a word
hyphenated at a line's end joined again, Lao run on without a space, ``ໍາ`` written ``ຳ``. So a passage is
found among the page's words by its letters alone (spaces, hyphens and ``#`` left out on both sides), and
each word it covers is known; the box of a line is the box of the words it covers on that line.

A passage cited at this page may run on to the next (a paragraph joined across pages): its longest beginning
found here is marked.
"""

from __future__ import annotations

from search.ingest.ocr import OcrPage
from search.ingest.tokenize import fold_lao_am

_LEFT_OUT = frozenset(" \t\n\r\f\v\u00a0\u00ad\u200b-#")  # what joining lines adds or takes away
MIN_LETTERS = 12  # a beginning shorter than this (of a longer passage) is not trusted to be the passage's


def _letters(text: str) -> str:
    return "".join(ch for ch in fold_lao_am(text) if ch not in _LEFT_OUT)


class PageLetters:
    """A page's letters in reading order, each with the index of the word (in ``page.words``) it belongs to."""

    def __init__(self, page: OcrPage):
        self.page = page
        letters, owners = [], []
        for i, word in enumerate(page.words):
            kept = _letters(word[0])
            letters.append(kept)
            owners.extend([i] * len(kept))
        self.text, self.owners = "".join(letters), owners

    def find(self, text: str, start: int = 0) -> tuple[int, int] | None:
        """Where ``text`` stands in the page's letters (from ``start`` on): the whole, or its longest beginning
        of at least ``MIN_LETTERS`` letters; None when not even that is on the page."""
        wanted = _letters(text)
        if not wanted:
            return None
        at = self.text.find(wanted, start)
        if at >= 0:
            return at, at + len(wanted)
        low, high = min(MIN_LETTERS, len(wanted)), len(wanted) - 1  # a beginning of `low` letters must be found
        if self.text.find(wanted[:low], start) < 0:
            return None
        while low < high:  # the longest beginning found: if one is found, every shorter one is too
            middle = (low + high + 1) // 2
            low, high = (middle, high) if self.text.find(wanted[:middle], start) >= 0 else (low, middle - 1)
        at = self.text.find(wanted[:low], start)
        return at, at + low

    def boxes(self, span: tuple[int, int]) -> list[tuple[int, int, int, int]]:
        """The box ``(left, top, width, height)`` of each line the letters ``span`` cover: around the words they
        cover on it, top to bottom."""
        lines: dict[int, list[int]] = {}
        for i in sorted(set(self.owners[span[0]:span[1]])):
            _, left, top, width, height, line = self.page.words[i]
            box = lines.setdefault(line, [left, top, left + width, top + height])
            box[:] = [min(box[0], left), min(box[1], top), max(box[2], left + width), max(box[3], top + height)]
        return [(a, b, c - a, d - b) for _, (a, b, c, d) in sorted(lines.items())]


def passage_boxes(page: OcrPage, text: str, sentence: str | None = None) -> tuple[list, list] | None:
    """The boxes of the lines of ``text`` on ``page``, and those of ``sentence`` (a part of it: the answer's
    sentence); None when the passage is not on this page.

    Returns:
        ``(lines, sentence_lines)``, each a list of ``(left, top, width, height)`` in the page image's pixels.
    """
    letters = PageLetters(page)
    found = letters.find(text)
    if found is None:
        return None
    inner = letters.find(sentence, found[0]) if sentence else None
    inner = inner if inner and inner[0] < found[1] else None
    return letters.boxes(found), letters.boxes((inner[0], min(inner[1], found[1]))) if inner else []
