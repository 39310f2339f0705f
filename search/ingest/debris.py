"""Chart labels and number runs inside a paragraph: text that is no sentence, left out of passages.

A report's text layer carries what its charts draw. In the bundled report a tier-ranking chart stands in the
middle of a sentence: "… allegations in the LAOS TIER RANKING BY YEAR 2015 2016 3 2WL 2 1 2017 2018 2019
2020 2021 2022 LAOS 342 Golden Triangle SEZ in Bokeo …". Embedded, those numbers pull the passage towards
any question about years or counts; in the answer box they break the sentence.

A run of at least ``MIN_TOKENS`` words, each a number (``2015``, ``2WL``, ``12,000``) or a word in capitals
(``TIER``), with at least ``MIN_NUMBERS`` numbers among them, is a chart's labels: prose puts lower-case
words, commas or full stops between its numbers, and a table's row read from a PDF or Word file has its
columns' names and commas (``Year: 2021, Cases: 39``), or, without a header row, ``|`` between cells.
Lao has no capitals, so Lao labels are not found this way (none are known in the corpus). Such a run is
cut out of the passage's text and kept beside it (``asides``), so that the source view still shows it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MIN_TOKENS = 8
MIN_NUMBERS = 4
_TOKEN = re.compile(r"\S+")
_DIGIT = "0-9\u0ed0-\u0ed9"  # Lao digits too
_NUMBER = re.compile(rf"[{_DIGIT}]+(?:[.,/–-][{_DIGIT}]+)*%?[A-Z]{{0,3}}")
_CAPITALS = re.compile(r"[A-Z][A-Z&/'’-]*")


def label_runs(text: str) -> list[tuple[int, int]]:
    """The (start, end) of each run of chart labels in ``text``, in order.

    >>> text = "in the LAOS TIER RANKING BY YEAR 2015 2016 3 2WL 2 1 2017 LAOS 342 Golden Triangle"
    >>> [text[a:b] for a, b in label_runs(text)]
    ['LAOS TIER RANKING BY YEAR 2015 2016 3 2WL 2 1 2017 LAOS 342']
    >>> label_runs("cases rose from 21 in 2020 to 39 in 2021, 13 of them in court, 10 convicted")
    []
    """
    runs, run = [], []

    def close():
        if len(run) >= MIN_TOKENS and sum(number for _, _, number in run) >= MIN_NUMBERS:
            runs.append((run[0][0], run[-1][1]))
        run.clear()

    for match in _TOKEN.finditer(text):
        token = match.group()
        number = bool(_NUMBER.fullmatch(token))
        if number or _CAPITALS.fullmatch(token):
            run.append((match.start(), match.end(), number))
        else:
            close()
    close()
    return runs


@dataclass(frozen=True)
class Cleaned:
    """A paragraph with its label runs cut out, and how to find the source's offsets again.

    Attributes:
        text: the paragraph without the runs (one space where a run stood between words).
        cuts: (offset in ``text``, the run as it stood, characters taken out of the source there), in order.
    """

    text: str
    cuts: tuple[tuple[int, str, int], ...] = ()

    def source_offset(self, offset: int, *, end: bool = False) -> int:
        """Where an offset of ``text`` stands in the paragraph as written. A start at a cut lies after the run
        taken out there, an end before it."""
        return offset + sum(taken for at, _, taken in self.cuts if at < offset or (at == offset and not end))

    def asides(self, start: int, after: int, upto: int) -> tuple[tuple[int, str], ...]:
        """The runs cut out at offsets in (``after``, ``upto``], as (offset from ``start``, run): the runs a
        passage beginning at ``start`` shows in the source view (those before its first word, at 0)."""
        return tuple((max(0, at - start), run) for at, run, _ in self.cuts if after < at <= upto)


def without_labels(paragraph: str) -> Cleaned:
    """``paragraph`` with each run of chart labels cut out, with the space on one side of it."""
    runs = label_runs(paragraph)
    if not runs:
        return Cleaned(paragraph)
    parts, cuts, at, length = [], [], 0, 0
    for start, end in runs:
        if end < len(paragraph):  # take the space after it
            stop = end + len(paragraph[end:]) - len(paragraph[end:].lstrip())
            begin = start
        else:  # the paragraph's end: take the space before it
            stop, begin = end, len(paragraph[:start].rstrip())
        kept = paragraph[at:begin]
        parts.append(kept)
        length += len(kept)
        cuts.append((length, paragraph[start:end], stop - begin))
        at = stop
    parts.append(paragraph[at:])
    return Cleaned("".join(parts), tuple(cuts))
