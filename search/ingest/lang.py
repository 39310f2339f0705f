"""Language tagging and Lao text normalisation.

Lao is decided by the share of Lao-script letters, deterministically, before any
statistical detector is asked: langdetect has no Lao profile and raises on pure
Lao text (see notes/lao.md). langdetect, seeded, decides the rest.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path

LAO = "lo"
THAI = "th"
UNKNOWN = "und"
_LAO_FIRST, _LAO_LAST = 0x0E80, 0x0EFF
_THAI_FIRST, _THAI_LAST = 0x0E00, 0x0E7F
_LAO_DIGITS = {0x0ED0 + i: str(i) for i in range(10)}
# Spelling variants seen in the same article (notes/lao.md): fold to one form.
_LAO_VARIANTS = (("ຫຼ", "ຫລ"), ("ໝ", "ຫມ"), ("ໜ", "ຫນ"))
_LAO_SHARE = 0.5  # at least half of the letters in Lao script
DOCUMENT_SAMPLE_CHARS = 2000  # what langdetect reads of a document's other-script text
SHORT_LETTERS = 200  # a passage with fewer letters takes its document's language


def is_lao_char(ch: str) -> bool:
    """True for a character of the Lao block U+0E80–U+0EFF."""
    return _LAO_FIRST <= ord(ch) <= _LAO_LAST


_ANY_LAO = re.compile(f"[{chr(_LAO_FIRST)}-{chr(_LAO_LAST)}]")


def has_lao(text: str) -> bool:
    """True when ``text`` holds a character of the Lao block (one regex scan: a build asks it of every sentence)."""
    return _ANY_LAO.search(text) is not None


def lao_share(text: str) -> float:
    """Share of Lao-script characters among the letters and marks of ``text`` (0.0 if none)."""
    letters = [ch for ch in text if unicodedata.category(ch)[0] in "LM"]
    if not letters:
        return 0.0
    return sum(is_lao_char(ch) for ch in letters) / len(letters)


def detect_lang(text: str, *, candidates: tuple[str, ...] = ()) -> str:
    """Return the language of ``text`` as an ISO 639-1 code.

    Lao when at least half of its letters are Lao script; otherwise langdetect's
    answer (seeded, so the same text always gets the same code); ``"und"`` when
    there is nothing to decide on. Short questions fool langdetect ("Article 215
    penal code" reads as Catalan), so a caller that knows which languages can
    occur passes them as ``candidates``: the likeliest of those that langdetect
    considers at all wins over its top answer.

    Args:
        text: any text, a passage or a question.
        candidates: languages to prefer, e.g. those of the indexed passages.

    Returns:
        ``"lo"``, a langdetect code such as ``"en"``, or ``"und"``.
    """
    if lao_share(text) >= _LAO_SHARE:
        return LAO
    from langdetect.lang_detect_exception import LangDetectException

    others = tuple(sorted(lang for lang in set(candidates) - {LAO} if _has_profile(lang)))
    if len(others) == 1:  # langdetect needs two profiles; with one, any letters decide
        return others[0] if any(ch.isalpha() for ch in text) else UNKNOWN
    detector = _factory(others).create()
    detector.append(text)
    try:
        return detector.detect()
    except LangDetectException:
        return UNKNOWN


# Words of English questions that French, Spanish, German, Dutch or Portuguese questions do not hold
# ("in", "was", "is", "a" are words of those too).
_ENGLISH_WORDS = frozenset("the of how what many much which who whom whose where when why did does do were are "
                           "has have had their its this that there been by with from for and".split())
_OTHER_SURE = 0.9  # langdetect's probability, over all its languages, that a question is in another language


def detect_question_lang(text: str, *, candidates: tuple[str, ...] = ()) -> str:
    """The language of a question: :func:`detect_lang` among ``candidates``, unless it is plainly another.

    Among the index's languages langdetect reads short questions well ("Article 215 penal code" as
    English, not Catalan), but with only Lao and English indexed every question with a letter read as
    English, French or Thai alike. A question mostly in Thai script is Thai; one mostly in another
    script than Latin (Cyrillic, Chinese...) is what langdetect makes of it over all its languages; a
    Latin-script question of four words or more is another language when langdetect, over all its
    languages, is sure of it (``_OTHER_SURE``) and it holds no English question word (``_ENGLISH_WORDS``):
    shorter ones are often names and terms ("Luang Prabang hospitals" reads as Tagalog).

    Args:
        text: the question.
        candidates: the languages of the indexed passages.

    Returns:
        ``"lo"``, ``"en"``, another langdetect code (``"fr"``, ``"th"``...), or ``"und"``.
    """
    chosen = detect_lang(text, candidates=candidates)
    if chosen == LAO or chosen == UNKNOWN:
        return chosen
    letters = [ch for ch in text if ch.isalpha()]
    if sum(_THAI_FIRST <= ord(ch) <= _THAI_LAST for ch in letters) * 2 >= len(letters):
        return THAI
    latin = sum("LATIN" in unicodedata.name(ch, "") for ch in letters)
    words = re.findall(r"[^\W\d_]+", text.lower())
    if latin * 2 >= len(letters) and (len(words) < 4 or not _ENGLISH_WORDS.isdisjoint(words)):
        return chosen
    from langdetect.lang_detect_exception import LangDetectException

    detector = _factory(()).create()
    detector.append(text)
    try:
        best = detector.get_probabilities()[0]
    except (LangDetectException, IndexError):
        return chosen
    if latin * 2 < len(letters) or best.prob >= _OTHER_SURE:
        return best.lang
    return chosen


def document_tagger(texts: list[str], *, languages: tuple[str, ...] | None = None):
    """A language tagger for the passages of one document: cheap, and steady on short lines.

    The script rule decides Lao passages. The document's other language is detected once,
    by langdetect over all its profiles, on the first ``DOCUMENT_SAMPLE_CHARS`` characters
    of its non-Lao passages. A non-Lao passage then takes that language, unless it is long
    enough to judge alone (``SHORT_LETTERS`` letters or more): langdetect chooses between
    the document's language and English (two profiles, so it is fast), on the passage's
    first ``DOCUMENT_SAMPLE_CHARS`` characters. A short title line of an English report
    ("Riverside Shelter Annual Note 2023") is English, not Norwegian.

    With ``languages``, every tag is one of them or ``"und"``: a report in another language,
    or a passage langdetect reads as Norwegian, is unsure rather than mislabelled.

    Args:
        texts: the document's passages (or paragraphs), in order.
        languages: the tags allowed (the index's languages); None allows any langdetect knows.

    Returns:
        A function from a passage's text to its code (``"lo"``, ``"en"``, ..., ``"und"``).
    """
    other = [t for t in texts if lao_share(t) < _LAO_SHARE]
    sample, size = [], 0
    for text in other:
        if size >= DOCUMENT_SAMPLE_CHARS:
            break
        sample.append(text[:DOCUMENT_SAMPLE_CHARS - size])
        size += len(sample[-1])
    main = detect_lang(" ".join(sample)) if sample else UNKNOWN
    if languages is not None and main not in languages:
        main = UNKNOWN

    def tag(text: str) -> str:
        found = _tag(text)
        return found if languages is None or found in languages else UNKNOWN

    def _tag(text: str) -> str:
        if lao_share(text) >= _LAO_SHARE:
            return LAO
        letters = sum(ch.isalpha() for ch in text)
        if not letters:
            return UNKNOWN
        if main == UNKNOWN or letters < SHORT_LETTERS:
            return main if main != UNKNOWN else detect_lang(text[:DOCUMENT_SAMPLE_CHARS])
        return detect_lang(text[:DOCUMENT_SAMPLE_CHARS], candidates=(main, "en"))

    return tag


def _profiles() -> Path:
    from langdetect import detector_factory

    return Path(detector_factory.PROFILES_DIRECTORY)


def _has_profile(lang: str) -> bool:
    return (_profiles() / lang).is_file()


@functools.lru_cache(maxsize=8)
def _factory(languages: tuple[str, ...]):
    """A seeded langdetect factory over the given languages' profiles (all when none are given)."""
    from langdetect.detector_factory import DetectorFactory

    factory = DetectorFactory()
    factory.seed = 0
    if languages:
        factory.load_json_profile([(_profiles() / lang).read_text(encoding="utf-8") for lang in languages])
    else:
        factory.load_profile(str(_profiles()))
    return factory


def fold_digits(text: str) -> str:
    """Write Lao digits (໐–໙) as ASCII digits, so ``໒໐໒໑`` matches ``2021``."""
    return text.translate(_LAO_DIGITS)


def normalize_text(text: str) -> str:
    """Normalise text for matching and embedding: NFC, Lao digits to ASCII, one spelling of ຫຼ/ໝ/ໜ.

    The original text is kept for display; this form is what models and
    tokenizers see, on both the question and the passage side.
    """
    text = fold_digits(unicodedata.normalize("NFC", text))
    for variant, canonical in _LAO_VARIANTS:
        text = text.replace(variant, canonical)
    return text
