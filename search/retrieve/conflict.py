"""Whether an answer's passage contradicts what the question names: a year, a number, a place.

The answer box chooses a sentence by meaning, and meaning hardly tells "convicted in 2023" from
"convicted in 2021": the model puts both close, so the 2021 figure came back, confidently, for a
2023 question. A question that names a year, a number or a place restricts its answer to it. The
answer's passage contradicts the question when it names years (numbers, places) and none of the
question's; then the box shows no answer, and says why.

Judged on the passage, not the sentence alone: the sentence that answers "how many traffickers were
convicted in 2021?" names only the year it compares with ("compared with 11 in 2020"), while its
passage says "January to December 2021". Places of the report's title and the passage's section count
as the passage's: the title says where the whole report is about ("Laos"). Its years do not: a report is
often named for the year it came out, not the year it tells of (the 2022 report on 2021). A passage that
names nothing of a kind contradicts nothing of that kind.
"""

from __future__ import annotations

import functools
import re

from search.ingest.lang import fold_digits, normalize_text
from search.ingest.numbers import number_spans
from search.retrieve.places import place_names

_YEAR = re.compile(r"(?<![\d.,])((?:19|20)\d\d)(?:\s*[-–]\s*((?:19|20)?\d\d))?(?![\d.,]?\d)")
_WORD_NUMBERS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
# Nationality words whose country's name is not a prefix of them (Vietnamese, Indonesian, Thai... are).
_DEMONYMS = {"Chinese": "China", "Burmese": "Burma", "Filipino": "Philippines"}


def years(text: str) -> set[int]:
    """The years ``text`` names (Lao or ASCII digits, 1900-2099); a range such as 2021-2025 names each year in it.

    >>> sorted(years("the 2021-23 plan, from January to December ໒໐໒໐"))
    [2020, 2021, 2022, 2023]
    """
    found = set()
    for m in _YEAR.finditer(fold_digits(text)):
        first = int(m.group(1))
        last = m.group(2)
        last = int(m.group(1)[:2] + last if len(last) == 2 else last) if last else first
        found.update(range(first, last + 1) if first <= last <= first + 50 else (first,))
    return found


def quantities(text: str) -> set[str]:
    """The quantities ``text`` states, other than years: digit groups without separators, and English number
    words up to twenty as digits.

    >>> sorted(quantities("4,000 people in 2021, five adult men"))
    ['4000', '5']
    """
    folded = fold_digits(text)
    found = set()
    for start, end in number_spans(folded):
        word = folded[start:end].lower()
        if word[0].isdigit():
            value = word.replace(",", "")
            found.add(value.rstrip("0").rstrip(".") if "." in value else value)
        elif word in _WORD_NUMBERS:
            found.add(_WORD_NUMBERS[word])
    return found


def places(text: str) -> set[str]:
    """The places ``text`` names (:mod:`search.retrieve.places`), each as its first English name.

    >>> sorted(places("ແຮງງານລາວຢູ່ແຂວງບໍ່ແກ້ວ; 37 Thai workers and PRC nationals"))
    ['Bokeo', 'China', 'Laos', 'Thailand']
    """
    found = set()
    normal = normalize_text(text)
    for name, forms in place_names().items():
        if name in normal:
            found.add(forms[0])
    for match in _english_places().finditer(text):
        found.add(_english_forms()[match.group(1).lower()])
    return found


def conflict(question: str, sentence: str, passage: str, context: str = "") -> str | None:
    """What in ``question`` its answer contradicts, in words; None when nothing does.

    Years and numbers: the passage names some, and none of the question's. Places: the passage names
    some and none of the question's; or a place the question names is missing from the sentence, which
    names another ("how many came back from Vietnam?" answered by "... 220 women ... in the PRC": "Lao"
    in both does not make it an answer).

    Args:
        question: the question.
        sentence: the answer sentence (a span of ``passage``).
        passage: the text of the passage the answer stands in.
        context: the report's title and the passage's section: their places count as the passage's and the
            sentence's.

    Returns:
        e.g. "the question asks about 2023; the passage speaks of 2020, 2021", or None.
    """
    asked, held = years(question), years(passage)
    if asked and held and not asked & held:
        return f"the question asks about {_listed(asked)}; the passage speaks of {_listed(held)}"
    asked, held = quantities(question), quantities(passage)
    if asked and held and not asked & held:
        return f"the question names {_listed(asked)}; the passage states {_listed(held, most=4)}"
    asked = places(question)
    if not asked:
        return None
    around, in_passage, in_sentence = places(context), places(passage), places(sentence)
    if in_passage and not asked & (in_passage | around):
        return f"the question names {_listed(asked)}; the passage speaks of {_listed(in_passage)}"
    missing, others = asked - in_sentence - around, in_sentence - asked
    if missing and others:
        return f"the question names {_listed(missing)}; the sentence speaks of {_listed(others)}"
    return None


def _listed(values, most: int = 6) -> str:
    ordered = sorted(values, key=lambda v: (len(str(v)), str(v)) if isinstance(v, str) and v.isdigit() else (0, str(v)))
    return ", ".join(map(str, ordered[:most])) + (", …" if len(ordered) > most else "")


@functools.lru_cache(maxsize=1)
def _english_forms() -> dict[str, str]:
    forms = {form.lower(): names[0] for names in place_names().values() for form in names}
    forms.update({word.lower(): country for word, country in _DEMONYMS.items()})
    return forms


@functools.lru_cache(maxsize=1)
def _english_places() -> re.Pattern:
    """Any English place name, also as the start of its nationality word (Vietnam-ese, Indonesia-n, Lao-s)."""
    names = sorted(_english_forms(), key=len, reverse=True)
    return re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")(?:ese|ns?|s)?\b", re.IGNORECASE)
