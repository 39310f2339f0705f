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
    index/gen-…/terms.json, terms.npy       the language bridge's terms and their embeddings
    index/gen-…/terms-<lang>.faiss          a big language's terms, searchable (above 20,000 terms only)

No pickle anywhere. A build (:mod:`search.index.publish`) writes a new generation under a
staging name, flushes it to disk, and publishes it by replacing ``CURRENT`` (one ``os.replace``):
at every moment ``CURRENT`` names a complete generation, so a crash never leaves no index,
and a reader that follows ``CURRENT`` once reads one generation throughout.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import mmap
import os
import platform
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from search import __version__
from search.retrieve.bridge import TermTable, load_term_tables
from search.index.centering import LanguageCentering
from search.cite import Citation
from search.index.dense import DenseIndex
from search.model.embed import DEFAULT_ENGINE, DEFAULT_MODEL
from search.errors import REBUILD_HINT, IndexFormatError, IndexNotFoundError
from search.fileio import file_sha256
from search.index.sparse import SparseIndex

FORMAT_VERSION = 5
MANIFEST, PASSAGES, DENSE, SENTENCES = "manifest.json", "passages.jsonl", "dense.faiss", "sentences.npy"
TABLE = "passage-table.npz"
VECTORS, UNITS, CENTERING, NUMBERS = "vectors.npy", "units.faiss", "centering.json", "numbers.npy"
CURRENT, LOCK = "CURRENT", ".lock"
GENERATION_PREFIX, STAGING_PREFIX = "gen-", ".staging-"
# Checksum every file on load up to this size (about 30,000 passages); above it, sizes only on load
# and checksums in `python -m search check`.
VERIFY_ON_LOAD_BYTES = 256 * 2**20


@dataclass(frozen=True)
class IndexConfig:
    """Settings that shape an index; stored in the manifest, compared before reuse.

    Attributes:
        model: the embedding model's name (``DEFAULT_MODEL`` or a sentence-transformers name/path).
        query_prefix: put before questions; None means the model's default.
        passage_prefix: put before passages; None means the model's default.
        max_chars: passage length limit in characters.
        max_words: passage length target in words.
        max_tokens: passage length limit in model tokens.
        bm25_k1: BM25 term-frequency saturation.
        bm25_b: BM25 length normalisation.
        engine: how the default model runs (``"onnx-fp32"``, ``"onnx-int8"`` or ``"torch"``); vectors differ by engine.
        sentence_vectors: ``"separate"``: each sentence embedded alone (one more model pass per
            sentence); ``"late"``: each sentence's vector pooled from its passage's token states,
            in the passage's own pass (faster to build, a little lower on the dev set).
        languages: the languages passages may be tagged with; anything else is ``"und"`` (unsure).
        adapter: the default model with the package's Lao adapter merged in (search/model/adapter.py).
    """

    model: str = DEFAULT_MODEL
    query_prefix: str | None = None
    passage_prefix: str | None = None
    max_chars: int = 600
    max_words: int = 100
    max_tokens: int = 480
    bm25_k1: float = 1.2
    bm25_b: float = 0.75
    engine: str = DEFAULT_ENGINE
    sentence_vectors: str = "separate"
    languages: tuple[str, ...] = ("lo", "en")
    adapter: bool = True

    def __post_init__(self):
        object.__setattr__(self, "languages", tuple(self.languages))  # a JSON list in the manifest


@dataclass(frozen=True)
class Passage:
    """A retrievable span of a report, with everything needed to cite it."""

    passage_id: str
    text: str
    lang: str
    citation: Citation
    sentences: tuple[tuple[int, int], ...] = ()  # sentence spans in ``text`` when it has more than one

    def to_record(self) -> dict:
        return {"id": self.passage_id, "lang": self.lang, "text": self.text, **self.citation.to_dict(),
                "sentences": [list(span) for span in self.sentences]}

    @classmethod
    def from_record(cls, record: dict) -> "Passage":
        sentences = tuple((int(a), int(b)) for a, b in record.get("sentences", ()))
        citation = Citation(*(record[name] for name in _CITATION_FIELDS))
        return cls(record["id"], record["text"], record["lang"], citation, sentences)


_CITATION_FIELDS = tuple(f.name for f in fields(Citation))  # read once: dataclasses.fields is slow per call


