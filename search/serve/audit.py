r"""The record of writes: one line per upload, removal or rebuild, appended to ``index/audit.log``.

A line is tab-separated: UTC time, user, action, file, outcome. Each field is written with
:func:`search.display.escape`: a backslash doubled, and control characters (the tab too), every other line
break Python knows (U+0085, U+2028, U+2029) and invisible format characters (bidi overrides, zero-width
spaces) as ``\xHH``/``\uHHHH``, so one write is one line, shows what a name really is (``photo\u202egpj.txt``),
and :func:`read` gives every field back exactly. A field is cut at :data:`~search.display.LOG_FIELD_CHARS`
characters, saying how many more there were (a report's name is never that long).
"""

from __future__ import annotations

import os
import threading
from datetime import datetime, timezone
from pathlib import Path

from search.display import LOG_FIELD_CHARS, escape, unescape
from search.index.publish import AUDIT_LOG

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
    line = "\t".join(field(part) for part in (when, user, action, file, outcome)) + "\n"
    Path(index_dir).mkdir(parents=True, exist_ok=True)
    with _lock:  # one write() of one line on an O_APPEND file: lines never interleave
        fd = os.open(Path(index_dir) / AUDIT_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)


def field(value: object) -> str:
    """One field of a line: escaped, at most :data:`LOG_FIELD_CHARS` characters of the value, ``-`` when empty."""
    text = str(value)
    if len(text) > LOG_FIELD_CHARS:
        text = f"{text[:LOG_FIELD_CHARS]}… ({len(text) - LOG_FIELD_CHARS:,} more characters)"
    return escape(text) or "-"


def read(index_dir: Path) -> list[dict[str, str]]:
    """The audit log's lines as records (time, user, action, file, outcome); [] when there is none."""
    try:
        lines = (Path(index_dir) / AUDIT_LOG).read_text(encoding="utf-8").split("\n")  # not splitlines: see above
    except FileNotFoundError:
        return []
    keys = ("time", "user", "action", "file", "outcome")
    return [dict(zip(keys, map(unescape, line.split("\t")))) for line in lines if line]
