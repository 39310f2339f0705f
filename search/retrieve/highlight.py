"""Which sentence of a passage best answers the question, for highlighting.

The sentences of every passage are embedded at build time (``sentences.npy``),
so a highlight costs one dot product per sentence, not a model call.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from search.retrieve.answer_type import put_first


def best_sentence_spans(
    question_vector: np.ndarray, passages: Sequence, sentence_rows: Sequence[tuple[int, int]], sentence_vectors: np.ndarray,
    *, preferred: np.ndarray | None = None,
) -> list[tuple[int, int] | None]:
    """For each passage, the span of its sentence closest in meaning to the question.

    Args:
        question_vector: the question's query embedding.
        passages: the passages (each with its ``sentences`` spans).
        sentence_rows: for each passage, its rows in ``sentence_vectors``.
        sentence_vectors: the sentences' embeddings.
        preferred: a mask over the rows of ``sentence_vectors``; when given, the closest
            preferred sentence wins over any other (a number for a "how many" question).

    Returns:
        One ``(start, end)`` span into each passage's text, or None for a passage
        of one sentence (nothing to single out).
    """
    out: list[tuple[int, int] | None] = []
    for passage, (start, end) in zip(passages, sentence_rows):
        if end - start < 2:
            out.append(None)
            continue
        scores = sentence_vectors[start:end] @ question_vector
        if preferred is not None:
            scores = put_first(scores, preferred[start:end])
        out.append(passage.sentences[int(np.argmax(scores))])
    return out
