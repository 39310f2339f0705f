"""The on-disk index: a folder of plain files, written atomically, checked on load.

Layout (see docs/index-format.md)::

    index/manifest.json    format version, model, chunking settings, documents and their hashes
    index/passages.jsonl   one passage a line, UTF-8 (Lao stays Lao), with its citation
    index/dense.faiss      FAISS IndexFlatIP; vector i belongs to line i of passages.jsonl
    index/bm25.npz, bm25-vocab.json   BM25 term weights over Lao-aware tokens
    index/terms.json, terms.npy       the language bridge's terms and their embeddings
    index/sentences.npy    vectors of the sentences of each passage, for highlighting

No pickle anywhere. A build writes a sibling staging folder and swaps it in with
renames, so an interrupted build leaves the previous index in place.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from . import __version__
from .answer_type import holds_number
from .bridge import TermTable, load_term_tables
from .centering import LanguageCentering
from .cite import Citation
from .dense import DenseIndex
from .embed import DEFAULT_MODEL
from .errors import REBUILD_HINT, IndexFormatError, IndexNotFoundError
from .sparse import SparseIndex

FORMAT_VERSION = 2
MANIFEST, PASSAGES, DENSE, SENTENCES = "manifest.json", "passages.jsonl", "dense.faiss", "sentences.npy"


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
    """

    model: str = DEFAULT_MODEL
    query_prefix: str | None = None
    passage_prefix: str | None = None
    max_chars: int = 600
    max_words: int = 100
    max_tokens: int = 480
    bm25_k1: float = 1.2
    bm25_b: float = 0.75


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
        names = {f.name for f in fields(Citation)}
        sentences = tuple((int(a), int(b)) for a, b in record.get("sentences", ()))
        return cls(record["id"], record["text"], record["lang"], Citation(**{k: record[k] for k in names}), sentences)


@dataclass(frozen=True)
class Manifest:
    """What an index holds and how it was built."""

    config: IndexConfig
    model_id: str
    dimension: int
    passage_count: int
    documents: dict = field(default_factory=dict)  # doc_id -> {"sha256", "title", "passages"}
    skipped: dict = field(default_factory=dict)  # doc_id -> {"sha256", "reason"}: unreadable files
    created: str = ""
    format_version: int = FORMAT_VERSION
    package_version: str = __version__
    python: str = platform.python_version()

    def to_dict(self) -> dict:
        return {**asdict(self), "config": asdict(self.config)}


@dataclass
class StoredIndex:
    """An index read from disk."""

    path: Path
    manifest: Manifest
    passages: list[Passage]
    dense: DenseIndex

    @functools.cached_property
    def vectors(self) -> np.ndarray:
        """All passage vectors, row i for passage i."""
        return self.dense.vectors()

    @functools.cached_property
    def sparse(self) -> SparseIndex:
        """The BM25 index (read on first use)."""
        return SparseIndex.load(self.path)

    @functools.cached_property
    def terms(self) -> dict[str, TermTable]:
        """The bridge's term tables, per language (read on first use)."""
        return load_term_tables(self.path)

    @functools.cached_property
    def sentence_rows(self) -> list[tuple[int, int]]:
        """For each passage, the (start, end) rows of its sentences in :attr:`sentence_vectors`."""
        rows, start = [], 0
        for p in self.passages:
            rows.append((start, start + len(p.sentences)))
            start += len(p.sentences)
        return rows

    @functools.cached_property
    def sentence_vectors(self) -> np.ndarray:
        """The vectors of the passages' sentences (for highlighting), in passage order.

        Raises:
            IndexFormatError: the file is missing, damaged, or does not match the passages.
        """
        path = self.path / SENTENCES
        try:
            vectors = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise IndexFormatError(f"{path} is missing or damaged ({exc}); {REBUILD_HINT}") from exc
        expected = self.sentence_rows[-1][1] if self.passages else 0
        if vectors.shape != (expected, self.manifest.dimension):
            raise IndexFormatError(f"{path} holds {vectors.shape[0]} sentence vectors, the passages have {expected}; {REBUILD_HINT}")
        return vectors

    @functools.cached_property
    def centering(self) -> LanguageCentering:
        """The passages' language means (computed on load: they change with every build)."""
        return LanguageCentering.fit(self.vectors, [p.lang for p in self.passages])

    @functools.cached_property
    def centered_vectors(self) -> np.ndarray:
        """The passage vectors with the language component partly removed (see search/centering.py)."""
        return self.centering.apply(self.vectors, [p.lang for p in self.passages])

    @functools.cached_property
    def centered_dense(self) -> DenseIndex:
        """A FAISS index over :attr:`centered_vectors` (the stored one when nothing is centered)."""
        return DenseIndex.from_vectors(self.centered_vectors) if self.centering.means else self.dense

    @functools.cached_property
    def centered_sentences(self) -> np.ndarray:
        """The sentence vectors, centered by the sentences' own language means."""
        langs = [self.passages[row].lang for row in self.sentence_owner]
        return LanguageCentering.fit(self.sentence_vectors, langs).apply(self.sentence_vectors, langs)

    @functools.cached_property
    def numeric_passages(self) -> np.ndarray:
        """For each passage, whether it states a quantity (search/answer_type.py); computed on first use."""
        return np.array([holds_number(p.text) for p in self.passages], bool)

    @functools.cached_property
    def numeric_sentences(self) -> np.ndarray:
        """For each row of :attr:`sentence_vectors`, whether its sentence states a quantity."""
        return np.array([holds_number(p.text[a:b]) for p in self.passages for a, b in p.sentences], bool)

    @functools.cached_property
    def sentence_owner(self) -> np.ndarray:
        """For each row of :attr:`sentence_vectors`, the row of its passage."""
        return np.repeat(np.arange(len(self.passages)), [end - start for start, end in self.sentence_rows])

    @functools.cached_property
    def rows_by_lang(self) -> dict[str, list[int]]:
        """Passage rows per language, languages sorted (for language filters)."""
        rows: dict[str, list[int]] = {}
        for i, p in enumerate(self.passages):
            rows.setdefault(p.lang, []).append(i)
        return dict(sorted(rows.items()))

    @functools.cached_property
    def paragraphs(self) -> dict[tuple[str, int], list[Passage]]:
        """Passages grouped by (document, paragraph number), in reading order."""
        groups: dict[tuple[str, int], list[Passage]] = {}
        for p in self.passages:
            groups.setdefault((p.citation.document, p.citation.paragraph), []).append(p)
        return groups

    def summary(self) -> dict:
        """What the index holds, for people: reports, passages per language, model, build time."""
        langs = {lang: len(rows) for lang, rows in self.rows_by_lang.items()}
        m = self.manifest
        return {
            "reports": [{"document": doc, "title": info["title"], "passages": info["passages"]} for doc, info in m.documents.items()],
            "passages": len(self.passages), "passages_by_lang": langs,
            "model": m.model_id, "built": m.created, "skipped": sorted(m.skipped),
        }


