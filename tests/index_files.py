"""Editing a built index's files as an older or damaged one would have them, for tests."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from search.index.generations import current_generation


def rewrite_manifest(index_dir: Path, edit: Callable[[dict], None]) -> Path:
    """Change the live generation's manifest in place (``edit`` gets its values) and record its new checksum in
    ``CURRENT``, as a build of that manifest would have; the generation's folder."""
    generation = current_generation(index_dir)[0]
    values = json.loads((generation / "manifest.json").read_text(encoding="utf-8"))
    edit(values)
    data = json.dumps(values).encode("utf-8")
    (generation / "manifest.json").write_bytes(data)
    pointer = json.loads((index_dir / "CURRENT").read_text(encoding="utf-8"))
    (index_dir / "CURRENT").write_text(json.dumps({**pointer, "manifest_sha256": hashlib.sha256(data).hexdigest()}),
                                       encoding="utf-8")
    return generation
