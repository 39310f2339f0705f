"""The ranked lists a search fuses, read from a stored index: best sentences, numbers first, one of each text.

The engine (search/retrieve/engine.py) encodes the question and fuses; these functions turn its vector into
lists of ``(passage row, score)``, best first, and trim a fused list to what is shown.
"""

from __future__ import annotations

import numpy as np

from search.index.store import StoredIndex
from search.retrieve.highlight import best_sentence_spans

# The model's lists rank by cosine less this share of each passage's or sentence's hubness, its mean cosine
# with its nearest neighbours (search/index/hubness.py). In the dev library 0.15 to 0.25 gave the same top 5s
# but one (3 questions in, none out; alone none in or out): docs/library.md, "the hub discount".
HUB_WEIGHT = 0.2


def one_of_each_text(index: StoredIndex, ranked: list[tuple[int, float]], k: int) -> list[tuple[int, float]]:
    """The first ``k`` of the ranking with each text once: a passage whose text ranked higher elsewhere
    (another file) is dropped."""
    if not index.same_text:
        return ranked[:k]
    groups = index.same_text.groups_of(np.fromiter((row for row, _ in ranked), np.int64, len(ranked)))
    seen: set[int] = set()  # groups of repeated texts already ranked
    out = []
    for (row, score), group in zip(ranked, groups.tolist()):
        if group >= 0:
            if group in seen:
                continue
            seen.add(group)
        out.append((row, score))
        if len(out) == k:
            break
    return out


def sentence_ranking(index: StoredIndex, centered_query, depth: int, lang: str | None, *,
                     numbers_first: bool = False, docs: tuple[str, ...] = ()) -> list[tuple[int, float]]:
    """Passages ranked by their best sentence's (centered) cosine, hubs discounted; a passage of one sentence by its own.

    The units (sentences, and passages of one sentence) have their own FAISS index; a
    passage's place is that of its best unit. With ``numbers_first``, the passages with a
    unit that states a quantity come first, by their best such unit, then the others.
    """
    query = centered_query[None, :]
    if not numbers_first:
        return best_units(index, query, depth, lang, docs=docs)
    numeric = best_units(index, query, depth, lang, numeric=True, docs=docs)
    listed = {row for row, _ in numeric}
    rest = [pair for pair in best_units(index, query, depth + len(numeric), lang, docs=docs) if pair[0] not in listed]
    return (numeric + rest)[:depth]


def best_units(index: StoredIndex, query: np.ndarray, depth: int, lang: str | None, *,
               numeric: bool = False, docs: tuple[str, ...] = ()) -> list[tuple[int, float]]:
    """The ``depth`` passages whose best unit (among numeric ones, if asked) is closest, best first.

    Asks the index for 3 × ``depth`` units (passages have 2.3 on average), and four times
    more while they name fewer than ``depth`` passages and more units remain: with an
    exact index the result is exact.
    """
    rows, selector = index.unit_selector(lang, numeric=numeric, docs=docs)
    total = len(index.units) if rows is None else len(rows)
    wanted = min(total, 3 * depth)
    while True:
        ids, scores = index.units.search_arrays(query, wanted, allowed=rows, selector=selector, hub_weight=HUB_WEIGHT)[0]
        if not len(ids):
            return []
        owners = index.unit_owner[ids]
        order = np.lexsort((owners, -scores))  # ties by passage row, as a full ranking gives
        _, first = np.unique(owners[order], return_index=True)  # each passage at its best unit
        best = order[np.sort(first)]
        if len(best) >= depth or wanted >= total:
            return [(int(owners[j]), float(scores[j])) for j in best[:depth]]
        wanted = min(total, wanted * 4)


def raw_first(index: StoredIndex, vector: np.ndarray, rankings) -> list[tuple[int, float]]:
    """Of every passage in ``rankings``, the one closest to the question by the model's own cosine (raw vectors: no
    centering, no hub discount), as a list of one."""
    rows = sorted({row for ranking in rankings for row, _ in ranking})
    if not rows:
        return []
    scores = np.asarray(index.vectors[rows], np.float32) @ np.asarray(vector, np.float32)
    best = int(np.argmax(scores))
    return [(rows[best], float(scores[best]))]


def numeric_first(ranking: list[tuple[int, float]], numeric: np.ndarray) -> list[tuple[int, float]]:
    """The ranking with the passages that state a quantity first, each part in its own order."""
    return sorted(ranking, key=lambda pair: not numeric[pair[0]])


def best_sentences(index: StoredIndex, vector, rows: list[int], *, numbers_first: bool) -> list[tuple[int, int] | None]:
    """Each passage's sentence closest to the question (its span in the passage; None for one sentence),
    preferring one that states a quantity when the question asks for a number."""
    passages = [index.passages[r] for r in rows]
    preferred = index.numeric_sentences if numbers_first else None
    return best_sentence_spans(vector, passages, [index.sentence_rows[r] for r in rows], index.sentence_vectors,
                               preferred=preferred)
