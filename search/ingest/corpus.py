"""Adding and removing reports in the corpus folder safely: checked first, moved atomically, never outside corpus/."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
import unicodedata
from pathlib import Path

from search.errors import DocumentError
from search.ingest.bounded import BoundedReader
from search.ingest.limits import DEFAULT_LIMITS, ReadLimits
from search.ingest.read import SUPPORTED_SUFFIXES, Document

_UNSAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)


def safe_file_name(name: str) -> str:
    """A file name that stays inside its folder: the last path part, no control or path characters.

    ``"../../etc/passwd.txt"`` becomes ``"passwd.txt"``; Lao letters are kept.

    Raises:
        DocumentError: nothing usable is left of the name.
    """
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", name or ""))[-1]
    stem, dot, suffix = base.rpartition(".")
    stem = _UNSAFE.sub("_", stem if dot else base).strip(" ._")
    if not stem:
        raise DocumentError(f"cannot use {name!r} as a file name; rename the file")
    return _fit(f"{stem[:120]}.{suffix.lower()}" if dot else stem[:120], STEM_BYTES)


STEM_BYTES = 200  # a name's stem in bytes: room for "-<time>" or "-<n>" and a suffix within 255 bytes (NAME_MAX)


def _fit(name: str, limit: int) -> str:
    """``name`` with its stem cut (at a character boundary) to ``limit`` bytes of UTF-8; the suffix kept."""
    path = Path(name)
    stem = path.stem
    while len(stem.encode("utf-8")) > limit:
        stem = stem[:-1]
    return stem + path.suffix


def add_report(corpus_dir: Path, source: Path, name: str, limits: ReadLimits = DEFAULT_LIMITS, *,
               ocr_cache: Path | None = None, on_page=None) -> tuple[Path, Document]:
    """Copy an uploaded report into ``corpus_dir`` after reading it, within ``limits``.

    The report is read first (in the bounded reader), from a private copy; only then copied
    in under a safe, unused name (``report-2.txt`` when ``report.txt`` exists), through a temporary
    file and a rename. A report that cannot be read changes nothing.

    Args:
        corpus_dir: the corpus folder.
        source: the uploaded file.
        name: the name the user gave it.
        limits: the work reading it may take.
        ocr_cache: where OCR'd pages are kept (:class:`~search.ingest.bounded.BoundedReader`).
        on_page: told ``(done, total)`` as its scanned pages are OCR'd.

    Returns:
        The path of the new file in ``corpus_dir``, and the report as read (give it to the build, which
        then does not read it again).

    Raises:
        DocumentError: the type is not supported, or the file cannot be read or is over a limit.
    """
    name = safe_file_name(name)
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(f"{name}: unsupported file type {suffix or '(none)'}; supported: {', '.join(SUPPORTED_SUFFIXES)}")
    staged = Path(tempfile.mkdtemp(prefix="report-search-upload-")) / name
    try:
        shutil.copyfile(source, staged)  # read a copy with the right suffix
        corpus_dir = Path(corpus_dir)
        target = _unused(corpus_dir / name)
        with BoundedReader(limits, ocr_cache=ocr_cache) as reader:
            document = reader.read(staged, target.name, on_page=on_page)
        _save(staged, target)
        return target, document
    finally:
        shutil.rmtree(staged.parent, ignore_errors=True)


def _save(staged: Path, target: Path) -> None:
    """Copy ``staged`` to ``target`` through a temporary file and a rename; on failure (a full disk) the
    temporary file goes and nothing is added.

    Raises:
        DocumentError: the file cannot be written into the corpus folder.
    """
    tmp = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=target.parent)
        os.close(fd)
        shutil.copyfile(staged, tmp)
        os.replace(tmp, target)
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise DocumentError(f"cannot save {target.name} into {target.parent} ({exc.strerror or exc}); nothing was added. "
                            "Free some disk space") from exc


def _unused(path: Path) -> Path:
    n = 2
    candidate = path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return candidate


REMOVED = ".removed"


def remove_report(corpus_dir: Path, name: str) -> Path:
    """Take a report out of the corpus: it moves to ``corpus/.removed/``, never deleted.

    The next build leaves it out of the index (``list_corpus`` skips dot-folders).
    A removed file keeps its name, made unused with a time stamp when needed.

    Args:
        corpus_dir: the corpus folder.
        name: the report's path inside the corpus, as the index names it.

    Returns:
        Where the file now is (give it to :func:`restore_report` to undo).

    Raises:
        DocumentError: no such report in the corpus, or the name points outside it.
    """
    corpus_dir = Path(corpus_dir)
    source = corpus_dir / name
    inside = source.resolve().is_relative_to(corpus_dir.resolve()) and not source.is_symlink()
    if not name or not inside or any(part.startswith(".") for part in Path(name).parts) or not source.is_file():
        raise DocumentError(f"{name!r} is not a report in {corpus_dir}; choose one the corpus panel lists")
    folder = corpus_dir / REMOVED
    folder.mkdir(exist_ok=True)
    base = _fit(Path(name).name, STEM_BYTES)  # a 255-byte name has no room for the time stamp below
    target = folder / base
    if target.exists():
        target = folder / f"{Path(base).stem}-{time.strftime('%Y%m%dT%H%M%S')}{Path(base).suffix}"
    target = _unused(target)
    os.replace(source, target)
    return target


def restore_report(corpus_dir: Path, name: str, removed: Path) -> None:
    """Undo :func:`remove_report`: move ``removed`` back to ``name`` in the corpus."""
    os.replace(removed, Path(corpus_dir) / name)
