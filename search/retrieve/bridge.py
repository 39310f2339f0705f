"""A bridge between Lao and English for lexical search.

A Lao question shares no words with the English paragraph that answers it, so
BM25 alone cannot find it. Two sources of translations are added to the query:

* **the corpus's own terms, placed by the embedding model**: every content term of
  the indexed passages is embedded once at build time; a question's vector, which
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
"""

from __future__ import annotations

import csv
import functools
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from search.model.embed import Embedder
from search.errors import REBUILD_HINT, IndexFormatError
from search.index.sparse import top_indices
from search.ingest.lang import LAO, is_lao_char, normalize_text
from search.ingest.tokenize import lao_stopwords, tokenize

TERMS, TERM_VECTORS, TERM_INDEX = "terms.json", "terms.npy", "terms-{lang}.faiss"
# Terms per language, the most frequent first. bench/terms.py measured the old cap of 4,000 in a library of
# 10,333 passages: it kept 444 of the bundled report's 909 English terms and 122 of its 212 Lao ones, and
# the dev set's hit@5 fell from 0.939 (every term) to 0.879. A cap is kept only to bound memory and
# build time (200,000 terms: about 360 MB per language for their HNSW graph).
MAX_TERMS_PER_LANGUAGE = 200_000
TERMS_ANN_FROM = 20_000  # terms; above it an HNSW graph finds the closest terms (see _term_index)
_HNSW_M, _HNSW_EF_CONSTRUCTION, _HNSW_EF_SEARCH = 32, 200, 128
_HUB_NEIGHBOURS = 5
HUB_SAMPLE = 50_000  # passages of the other languages that the hub discount looks at, at most
_HUB_BLOCK = 2048  # terms per block of similarities
_GLOSSES_PER_WORD = 4
_WORDS_PER_PHRASE = 4
_NEIGHBOURS_PER_WORD = 3

# Unicode laid the Lao block out parallel to the Thai one: U+0E80 + n is the Lao
# counterpart of U+0E00 + n. These letters differ from that rule: ຍ and ຮ match Thai
# ย and ร in cognates; ໍ (as in ບໍ່) is the vowel Thai writes อ; ົ is silent in Thai
# (ຄົນ, คน) except in ົວ (ຕົວ, ตัว); ຼ is a subscript ລ; ຽ is the vowel Thai writes ีย.
_LAO_TO_THAI = {
    "ຍ": "ย", "ຮ": "ร", "ໍ": "อ", "ົວ": "ัว", "ົ": "", "ຼ": "ล", "ຽ": "ีย", "ໜ": "หน", "ໝ": "หม",
    # ບໍ່ may be typed with ໍ before the tone mark; Thai puts the tone on the consonant: บ่อ.
    **{"ໍ" + tone: thai + "อ" for tone, thai in zip("່້໊໋", "่้๊๋")},
}


@dataclass
class TermTable:
    """The content terms of one language's passages with their embeddings.

    Attributes:
        lang: the passages' language.
        keys: the BM25 tokens.
        words: the words embedded for each key (as written, before stemming).
        vectors: their L2-normalised query embeddings, one row per key.
        hub: each term's mean similarity to its nearest passages of other languages.
    """

    lang: str
    keys: list[str]
    words: list[str]
    vectors: np.ndarray
    hub: np.ndarray
    index: object | None = None  # a faiss.IndexHNSWFlat above TERMS_ANN_FROM terms

    def closest(self, query: np.ndarray, n: int) -> list[str]:
        """The ``n`` keys whose terms are closest to a question vector, hubs discounted."""
        return self.closest_many(np.asarray(query)[None], n)[0]

    def closest_many(self, queries: np.ndarray, n: int) -> list[list[str]]:
        """:meth:`closest` for each row of ``queries``, reading the table once.

        Up to ``TERMS_ANN_FROM`` terms every term is scored (ties go to the earlier key); above it an
        HNSW graph over ``[vector, -hub]`` is searched with ``[query, 1]``: the same score.
        """
        queries = np.asarray(queries, np.float32)
        if not self.keys or not len(queries):
            return [[] for _ in range(len(queries))]
        if self.index is not None:
            import faiss

            threads = faiss.omp_get_max_threads()
            faiss.omp_set_num_threads(1)  # a question's few vectors: one thread, as the dense search (measured)
            try:
                _, ids = self.index.search(np.hstack([queries, np.ones((len(queries), 1), np.float32)]),
                                           min(n, len(self.keys)))
            finally:
                faiss.omp_set_num_threads(threads)
            return [[self.keys[i] for i in row if i >= 0] for row in ids]
        scores = queries @ self.vectors.T - self.hub
        return [[self.keys[i] for i in top_indices(row, n)] for row in scores]


