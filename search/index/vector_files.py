"""The vector files of a generation (raw vectors, centering, FAISS files, neighbourhoods, quantities) and what
a new generation carries over from the live one when a build kept some of its reports (:class:`Carried`).

:mod:`search.index.publish` calls :func:`save_vectors` into its staging folder; nothing here publishes.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from search.index.centering import LanguageCentering
from search.index.dense import UNITS_IVF_FROM, DenseIndex
from search.index.hubness import Neighbourhoods
from search.index.neighbours import save_neighbourhoods, updated
from search.index.records import CENTERING, DENSE, HUBNESS, NUMBERS, SENTENCES, UNITS, VECTORS, Passage, PassageTable
from search.ingest.numbers import holds_number


def save_vectors(passages: Sequence[Passage], table: PassageTable, vectors: np.ndarray, sentence_vectors: np.ndarray,
                 folder: Path, *, carried: Carried | None = None,
                 reference: Mapping[str, Mapping[str, np.ndarray]] | None = None,
                 progress: Callable[[str, int, int], None] | None = None,
                 written: Callable[[Path], None] | None = None) -> None:
    """Write every vector file of a generation.

    ``vectors.npy`` and ``sentences.npy`` hold the raw vectors (plain numpy, no pickle);
    ``centering.json`` the language means of passages and of sentences (``reference``'s where it has them);
    ``dense.faiss`` the centered passage vectors and ``units.faiss`` the centered sentences, then the
    one-sentence passages (the best-sentence list), each exact or an inverted file by size; ``hubness.npy``
    each passage's, then each unit's, mean cosine with its nearest neighbours in its index; ``numbers.npy``
    which passages, then which sentences, state a quantity. What ``carried`` holds of the live
    generation is taken over: the quantities of kept passages, and an inverted file's clusters and
    the kept vectors' places in them (adding a report to a big library runs no k-means again).
    ``vectors`` and ``sentence_vectors`` are centered in place once saved, unless read-only. ``progress`` is
    called as ``progress("neighbours", done, total)`` while the hubness is measured (passages and units).
    ``written`` is called with each big file as soon as it is complete (publish checksums it meanwhile).
    """
    written = written or (lambda path: None)
    carried = carried or Carried.nothing(len(passages))
    folder = Path(folder)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    sentence_vectors = np.ascontiguousarray(sentence_vectors, dtype=np.float32).reshape(-1, vectors.shape[1])
    np.save(folder / VECTORS, vectors, allow_pickle=False)
    np.save(folder / SENTENCES, sentence_vectors, allow_pickle=False)
    written(folder / VECTORS)
    written(folder / SENTENCES)
    langs = table.lang_names()  # from the table: a kept passage is not read
    counts = table.sentences.astype(np.int64)  # sentence spans a passage (0: one sentence)
    sentence_langs = np.repeat(langs, counts)
    reference = reference or {}
    centering = {"passages": LanguageCentering.fit(vectors, langs, fixed=reference.get("passages")),
                 "sentences": LanguageCentering.fit(sentence_vectors, sentence_langs, fixed=reference.get("sentences"))}
    (folder / CENTERING).write_text(json.dumps({k: c.to_dict() for k, c in centering.items()}), encoding="utf-8")
    # The raw vectors are saved: from here they are centered where they lie, and the units are indexed as two
    # parts, not stacked. Fresh arrays of their size (0.7 GB at 128,000 passages) cost more to allocate than
    # centering does, and at a million passages they would be 6 GB more.
    centered = centering["passages"].apply(vectors, langs, out=_writable(vectors))
    dense = DenseIndex.from_vectors(centered, like=carried.clusters.get(DENSE), carried=carried.rows)
    dense.save(folder / DENSE)  # centered: nothing is rebuilt at load
    written(folder / DENSE)
    sentences = centering["sentences"].apply(sentence_vectors, sentence_langs, out=_writable(sentence_vectors))
    unit_rows = carried.unit_rows(counts)
    units = [sentences, centered[counts == 0]]
    unit_index = DenseIndex.from_vectors(units, ivf_from=UNITS_IVF_FROM, like=carried.clusters.get(UNITS), carried=unit_rows)
    unit_index.save(folder / UNITS)
    written(folder / UNITS)
    # a report added or removed changes its neighbours' neighbourhoods: those it can move are measured again
    total = len(centered) + sum(len(u) for u in units)
    passed = (lambda done, _: progress("neighbours", done, total)) if progress else None
    then = (lambda done, _: progress("neighbours", len(centered) + done, total)) if progress else None
    old = carried.neighbourhoods or (None, None)
    moved = carried.moved(centering, langs, sentence_langs, counts)
    neighbourhoods = Neighbourhoods.concatenate([
        updated(old[0], dense, centered, carried.rows, moved[0], like=carried.clusters.get(DENSE), progress=passed),
        updated(old[1], unit_index, units, unit_rows, moved[1], like=carried.clusters.get(UNITS), progress=then)])
    np.save(folder / HUBNESS, neighbourhoods.hubness(), allow_pickle=False)
    save_neighbourhoods(folder, neighbourhoods)
    np.save(folder / NUMBERS, carried.numbers_of(passages, counts, unit_rows), allow_pickle=False)


def _writable(array: np.ndarray) -> np.ndarray:
    """``array`` itself when it may be written, else a copy (a memory-mapped or read-only array is not changed)."""
    return array if array.flags.writeable and not isinstance(array, np.memmap) else array.copy()


@dataclass
class Carried:
    """What a new generation takes over from the live one, when a build kept some of its reports as they were.

    Attributes:
        rows: each new passage's row in the live generation; -1 for a passage read anew.
        passages: the live generation's passages (their stored lines are copied as they are).
        sentences: the live generation's sentence count per passage (``PassageTable.sentences``).
        numbers: the live generation's ``numbers.npy`` (None when it cannot be trusted).
        clusters: the live generation's ``dense.faiss`` and ``units.faiss``, by name, when intact.
        neighbourhoods: the live generation's passages' and units' neighbourhoods (None when it has none).
        centering: the live generation's centering of passages and of sentences (None when unknown).
    """

    rows: np.ndarray
    passages: Sequence | None = None
    sentences: np.ndarray | None = None
    numbers: np.ndarray | None = None
    clusters: Mapping[str, DenseIndex] = field(default_factory=dict)
    neighbourhoods: tuple[Neighbourhoods, Neighbourhoods] | None = None
    centering: Mapping[str, LanguageCentering] | None = None

    @classmethod
    def nothing(cls, count: int) -> "Carried":
        """A build that keeps nothing: every one of ``count`` passages is new."""
        return cls(np.full(count, -1, np.int64))

    def runs(self) -> list[tuple[int, int]]:
        """The new passages in runs ``(start, stop)``: each either kept rows that follow each other in the live
        generation, or new passages (all of them new when nothing of the live generation's lines is carried)."""
        rows = self.rows if self.passages is not None else np.full(len(self.rows), -1, np.int64)
        if not len(rows):
            return []
        kept = rows >= 0
        breaks = np.flatnonzero((kept[1:] != kept[:-1]) | (kept[1:] & (rows[1:] != rows[:-1] + 1))) + 1
        edges = [0, *breaks.tolist(), len(rows)]
        return list(itertools.pairwise(edges))

    def moved(self, centering: Mapping[str, LanguageCentering], langs: np.ndarray, sentence_langs: np.ndarray,
              counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which passages, and which units, are centered otherwise than in the live generation (a language whose
        mean is the library's own moves as reports come and go): their neighbourhoods are measured again."""
        old = self.centering or {}

        def moved(part: str, row_langs: np.ndarray) -> np.ndarray:
            if part not in old:
                return np.ones(len(row_langs), bool)
            changed = [lang for lang in np.unique(row_langs) if not old[part].same_offset(centering[part], str(lang))]
            return np.isin(row_langs, changed)
        return moved("passages", langs), np.concatenate([moved("sentences", sentence_langs),
                                                         moved("passages", langs[counts == 0])])

    def unit_rows(self, counts: np.ndarray) -> np.ndarray:
        """Each new unit's row in the live generation's ``units.faiss`` (-1 for new): sentences in passage order,
        then one-sentence passages, as :func:`save_vectors` lays them out. ``counts``: each new passage's
        sentence spans (0 for one sentence)."""
        if self.sentences is None:
            return np.full(int(counts.sum()) + int((counts == 0).sum()), -1, np.int64)
        old = np.asarray(self.sentences, np.int64)
        old_start = np.concatenate([[0], np.cumsum(old)])[:-1]
        old_single = np.cumsum(old == 0) - 1 + old.sum()  # a one-sentence passage's unit row, after every sentence
        rows = self.rows
        owner = np.repeat(np.arange(len(counts)), counts)
        offset = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
        of_owner = rows[owner]
        sentences = np.where(of_owner >= 0, old_start[np.maximum(of_owner, 0)] + offset, -1)
        single = rows[counts == 0]
        singles = np.where(single >= 0, old_single[np.maximum(single, 0)], -1)
        return np.concatenate([sentences, singles]).astype(np.int64)

    def numbers_of(self, passages: Sequence[Passage], counts: np.ndarray, unit_rows: np.ndarray) -> np.ndarray:
        """``numbers.npy`` of the new generation: kept passages' and sentences' flags as they were, others found.
        ``counts`` and ``unit_rows`` as :meth:`unit_rows` takes and gives them."""
        n = len(passages)
        starts = n + np.cumsum(counts) - counts  # each passage's first sentence's place in the flags
        flags = np.zeros(n + int(counts.sum()), bool)
        rows = self.rows if self.numbers is not None else np.full(n, -1, np.int64)
        if self.numbers is not None:
            kept, sentence_rows = rows >= 0, unit_rows[:int(counts.sum())]
            flags[:n][kept] = self.numbers[rows[kept]]
            known = sentence_rows >= 0
            flags[n:][known] = self.numbers[len(self.sentences) + sentence_rows[known]]
        for i in np.flatnonzero(rows < 0):
            passage = passages[i]
            flags[i] = holds_number(passage.text)
            for j, (a, b) in enumerate(passage.sentences):
                flags[starts[i] + j] = holds_number(passage.text[a:b])
        return flags
