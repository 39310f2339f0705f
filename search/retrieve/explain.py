"""Why a passage ranks where it does: its place in each list, the words that matched, the answer type.

Fused scores are nearly equal from hit to hit and mean little to a reader. What does
mean something is where each retriever put the passage (by meaning of the whole
passage, by its best sentence, by words), which of the question's words and which of
the bridge's translations it holds, and whether it states the number a "how many"
question asks for. Nothing here changes the ranking.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


from search.index.store import StoredIndex

MAX_WORDS = 8  # words listed per kind


@dataclass(frozen=True)
class Why:
    """The reasons for one hit.

    Attributes:
        ranks: the passage's rank (from 1) in each list the fusion used, by name (``dense``: the whole
            passage's meaning; ``sentences``: its best sentence's; ``bm25``: words; ``raw``, Lao questions
            only: 1 for the one candidate the model's uncentered cosine puts first), or None when it was
            not among that list's candidates.
        question_words: the question's own search words found in the passage.
        translations: words the bridge added (translations of the question's words) found in the passage.
        states_number: for a question asking for a number, whether the passage states one; else None.
    """

    ranks: dict[str, int | None] = field(default_factory=dict)
    question_words: tuple[str, ...] = ()
    translations: tuple[str, ...] = ()
    states_number: bool | None = None

    def to_dict(self) -> dict:
        """JSON-ready."""
        return {"ranks": dict(self.ranks), "question_words": list(self.question_words),
                "translations": list(self.translations), "states_number": self.states_number}


def explain(index: StoredIndex, rows: Sequence[int], lists: Mapping[str, Sequence[tuple[int, float]]],
            query: Mapping[str, float] | None, question_tokens: set[str], numeric: bool) -> list[Why]:
    """The reasons for each of ``rows``.

    Args:
        index: the index.
        rows: the hits' passage rows, in rank order.
        lists: each ranked list the fusion used, by name.
        query: the BM25 query (token to weight), the bridge's translations included; None without BM25.
        question_tokens: the question's own tokens.
        numeric: the question asks for a number.
    """
    places = {name: {row: rank for rank, (row, _) in enumerate(ranking, 1)} for name, ranking in lists.items()}
    query = query or {}
    held = index.sparse.holding(list(query), rows) if query else [set() for _ in rows]
    out = []
    for row, tokens in zip(rows, held):
        found = sorted(tokens, key=lambda t: (-query[t], t))
        out.append(Why(
            ranks={name: place.get(row) for name, place in places.items()},
            question_words=tuple(t for t in found if t in question_tokens)[:MAX_WORDS],
            translations=tuple(t for t in found if t not in question_tokens)[:MAX_WORDS],
            states_number=bool(index.numeric_passages[row]) if numeric else None,
        ))
    return out