def load_index(index_dir: Path) -> StoredIndex:
    """Read and check an index folder.

    Raises:
        IndexNotFoundError: there is no index at ``index_dir``.
        IndexFormatError: the index is damaged or of another format version.
    """
    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir)
    try:
        with open(index_dir / PASSAGES, encoding="utf-8") as f:
            passages = [Passage.from_record(json.loads(line)) for line in f if line.strip()]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexFormatError(f"{index_dir / PASSAGES} is missing or damaged ({exc}); {REBUILD_HINT}") from exc
    dense = DenseIndex.load(index_dir / DENSE)
    if not (len(passages) == len(dense) == manifest.passage_count) or dense.dimension != manifest.dimension:
        raise IndexFormatError(
            f"index at {index_dir} is inconsistent: manifest says {manifest.passage_count} passages of "
            f"dimension {manifest.dimension}, found {len(passages)} passages and {len(dense)} vectors of "
            f"dimension {dense.dimension}; {REBUILD_HINT}"
        )
    return StoredIndex(index_dir, manifest, passages, dense)


def read_manifest(index_dir: Path) -> Manifest:
    """Read ``manifest.json`` alone (cheap: for staleness checks and status panels).

    Raises:
        IndexNotFoundError: no manifest at ``index_dir``.
        IndexFormatError: the manifest is damaged or of another format version.
    """
    path = Path(index_dir) / MANIFEST
    if not path.is_file():
        raise IndexNotFoundError(f"no index at {index_dir}; build one with: python -m search build --index {index_dir}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format_version") != FORMAT_VERSION:
            raise IndexFormatError(
                f"index at {index_dir} has format version {data.get('format_version')!r}, this program reads "
                f"version {FORMAT_VERSION}; {REBUILD_HINT}"
            )
        return Manifest(**{**data, "config": IndexConfig(**data["config"])})
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise IndexFormatError(f"{path} is damaged ({exc}); {REBUILD_HINT}") from exc


def write_index(
    index_dir: Path, manifest: Manifest, passages: list[Passage], dense: DenseIndex,
    extras: Sequence[Callable[[Path], None]] = (),
) -> None:
    """Write an index atomically: into a staging folder beside ``index_dir``, then swapped in.

    Args:
        index_dir: the index folder.
        manifest: what the index holds.
        passages: the passages, in vector order.
        dense: the vector index.
        extras: writers of further files (BM25, term tables), each called with the staging folder.

    If anything fails before the swap, the previous index is untouched.
    """
    index_dir = Path(index_dir).absolute()
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{index_dir.name}-staging-", dir=index_dir.parent))
    try:
        with open(staging / PASSAGES, "w", encoding="utf-8") as f:
            for passage in passages:
                f.write(json.dumps(passage.to_record(), ensure_ascii=False) + "\n")
        dense.save(staging / DENSE)
        for write in extras:
            write(staging)
        stamped = Manifest(**{**manifest.__dict__, "created": datetime.now(timezone.utc).isoformat(timespec="seconds")})
        (staging / MANIFEST).write_text(json.dumps(stamped.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
        _swap_in(staging, index_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def save_sentence_vectors(vectors: np.ndarray, folder: Path) -> None:
    """Write the sentence vectors as ``sentences.npy`` (plain numpy, no pickle)."""
    np.save(Path(folder) / SENTENCES, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)


def _swap_in(staging: Path, target: Path) -> None:
    """Replace ``target`` by ``staging`` with two renames; the old folder is removed last."""
    if not target.exists():
        os.rename(staging, target)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{target.name}-old-", dir=target.parent))
    os.rename(target, retired / target.name)
    try:
        os.rename(staging, target)
    except OSError:
        os.rename(retired / target.name, target)  # put the previous index back
        raise
    finally:
        shutil.rmtree(retired, ignore_errors=True)
