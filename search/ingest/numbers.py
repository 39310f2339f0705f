"""Quantities in text: whether a question asks for one, whether a text states one, and where.

Years do not count as quantities: "2021" stands in most sentences of an annual report, and a year
answers "when", not "how many". Known at build time for every passage and sentence (the index's
``numbers.npy``), and at search time for the question (:mod:`search.retrieve.answer_type`).
"""

from __future__ import annotations

import re

from search.ingest.lang import fold_digits, has_lao, normalize_text
from search.ingest.tokenize import tokenize

# "how many", "how much", "how long", "how old"; "what share of", "what number of", ...
_ENGLISH_ASKS = re.compile(
    r"\bhow\s+(many|much|long|old)\b|\bwhat\s+(percentage|proportion|share|number|amount)\b", re.IGNORECASE)
# ຈັກ + classifier (ຈັກຄົນ, ຈັກແຫ່ງ, ຈັກປີ), ເທົ່າໃດ and ປານໃດ (how much, how long).
_LAO_ASKS = frozenset({"ຈັກ", "ເທົ່າໃດ", "ປານໃດ"})

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_YEAR = re.compile(r"(?:19|20)\d\d")
# The words are taken broadly: a sentence wrongly counted as holding a number only
# stays among the candidates, while one wrongly left out would be pushed down. So
# "one" counts despite "no one", and so do Lao ໜຶ່ງ (also "a"), ຊາວ (twenty, also
# "people"), ພັນ (thousand, also "kind") and ແສນ (a hundred thousand, also "very").
_ENGLISH_NUMBER_WORDS = re.compile(
    r"\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    r"seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundreds?|"
    r"thousands?|millions?|billions?|dozens?)\b", re.IGNORECASE)
_LAO_NUMBER_WORDS = frozenset(normalize_text(w) for w in "ໜຶ່ງ ສອງ ສາມ ສີ່ ຫ້າ ຫົກ ເຈັດ ແປດ ເກົ້າ ສິບ ຊາວ ຮ້ອຍ ພັນ ໝື່ນ ແສນ ລ້ານ".split())


def asks_for_number(question: str) -> bool:
    """True when the question asks how many, how much, how long or what share (Lao or English).

    >>> asks_for_number("ລາວມີດ່ານຊາຍແດນທີ່ເປັນທາງການທັງໝົດຈັກແຫ່ງ?"), asks_for_number("Who runs the shelters?")
    (True, False)
    """
    if _ENGLISH_ASKS.search(question):
        return True
    if not has_lao(question):
        return False
    return not _LAO_ASKS.isdisjoint(tokenize(question, keep_stopwords=True))


def holds_number(text: str) -> bool:
    """True when the text states a quantity: digits (Lao or ASCII) other than a year, or a number word.

    >>> holds_number("through Laos' 27 official border crossings"), holds_number("in 2021, the government")
    (True, False)
    """
    folded = fold_digits(text)
    if any(not _YEAR.fullmatch(number) for number in _NUMBER.findall(folded)):
        return True
    if _ENGLISH_NUMBER_WORDS.search(folded):
        return True
    if not has_lao(text):
        return False
    normal = normalize_text(text)
    if not any(word in normal for word in _LAO_NUMBER_WORDS):  # tokens are pieces of this text: no need to cut it
        return False
    return not _LAO_NUMBER_WORDS.isdisjoint(tokenize(text, keep_stopwords=True))


def number_spans(text: str) -> list[tuple[int, int]]:
    """Where ``text`` states quantities: digit groups (Lao or ASCII) other than years, and English number words.

    >>> number_spans("In 2021 it identified 110 victims, two of them boys.")
    [(22, 25), (35, 38)]
    """
    folded = fold_digits(text)  # one character for one: spans in the folded text are spans in ``text``
    spans = [m.span() for m in _NUMBER.finditer(folded) if not _YEAR.fullmatch(m.group())]
    spans += [m.span() for m in _ENGLISH_NUMBER_WORDS.finditer(folded)]
    return sorted(spans)
