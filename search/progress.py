"""Progress for people at a terminal: a bar per build stage, and a line per long first-use step.

Shared by the CLI, the web app's start-up and the benches (a lower module than all three).
"""

from __future__ import annotations

import sys

STAGE_LABELS = {"read": "reading reports", "ocr": "OCR of scanned pages", "embed": "embedding passages",
                "terms": "embedding terms", "neighbours": "measuring neighbourhoods"}


class TerminalProgress:
    """A tqdm bar per build stage, on stderr; called as ``progress(stage, done, total)``."""

    def __init__(self):
        self.bars = {}

    def __call__(self, stage: str, done: int, total: int):
        from tqdm import tqdm

        bar = self.bars.get(stage) or self.bars.setdefault(
            stage, tqdm(total=total, desc=STAGE_LABELS.get(stage, stage), unit="", file=sys.stderr))
        bar.update(done - bar.n)
        if done >= total:
            self.bars.pop(stage).close()  # a stage told again (the next scanned report's pages) gets a new bar


def say(message: str) -> None:
    """Tell the person at the terminal what a long first-use step is doing (stderr)."""
    print(f"{message} …", file=sys.stderr, flush=True)
