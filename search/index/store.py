"""The on-disk index: generations of plain files, published by one atomic rename, checked on load.

Layout (see docs/index-format.md)::

    index/CURRENT                    which generation is live, and its manifest's SHA-256
    index/gen-<time>-<id>/manifest.json    format, model, settings, documents; every file's size and SHA-256
    index/gen-…/passages.jsonl       one passage a line, UTF-8 (Lao stays Lao), with its citation
    index/gen-…/passage-table.npz    each line's byte offset, and the columns a search needs (language,
                                     report, paragraph, sentence count, text hash): nothing is parsed at load
    index/gen-…/vectors.npy, sentences.npy  raw passage and sentence vectors (memory-mapped)
    index/gen-…/centering.json       the language means of passages and of sentences
    index/gen-…/dense.faiss, units.faiss    centered passages; centered sentences and one-sentence passages
    index/gen-…/numbers.npy          which passages, then which sentences, state a quantity
    index/gen-…/bm25.npz, bm25-vocab.json   BM25 term weights over Lao-aware tokens
    index/gen-…/bm25-counts.npz      the raw term counts behind them (the next build updates them)
    index/gen-…/terms.json, terms.npy       the language bridge's terms and their embeddings
    index/gen-…/term-counts.json     each language's terms' document counts and written forms (the same)
    index/gen-…/terms-<lang>.faiss          a big language's terms, searchable (above 20,000 terms only)
    index/gen-…/terms-thai.npy              the Lao terms read as Thai, embedded (a Lao question's words)
    index/gen-…/stamps.json          each file's stamp as written (the next build reuses an unmoved file unread)

No pickle anywhere. A build (:mod:`search.index.publish`) writes a new generation under a
staging name, flushes it to disk, and publishes it by replacing ``CURRENT`` (one ``os.replace``):
at every moment ``CURRENT`` names a complete generation, so a crash never leaves no index,
and a reader that follows ``CURRENT`` once reads one generation throughout.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from search.errors import REBUILD_HINT, IndexFormatError
from search.index.centering import LanguageCentering
from search.index.dense import DenseIndex
from search.index.generations import check_files, current_generation
from search.index.records import (CENTERING, DENSE, HUBNESS, NUMBERS, PASSAGES, SENTENCES, TABLE, UNITS, VECTORS,
                                  Manifest, Passage, PassageList, PassageTable, SameText)
from search.index.sparse import SparseIndex
from search.index.terms import TermTable, load_term_tables


@dataclass
class StoredIndex:
    """An index read from disk.

    ``dense`` holds the passages' centered vectors (search/index/centering.py), centered at build
    time; ``units`` the centered vectors of the best-sentence list. The raw vectors
    (``vectors.npy``, ``sentences.npy``) are memory-mapped: only the rows a search
    touches (highlights) are read, so each vector is held in memory once.
    """

    path: Path
    manifest: Manifest
    passages: Sequence[Passage]  # a PassageList when read from disk: lines are parsed when asked for
    dense: DenseIndex
    table: PassageTable

    @functools.cached_property
    def vectors(self) -> np.ndarray:
        """All raw passage vectors, row i for passage i (memory-mapped).

        Raises:
            IndexFormatError: the file is missing, damaged, or does not match the passages.
        """
        return _load_array(self.path / VECTORS, (len(self.passages), self.manifest.dimension), np.float32, mmap=True)

    @functools.cached_property
    def sparse(self) -> SparseIndex:
        """The BM25 index (read on first use)."""
        return SparseIndex.load(self.path)

    @functools.cached_property
    def terms(self) -> dict[str, TermTable]:
        """The bridge's term tables, per language (read on first use)."""
        return load_term_tables(self.path)

    @functools.cached_property
    def sentence_rows(self) -> np.ndarray:
        """For each passage, the (start, end) rows of its sentences in :attr:`sentence_vectors` (n × 2)."""
        ends = np.cumsum(self.table.sentences, dtype=np.int64)
        return np.stack([ends - self.table.sentences, ends], axis=1)

    @functools.cached_property
    def sentence_vectors(self) -> np.ndarray:
        """The raw vectors of the passages' sentences (for highlighting), in passage order (memory-mapped).

        Raises:
            IndexFormatError: the file is missing, damaged, or does not match the passages.
        """
        shape = (len(self.sentence_owner), self.manifest.dimension)
        return _load_array(self.path / SENTENCES, shape, np.float32, mmap=True)

    @functools.cached_property
    def _centering(self) -> dict:
        path = self.path / CENTERING
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return {part: LanguageCentering.from_dict(data[part]) for part in ("passages", "sentences")}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise IndexFormatError(f"{path} is missing or damaged ({exc}); {REBUILD_HINT}") from exc

    @property
    def centering(self) -> LanguageCentering:
        """The passages' language means, fitted at build time; questions are centered with them."""
        return self._centering["passages"]

    @property
    def sentence_centering(self) -> LanguageCentering:
        """The sentences' language means (the best-sentence list's units are centered with them)."""
        return self._centering["sentences"]

    @functools.cached_property
    def raw_dense(self) -> DenseIndex:
        """An exact index of the raw passage vectors, made on first use (the ``dense-raw`` ablation only)."""
        return DenseIndex.from_vectors(self.vectors, ivf_from=len(self.passages) + 1, half=False)

    @functools.cached_property
    def units(self) -> DenseIndex:
        """The best-sentence list's index: centered sentence vectors, then one-sentence passages' vectors.

        Raises:
            IndexFormatError: the file is missing, damaged, or does not match the passages.
        """
        units = DenseIndex.load(self.path / UNITS)
        if len(units) != len(self.unit_owner):
            raise IndexFormatError(f"{self.path / UNITS} holds {len(units)} vectors, the passages need "
                                   f"{len(self.unit_owner)}; {REBUILD_HINT}")
        if self.hubness is not None:
            units.hubness = self.hubness[len(self.passages):]
        return units

    @functools.cached_property
    def hubness(self) -> np.ndarray | None:
        """Each passage's, then each unit's, mean cosine with its nearest neighbours (search/index/hubness.py);
        None for a generation written before there was one (searched without the discount; the app's start-up
        and ``build`` bring it up to date without embedding anything again).

        Raises:
            IndexFormatError: the file is damaged or does not match the passages.
        """
        if HUBNESS not in self.manifest.files:
            return None
        return _load_array(self.path / HUBNESS, (len(self.passages) + len(self.unit_owner),), np.float32, mmap=True)

    @functools.cached_property
    def unit_owner(self) -> np.ndarray:
        """For each row of :attr:`units`, the row of its passage."""
        return np.concatenate([self.sentence_owner, self.single_sentence_rows]).astype(np.int64)

    @functools.cached_property
    def single_sentence_rows(self) -> np.ndarray:
        """Rows of the passages of one sentence (they have no sentence vectors of their own)."""
        return np.flatnonzero(self.table.sentences == 0).astype(np.int64)

    @functools.cached_property
    def numeric_units(self) -> np.ndarray:
        """For each row of :attr:`units`, whether its text states a quantity."""
        return np.concatenate([self.numeric_sentences, self.numeric_passages[self.single_sentence_rows]])

    def selector(self, lang: str | None, docs: tuple[str, ...] = ()):
        """Rows of the passages in ``lang`` (any language when None) and in ``docs`` (any report when empty),
        and a FAISS selector of them, for :attr:`dense`; cached for a language alone."""
        return self._selector(("dense", lang, docs, False), lambda: self.scope_rows(lang, docs))

    def unit_selector(self, lang: str | None, *, numeric: bool = False, docs: tuple[str, ...] = ()):
        """Rows of :attr:`units` of passages in ``lang`` (all when None) and ``docs`` (all when empty), only
        those stating a quantity when ``numeric``, and a FAISS selector of them; ``(None, None)`` for all units."""
        def rows():
            keep = np.ones(len(self.unit_owner), bool)
            if lang or docs:
                in_scope = np.zeros(len(self.passages), bool)
                in_scope[self.scope_rows(lang, docs)] = True
                keep &= in_scope[self.unit_owner]
            if numeric:
                keep &= self.numeric_units
            return np.flatnonzero(keep)
        if not lang and not numeric and not docs:
            return None, None
        return self._selector(("units", lang, docs, numeric), rows)

    def scope_rows(self, lang: str | None, docs: tuple[str, ...] = ()) -> np.ndarray:
        """The rows of the passages in ``lang`` (any when None) of the reports ``docs`` (any when empty), sorted."""
        keep = np.ones(len(self.passages), bool)
        if lang:
            keep[:] = False
            keep[np.asarray(self.rows_by_lang.get(lang, []), np.int64)] = True
        if docs:
            chosen = set(docs)
            wanted = [i for i, doc in enumerate(self.table.docs) if doc in chosen]
            keep &= np.isin(self.table.doc, np.asarray(wanted, self.table.doc.dtype))
        return np.flatnonzero(keep).astype(np.int64)

    def _selector(self, key, rows):
        """A (rows, FAISS selector) pair; kept for filters by language alone (a few), made each time for a
        choice of reports (users choose any of 2^n, so a cache would only grow)."""
        if key[2]:  # a choice of reports
            ids = rows()
            return ids, DenseIndex.selector(ids)
        cache = self.__dict__.setdefault("_selectors", {})
        if key not in cache:
            ids = rows()
            cache[key] = (ids, DenseIndex.selector(ids))
        return cache[key]

    @functools.cached_property
    def _numbers(self) -> np.ndarray:
        return _load_array(self.path / NUMBERS, (len(self.passages) + len(self.sentence_owner),), np.bool_)

    @property
    def numeric_passages(self) -> np.ndarray:
        """For each passage, whether it states a quantity (search/ingest/numbers.py), found at build time."""
        return self._numbers[:len(self.passages)]

    @property
    def numeric_sentences(self) -> np.ndarray:
        """For each row of :attr:`sentence_vectors`, whether its sentence states a quantity."""
        return self._numbers[len(self.passages):]

    @functools.cached_property
    def sentence_owner(self) -> np.ndarray:
        """For each row of :attr:`sentence_vectors`, the row of its passage."""
        return np.repeat(np.arange(len(self.passages)), self.table.sentences)

    @functools.cached_property
    def rows_by_lang(self) -> dict[str, np.ndarray]:
        """Passage rows per language, languages sorted (for language filters)."""
        rows = {lang: np.flatnonzero(self.table.lang == i) for i, lang in enumerate(self.table.langs)}
        return {lang: r for lang, r in rows.items() if len(r)}

    @functools.cached_property
    def same_text(self) -> "SameText":
        """The passages whose exact text stands elsewhere too (another file, or repeated), by their text hashes."""
        return SameText.of(self.table.hashes)

    @functools.cached_property
    def document_rows(self) -> dict[str, list[int]]:
        """Passage rows per document, in order."""
        order = np.argsort(self.table.doc, kind="stable")
        bounds = np.searchsorted(self.table.doc[order], np.arange(len(self.table.docs) + 1))
        return {doc: order[bounds[i]:bounds[i + 1]].tolist() for i, doc in enumerate(self.table.docs)
                if bounds[i + 1] > bounds[i]}

    def paragraph(self, document: str, number: int) -> list[Passage]:
        """The passages of one paragraph of a document, in reading order."""
        rows = np.asarray(self.document_rows.get(document, []), np.int64)
        return [self.passages[int(r)] for r in rows[self.table.paragraph[rows] == number]]

    def summary(self) -> dict:
        """What the index holds, for people: reports, passages per language, model, build time."""
        langs = {lang: len(rows) for lang, rows in self.rows_by_lang.items()}
        m = self.manifest
        return {
            "reports": [{"document": doc, "title": info["title"], "passages": info["passages"],
                         "parts": info.get("parts", [info["title"]]),
                         **({"ocr": {int(page): c for page, c in info["ocr"].items()}} if info.get("ocr") else {})}
                        for doc, info in m.documents.items()],
            "passages": len(self.passages), "passages_by_lang": langs,
            "model": m.model_id, "built": m.created, "skipped": sorted(m.skipped),
        }


