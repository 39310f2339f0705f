"""The journal of writes to a served library: intent before the work, removed once the outcome is recorded.

A write (upload, remove, re-index) first writes ``index/.pending-<12 hex>.json`` (atomically):
who, what, which report, and as the work goes on where its file went. When the outcome is in
the audit log the entry is removed. An entry still there at start-up is a write a crash (a kill,
a power cut) interrupted; :meth:`search.serve.curate.Curator.recover` finishes or undoes it and
records what it did.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import datetime, timezone
from pathlib import Path

from search.fileio import write_atomic

ENTRY = re.compile(r"\.pending-[0-9a-f]{12}\.json")


class Entry:
    """One pending write: its file in the index folder and what it says."""

    def __init__(self, path: Path, values: dict):
        self.path, self.values = path, values

    def note(self, **values) -> None:
        """Add to what the entry says (``saved`` once an upload is in the corpus, ``moved_to`` once a report is aside)."""
        self.values.update(values)
        write_atomic(self.path, json.dumps(self.values, ensure_ascii=False).encode("utf-8"))

    def end(self) -> None:
        """The outcome is recorded: the write is no longer pending."""
        self.path.unlink(missing_ok=True)


def begin(index_dir: Path, user: str, action: str, file: str) -> Entry:
    """Record that a write is about to start.

    Raises:
        OSError: the index folder cannot be written (then the write must not start).
    """
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    entry = Entry(Path(index_dir) / f".pending-{secrets.token_hex(6)}.json",
                  {"user": user, "action": action, "file": file, "started": started})
    entry.note()
    return entry


def pending(index_dir: Path) -> list[Entry]:
    """The writes a crash left unfinished, oldest first (an unreadable entry is skipped and left in place)."""
    entries = []
    for path in sorted(Path(index_dir).glob(".pending-*.json")):
        if not ENTRY.fullmatch(path.name) or path.is_symlink():
            continue
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(values, dict):
            entries.append(Entry(path, values))
    return sorted(entries, key=lambda e: str(e.values.get("started", "")))
