"""Cutting paragraphs into passages at sentence boundaries, Lao included.

A passage is a span of one paragraph: about ``max_words`` words and at most
``max_chars`` characters, so that a citation points at text a reader can check
and the model never truncates it (``max_tokens`` measured with its tokenizer).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

# A sentence ends at . ! ? … (and closing quotes or brackets) followed by space.
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)|[;](?=\s)|\n")
_CLAUSE_BREAK = re.compile(r"[,;:–—](?=\s)|\s[-–—](?=\s)")
_SPACE = re.compile(r"\s")
_WORD_WINDOW = 32  # characters looked at before a period; longer words are never abbreviations


@dataclass(frozen=True)
class ChunkSettings:
    """How paragraphs become passages."""

    max_chars: int = 600
    max_words: int = 100
    max_tokens: int = 480


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Split text into sentences, returned as (start, end) spans without outer whitespace.

    A period after a word of one or two letters (``U.S.``, ``ກ.ຊ.``, ``No.``) or
    inside a number (``3.5``) does not end a sentence; ``;`` and line breaks do.
    """
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        if match.group().startswith(".") and _is_abbreviation(text, match.start()):
            continue
        spans.append((start, end))
        start = end
    spans.append((start, len(text)))
    return [s for s in (_strip(text, a, b) for a, b in spans) if s[0] < s[1]]


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the word before the period at ``dot`` has one or two letters (``U.S``, ``ກ.ຊ``, ``No``).

    Only a bounded window before the period is looked at, so splitting is linear in the text's length.
    """
    window = text[max(0, dot - _WORD_WINDOW):dot]
    words = window.split()
    if not words or (len(words) == 1 and dot > _WORD_WINDOW and not window[0].isspace()):
        return False  # nothing before it, or a word longer than the window
    bare = words[-1].replace(".", "")
    return bare.isalpha() and len(bare) <= 2


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _words(text: str) -> int:
    return len(text.split())


def _cut_long(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Cut one over-long sentence at clause breaks, else spaces, else anywhere."""
    pieces = []
    while end - start > max_chars:
        window = text[start:start + max_chars]
        cut = 0
        for pattern in (_CLAUSE_BREAK, _SPACE):
            found = [m.end() for m in pattern.finditer(window) if m.end() > max_chars // 3]
            if found:
                cut = found[-1]
                break
        cut = cut or max_chars
        pieces.append(_strip(text, start, start + cut))
        start = _strip(text, start + cut, end)[0]
    pieces.append((start, end))
    return pieces


def chunk_spans(
    text: str,
    settings: ChunkSettings = ChunkSettings(),
    count_tokens: Callable[[str], int] | None = None,
) -> list[tuple[int, int]]:
    """Cut a paragraph into passage spans of balanced size, at sentence boundaries.

    Args:
        text: the paragraph.
        settings: size limits.
        count_tokens: the model's token counter; a passage over
            ``settings.max_tokens`` is halved at a space until it fits.

    Returns:
        Spans (start, end) into ``text``, in order, covering every sentence.
    """
    units = [piece for a, b in sentence_spans(text) for piece in _cut_long(text, a, b, settings.max_chars)]
    if not units:
        return []
    total_chars = units[-1][1] - units[0][0]
    n = max(math.ceil(total_chars / settings.max_chars), math.ceil(_words(text) / settings.max_words), 1)
    target = total_chars / n
    spans, cur = [], None
    for a, b in units:
        if cur is None:
            cur = (a, b)
            continue
        merged = (cur[0], b)
        too_big = merged[1] - merged[0] > settings.max_chars or _words(text[merged[0]:merged[1]]) > settings.max_words
        if too_big or cur[1] - cur[0] >= target:
            spans.append(cur)
            cur = (a, b)
        else:
            cur = merged
    spans.append(cur)
    if count_tokens is not None:
        spans = [piece for span in spans for piece in _fit_tokens(text, span, settings.max_tokens, count_tokens)]
    return spans


def _fit_tokens(text: str, span: tuple[int, int], max_tokens: int, count_tokens) -> list[tuple[int, int]]:
    a, b = span
    if count_tokens(text[a:b]) <= max_tokens or b - a < 2:
        return [span]
    middle = (a + b) // 2
    space = text.rfind(" ", a + 1, middle + 1)
    cut = space if space > a else middle
    left, right = _strip(text, a, cut), _strip(text, cut, b)
    return _fit_tokens(text, left, max_tokens, count_tokens) + _fit_tokens(text, right, max_tokens, count_tokens)
