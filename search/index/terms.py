"""The language bridge's term tables: each language's content terms, embedded at build time.

Every content term of the indexed passages is embedded once (a query embedding of the word as
written), each Lao term once more read as Thai (:func:`search.ingest.thai.read_as_thai`: the vector the
bridge asks of a Lao question's word); at search time :mod:`search.retrieve.bridge` picks a question's
closest terms of the other languages. Terms that sit close to everything (hubs) are discounted by their mean
similarity to their nearest passages of the other languages (CSLS-style), computed here at build time.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from search.errors import REBUILD_HINT, IndexFormatError
from search.index.records import THAI_VECTORS
from search.index.sparse import top_indices
from search.ingest.lang import LAO, is_lao_char
from search.ingest.thai import read_as_thai
from search.ingest.tokenize import TOKENS
from search.model.embed import Embedder

TERMS, TERM_VECTORS, TERM_INDEX = "terms.json", "terms.npy", "terms-{lang}.faiss"
TERM_COUNTS = "term-counts.json"  # the counts behind the tables (TermCounts), for the next build
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


@dataclass
class TermTable:
    """The content terms of one language's passages with their embeddings.

    Attributes:
        lang: the passages' language.
        keys: the BM25 tokens.
        words: the words embedded for each key (as written, before stemming).
        vectors: their L2-normalised query embeddings, one row per key.
        hub: each term's mean similarity to its nearest passages of other languages.
        thai: the Lao table's keys read as Thai, their query embeddings, one row per key (None for
            other languages, and in an index built before they were kept): a Lao question's words
            are looked up here instead of being embedded while the user waits.
    """

    lang: str
    keys: list[str]
    words: list[str]
    vectors: np.ndarray
    hub: np.ndarray
    index: object | None = None  # a faiss.IndexHNSWFlat above TERMS_ANN_FROM terms
    thai: np.ndarray | None = None
    _rows: dict[str, int] | None = field(default=None, repr=False, compare=False)  # key -> row, on first use

    def thai_vectors(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored Thai-reading vectors (:attr:`thai`) of those ``keys`` the table holds."""
        if self.thai is None:
            return {}
        if self._rows is None:
            self._rows = {key: row for row, key in enumerate(self.keys)}
        return {key: np.array(self.thai[self._rows[key]], np.float32) for key in keys if key in self._rows}

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
    distinct term and written form. It is saved with the index (``term-counts.json``), so
    that the next build counts only the reports that changed: it adds the new ones' passages
    and takes away the removed ones'.
    """

    def __init__(self):
        self.df: dict[str, Counter] = defaultdict(Counter)
        self.surface: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))

    def add(self, lang: str, pairs: Sequence[tuple[str, str]]) -> None:
        """Count one passage's (word, key) pairs once each (document frequency)."""
        self._change(lang, pairs, 1)

    def remove(self, lang: str, pairs: Sequence[tuple[str, str]]) -> None:
        """Take back what :meth:`add` counted for a passage that leaves the library."""
        self._change(lang, pairs, -1)

    def _change(self, lang: str, pairs: Sequence[tuple[str, str]], step: int) -> None:
        if lang == "und":
            return
        seen, surface = set(), self.surface[lang]
        for word, key in pairs:
            if key.replace(".", "").isdigit() or len(key) < (2 if is_lao_char(key[0]) else 3):
                continue
            surface[key][word] += step
            if surface[key][word] <= 0:
                del surface[key][word]
            seen.add(key)
        df = self.df[lang]
        for key in seen:
            df[key] += step
            if df[key] <= 0:
                del df[key], surface[key]

    def save(self, folder: Path) -> None:
        """Write ``term-counts.json`` (UTF-8: Lao as Lao), with the tokenizing rules they were counted by."""
        data = {lang: {key: [n, dict(self.surface[lang][key])] for key, n in sorted(df.items())}
                for lang, df in sorted(self.df.items()) if df}
        (Path(folder) / TERM_COUNTS).write_text(json.dumps({"tokens": TOKENS, "languages": data}, ensure_ascii=False),
                                                encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "TermCounts":
        """Read what :meth:`save` wrote.

        Raises:
            IndexFormatError: the file is missing or damaged, or counted by other tokenizing rules (``TOKENS``).
        """
        counts = cls()
        try:
            saved = json.loads((Path(folder) / TERM_COUNTS).read_text(encoding="utf-8"))
            if saved["tokens"] != TOKENS:
                raise ValueError(f"counted by tokenizing rules {saved['tokens']}, these are {TOKENS}")
            for lang, keys in saved["languages"].items():
                for key, (n, words) in keys.items():
                    counts.df[lang][key] = int(n)
                    counts.surface[lang][key] = Counter({w: int(c) for w, c in words.items()})
        except (OSError, ValueError, TypeError, AttributeError, KeyError) as exc:
            raise IndexFormatError(f"the term counts in {folder} are missing, damaged or stale ({exc}); {REBUILD_HINT}") from exc
        return counts

    def chosen(self, lang: str) -> list[tuple[str, str]]:
        """(key, word) of the terms worth embedding: by document frequency, at most MAX_TERMS_PER_LANGUAGE.

        Each key's word is its most frequent written form, a tie going to the shorter, then to the first
        alphabetically: the choice depends on the counts only, not on the order reports were added in.
        """
        df, surface = self.df[lang], self.surface[lang]
        keys = sorted(df, key=lambda k: (-df[k], k))[:MAX_TERMS_PER_LANGUAGE]
        return [(k, min(surface[k].items(), key=lambda item: (-item[1], len(item[0]), item[0]))[0]) for k in sorted(keys)]


def build_term_tables(
    langs: Sequence[str], counts: TermCounts, passage_vectors: np.ndarray, embedder: Embedder,
    *, previous: dict[str, TermTable] | None = None, progress: Callable[[int, int], None] | None = None,
) -> dict[str, TermTable]:
    """Embed the content terms of each language's passages (reusing vectors of a previous build).

    Args:
        langs: each indexed passage's language.
        counts: the passages' terms, counted (:class:`TermCounts`).
        passage_vectors: the passages' dense vectors (for the hub discount).
        embedder: the index's model.
        previous: the tables of the previous index, whose vectors are reused by word.
        progress: called as ``progress(done, total)`` while embedding new terms.
    """
    langs = np.asarray(langs, dtype=str)
    chosen = {lang: counts.chosen(lang) for lang in sorted(set(langs.tolist())) if lang != "und"}
    known = {(t.lang, w): v for t in (previous or {}).values() for w, v in zip(t.words, t.vectors)}
    fresh = sorted({(lang, w) for lang, terms in chosen.items() for _, w in terms if (lang, w) not in known})
    if fresh:
        vectors = embedder.embed_queries([w for _, w in fresh], progress=progress)
        known.update(zip(fresh, vectors))
    tables = {}
    for lang, terms in chosen.items():
        vectors = np.array([known[(lang, w)] for _, w in terms], np.float32).reshape(-1, passage_vectors.shape[1])
        others = np.flatnonzero(langs != lang)
        hub = _hubness(vectors, passage_vectors, others)
        tables[lang] = TermTable(lang, [k for k, _ in terms], [w for _, w in terms], vectors, hub, _term_index(vectors, hub))
    if LAO in tables:
        tables[LAO].thai = _thai_vectors(tables[LAO].keys, embedder, (previous or {}).get(LAO), progress)
    return tables


def _thai_vectors(keys: list[str], embedder: Embedder, previous: TermTable | None, progress) -> np.ndarray:
    """The query embeddings of ``keys`` read as Thai, those of a previous build reused by key.

    Embedded in batches at build time, each vector is the one a question's word gets embedded alone at search
    time (float32: equal; the 8-bit engine embeds questions one at a time anyway; tests/test_engines.py).
    """
    known = previous.thai_vectors(keys) if previous is not None else {}
    fresh = [key for key in keys if key not in known]
    if fresh:
        known.update(zip(fresh, embedder.embed_queries([read_as_thai(key) for key in fresh], progress=progress)))
    return np.array([known[key] for key in keys], np.float32).reshape(len(keys), embedder.dimension)


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
    """Write ``terms.json`` (keys and words per language, UTF-8), ``terms.npy`` (vectors, then hub), the Lao
    table's ``terms-thai.npy`` (:attr:`TermTable.thai`) and, for a table above ``TERMS_ANN_FROM`` terms, its
    graph ``terms-<lang>.faiss``."""
    meta = {lang: {"keys": t.keys, "words": t.words} for lang, t in tables.items()}
    (Path(folder) / TERMS).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    parts = [np.hstack([t.vectors, t.hub[:, None]]) for t in tables.values() if len(t.keys)]
    np.save(Path(folder) / TERM_VECTORS, np.vstack(parts) if parts else np.zeros((0, 1), np.float32), allow_pickle=False)
    thai = tables[LAO].thai if LAO in tables else None  # written (empty) without Lao too: it dates the index
    np.save(Path(folder) / THAI_VECTORS, np.zeros((0, 1), np.float32) if thai is None else np.asarray(thai, np.float32),
            allow_pickle=False)
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
        tables = _split_term_rows(meta, rows, folder)
        if LAO in tables and (Path(folder) / THAI_VECTORS).is_file():  # an older index has none: words embedded
            thai = np.load(Path(folder) / THAI_VECTORS, allow_pickle=False, mmap_mode="r")
            if len(thai) and len(thai) != len(tables[LAO].keys):
                raise ValueError(f"terms.json and {THAI_VECTORS} in {folder} disagree")
            tables[LAO].thai = thai if len(thai) else None
        return tables
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
