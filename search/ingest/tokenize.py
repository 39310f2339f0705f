"""Tokens for lexical search, Lao-aware.

Lao writes no spaces between words and its vowel and tone marks are combining
characters that ``\\w`` does not match, so a default BM25 tokenizer cuts Lao into
fragments (notes/lao.md). Here Lao runs are segmented into words by laonlp's
dictionary longest-match; other text gives lower-cased words with a light
English stemmer, and numbers with Lao digits folded and thousands separators
dropped (``໒໐໒໑`` and ``2021`` match, so do ``4,000`` and ``4000``). Both sides go
through :func:`~search.ingest.lang.normalize_text` first, so spelling variants
(ຫຼ/ຫລ, ໝ/ຫມ, ໜ/ຫນ) meet.
"""

from __future__ import annotations

import functools
import re

from search.ingest.lang import has_lao, is_lao_char, normalize_text

# The rules a text's tokens come by (normalize_text, Lao segmentation, stemming, stopwords). Bump it when
# they change: counts an index keeps for its next build (BM25's, the bridge's) are then counted again.
TOKENS = 2  # 2: the vowel AM in one form (_LAO_AM)
# The Lao vowel AM (ຳ) as PDF text layers give it: NIGGAHITA then AA (ໍາ), a tone mark between (ໍ່າ for ່ຳ).
# Folded to ຳ for BM25 and the bridge's terms only; what the model reads is left as it was (its tokenizer's
# NFKC already reads ໍາ as ຳ, though not ໍ່າ as ່ຳ), so stored vectors stay right.
_LAO_AM = re.compile("\u0ecd([\u0ec8-\u0ecb]?)\u0eb2")
_RUNS = re.compile(r"[\u0e80-\u0eff]+|[^\u0e80-\u0eff]+")
_WORDS = re.compile(r"[0-9]+(?:[.,][0-9]+)*|[^\W\d_]+(?:['’][^\W\d_]+)?")
_SUFFIXES = ("ing", "ed", "es", "s")
ENGLISH_STOPWORDS = frozenset(
    "a an the of in on at to for from by with and or but nor is are was were be been being am that this these those "
    "it its as into than then which who whom whose what when where why how did do does done not no yes any all also "
    "their there they them he she his her we our you your i me my so such can could would should will shall may might "
    "must has have had having about over under after before during between per via if else each other more most many "
    "much some own same very just only both either neither out up down off again further once here".split()
)


# laonlp's list lacks the question words, which the English list has (how, which, what...):
# how many, how much, which, what, who, where, when, how, why; ທັງໝົດ (all); the question particle ບໍ.
_LAO_QUESTION_WORDS = "ຈັກ ເທົ່າໃດ ປານໃດ ໃດ ຫຍັງ ໃຜ ໃສ ເມື່ອໃດ ແນວໃດ ເປັນຫຍັງ ທັງໝົດ ບໍ"


@functools.lru_cache(maxsize=1)
def lao_stopwords() -> frozenset[str]:
    """laonlp's list of Lao function words with the question words, normalised like the text."""
    from laonlp.corpus import lao_stopwords as stopwords

    return frozenset(normalize_text(w) for w in [*stopwords(), *_LAO_QUESTION_WORDS.split()])


def stem(word: str) -> str:
    """A light English stemmer: ``victims`` → ``victim``, ``trained`` → ``train``; short words stay."""
    if word.isdigit():
        return word
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def tokenize(text: str, *, keep_stopwords: bool = False) -> list[str]:
    """Split text into search tokens.

    Args:
        text: Lao, English or mixed text.
        keep_stopwords: keep function words (dropped by default).

    Returns:
        Lao words as segmented (normalised), other words lower-cased and stemmed, numbers as digits.
    """
    return [token for _, token in words_and_tokens(text, keep_stopwords=keep_stopwords)]


def fold_lao_am(text: str) -> str:
    """The vowel AM in one form: ``ໍາ`` → ``ຳ``, ``ໍ່າ`` → ``່ຳ`` (see ``_LAO_AM``)."""
    return _LAO_AM.sub("\\1\u0eb3", text)


def words_and_tokens(text: str, *, keep_stopwords: bool = False) -> list[tuple[str, str]]:
    """Like :func:`tokenize`, with each token's word as written (lower-cased, before stemming)."""
    from laonlp.tokenize import word_tokenize

    text = fold_lao_am(normalize_text(text))
    lao_stop = lao_stopwords()
    out = []
    for run in _RUNS.finditer(text):
        chunk = run.group()
        if is_lao_char(chunk[0]):
            words = [w for w in word_tokenize(chunk) if has_lao(w)]
            out += [(w, w) for w in words if keep_stopwords or w not in lao_stop]
            continue
        for match in _WORDS.finditer(chunk):
            word = match.group().lower().replace("’", "'")
            if word[0].isdigit():
                number = word.replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+", word) else word.rstrip(".,")
                out.append((number, number))
            elif keep_stopwords or word not in ENGLISH_STOPWORDS:
                out.append((word, stem(word)))
    return out