def text_hash(text: str) -> int:
    """A passage text's 64-bit hash, the same in every process (Python's ``hash`` of a str is not)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little", signed=True)


@dataclass(frozen=True)
class PassageTable:
    """What a search needs to know of every passage without reading it: one array each, row i for passage i.

    Attributes:
        offsets: byte offset of each line of ``passages.jsonl``, then the file's size (n + 1 values).
        lang: index into ``langs`` of each passage's language.
        langs: the languages, sorted.
        doc: index into ``docs`` of each passage's report.
        docs: the reports' ids, in first-passage order.
        paragraph: each passage's paragraph number.
        sentences: how many sentence spans each passage has (0: a one-sentence passage).
        hashes: :func:`text_hash` of each passage's text.
    """

    offsets: np.ndarray
    lang: np.ndarray
    langs: tuple[str, ...]
    doc: np.ndarray
    docs: tuple[str, ...]
    paragraph: np.ndarray
    sentences: np.ndarray
    hashes: np.ndarray

    @classmethod
    def of(cls, passages: Sequence[Passage], line_lengths: Sequence[int]) -> "PassageTable":
        """The table of ``passages``, whose lines in ``passages.jsonl`` take ``line_lengths`` bytes."""
        langs = tuple(sorted({p.lang for p in passages}))
        docs = tuple(dict.fromkeys(p.citation.document for p in passages))
        lang_of, doc_of = {x: i for i, x in enumerate(langs)}, {x: i for i, x in enumerate(docs)}
        n = len(passages)
        return cls(
            offsets=np.concatenate([[0], np.cumsum(np.asarray(line_lengths, np.int64))]).astype(np.int64),
            lang=np.fromiter((lang_of[p.lang] for p in passages), np.int16, n), langs=langs,
            doc=np.fromiter((doc_of[p.citation.document] for p in passages), np.int32, n), docs=docs,
            paragraph=np.fromiter((p.citation.paragraph for p in passages), np.int32, n),
            sentences=np.fromiter((len(p.sentences) for p in passages), np.int32, n),
            hashes=np.fromiter((text_hash(p.text) for p in passages), np.int64, n),
        )

    def save(self, path: Path) -> None:
        arrays = {f.name: getattr(self, f.name) for f in fields(self)}
        arrays["langs"], arrays["docs"] = np.array(self.langs, dtype=str), np.array(self.docs, dtype=str)
        with open(path, "wb") as f:
            np.savez(f, **arrays)

    @classmethod
    def load(cls, path: Path, count: int) -> "PassageTable":
        """Read :meth:`save`'s file for ``count`` passages.

        Raises:
            IndexFormatError: the file is missing, damaged, or does not describe ``count`` passages.
        """
        import zipfile

        try:
            with np.load(path, allow_pickle=False) as data:
                values = {f.name: data[f.name] for f in fields(cls)}
            values["langs"], values["docs"] = tuple(values["langs"].tolist()), tuple(values["docs"].tolist())
            table = cls(**values)
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:
            raise IndexFormatError(f"{path} is missing or damaged ({exc}); {REBUILD_HINT}") from exc
        columns = (table.lang, table.doc, table.paragraph, table.sentences, table.hashes)
        if len(table.offsets) != count + 1 or any(len(c) != count for c in columns) or (
                count and (np.any(np.diff(table.offsets) <= 0) or table.lang.max() >= len(table.langs)
                           or table.doc.max() >= len(table.docs))):
            raise IndexFormatError(f"{path} does not describe the index's {count} passages; {REBUILD_HINT}")
        return table


@dataclass(frozen=True)
class SameText:
    """Groups of passages with the same text, found through the table's 64-bit text hashes.

    Equal BLAKE2b hashes are taken as equal texts: for a million passages the chance that any
    two different texts share a 64-bit hash is about 3 in 100 million, and reading the texts to
    be sure costs seconds at load on a library that repeats a lot. It costs 16 bytes per
    repeated passage, however large a group (a boilerplate line repeated 10,000 times is one group).

    Attributes:
        members: the repeated passages' rows, grouped (each group in row order).
        starts: where each group starts in ``members``, then ``len(members)``.
        rows: the same rows in ascending order, and ``group`` the group of each.
    """

    members: np.ndarray
    starts: np.ndarray
    rows: np.ndarray
    group: np.ndarray

    @classmethod
    def of(cls, hashes: np.ndarray) -> "SameText":
        order = np.lexsort((np.arange(len(hashes)), hashes))
        sorted_hashes = hashes[order]
        repeated = np.zeros(len(hashes), bool)
        equal = np.flatnonzero(np.diff(sorted_hashes) == 0)
        repeated[equal] = repeated[equal + 1] = True
        members = order[repeated].astype(np.int64)
        new_group = np.ones(len(members), bool)
        new_group[1:] = sorted_hashes[repeated][1:] != sorted_hashes[repeated][:-1]
        starts = np.append(np.flatnonzero(new_group), len(members)).astype(np.int64)
        group_of_member = np.cumsum(new_group) - 1
        by_row = np.argsort(members, kind="stable")
        return cls(members, starts, members[by_row], group_of_member[by_row].astype(np.int64))

    def __bool__(self) -> bool:
        return len(self.members) > 0

    def groups_of(self, rows: np.ndarray) -> np.ndarray:
        """The group of each of ``rows`` (-1 where its text stands nowhere else), in one pass."""
        rows = np.asarray(rows, np.int64)
        if not len(self.rows):
            return np.full(len(rows), -1, np.int64)
        at = np.minimum(np.searchsorted(self.rows, rows), len(self.rows) - 1)
        return np.where(self.rows[at] == rows, self.group[at], -1)

    def group_of(self, row: int) -> int | None:
        """The group of ``row``, or None when its text stands nowhere else."""
        group = int(self.groups_of(np.array([row]))[0])
        return None if group < 0 else group

    def others(self, row: int, limit: int | None = None) -> tuple[int, ...]:
        """The other rows with ``row``'s text, in row order (at most ``limit``)."""
        g = self.group_of(row)
        if g is None:
            return ()
        found = (int(r) for r in self.members[self.starts[g]:self.starts[g + 1]] if r != row)
        return tuple(found if limit is None else itertools.islice(found, limit))

    def groups(self) -> list[np.ndarray]:
        """Every group's rows."""
        return [self.members[a:b] for a, b in zip(self.starts[:-1], self.starts[1:])]