class TermCounts:
    """Document frequencies of each language's content terms, counted passage by passage.

    The build feeds it each passage's ``words_and_tokens`` as BM25 reads them, so the
    words of a million passages are never all held at once; it keeps one count per
    distinct term and written form.
    """

    def __init__(self):
        self.df: dict[str, Counter] = defaultdict(Counter)
        self.surface: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))

    def add(self, lang: str, pairs: Sequence[tuple[str, str]]) -> None:
        """Count one passage's (word, key) pairs once each (document frequency)."""
        if lang == "und":
            return
        seen, surface = set(), self.surface[lang]
        for word, key in pairs:
            if key.replace(".", "").isdigit() or len(key) < (2 if is_lao_char(key[0]) else 3):
                continue
            surface[key][word] += 1
            seen.add(key)
        self.df[lang].update(seen)

    def chosen(self, lang: str) -> list[tuple[str, str]]:
        """(key, word) of the terms worth embedding: by document frequency, at most MAX_TERMS_PER_LANGUAGE."""
        df, surface = self.df[lang], self.surface[lang]
        keys = sorted(df, key=lambda k: (-df[k], k))[:MAX_TERMS_PER_LANGUAGE]
        return [(k, surface[k].most_common(1)[0][0]) for k in sorted(keys)]


def build_term_tables(
    passages: Sequence, counts: TermCounts, passage_vectors: np.ndarray, embedder: Embedder,
    *, previous: dict[str, TermTable] | None = None, progress: Callable[[int, int], None] | None = None,
) -> dict[str, TermTable]:
    """Embed the content terms of each language's passages (reusing vectors of a previous build).

    Args:
        passages: the indexed passages (for their languages).
        counts: the passages' terms, counted (:class:`TermCounts`).
        passage_vectors: the passages' dense vectors (for the hub discount).
        embedder: the index's model.
        previous: the tables of the previous index, whose vectors are reused by word.
        progress: called as ``progress(done, total)`` while embedding new terms.
    """
    chosen = {lang: counts.chosen(lang) for lang in sorted({p.lang for p in passages}) if lang != "und"}
    known = {(t.lang, w): v for t in (previous or {}).values() for w, v in zip(t.words, t.vectors)}
    fresh = sorted({(lang, w) for lang, terms in chosen.items() for _, w in terms if (lang, w) not in known})
    if fresh:
        vectors = embedder.embed_queries([w for _, w in fresh], progress=progress)
        known.update(zip(fresh, vectors))
    langs = np.array([p.lang for p in passages])
    tables = {}
    for lang, terms in chosen.items():
        vectors = np.array([known[(lang, w)] for _, w in terms], np.float32).reshape(-1, passage_vectors.shape[1])
        others = np.flatnonzero(langs != lang)
        hub = _hubness(vectors, passage_vectors, others)
        tables[lang] = TermTable(lang, [k for k, _ in terms], [w for _, w in terms], vectors, hub, _term_index(vectors, hub))
    return tables


def _term_index(vectors: np.ndarray, hub: np.ndarray):
    """A table's graph (:func:`term_graph`) above TERMS_ANN_FROM terms; None below (every term is scored)."""
    return term_graph(vectors, hub) if len(vectors) > TERMS_ANN_FROM else None