def load_index(index_dir: Path, *, verify: str = "auto", dense: bool = True) -> StoredIndex:
    """Read and check the live generation of an index folder.

    Args:
        index_dir: the index folder.
        verify: ``"auto"`` checks every file's size, and its SHA-256 too when the index
            is at most ``VERIFY_ON_LOAD_BYTES``; ``"full"`` always checksums; ``"sizes"`` never does;
            ``"none"`` skips the file checks (for a caller that has made its own).
        dense: read the FAISS index too; a build that reuses vectors reads only the ``.npy`` files.

    Raises:
        IndexNotFoundError: there is no index at ``index_dir``.
        IndexFormatError: the index is damaged or of another format version.
    """
    index_dir = Path(index_dir)
    generation, manifest = current_generation(index_dir)
    if verify != "none":
        check_files(generation, manifest, verify=verify)
    table = PassageTable.load(generation / TABLE, manifest.passage_count)
    try:
        passages = PassageList(generation / PASSAGES, table)
    except OSError as exc:
        raise IndexFormatError(f"{generation / PASSAGES} is missing or unreadable ({exc}); {REBUILD_HINT}") from exc
    if not dense:
        return StoredIndex(generation, manifest, passages, None, table)
    dense = DenseIndex.load(generation / DENSE)
    if not (len(passages) == len(dense) == manifest.passage_count) or dense.dimension != manifest.dimension:
        raise IndexFormatError(
            f"index at {index_dir} is inconsistent: manifest says {manifest.passage_count} passages of "
            f"dimension {manifest.dimension}, found {len(passages)} passages and {len(dense)} vectors of "
            f"dimension {dense.dimension}; {REBUILD_HINT}"
        )
    index = StoredIndex(generation, manifest, passages, dense, table)
    hubness = index.hubness
    if hubness is not None:
        dense.hubness = hubness[:len(passages)]
    return index


