"""A bridge between Lao and English for lexical search.

A Lao question shares no words with the English paragraph that answers it, so
BM25 alone cannot find it. Two sources of translations are added to the query:

* **the corpus's own terms, placed by the embedding model**: every content term of
  the indexed passages is embedded once at build time (:mod:`search.index.terms`); a question's vector, which
  the dense search computes anyway, picks the closest terms of the *other*
  languages. Terms that sit close to everything (hubs) are discounted by their
  mean similarity to their nearest passages of the other language (CSLS-style).
* **laonlp's Lao–English dictionary** (about 51,000 entries, shipped in the
  package): each Lao content word of a question adds the words of its first
  glosses, their weight shared out so that a word with many glosses, or split
  into several dictionary pieces, does not outweigh the rest. Words the
  segmenter split are looked up together first, as the dictionary's phrases
  (ເປັນ + ທາງການ: official, where ທາງການ alone is "officially").
* **each Lao word read as Thai**: Lao and Thai are close relatives, and most Lao
  words are written letter for letter like their Thai cognates (ຊາຍແດນ, ชายแดน:
  border). The model saw far more Thai than Lao, so a Lao word spelt in Thai
  letters lands nearer its English translation (ດ່ານຊາຍແດນ → border, crossings;
  ສາມຫລ່ຽມຄຳ → triangle). Each content word of a Lao question, read as Thai,
  adds its closest English terms of the corpus.

The model's lists read a Lao question in the same three ways (``question_vectors``): its own spelling, the whole
question read as Thai, and its dictionary reading (each entry's first gloss, in order).
"""

from __future__ import annotations

import csv
import functools
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from search.index.terms import TermTable
from search.ingest.lang import LAO, is_lao_char, normalize_text
from search.ingest.thai import read_as_thai
from search.ingest.tokenize import lao_stopwords, tokenize
from search.retrieve.places import place_names

_GLOSSES_PER_WORD = 4
_WORDS_PER_PHRASE = 4
_NEIGHBOURS_PER_WORD = 3
# A Lao question's dictionary reading beside its own and its Thai reading's vectors, in the model's lists. In the dev
# library 0.15 put 3 Lao questions into a top 5 and none out, on every set alone and in the library; 0.1 lost one of
# library-b's, 0.2 and 0.25 one of the bundled second set's alone (docs/library.md, "read by the dictionary too").
DICTIONARY_READING_WEIGHT = 0.15


@functools.lru_cache(maxsize=1)
def lao_english_dictionary() -> dict[str, tuple[str, ...]]:
    """laonlp's Lao–English dictionary: normalised Lao word → English glosses (loaded once per process)."""
    import laonlp.corpus

    path = Path(laonlp.corpus.__file__).parent / "lao-eng-dictionary.csv"
    entries: dict[str, list[str]] = defaultdict(list)
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            word, gloss = normalize_text((row.get("LaoWord") or "").strip()), (row.get("English") or "").strip()
            if word and gloss:
                entries[word].append(gloss)
    return {word: tuple(glosses) for word, glosses in entries.items()}


@functools.lru_cache(maxsize=1)
def lao_translations() -> dict[str, tuple[str, ...]]:
    """The dictionary, with place names read as places (search/retrieve/places.py) rather than as the words
    they are spelt like (ລາວ "he, him", ບໍ່ແກ້ວ "gem mine")."""
    return {**lao_english_dictionary(), **place_names()}


def dictionary_expansion(question_words: Sequence[str]) -> Counter:
    """English tokens for the Lao content words of a question, from the dictionary.

    Args:
        question_words: the question's words in order, as ``tokenize`` gives them;
            with function words kept (``keep_stopwords=True``), phrases that contain
            one are found too.

    Consecutive words that together are a dictionary entry or a place (up to four) are looked
    up as one, the longest first. A word missing from the dictionary is looked up
    as its longest known pieces (``ການຝຶກ`` → ``ຝຶກ``). Each word or phrase
    contributes a total weight of 1, shared among the tokens of its first glosses.
    """
    dictionary = lao_translations()
    weights: Counter = Counter()
    for token in _dictionary_phrases(question_words, dictionary):
        if not _is_lao_content_word(token):
            continue
        pieces = [token] if token in dictionary else _known_pieces(token, dictionary)
        for piece in pieces:
            glosses = [t for g in dictionary[piece][:_GLOSSES_PER_WORD] for t in tokenize(_strip_notes(g))]
            glosses = [t for t in dict.fromkeys(glosses) if not is_lao_char(t[0])]
            for gloss in glosses:
                weights[gloss] += 1.0 / len(glosses) / len(pieces)
    return weights


