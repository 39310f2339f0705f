"""Adding a report to the corpus folder safely: checked first, saved atomically, never outside corpus/."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from pathlib import Path

from .errors import DocumentError
from .ingest import SUPPORTED_SUFFIXES, read_document

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
    return f"{stem[:120]}.{suffix.lower()}" if dot else stem[:120]


def add_report(corpus_dir: Path, source: Path, name: str) -> Path:
    """Copy an uploaded report into ``corpus_dir`` after checking that it can be read.

    The report is read first, from where it is; only then copied in under a safe,
    unused name (``report-2.txt`` when ``report.txt`` exists), through a temporary
    file and a rename. A report that cannot be read changes nothing.

    Args:
        corpus_dir: the corpus folder.
        source: the uploaded file.
        name: the name the user gave it.

    Returns:
        The path of the new file in ``corpus_dir``.

    Raises:
        DocumentError: the type is not supported, or the file cannot be read.
    """
    name = safe_file_name(name)
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(f"{name}: unsupported file type {suffix or '(none)'}; supported: {', '.join(SUPPORTED_SUFFIXES)}")
    staged = Path(tempfile.mkdtemp(prefix="report-search-upload-")) / name
    try:
        shutil.copyfile(source, staged)  # read a copy with the right suffix
        read_document(staged, name)
        corpus_dir = Path(corpus_dir)
        corpus_dir.mkdir(parents=True, exist_ok=True)
        target = _unused(corpus_dir / name)
        fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=corpus_dir)
        os.close(fd)
        shutil.copyfile(staged, tmp)
        os.replace(tmp, target)
        return target
    finally:
        shutil.rmtree(staged.parent, ignore_errors=True)


def _unused(path: Path) -> Path:
    n = 2
    candidate = path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return candidate
