"""The index's records: its settings, its passages and their table, its manifest, and the files' names.

Each is a plain value with its own on-disk form (JSON, JSON Lines, ``.npz``); no pickle. The folder
layout and how a generation is published are :mod:`search.index.generations` and
:mod:`search.index.publish`; reading a whole generation is :mod:`search.index.store`.
"""

from __future__ import annotations

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
from search.cite import Citation
from search.errors import REBUILD_HINT, IndexFormatError
from search.model.embed import DEFAULT_ENGINE, DEFAULT_MODEL

FORMAT_VERSION = 5
MANIFEST, PASSAGES, DENSE, SENTENCES = "manifest.json", "passages.jsonl", "dense.faiss", "sentences.npy"
TABLE = "passage-table.npz"
VECTORS, UNITS, CENTERING, NUMBERS = "vectors.npy", "units.faiss", "centering.json", "numbers.npy"
HUBNESS = "hubness.npy"  # each passage's, then each unit's mean cosine with its nearest neighbours (index/hubness.py)
# Each passage's, then each unit's nearest neighbours and the clusters its search scanned, and their scores
# (index/neighbours.py): what lets an update measure the hubness of what it moves only.
NEIGHBOURS, NEIGHBOUR_SCORES = "neighbours.npy", "neighbour-scores.npy"
# each file's stamp as written (not in the manifest: a stamp holds on this machine only); index/generations.py
STAMPS = "stamps.json"
THAI_VECTORS = "terms-thai.npy"  # the Lao terms read as Thai, embedded (index/terms.py, TermTable.thai)


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
        model_context: what the model reads before each passage (:mod:`search.index.context`): ``"title"``
            (its report's title), ``"path"`` (its heading path), both, or neither. The path by default: a short
            passage (one sentence under ``(c) Chairman``) is found by what its headings say; the title, on
            every passage of a report, lost bundled-report questions (docs/library.md).
        bm25_context: the same for BM25's words; the path by default too: in the dev library it put five more of
            the library's own questions in a top 5 and none fewer of the bundled report's (docs/library.md).
            Citations and highlights are the passage's own text.
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
    model_context: tuple[str, ...] = ("path",)
    bm25_context: tuple[str, ...] = ("path",)

    def __post_init__(self):
        for name in ("languages", "model_context", "bm25_context"):
            object.__setattr__(self, name, tuple(getattr(self, name)))  # a JSON list in the manifest


@dataclass(frozen=True)
class Passage:
    """A retrievable span of a report, with everything needed to cite it."""

    passage_id: str
    text: str
    lang: str
    citation: Citation
    sentences: tuple[tuple[int, int], ...] = ()  # sentence spans in ``text`` when it has more than one
    asides: tuple[tuple[int, str], ...] = ()  # chart labels cut out of ``text``: (where they stood in it, the labels)

    def to_record(self) -> dict:
        return {"id": self.passage_id, "lang": self.lang, "text": self.text, **self.citation.to_dict(),
                "sentences": [list(span) for span in self.sentences],
                **({"asides": [list(aside) for aside in self.asides]} if self.asides else {})}

    @classmethod
    def from_record(cls, record: dict) -> "Passage":
        sentences = tuple((int(a), int(b)) for a, b in record.get("sentences", ()))
        asides = tuple((int(at), str(labels)) for at, labels in record.get("asides", ()))
        citation = Citation(*(record[name] for name in _CITATION_FIELDS))
        return cls(record["id"], record["text"], record["lang"], citation, sentences, asides)


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
    def of(cls, passages: Sequence[Passage], line_lengths: Sequence[int], *, rows: np.ndarray | None = None,
           old: PassageTable | None = None) -> PassageTable:
        """The table of ``passages``, whose lines in ``passages.jsonl`` take ``line_lengths`` bytes.

        With ``rows`` (each passage's row in ``old``, -1 for a new one), a kept passage's columns are
        taken from ``old`` and only new passages are read: a build that keeps most of a big library
        parses none of its passages.
        """
        n = len(passages)
        rows = np.asarray(rows, np.int64) if rows is not None and old is not None else np.full(n, -1, np.int64)
        kept, fresh = rows >= 0, np.flatnonzero(rows < 0)
        new = [passages[int(i)] for i in fresh]
        lang_names, doc_names = np.empty(n, object), np.empty(n, object)
        paragraph, sentences, hashes = np.zeros(n, np.int32), np.zeros(n, np.int32), np.zeros(n, np.int64)
        if kept.any():
            taken = rows[kept]
            lang_names[kept] = np.array(old.langs, object)[old.lang[taken]]
            doc_names[kept] = np.array(old.docs, object)[old.doc[taken]]
            paragraph[kept], sentences[kept], hashes[kept] = old.paragraph[taken], old.sentences[taken], old.hashes[taken]
        if new:
            lang_names[fresh] = [p.lang for p in new]
            doc_names[fresh] = [p.citation.document for p in new]
            paragraph[fresh] = [p.citation.paragraph for p in new]
            sentences[fresh] = [len(p.sentences) for p in new]
            hashes[fresh] = [text_hash(p.text) for p in new]
        langs = tuple(sorted(set(lang_names.tolist())))
        docs = tuple(dict.fromkeys(doc_names.tolist()))
        lang_of, doc_of = {x: i for i, x in enumerate(langs)}, {x: i for i, x in enumerate(docs)}
        return cls(
            offsets=np.concatenate([[0], np.cumsum(np.asarray(line_lengths, np.int64))]).astype(np.int64),
            lang=np.fromiter((lang_of[x] for x in lang_names), np.int16, n), langs=langs,
            doc=np.fromiter((doc_of[x] for x in doc_names), np.int32, n), docs=docs,
            paragraph=paragraph, sentences=sentences, hashes=hashes,
        )

    def lang_names(self) -> np.ndarray:
        """Each passage's language, as a string."""
        return np.array(self.langs, dtype=str)[self.lang] if len(self.langs) else np.zeros(len(self.lang), str)

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

    def many(self, rows: Sequence[int]) -> list[Passage]:
        """Passages ``rows``, read in one parse (a build takes a kept report's passages so: 2× faster than one by one)."""
        if not len(rows):
            return []
        try:
            records = json.loads(b"[" + b",".join(self._data[int(self.table.offsets[r]):int(self.table.offsets[r + 1])]
                                                 for r in rows) + b"]")
            return [Passage.from_record(record) for record in records]
        except (ValueError, KeyError, TypeError) as exc:
            raise IndexFormatError(f"{self.path} is damaged among passages {rows[0]}–{rows[-1]} ({exc}); "
                                   f"{REBUILD_HINT}") from exc

    def lines(self, start: int, stop: int) -> bytes:
        """The stored lines of passages ``start`` to ``stop - 1``, in one slice (a build copies a kept report's so)."""
        return bytes(self._data[int(self.table.offsets[start]):int(self.table.offsets[stop])])

    def rows(self, rows: Sequence[int]) -> StoredRows:
        """Passages ``rows``, read only when asked for."""
        return StoredRows(self, rows)


class StoredRows(Sequence):
    """Some rows of a :class:`PassageList`, parsed only when asked for: a build keeps a report's passages
    as they are without reading them (its table columns and stored lines are copied)."""

    def __init__(self, stored: PassageList, rows: Sequence[int]):
        self.stored, self.row_numbers = stored, list(rows)

    def __len__(self) -> int:
        return len(self.row_numbers)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return self.stored.many(self.row_numbers[i])
        return self.stored[self.row_numbers[i]]

    def __iter__(self) -> Iterator[Passage]:
        return iter(self.stored.many(self.row_numbers))


class Joined(Sequence):
    """Sequences one after another, as one (a new generation's passages: each report's, in order), without copying."""

    def __init__(self, parts: Sequence[Sequence]):
        self.parts = list(parts)
        self.starts = np.concatenate([[0], np.cumsum([len(p) for p in self.parts])]).astype(np.int64)

    def __len__(self) -> int:
        return int(self.starts[-1])

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"row {i} out of range")
        part = int(np.searchsorted(self.starts, i, side="right")) - 1
        return self.parts[part][i - int(self.starts[part])]

    def __iter__(self) -> Iterator:
        return itertools.chain.from_iterable(self.parts)


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

