"""Which sentence of a passage best answers the question, for highlighting."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .chunk import sentence_spans
from .embed import Embedder


def best_sentence_spans(embedder: Embedder, question: str, passages: Sequence[str]) -> list[tuple[int, int] | None]:
    """For each passage, the span of the sentence closest in meaning to the question.

    All sentences of all passages are embedded in one batch. A passage of one
    sentence gets None: there is nothing to single out.

    Args:
        embedder: the index's embedder.
        question: the question as asked.
        passages: the texts of the hits.

    Returns:
        One ``(start, end)`` span into each passage, or None.
    """
    spans = [sentence_spans(text) for text in passages]
    flat = [(i, span) for i, found in enumerate(spans) if len(found) > 1 for span in found]
    if not flat:
        return [None] * len(passages)
    query = embedder.embed_queries([question])[0]
    vectors = embedder.embed_passages([passages[i][a:b] for i, (a, b) in flat])
    scores = vectors @ query
    best: list[tuple[int, int] | None] = [None] * len(passages)
    top: dict[int, float] = {}
    for (i, span), score in zip(flat, np.asarray(scores, dtype=float)):
        if score > top.get(i, -np.inf):
            top[i], best[i] = score, span
    return best