def _dictionary_phrases(words: Sequence[str], dictionary) -> list[str]:
    """The words with each longest run of Lao words that is a dictionary entry joined into one.

    A run of function words only (ເພື່ອ + ໃຫ້: "in order to") is no phrase.
    """
    out, i = [], 0
    while i < len(words):
        for j in range(min(len(words), i + _WORDS_PER_PHRASE), i + 1, -1):
            run, phrase = words[i:j], "".join(words[i:j])
            if phrase in dictionary and all(is_lao_char(w[0]) for w in run) and any(map(_is_lao_content_word, run)):
                out.append(phrase)
                i = j
                break
        else:
            out.append(words[i])
            i += 1
    return out


def _known_pieces(token: str, dictionary) -> list[str]:
    """Greedy longest dictionary entries of two or more characters inside ``token``."""
    pieces, i = [], 0
    while i < len(token):
        for j in range(len(token), i + 1, -1):
            if token[i:j] in dictionary and token[i:j] not in lao_stopwords():
                pieces.append(token[i:j])
                i = j
                break
        else:
            i += 1
    return pieces


def _strip_notes(gloss: str) -> str:
    depth, out = 0, []
    for ch in gloss:
        depth += ch == "("
        if depth == 0:
            out.append(ch)
        depth -= ch == ")" and depth > 0
    return "".join(out)


def thai_readings(questions: Sequence[str], langs: Sequence[str]) -> dict[int, str]:
    """The Lao questions read as Thai (``read_as_thai``), by their position in ``questions``."""
    return {i: read_as_thai(q) for i, (q, lang) in enumerate(zip(questions, langs)) if lang == LAO}


def with_thai_readings(vectors: np.ndarray, thai_vectors: dict[int, np.ndarray]) -> np.ndarray:
    """Each Lao question's vector averaged with its Thai reading's, at unit length; the others as they are.

    The model saw far more Thai than Lao: the question spelt in Thai lands nearer the English passages
    that answer it, the Lao spelling nearer the Lao ones; their mean searches both (docs/library.md).
    """
    return with_readings(vectors, thai_vectors)


def with_readings(vectors: np.ndarray, reading_vectors: dict[int, np.ndarray], weight: float = 1.0) -> np.ndarray:
    """A copy of ``vectors`` with ``weight`` × each reading's vector added to its question's (by position), at unit
    length; the questions without a reading as they are."""
    out = np.array(vectors, np.float32, copy=True)
    for i, reading in reading_vectors.items():
        mean = out[i] + weight * reading
        out[i] = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return out


def dictionary_readings(questions: Sequence[str], langs: Sequence[str]) -> dict[int, str]:
    """The Lao questions as the dictionary reads them (``dictionary_reading``), by their position in ``questions``;
    a question none of whose words is an entry has none."""
    readings = {i: dictionary_reading(tokenize(q, keep_stopwords=True))
                for i, (q, lang) in enumerate(zip(questions, langs)) if lang == LAO}
    return {i: reading for i, reading in readings.items() if reading}


def dictionary_reading(question_words: Sequence[str]) -> str:
    """A Lao question word by word in English: each Lao word or phrase that is an entry of the dictionary (or a
    place) as its first gloss, numbers and Latin-letter words as they are, in order; function words and words the
    dictionary lacks are left out (the glosses of their pieces are mostly noise).

    ``question_words``: ``tokenize(question, keep_stopwords=True)``, for the dictionary's phrases.
    """
    dictionary, out = lao_translations(), []
    for token in _dictionary_phrases(question_words, dictionary):
        if not is_lao_char(token[0]):
            out.append(token)
        elif _is_lao_content_word(token) and token in dictionary:
            out.append(_strip_notes(dictionary[token][0]).strip())
    return " ".join(word for word in out if word)


