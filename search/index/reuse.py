"""What of the previous index a build can reuse: its vectors, BM25 counts, clusters, centering and neighbourhoods,
each only where its files are intact and its settings the same."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from search.errors import IndexFormatError, IndexNotFoundError
from search.index.centering import LanguageCentering
from search.index.dense import DenseIndex
from search.index.generations import current_generation, damaged_files
from search.index.hubness import Neighbourhoods
from search.index.neighbours import load_neighbourhoods
from search.index.records import (CENTERING, DENSE, NEIGHBOUR_SCORES, NEIGHBOURS, NUMBERS, PASSAGES, SENTENCES, UNITS,
                                  VECTORS, IndexConfig)
from search.index.sparse import COUNTS, MATRIX, VOCAB, SparseIndex
from search.index.store import StoredIndex, load_index
from search.index.terms import TERM_COUNTS, TERM_VECTORS, TERMS, TermCounts
from search.model.embed import Embedder


@dataclass
class Previous:
    """The previous index, as far as it can be trusted for reuse."""

    index: StoredIndex
    trusted_sentences: bool
    trusted_terms: bool
    lexical: tuple[SparseIndex, TermCounts] | None = None  # BM25 with its raw counts, and the term counts
    numbers: np.ndarray | None = None  # which passages, then sentences, state a quantity
    clusters: dict[str, DenseIndex] = field(default_factory=dict)  # inverted files whose clusters can be reused
    neighbourhoods: tuple[Neighbourhoods, Neighbourhoods] | None = None  # the passages' and the units'
    centering: dict[str, LanguageCentering] | None = None  # the passages' and the sentences'


def same_vectors(a: IndexConfig, b: IndexConfig) -> bool:
    """Whether indexes built with ``a`` and ``b`` hold the same vectors: they differ at most in BM25's settings."""
    plain = dict(bm25_k1=0.0, bm25_b=0.0, bm25_context=())
    return replace(a, **plain) == replace(b, **plain)


def reusable(index_dir: Path, config: IndexConfig, embedder: Embedder) -> Previous | None:
    """The previous index if its vectors can be reused (same model and settings but BM25's, files intact), else
    None. Its BM25 counts are reused only when BM25's settings are the same too.

    Every file is checksummed, unless its stamp is the one it was written with (nothing has written to it
    since): a damaged file is not reused but made again. Passage
    vectors need ``passages.jsonl`` and ``vectors.npy``; the sentence and term vectors
    are reused only when their own files are intact.
    """
    try:
        generation, manifest = current_generation(index_dir)
    except (IndexNotFoundError, IndexFormatError):
        return None
    if not same_vectors(manifest.config, config) or manifest.model_id != embedder.model_id:
        return None
    damaged = damaged_files(generation, manifest, trust_stamps=True)
    if PASSAGES in damaged or VECTORS in damaged:
        return None
    try:
        index = load_index(index_dir, verify="none", dense=False)
        index.vectors  # noqa: B018 - its shape is checked here, not halfway through the build
    except (IndexNotFoundError, IndexFormatError):
        return None
    trusted_sentences = SENTENCES not in damaged
    try:
        index.sentence_vectors  # noqa: B018
    except IndexFormatError:
        trusted_sentences = False
    previous = Previous(index, trusted_sentences, not damaged.keys() & {TERMS, TERM_VECTORS})
    lexical_files = {MATRIX, VOCAB, COUNTS, TERM_COUNTS}
    with contextlib.suppress(IndexFormatError):
        if lexical_files <= manifest.files.keys() and not damaged.keys() & lexical_files and manifest.config == config:
            previous.lexical = (index.sparse.load_counts(generation), TermCounts.load(generation))
    with contextlib.suppress(IndexFormatError):
        if NUMBERS not in damaged:
            previous.numbers = np.concatenate([index.numeric_passages, index.numeric_sentences])
    for name in (DENSE, UNITS):
        with contextlib.suppress(IndexFormatError):
            if name not in damaged:
                previous.clusters[name] = DenseIndex.load(generation / name)
    with contextlib.suppress(IndexFormatError):
        if CENTERING not in damaged:
            previous.centering = {"passages": index.centering, "sentences": index.sentence_centering}
    if {NEIGHBOURS, NEIGHBOUR_SCORES} <= manifest.files.keys() and not damaged.keys() & {NEIGHBOURS, NEIGHBOUR_SCORES}:
        with contextlib.suppress(IndexFormatError):
            passages = len(index.passages)
            loaded = load_neighbourhoods(generation, passages + len(index.unit_owner))
            previous.neighbourhoods = (loaded[:passages], loaded[passages:]) if loaded is not None else None
    return previous



def old_vectors(previous: Previous, rows: list[int]) -> tuple[np.ndarray, np.ndarray | None]:
    """The previous index's vectors of passage ``rows``, and of their sentences (None when those are not trusted)."""
    old = previous.index
    sentences = old.sentence_rows[rows] if len(rows) else np.zeros((0, 2), np.int64)
    if len(rows) and rows[-1] - rows[0] + 1 == len(rows) and np.all(np.diff(rows) == 1):
        # A report's rows follow each other (a build writes reports whole): views of the mapped files, so
        # the vectors of a kept report are copied once, into the new generation's arrays, not twice.
        passage_vectors = old.vectors[rows[0]:rows[-1] + 1]
        sentence_vectors = old.sentence_vectors[sentences[0, 0]:sentences[-1, 1]] if previous.trusted_sentences else None
        return passage_vectors, sentence_vectors
    sentence_rows = [r for a, b in sentences for r in range(a, b)]
    return old.vectors[rows], old.sentence_vectors[sentence_rows] if previous.trusted_sentences else None
