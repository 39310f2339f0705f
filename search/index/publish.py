"""Writing an index: generations published by one atomic rename, in a folder the index owns.

A build writes a new generation under a staging name, flushes it to disk, renames it,
and publishes it by replacing ``CURRENT`` (one ``os.replace``); see :mod:`search.index.store` for the
layout and for reading, :mod:`search.index.generations` for which generation is live.

An index folder is *owned*: it carries the mark ``.report-search-index``. A build claims a folder
that is new or empty (or an index this program built before the mark existed) and refuses any
other: a user's folder, the corpus, a home folder. Inside its folder it removes only what it
writes, by exact name shapes (``gen-<time>-<6 hex>`` and ``.staging-<8>`` folders, ``.CURRENT-<8>``
files), never following a link; a file of any other name is left where it is.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from search.display import json_line
from search.errors import IndexWriteError
from search.fileio import exclusive_lock, file_sha256, remove_leftovers, sync_tree, write_atomic
from search.index.centering import LanguageCentering
from search.index.dense import UNITS_IVF_FROM, DenseIndex
from search.index.hubness import Neighbourhoods
from search.index.neighbours import save_neighbourhoods, updated
from search.index.generations import CURRENT, GENERATION_PREFIX, LOCK, STAGING_PREFIX, generation_name
from search.index.records import (
    CENTERING, DENSE, FORMAT_VERSION, HUBNESS, MANIFEST, NUMBERS, PASSAGES, SENTENCES, TABLE, UNITS, VECTORS, Manifest,
    Passage, PassageTable,
)
from search.ingest.numbers import holds_number

OWNER_MARK = ".report-search-index"
AUDIT_LOG = "audit.log"  # a served index's record of writes (search.serve.audit), kept beside the generations
OCR_CACHE = "ocr-cache"  # OCR'd pages by their pixels' hash (search.ingest.ocr), kept beside the generations
_MARK_TEXT = ("This folder is a report-search index (python -m search build). Builds write here and remove only "
              "the files they wrote: gen-* and .staging-* folders, .CURRENT-* files.\n")
# What a killed build can leave, by exact shape: mkdtemp's and mkstemp's 8 characters, our generation names.
LEFTOVERS = re.compile(rf"{re.escape(STAGING_PREFIX)}[a-z0-9_]{{8}}|{GENERATION_PREFIX}\d{{8}}T\d{{6}}-[0-9a-f]{{6}}"
                       rf"|\.{CURRENT}-[a-z0-9_]{{8}}")
LEGACY_FILES = (MANIFEST, PASSAGES, DENSE, SENTENCES, "bm25.npz", "bm25-vocab.json", "terms.json", "terms.npy")  # format 2's top level


def write_index(
    index_dir: Path, manifest: Manifest, passages: list[Passage], vectors: np.ndarray, sentence_vectors: np.ndarray,
    extras: Sequence[Callable[[Path], None]] = (), *, carried: Carried | None = None,
    reference: Mapping[str, Mapping[str, np.ndarray]] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> Path:
    """Write a new generation of the index and publish it atomically.

    The files go into a staging folder inside ``index_dir``, are flushed to disk,
    the folder is renamed to its generation name, and ``CURRENT`` is replaced to
    name it. Before that last step the previous generation is live; after it, the
    new one. The caller holds the index's lock (see :func:`index_lock`).

    Args:
        index_dir: the index folder.
        manifest: what the index holds (``files`` and ``created`` are filled in here).
        passages: the passages, in vector order.
        vectors: their raw vectors, one row per passage (centered in place once saved: the caller hands them over).
        sentence_vectors: their sentences' raw vectors, in passage order (the same).
        extras: writers of further files (BM25, term tables), each called with the staging folder.
        carried: what the new generation takes over from the live one, when a build kept reports of it.
        reference: the languages' means known beforehand, ``{"passages": {lang: mean}, "sentences": ...}``
            (:mod:`search.index.reference`); the others are the library's own.
        progress: called as ``progress("neighbours", done, total)`` while the hubness is measured.

    Returns:
        The new generation's folder.

    Raises:
        IndexWriteError: the folder cannot be written (read-only, disk full); the previous index is unchanged.
    """
    index_dir = Path(index_dir).absolute()
    try:
        return _write_generation(index_dir, manifest, passages, vectors, sentence_vectors, extras,
                                 carried or Carried.nothing(len(passages)), reference or {}, progress)
    except OSError as exc:
        raise IndexWriteError(
            f"cannot write the index at {index_dir} ({exc.strerror or exc}); the previous index is unchanged. "
            "Free some disk space or choose a writable folder with --index"
        ) from exc


def _write_generation(index_dir, manifest, passages, vectors, sentence_vectors, extras, carried: Carried,
                      reference, progress) -> Path:
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=index_dir))
    try:
        lengths = _write_lines(staging / PASSAGES, passages, carried)
        old = carried.passages.table if carried.passages is not None else None
        table = PassageTable.of(passages, lengths, rows=carried.rows, old=old)
        table.save(staging / TABLE)
        save_vectors(passages, table, vectors, sentence_vectors, staging, carried=carried, reference=reference,
                     progress=progress)
        for write in extras:
            write(staging)
        files = {p.name: {"bytes": p.stat().st_size, "sha256": file_sha256(p)} for p in sorted(staging.iterdir())}
        now = datetime.now(timezone.utc)
        stamped = Manifest(**{**manifest.__dict__, "created": now.isoformat(timespec="seconds"), "files": files})
        data = json.dumps(stamped.to_dict(), ensure_ascii=False, indent=2).encode("utf-8")
        (staging / MANIFEST).write_bytes(data)
        sync_tree(staging)
        os.chmod(staging, 0o755)  # mkdtemp makes it private
        generation = index_dir / f"{GENERATION_PREFIX}{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
        os.rename(staging, generation)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    previous = _pointer(index_dir).get("generation")
    pointer = {"generation": generation.name, "manifest_sha256": hashlib.sha256(data).hexdigest(), "previous": previous}
    write_atomic(index_dir / CURRENT, json.dumps(pointer, indent=2).encode("utf-8"))  # the moment of publication
    remove_leftovers(index_dir, LEFTOVERS, keep=tuple(index_dir / n for n in (generation.name, previous) if n))
    return generation


def _write_lines(path: Path, passages: Sequence[Passage], carried: Carried) -> np.ndarray:
    """Write ``passages.jsonl``: a kept run of passages copied as stored, in one slice; a new passage as JSON.
    Returns each line's length in bytes."""
    lengths = np.zeros(len(passages), np.int64)
    with open(path, "wb") as f:
        for start, stop in carried.runs():
            if carried.passages is not None and carried.rows[start] >= 0:
                first, last = int(carried.rows[start]), int(carried.rows[stop - 1]) + 1
                f.write(carried.passages.lines(first, last))
                lengths[start:stop] = np.diff(carried.passages.table.offsets[first:last + 1])
            else:
                for i in range(start, stop):
                    line = (json_line(passages[i].to_record()) + "\n").encode("utf-8")  # no raw U+2028 or surrogate
                    f.write(line)
                    lengths[i] = len(line)
    return lengths


