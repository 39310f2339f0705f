"""Generations: which one is live (``CURRENT``), its manifest, and whether its files can be trusted.

``CURRENT`` names the live generation and its manifest's SHA-256; the manifest lists every other
file's size and SHA-256. Nothing here reads a generation's contents (:mod:`search.index.store`) or
writes one (:mod:`search.index.publish`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from search.errors import REBUILD_HINT, IndexFormatError, IndexNotFoundError
from search.fileio import file_stamp, files_sha256
from search.index.records import FORMAT_VERSION, MANIFEST, STAMPS, IndexConfig, Manifest

CURRENT, LOCK = "CURRENT", ".lock"
GENERATION_PREFIX, STAGING_PREFIX = "gen-", ".staging-"
# Checksum every file on load up to this size (about 30,000 passages); above it, sizes only on load
# and checksums in `python -m search check`.
VERIFY_ON_LOAD_BYTES = 256 * 2**20



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


def damaged_files(generation: Path, manifest: Manifest, *, checksums: bool = True,
                  trust_stamps: bool = False) -> dict[str, str]:
    """The files of a generation that cannot be trusted, each with what is wrong with it.

    Args:
        generation: the generation's folder.
        manifest: its manifest, which lists every other file's size and SHA-256.
        checksums: also read every file and compare its SHA-256 (else sizes only).
        trust_stamps: a file whose stamp (:func:`search.fileio.file_stamp`) is still the one recorded when
            it was written (``stamps.json``) is not read: nothing has written to it since. What a stamp cannot
            see is the disk itself failing, which ``python -m search check`` reads every byte for.
    """
    recorded = written_stamps(generation) if trust_stamps else {}
    damaged, unread = {}, []
    for name, info in manifest.files.items():
        path = generation / name
        try:
            stamp = file_stamp(path)
        except OSError as exc:
            damaged[name] = f"is missing ({exc.strerror})"
            continue
        if stamp[0] != info["bytes"]:
            damaged[name] = f"is {stamp[0]} bytes, the manifest says {info['bytes']}: it is truncated or damaged"
        elif checksums and recorded.get(name) != stamp:
            unread.append(name)
    for name, digest in zip(unread, files_sha256([generation / name for name in unread])):
        if digest != manifest.files[name]["sha256"]:
            damaged[name] = "does not match its checksum: it is damaged"
    return {name: damaged[name] for name in manifest.files if name in damaged}  # in the manifest's order


def written_stamps(generation: Path) -> dict[str, list[int]]:
    """Each file's stamp as the build that wrote ``generation`` left it (``stamps.json``); {} when unreadable."""
    try:
        stamps = json.loads((Path(generation) / STAMPS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return stamps if isinstance(stamps, dict) else {}


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
        # an index written before passages had context was embedded without it, whatever the default is now
        config = IndexConfig(**{"model_context": (), "bm25_context": (), **values["config"]})
        return generation, Manifest(**{**values, "config": config})
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
