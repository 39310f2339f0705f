"""Safe file operations shared by the index and the model cache: locks, atomic writes, checksums, leftovers.

The rules they implement: a reader never sees a half-written file (everything is
written under a temporary name and renamed with ``os.replace``), two writers never
work in the same folder at once (an ``flock`` that the kernel releases when its
process dies), and what a killed writer left behind is removed by the next writer.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path


def file_sha256(path: Path) -> str:
    """Return the hex SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def files_sha256(paths: Sequence[Path]) -> list[str]:
    """The hex SHA-256 of each file, several read at once (hashing and reading release the GIL: a
    generation's gigabyte takes about half the time of one file after another on two cores)."""
    if len(paths) < 2:
        return [file_sha256(p) for p in paths]
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1, len(paths))) as pool:
        return list(pool.map(file_sha256, paths))


class Sealer:
    """Checksums files and flushes them to disk in the background, each as soon as it is complete, while the
    caller writes the next ones: a generation's gigabyte is not read again after its last file (hashing,
    reading and flushing release the GIL). A file handed over must not change afterwards. A context
    manager: leaving it waits for what is under way."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._sealed: dict[Path, Future] = {}

    def add(self, path: Path) -> None:
        """Checksum ``path`` and flush it to disk, in the background."""
        self._sealed[Path(path)] = self._pool.submit(_seal, Path(path))

    def sha256(self, paths: Sequence[Path]) -> list[str]:
        """Each file's SHA-256: an added one's as sealed (its errors raised here), the others' read now."""
        paths = [Path(p) for p in paths]
        rest = [p for p in paths if p not in self._sealed]
        found = dict(zip(rest, files_sha256(rest)))
        return [found[p] if p in found else self._sealed[p].result() for p in paths]

    def __enter__(self) -> "Sealer":
        return self

    def __exit__(self, *exc) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _seal(path: Path) -> str:
    digest = file_sha256(path)
    with open(path, "rb") as f:
        os.fsync(f.fileno())
    return digest


def file_stamp(path: Path) -> list[int]:
    """A file's stamp: size, modification and status-change times in nanoseconds, inode.

    Any write moves the status-change time, which no tool can set back (restoring size and modification
    time does not restore it); copying the file elsewhere changes its inode.

    Raises:
        OSError: the file cannot be read.
    """
    info = os.stat(path)
    return [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino]


# A file changed this recently may change again without its timestamps moving (a filesystem's timestamps can
# be as coarse as 2 s): its stamp is not recorded, and it is read again next time.
SETTLED_SECONDS = 2.0


def stamped_sha256(path: Path, known: dict | None = None) -> tuple[str, list[int] | None]:
    """A file's SHA-256, read only when the file may have changed since ``known`` was taken, and its stamp.

    ``known`` is an earlier result, ``{"sha256": ..., "stamp": ...}``: when its stamp (size, modification and
    status-change times in nanoseconds, inode) is the file's now, its hash is returned and the file is not read,
    as git and make trust a file's status. Rewriting a file changes its status-change time, which no tool can
    set back, even when size and modification time are restored. The stamp returned is None (do not trust it
    next time) when the file changed while it was read or in the ``SETTLED_SECONDS`` before.

    Raises:
        OSError: the file cannot be read.
    """
    stamp = file_stamp(path)
    if isinstance(known, dict) and known.get("stamp") == stamp and isinstance(known.get("sha256"), str):
        return known["sha256"], stamp
    digest = file_sha256(path)
    unchanged = file_stamp(path) == stamp
    settled = time.time_ns() - max(stamp[1], stamp[2]) > SETTLED_SECONDS * 1e9
    return digest, stamp if unchanged and settled else None


@contextlib.contextmanager
def exclusive_lock(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` (created if needed) for the ``with`` block.

    Another process asking for the same lock waits. The kernel drops the lock when
    its holder dies, so a killed writer never blocks the next one.

    Raises:
        OSError: the lock file cannot be created (a read-only or full disk).
    """
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def write_atomic(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a part.

    The bytes go to a temporary file in the same folder, are flushed to disk, and
    the file is renamed over ``path``.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)  # mkstemp makes it private; by default the file it replaces was readable
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    sync_folder(path.parent)


def sync_folder(folder: Path) -> None:
    """Flush a folder's entries (new names, renames) to disk; a no-op where folders cannot be opened."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def sync_tree(folder: Path) -> None:
    """Flush every file of a folder, and the folder itself, to disk (before it is published)."""
    for path in Path(folder).iterdir():
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())
    sync_folder(folder)


def remove_leftovers(folder: Path, names: re.Pattern, *, keep: tuple[Path, ...] = ()) -> list[Path]:
    """Remove the entries of ``folder`` whose whole name matches ``names``, except ``keep``.

    Only the shapes of names a writer of ours makes (a prefix and ``mkdtemp``'s random part, say)
    should match: anything else in the folder is somebody else's. A link is removed as a link,
    never followed. Call it only while holding the folder's lock: then no live writer owns them.

    Returns:
        What was removed.
    """
    removed = []
    keep_names = {Path(k).name for k in keep}
    with contextlib.suppress(FileNotFoundError):
        for entry in Path(folder).iterdir():
            if names.fullmatch(entry.name) and entry.name not in keep_names:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        entry.unlink()
                removed.append(entry)
    return removed
