"""Questions that ask for a number, and the text that can answer them.

Half the questions people ask of these reports are counts: how many victims,
how many border crossings, how many years in prison. Their answer is a sentence
that holds a number; a passage on the right topic without one cannot answer.
Classic question answering uses this as an *answer type* (Harabagiu et al.,
Prager's predictive annotation): here it only reorders, it never drops a
passage. A number-seeking question ranks the passages (and sentences) that hold
a number first, each list in its own order.

Years do not count as numbers here: "2021" stands in most sentences of an annual
report, and a year answers "when", not "how many". Date questions are not typed:
the year in most sentences would give that type no power. What counts as a number,
in questions and in text, is :mod:`search.ingest.numbers`.
"""

from __future__ import annotations

import numpy as np


def put_first(cosines: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The cosines, those outside ``mask`` lowered by 2 (a cosine's whole range): every row in
    ``mask`` now ranks above every row outside it, and each group keeps its order."""
    return np.where(mask, cosines, cosines - 2)
