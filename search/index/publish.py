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
import json
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from search.display import json_line
from search.errors import IndexWriteError
from search.fileio import Sealer, exclusive_lock, file_stamp, remove_leftovers, sync_tree, write_atomic
from search.index.generations import CURRENT, GENERATION_PREFIX, LOCK, STAGING_PREFIX, generation_name
from search.index.records import (DENSE, FORMAT_VERSION, MANIFEST, PASSAGES, SENTENCES, STAMPS, TABLE, Manifest, Passage,
                                  PassageTable)
from search.index.vector_files import Carried, save_vectors

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
        with Sealer() as sealer:  # the big vector files are checksummed and flushed while the rest is written
            lengths = _write_lines(staging / PASSAGES, passages, carried)
            old = carried.passages.table if carried.passages is not None else None
            table = PassageTable.of(passages, lengths, rows=carried.rows, old=old)
            table.save(staging / TABLE)
            save_vectors(passages, table, vectors, sentence_vectors, staging, carried=carried, reference=reference,
                         progress=progress, written=sealer.add)
            for write in extras:
                write(staging)
            paths = sorted(staging.iterdir())
            digests = sealer.sha256(paths)
        # the stamps of the files as written: the next build reuses a file whose stamp has not moved unread
        stamps = {p.name: file_stamp(p) for p in paths}
        files = {p.name: {"bytes": stamps[p.name][0], "sha256": digest} for p, digest in zip(paths, digests)}
        now = datetime.now(timezone.utc)
        stamped = Manifest(**{**manifest.__dict__, "created": now.isoformat(timespec="seconds"), "files": files})
        data = json.dumps(stamped.to_dict(), ensure_ascii=False, indent=2).encode("utf-8")
        (staging / MANIFEST).write_bytes(data)
        (staging / STAMPS).write_text(json.dumps(stamps), encoding="utf-8")
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
