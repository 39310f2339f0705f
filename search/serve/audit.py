"""The record of writes: one line per upload, removal or rebuild, appended to ``index/audit.log``.

A line is tab-separated: UTC time, user, action, file, outcome. Control
characters and every other line break Python knows (U+0085, U+2028, U+2029)
in names and messages become spaces, so one write is one line, read back as one.
"""

from __future__ import annotations

import os
import re
import threading
from datetime import datetime, timezone
from pathlib import Path

from search.index.publish import AUDIT_LOG

_CONTROL = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]+")
_lock = threading.Lock()


def record(index_dir: Path, user: str, action: str, file: str, outcome: str) -> None:
    """Append one line to the index folder's ``audit.log`` (created with the folder if needed).

    Args:
        index_dir: the index folder.
        user: who asked (``local`` when the app has no users file).
        action: ``upload``, ``remove`` or ``rebuild``.
        file: the report concerned (``-`` for none).
        outcome: ``ok …``, ``refused: …`` or ``failed: …``.
    """
    when = datetime.now(timezone.utc).isoformat(timespec="seconds")
    line = "\t".join(_CONTROL.sub(" ", str(part)).strip() or "-" for part in (when, user, action, file, outcome)) + "\n"
    Path(index_dir).mkdir(parents=True, exist_ok=True)
    with _lock:  # one write() of one line on an O_APPEND file: lines never interleave
        fd = os.open(Path(index_dir) / AUDIT_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)


def read(index_dir: Path) -> list[dict[str, str]]:
    """The audit log's lines as records (time, user, action, file, outcome); [] when there is none."""
    try:
        lines = (Path(index_dir) / AUDIT_LOG).read_text(encoding="utf-8").split("\n")  # not splitlines: see above
    except FileNotFoundError:
        return []
    keys = ("time", "user", "action", "file", "outcome")
    return [dict(zip(keys, line.split("\t"))) for line in lines if line]