class PassageList(Sequence):
    """The passages of ``passages.jsonl``, read one line at a time when asked for (memory-mapped).

    Loading an index parses no passage: a search reads the lines of its hits. Iterating reads
    them all (evaluation, rebuilds).
    """

    def __init__(self, path: Path, table: PassageTable):
        self.path, self.table = Path(path), table
        with open(self.path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size != int(table.offsets[-1]):
                raise IndexFormatError(f"{self.path} holds {size} bytes, its table says {int(table.offsets[-1])}; "
                                       f"{REBUILD_HINT}")
            self._data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""

    def __len__(self) -> int:
        return len(self.table.offsets) - 1

    def __getitem__(self, row):
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(len(self)))]
        row = int(row)
        if row < 0:
            row += len(self)
        if not 0 <= row < len(self):
            raise IndexError(f"passage row {row} out of range")
        start, end = int(self.table.offsets[row]), int(self.table.offsets[row + 1])
        try:
            return Passage.from_record(json.loads(self._data[start:end]))
        except (ValueError, KeyError, TypeError) as exc:
            raise IndexFormatError(f"{self.path} is damaged at passage {row} ({exc}); {REBUILD_HINT}") from exc

    def __iter__(self) -> Iterator[Passage]:
        return (self[i] for i in range(len(self)))


@dataclass(frozen=True)
class Manifest:
    """What an index holds and how it was built."""

    config: IndexConfig
    model_id: str
    dimension: int
    passage_count: int
    documents: dict = field(default_factory=dict)  # doc_id -> {"sha256", "title", "passages", "reading", "parts"}
    skipped: dict = field(default_factory=dict)  # doc_id -> {"sha256", "reason"}: unreadable files
    files: dict = field(default_factory=dict)  # file name -> {"bytes", "sha256"}, every file but the manifest
    created: str = ""
    format_version: int = FORMAT_VERSION
    package_version: str = __version__
    python: str = platform.python_version()

    def to_dict(self) -> dict:
        return {**asdict(self), "config": asdict(self.config)}


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
        return units

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
        """For each passage, whether it states a quantity (search/retrieve/answer_type.py), found at build time."""
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
                         "parts": info.get("parts", [info["title"]])} for doc, info in m.documents.items()],
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
    return StoredIndex(generation, manifest, passages, dense, table)


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