def question_vectors(embedder, questions: Sequence[str], langs: Sequence[str], *, readings: bool) -> tuple[np.ndarray, np.ndarray]:
    """The questions' own vectors, and those the model's lists search with (``readings``; else the same).

    A Lao question is searched with its vector averaged with its Thai reading's (``with_thai_readings``), plus
    ``DICTIONARY_READING_WEIGHT`` of its dictionary reading's: the model reads the English glosses well, and they
    point at the English passage that answers, which the Lao spelling often misses in a library of statutes. The
    readings are embedded in the same call as the question (a few texts each alone, side by side). English
    questions are untouched.
    """
    thai = thai_readings(questions, langs) if readings else {}
    glosses = dictionary_readings(questions, langs) if readings else {}
    encoded = embedder.embed_queries([*questions, *thai.values(), *glosses.values()])
    own, rest = encoded[:len(questions)], encoded[len(questions):]
    searched = with_thai_readings(own, dict(zip(thai, rest[:len(thai)])))
    return own, with_readings(searched, dict(zip(glosses, rest[len(thai):])), DICTIONARY_READING_WEIGHT)


def lao_content_words(question_tokens: Sequence[str]) -> list[str]:
    """The Lao content words of a tokenised question, once each, in order."""
    return list(dict.fromkeys(t for t in question_tokens if _is_lao_content_word(t)))


def _is_lao_content_word(token: str) -> bool:
    """A Lao word of two letters or more that is not a function word."""
    return is_lao_char(token[0]) and len(token) > 1 and token not in lao_stopwords()


def word_neighbours(word_vectors: Sequence[np.ndarray], table: TermTable, n: int = _NEIGHBOURS_PER_WORD) -> Counter:
    """The ``n`` closest terms of ``table`` to each word vector, each word sharing a weight of 1 among them."""
    return _shared(table.closest_many(np.array(word_vectors, np.float32), n) if len(word_vectors) else [], n)


def _shared(neighbours: list[list[str]], n: int) -> Counter:
    """Each word's ``n`` neighbours sharing a weight of 1."""
    weights: Counter = Counter()
    for keys in neighbours:
        for key in keys:
            weights[key] += 1.0 / n
    return weights


def expand_question(
    question_tokens: Sequence[str], question_lang: str, question_vector: np.ndarray, tables: dict[str, TermTable],
    *, terms_per_language: int = 10, own_weight: float = 0.3, use_dictionary: bool = True,
    thai_word_vectors: Sequence[np.ndarray] = (), question_words: Sequence[str] = (),
) -> Counter:
    """The weighted lexical query for a question: its own tokens plus their translations.

    Args:
        question_tokens: ``tokenize(question)``.
        question_lang: the question's language.
        question_vector: its dense (query) embedding.
        tables: the index's term tables.
        terms_per_language: how many closest terms each other language adds (weight 1 each).
        own_weight: weight of the question's own words (numbers always weigh 1). Below 1,
            because the own words alone pull up passages of the question's language,
            which dense search already finds; the translations reach the others.
        use_dictionary: add the dictionary glosses of its Lao words.
        thai_word_vectors: query embeddings of its Lao content words read as Thai
            (``read_as_thai``); each adds its closest terms of the other languages.
        question_words: its words with function words kept, for the dictionary's
            phrases (``dictionary_expansion``); ``question_tokens`` when empty.
    """
    weights: Counter = Counter()
    for token in question_tokens:
        weights[token] += 1.0 if token[0].isdigit() else own_weight
    for lang, table in tables.items():
        if lang != question_lang:  # the question and its words read as Thai, in one pass over the table
            found = table.closest_many(np.array([question_vector, *thai_word_vectors], np.float32),
                                       max(terms_per_language, _NEIGHBOURS_PER_WORD))
            for key in found[0][:terms_per_language]:
                weights[key] += 1.0
            weights.update(_shared([keys[:_NEIGHBOURS_PER_WORD] for keys in found[1:]], _NEIGHBOURS_PER_WORD))
    if use_dictionary and question_lang == LAO:
        weights.update(dictionary_expansion(question_words or question_tokens))
    return weights
