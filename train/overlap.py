"""Shared runs of words between training text and the project's corpus/ and eval/ files.

Training data must not copy the bundled report, the gold sets or the dev library: a
passage or question that shares a run of 12 whitespace words (casefolded) with any of
them, or, for Lao, which has no spaces between words, a run of 40 characters, is a leak.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

WORDS = 12
LAO_CHARS = 40


def norm(text: str) -> str:
    """NFC, casefolded, whitespace collapsed to single spaces."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def _is_lao(ch: str) -> bool:
    return "\u0e80" <= ch <= "\u0eff"


def word_runs(text: str, n: int = WORDS) -> set[tuple[str, ...]]:
    toks = norm(text).split()
    return {tuple(toks[i:i + n]) for i in range(len(toks) - n + 1)}


def lao_runs(text: str, n: int = LAO_CHARS) -> set[str]:
    """Runs of n characters (spaces dropped) that hold Lao script."""
    flat = norm(text).replace(" ", "")
    return {flat[i:i + n] for i in range(len(flat) - n + 1)
            if any(_is_lao(c) for c in flat[i:i + n])}


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _read(path: Path) -> str:
    """A file's text; a JSONL file's string values one per line (escapes decoded)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix != ".jsonl":
        return text
    return "\n".join(s for line in text.splitlines() if line.strip()
                     for s in _strings(json.loads(line)))


class Reference:
    """Every 12-word run and 40-character Lao run of a set of files."""

    def __init__(self, paths: list[Path]):
        self.words: set[tuple[str, ...]] = set()
        self.lao: set[str] = set()
        for path in paths:
            text = _read(path)
            self.words |= word_runs(text)
            self.lao |= lao_runs(text)

    def leaks(self, text: str) -> bool:
        """True when text shares a run with the reference files."""
        return bool(word_runs(text) & self.words) or bool(lao_runs(text) & self.lao)


def reference_files(root: Path) -> list[Path]:
    """The text files under corpus/ and eval/ (gold sets, dev library)."""
    return sorted(p for d in ("corpus", "eval") for p in (root / d).rglob("*")
                  if p.is_file() and p.suffix in {".txt", ".md", ".jsonl", ".json", ".tsv", ".csv"})