def read_manifest(index_dir: Path) -> Manifest:
    """Read the live generation's manifest alone (cheap: for staleness checks and status panels).

    Raises:
        IndexNotFoundError: no index at ``index_dir``.
        IndexFormatError: the manifest is damaged or of another format version.
    """
    return current_generation(index_dir)[1]


def check_files(generation: Path, manifest: Manifest, *, verify: str = "auto") -> None:
    """Raise on the first file the manifest lists that is missing, of another size, or (when checked) corrupt.

    Args:
        verify: ``"full"`` compares checksums, ``"sizes"`` only sizes, ``"auto"`` checksums
            when the whole index is at most ``VERIFY_ON_LOAD_BYTES``.

    Raises:
        IndexFormatError: naming the file and what is wrong with it.
    """
    total = sum(info["bytes"] for info in manifest.files.values())
    checksums = verify == "full" or (verify == "auto" and total <= VERIFY_ON_LOAD_BYTES)
    for name, problem in damaged_files(generation, manifest, checksums=checksums).items():
        raise IndexFormatError(f"{generation / name} {problem}; {REBUILD_HINT}")


def damaged_files(generation: Path, manifest: Manifest, *, checksums: bool = True) -> dict[str, str]:
    """The files of a generation that cannot be trusted, each with what is wrong with it.

    Args:
        generation: the generation's folder.
        manifest: its manifest, which lists every other file's size and SHA-256.
        checksums: also read every file and compare its SHA-256 (else sizes only).
    """
    damaged = {}
    for name, info in manifest.files.items():
        path = generation / name
        try:
            size = path.stat().st_size
        except OSError as exc:
            damaged[name] = f"is missing ({exc.strerror})"
            continue
        if size != info["bytes"]:
            damaged[name] = f"is {size} bytes, the manifest says {info['bytes']}: it is truncated or damaged"
        elif checksums and file_sha256(path) != info["sha256"]:
            damaged[name] = "does not match its checksum: it is damaged"
    return damaged


def current_generation(index_dir: Path) -> tuple[Path, Manifest]:
    """The live generation's folder and its manifest, checked against ``CURRENT`` (other files unchecked).

    Raises:
        IndexNotFoundError: no index at ``index_dir``.
        IndexFormatError: ``CURRENT`` or the manifest is damaged, or of another format version.
    """
    index_dir = Path(index_dir)
    pointer = index_dir / CURRENT
    if not pointer.is_file():
        if (index_dir / MANIFEST).is_file():
            raise IndexFormatError(f"index at {index_dir} is of an older format; {REBUILD_HINT}")
        raise IndexNotFoundError(f"no index at {index_dir}; build one with: python -m search build --index {index_dir}")
    try:
        live = json.loads(pointer.read_text(encoding="utf-8"))
        generation = index_dir / generation_name(live["generation"])
        data = (generation / MANIFEST).read_bytes()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexFormatError(f"index at {index_dir} is damaged: {pointer} names no readable generation ({exc}); {REBUILD_HINT}") from exc
    if hashlib.sha256(data).hexdigest() != live.get("manifest_sha256"):
        raise IndexFormatError(f"{generation / MANIFEST} does not match its checksum in {pointer}: it is damaged; {REBUILD_HINT}")
    try:
        values = json.loads(data.decode("utf-8"))
        if values.get("format_version") != FORMAT_VERSION:
            raise IndexFormatError(
                f"index at {index_dir} has format version {values.get('format_version')!r}, this program reads "
                f"version {FORMAT_VERSION}; {REBUILD_HINT}"
            )
        return generation, Manifest(**{**values, "config": IndexConfig(**values["config"])})
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise IndexFormatError(f"{generation / MANIFEST} is damaged ({exc}); {REBUILD_HINT}") from exc


def live_generation(index_dir: Path) -> str | None:
    """The name of the generation ``CURRENT`` names now (cheap: one small file), or None when unreadable."""
    try:
        return generation_name(json.loads((Path(index_dir) / CURRENT).read_text(encoding="utf-8"))["generation"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def generation_name(name) -> str:
    """A generation's folder name from ``CURRENT``, refused unless it is one of ours (no paths)."""
    if not isinstance(name, str) or not name.startswith(GENERATION_PREFIX) or "/" in name or "\\" in name:
        raise ValueError(f"{name!r} is not a generation name")
    return name


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