def _pointer(index_dir: Path) -> dict:
    """``CURRENT``'s generation names (``generation``, ``previous``), those that are ours; {} if unreadable."""
    try:
        pointer = json.loads((index_dir / CURRENT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    names = {}
    for key in ("generation", "previous"):  # each on its own: a damaged "previous" must not lose the live one
        try:
            names[key] = generation_name(pointer[key])
        except (KeyError, TypeError, ValueError):
            pass
    return names


@contextlib.contextmanager
def index_lock(index_dir: Path):
    """Hold the index folder's build lock (creating and claiming the folder), after clearing what killed builds left.

    Raises:
        IndexWriteError: the folder cannot be created or written, or holds files that are not an index's.
    """
    index_dir = Path(index_dir).absolute()
    with contextlib.ExitStack() as stack:
        try:
            claim_folder(index_dir)
            stack.enter_context(exclusive_lock(index_dir / LOCK))
        except OSError as exc:
            raise IndexWriteError(
                f"cannot write the index at {index_dir} ({exc.strerror or exc}); choose a writable folder with --index"
            ) from exc
        _clear_leftovers(index_dir)
        yield


def claim_folder(index_dir: Path) -> None:
    """Make ``index_dir`` an index folder, or refuse it.

    A folder that carries the mark is ours. A new or empty folder, or one holding an index this
    program built before the mark (``CURRENT`` naming one of its generations, or format 2's
    ``manifest.json``), is marked. Anything else is refused before a file is written or removed.

    Raises:
        IndexWriteError: the folder exists and holds files that are not an index's.
        OSError: the folder cannot be created or written.
    """
    if index_dir.is_symlink():  # not followed: builds replace and remove what is in the folder
        raise IndexWriteError(f"{index_dir} is a symbolic link (to {os.readlink(index_dir)}); an index folder is not "
                              f"reached through a link: give the folder itself, --index {index_dir.resolve()}")
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexWriteError(f"{index_dir} is not a folder; choose a folder for the index with --index")
    index_dir.mkdir(parents=True, exist_ok=True)
    if (index_dir / OWNER_MARK).is_file():
        return
    names = sorted(entry.name for entry in index_dir.iterdir() if entry.name not in (LOCK, AUDIT_LOG, OCR_CACHE))
    if names and not _built_here(index_dir):
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        raise IndexWriteError(
            f"{index_dir} holds files that are not an index's ({shown}); a build writes only into a new or empty "
            "folder or one of its own indexes, so nothing of yours is replaced or removed. Choose another folder "
            "with --index"
        )
    if _legacy_manifest(index_dir):
        _remove_legacy(index_dir)
    write_atomic(index_dir / OWNER_MARK, _MARK_TEXT.encode("utf-8"))


def _built_here(index_dir: Path) -> bool:
    """Whether the folder holds an index of this program's from before the mark: ``CURRENT`` naming a
    generation folder with a manifest, or a format-2 manifest at the top."""
    live = _pointer(index_dir).get("generation")
    if live and (index_dir / live / MANIFEST).is_file() and not (index_dir / live).is_symlink():
        return True
    return _legacy_manifest(index_dir)


def _legacy_manifest(index_dir: Path) -> bool:
    """Whether ``manifest.json`` at the top of the folder is a format-2 index's manifest (not a user's file)."""
    try:
        values = json.loads((index_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (isinstance(values, dict) and isinstance(values.get("format_version"), int)
            and values["format_version"] < FORMAT_VERSION and {"model_id", "config", "documents"} <= values.keys())


def _clear_leftovers(index_dir: Path) -> None:
    """Remove staging folders and old generations (all but the live one and the one before it)."""
    keep = tuple(index_dir / name for name in _pointer(index_dir).values())
    remove_leftovers(index_dir, LEFTOVERS, keep=keep)


def _remove_legacy(index_dir: Path) -> None:
    """Remove the files of a format-2 index, which lay directly in the index folder."""
    for name in LEGACY_FILES:
        with contextlib.suppress(OSError):
            (index_dir / name).unlink()


def save_vectors(passages: Sequence[Passage], table: PassageTable, vectors: np.ndarray, sentence_vectors: np.ndarray,
                 folder: Path, *, carried: Carried | None = None,
                 reference: Mapping[str, Mapping[str, np.ndarray]] | None = None,
                 progress: Callable[[str, int, int], None] | None = None) -> None:
    """Write every vector file of a generation.

    ``vectors.npy`` and ``sentences.npy`` hold the raw vectors (plain numpy, no pickle);
    ``centering.json`` the language means of passages and of sentences (``reference``'s where it has them);
    ``dense.faiss`` the centered passage vectors and ``units.faiss`` the centered sentences, then the
    one-sentence passages (the best-sentence list), each exact or an inverted file by size; ``hubness.npy``
    each passage's, then each unit's, mean cosine with its nearest neighbours in its index; ``numbers.npy``
    which passages, then which sentences, state a quantity. What ``carried`` holds of the live
    generation is taken over: the quantities of kept passages, and an inverted file's clusters and
    the kept vectors' places in them (adding a report to a big library runs no k-means again).
    ``vectors`` and ``sentence_vectors`` are centered in place once saved, unless read-only. ``progress`` is
    called as ``progress("neighbours", done, total)`` while the hubness is measured (passages and units).
    """
    carried = carried or Carried.nothing(len(passages))
    folder = Path(folder)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    sentence_vectors = np.ascontiguousarray(sentence_vectors, dtype=np.float32).reshape(-1, vectors.shape[1])
    np.save(folder / VECTORS, vectors, allow_pickle=False)
    np.save(folder / SENTENCES, sentence_vectors, allow_pickle=False)
    langs = table.lang_names()  # from the table: a kept passage is not read
    counts = table.sentences.astype(np.int64)  # sentence spans a passage (0: one sentence)
    sentence_langs = np.repeat(langs, counts)
    reference = reference or {}
    centering = {"passages": LanguageCentering.fit(vectors, langs, fixed=reference.get("passages")),
                 "sentences": LanguageCentering.fit(sentence_vectors, sentence_langs, fixed=reference.get("sentences"))}
    (folder / CENTERING).write_text(json.dumps({k: c.to_dict() for k, c in centering.items()}), encoding="utf-8")
    # The raw vectors are saved: from here they are centered where they lie, and the units are indexed as two
    # parts, not stacked. Fresh arrays of their size (0.7 GB at 128,000 passages) cost more to allocate than
    # centering does, and at a million passages they would be 6 GB more.
    centered = centering["passages"].apply(vectors, langs, out=_writable(vectors))
    dense = DenseIndex.from_vectors(centered, like=carried.clusters.get(DENSE), carried=carried.rows)
    dense.save(folder / DENSE)  # centered: nothing is rebuilt at load
    sentences = centering["sentences"].apply(sentence_vectors, sentence_langs, out=_writable(sentence_vectors))
    unit_rows = carried.unit_rows(counts)
    units = [sentences, centered[counts == 0]]
    unit_index = DenseIndex.from_vectors(units, ivf_from=UNITS_IVF_FROM, like=carried.clusters.get(UNITS), carried=unit_rows)
    unit_index.save(folder / UNITS)
    # a report added or removed changes its neighbours' neighbourhoods: those it can move are measured again
    total = len(centered) + sum(len(u) for u in units)
    passed = (lambda done, _: progress("neighbours", done, total)) if progress else None
    then = (lambda done, _: progress("neighbours", len(centered) + done, total)) if progress else None
    old = carried.neighbourhoods or (None, None)
    moved = carried.moved(centering, langs, sentence_langs, counts)
    neighbourhoods = Neighbourhoods.concatenate([
        updated(old[0], dense, centered, carried.rows, moved[0], like=carried.clusters.get(DENSE), progress=passed),
        updated(old[1], unit_index, units, unit_rows, moved[1], like=carried.clusters.get(UNITS), progress=then)])
    np.save(folder / HUBNESS, neighbourhoods.hubness(), allow_pickle=False)
    save_neighbourhoods(folder, neighbourhoods)
    np.save(folder / NUMBERS, carried.numbers_of(passages, counts, unit_rows), allow_pickle=False)


def _writable(array: np.ndarray) -> np.ndarray:
    """``array`` itself when it may be written, else a copy (a memory-mapped or read-only array is not changed)."""
    return array if array.flags.writeable and not isinstance(array, np.memmap) else array.copy()


@dataclass
class Carried:
    """What a new generation takes over from the live one, when a build kept some of its reports as they were.

    Attributes:
        rows: each new passage's row in the live generation; -1 for a passage read anew.
        passages: the live generation's passages (their stored lines are copied as they are).
        sentences: the live generation's sentence count per passage (``PassageTable.sentences``).
        numbers: the live generation's ``numbers.npy`` (None when it cannot be trusted).
        clusters: the live generation's ``dense.faiss`` and ``units.faiss``, by name, when intact.
        neighbourhoods: the live generation's passages' and units' neighbourhoods (None when it has none).
        centering: the live generation's centering of passages and of sentences (None when unknown).
    """

    rows: np.ndarray
    passages: Sequence | None = None
    sentences: np.ndarray | None = None
    numbers: np.ndarray | None = None
    clusters: Mapping[str, DenseIndex] = field(default_factory=dict)
    neighbourhoods: tuple[Neighbourhoods, Neighbourhoods] | None = None
    centering: Mapping[str, LanguageCentering] | None = None

    @classmethod
    def nothing(cls, count: int) -> "Carried":
        """A build that keeps nothing: every one of ``count`` passages is new."""
        return cls(np.full(count, -1, np.int64))

    def runs(self) -> list[tuple[int, int]]:
        """The new passages in runs ``(start, stop)``: each either kept rows that follow each other in the live
        generation, or new passages (all of them new when nothing of the live generation's lines is carried)."""
        rows = self.rows if self.passages is not None else np.full(len(self.rows), -1, np.int64)
        if not len(rows):
            return []
        kept = rows >= 0
        breaks = np.flatnonzero((kept[1:] != kept[:-1]) | (kept[1:] & (rows[1:] != rows[:-1] + 1))) + 1
        edges = [0, *breaks.tolist(), len(rows)]
        return list(itertools.pairwise(edges))

    def moved(self, centering: Mapping[str, LanguageCentering], langs: np.ndarray, sentence_langs: np.ndarray,
              counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which passages, and which units, are centered otherwise than in the live generation (a language whose
        mean is the library's own moves as reports come and go): their neighbourhoods are measured again."""
        old = self.centering or {}

        def moved(part: str, row_langs: np.ndarray) -> np.ndarray:
            if part not in old:
                return np.ones(len(row_langs), bool)
            changed = [lang for lang in np.unique(row_langs) if not old[part].same_offset(centering[part], str(lang))]
            return np.isin(row_langs, changed)
        return moved("passages", langs), np.concatenate([moved("sentences", sentence_langs),
                                                         moved("passages", langs[counts == 0])])

    def unit_rows(self, counts: np.ndarray) -> np.ndarray:
        """Each new unit's row in the live generation's ``units.faiss`` (-1 for new): sentences in passage order,
        then one-sentence passages, as :func:`save_vectors` lays them out. ``counts``: each new passage's
        sentence spans (0 for one sentence)."""
        if self.sentences is None:
            return np.full(int(counts.sum()) + int((counts == 0).sum()), -1, np.int64)
        old = np.asarray(self.sentences, np.int64)
        old_start = np.concatenate([[0], np.cumsum(old)])[:-1]
        old_single = np.cumsum(old == 0) - 1 + old.sum()  # a one-sentence passage's unit row, after every sentence
        rows = self.rows
        owner = np.repeat(np.arange(len(counts)), counts)
        offset = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
        of_owner = rows[owner]
        sentences = np.where(of_owner >= 0, old_start[np.maximum(of_owner, 0)] + offset, -1)
        single = rows[counts == 0]
        singles = np.where(single >= 0, old_single[np.maximum(single, 0)], -1)
        return np.concatenate([sentences, singles]).astype(np.int64)

    def numbers_of(self, passages: Sequence[Passage], counts: np.ndarray, unit_rows: np.ndarray) -> np.ndarray:
        """``numbers.npy`` of the new generation: kept passages' and sentences' flags as they were, others found.
        ``counts`` and ``unit_rows`` as :meth:`unit_rows` takes and gives them."""
        n = len(passages)
        starts = n + np.cumsum(counts) - counts  # each passage's first sentence's place in the flags
        flags = np.zeros(n + int(counts.sum()), bool)
        rows = self.rows if self.numbers is not None else np.full(n, -1, np.int64)
        if self.numbers is not None:
            kept, sentence_rows = rows >= 0, unit_rows[:int(counts.sum())]
            flags[:n][kept] = self.numbers[rows[kept]]
            known = sentence_rows >= 0
            flags[n:][known] = self.numbers[len(self.sentences) + sentence_rows[known]]
        for i in np.flatnonzero(rows < 0):
            passage = passages[i]
            flags[i] = holds_number(passage.text)
            for j, (a, b) in enumerate(passage.sentences):
                flags[starts[i] + j] = holds_number(passage.text[a:b])
        return flags