def check_index(index_dir: Path) -> dict:
    """Fully check an index: every file's size and checksum, then read every file.

    Returns:
        ``{"generation", "passages", "files", "bytes"}``.

    Raises:
        IndexNotFoundError, IndexFormatError: as :func:`load_index`, at the first damaged file.
    """
    index = load_index(index_dir, verify="full")
    for _ in index.passages:  # every line parses
        pass
    index.sparse, index.terms, index.units, index.centering, index.numeric_units  # noqa: B018 - read them all
    np.asarray(index.vectors).sum(), np.asarray(index.sentence_vectors).sum()
    files = index.manifest.files
    return {"generation": index.path.name, "passages": len(index.passages), "files": len(files) + 1,
            "bytes": sum(info["bytes"] for info in files.values())}



def _load_array(path: Path, shape: tuple[int, ...], dtype, *, mmap: bool = False) -> np.ndarray:
    """A ``.npy`` file of the given shape and type (memory-mapped when asked).

    Raises:
        IndexFormatError: the file is missing, damaged, or of another shape or type.
    """
    try:
        array = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise IndexFormatError(f"{path} is missing or damaged ({exc}); {REBUILD_HINT}") from exc
    if array.shape != shape or array.dtype != dtype:
        raise IndexFormatError(f"{path} holds {array.shape} of {array.dtype}, the index needs {shape} of "
                               f"{np.dtype(dtype)}; {REBUILD_HINT}")
    return array