def term_graph(vectors: np.ndarray, hub: np.ndarray):
    """An HNSW graph over ``[vector, -hub]``, whose inner product with ``[question, 1]`` is the hub-discounted score.

    An inverted file was measured first on the 10,333-passage library of bench/terms.py (12,193 Lao and
    11,192 English terms): 64 of 4·√n clusters found 0.96 and 0.94 of the closest 10 terms and took
    longer than scoring every term. HNSW (M 32, efSearch 128) found 0.998 and 0.988 in 4.2 and 4.5 ms
    for 8 vectors, against 12.1 and 8.6 ms for every term; it grows with log n, a full scan with n.
    """
    import faiss

    index = faiss.IndexHNSWFlat(vectors.shape[1] + 1, _HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = _HNSW_EF_CONSTRUCTION
    index.add(np.hstack([vectors, -hub[:, None]]).astype(np.float32))
    index.hnsw.efSearch = _HNSW_EF_SEARCH
    return index


def _hubness(vectors: np.ndarray, passage_vectors: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Each term's mean similarity to its nearest passages among ``others`` (rows of ``passage_vectors``).

    Above HUB_SAMPLE passages a seeded sample of them stands for the rest, and terms go
    in blocks: the similarities of 4,000 terms to 500,000 passages would take 8 GB.
    """
    if not len(vectors) or not len(others):
        return np.zeros(len(vectors), np.float32)
    if len(others) > HUB_SAMPLE:
        others = np.sort(np.random.default_rng(0).choice(others, HUB_SAMPLE, replace=False))
    near = np.asarray(passage_vectors[others], np.float32).T
    top = min(_HUB_NEIGHBOURS, near.shape[1])
    hub = np.empty(len(vectors), np.float32)
    for start in range(0, len(vectors), _HUB_BLOCK):
        sims = vectors[start:start + _HUB_BLOCK] @ near
        best = np.sort(np.partition(sims, -top, axis=1)[:, -top:], axis=1)  # the top values, in np.sort's order
        hub[start:start + _HUB_BLOCK] = best.mean(axis=1)
    return hub


def save_term_tables(tables: dict[str, TermTable], folder: Path) -> None:
    """Write ``terms.json`` (keys and words per language, UTF-8), ``terms.npy`` (vectors, then hub) and, for a
    table above ``TERMS_ANN_FROM`` terms, its graph ``terms-<lang>.faiss``."""
    meta = {lang: {"keys": t.keys, "words": t.words} for lang, t in tables.items()}
    (Path(folder) / TERMS).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    parts = [np.hstack([t.vectors, t.hub[:, None]]) for t in tables.values() if len(t.keys)]
    np.save(Path(folder) / TERM_VECTORS, np.vstack(parts) if parts else np.zeros((0, 1), np.float32), allow_pickle=False)
    for lang, table in tables.items():
        if table.index is not None:
            import faiss

            faiss.write_index(table.index, str(Path(folder) / TERM_INDEX.format(lang=lang)))


def load_term_tables(folder: Path) -> dict[str, TermTable]:
    """Read what :func:`save_term_tables` wrote.

    Raises:
        IndexFormatError: a file is missing or damaged.
    """
    try:
        meta = json.loads((Path(folder) / TERMS).read_text(encoding="utf-8"))
        rows = np.load(Path(folder) / TERM_VECTORS, allow_pickle=False, mmap_mode="r")
        return _split_term_rows(meta, rows, folder)
    except (OSError, ValueError, EOFError, KeyError, TypeError, AttributeError, IndexError, RuntimeError) as exc:
        raise IndexFormatError(f"the term files in {folder} are missing or damaged ({exc}); {REBUILD_HINT}") from exc


def _split_term_rows(meta: dict, rows: np.ndarray, folder: Path) -> dict[str, TermTable]:
    tables, start = {}, 0
    for lang, entry in meta.items():
        n = len(entry["keys"])
        block = rows[start:start + n]
        if len(block) != n or len(entry["words"]) != n:
            raise ValueError(f"terms.json and terms.npy in {folder} disagree")
        if n <= TERMS_ANN_FROM:  # scored in full: in memory, contiguous
            tables[lang] = TermTable(lang, entry["keys"], entry["words"], np.array(block[:, :-1]), np.array(block[:, -1]))
        else:  # searched through its graph; the float32 vectors stay on disk (a build reuses them)
            import faiss

            index = faiss.read_index(str(Path(folder) / TERM_INDEX.format(lang=lang)))  # written with the table
            index.hnsw.efSearch = _HNSW_EF_SEARCH
            tables[lang] = TermTable(lang, entry["keys"], entry["words"], block[:, :-1], np.array(block[:, -1]), index)
        start += n
    return tables


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


def dictionary_expansion(question_words: Sequence[str]) -> Counter:
    """English tokens for the Lao content words of a question, from the dictionary.

    Args:
        question_words: the question's words in order, as ``tokenize`` gives them;
            with function words kept (``keep_stopwords=True``), phrases that contain
            one are found too.

    Consecutive words that together are a dictionary entry (up to four) are looked
    up as one, the longest first. A word missing from the dictionary is looked up
    as its longest known pieces (``ການຝຶກ`` → ``ຝຶກ``). Each word or phrase
    contributes a total weight of 1, shared among the tokens of its first glosses.
    """
    dictionary = lao_english_dictionary()
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


def read_as_thai(text: str) -> str:
    """Lao text spelt letter for letter in Thai script (other characters unchanged).

    >>> read_as_thai("ຊາຍແດນ")
    'ชายแดน'
    """
    out, i = [], 0
    while i < len(text):
        pair = text[i:i + 2]
        if pair in _LAO_TO_THAI:
            out.append(_LAO_TO_THAI[pair])
            i += 2
            continue
        ch = text[i]
        if ch in _LAO_TO_THAI:
            out.append(_LAO_TO_THAI[ch])
        elif "\u0e80" <= ch <= "\u0edf":
            out.append(chr(ord(ch) - 0x80))
        else:
            out.append(ch)
        i += 1
    return "".join(out)


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
