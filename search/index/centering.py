"""Language centering: taking the language out of multilingual embeddings before comparing them.

A multilingual model's vectors carry, besides the meaning, a large component that
says which language the text is in. Lao questions therefore sit closer to every
Lao passage than to the English paragraph that answers them. Subtracting part of
each language's mean vector (from the passages of that language, and from the
questions of that language) removes most of that component (Libovický et al.,
"On the Language Neutrality of Pre-trained Multilingual Representations", 2020).

Measured on the dev set with the plain model (dense retrieval alone, hit@5 / mrr@10 overall): raw
cosine 0.697 / 0.619; centered with the report's own means at strength 0.5, 0.864 / 0.751; Lao
questions answered in English go from 0.333 / 0.278 to 0.708 / 0.565. A build takes the Lao and
English means from a reference text instead (:mod:`search.index.reference`): a library's own means
move as reports are added and carry its topics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

STRENGTH = 0.4  # with the reference's means (search/index/reference.py): 0.5 and 0.6 lost a question alone
# A mean over a handful of passages is mostly their content, not their language:
# languages with fewer passages are left as they are. (The bundled report's 12
# Lao passages already give the gain above.)
MIN_PASSAGES = 10
_BLOCK = 4_096  # rows centered at a time: a block stays in cache through its three passes (4× faster than 65,536)
_SUM_BLOCK = 8_192  # rows summed at a time (their copies stay in cache)


@dataclass
class LanguageCentering:
    """Per-language mean vectors, and the share of them to subtract.

    Attributes:
        means: language → mean of that language's vectors (only languages with enough of them).
        strength: the share of the mean subtracted (0: no centering).
    """

    means: dict[str, np.ndarray]
    strength: float = STRENGTH

    @classmethod
    def fit(cls, vectors: np.ndarray, langs: Sequence[str], *, strength: float = STRENGTH,
            min_count: int = MIN_PASSAGES, fixed: Mapping[str, np.ndarray] | None = None) -> "LanguageCentering":
        """The means of ``vectors`` per language, for languages with at least ``min_count`` rows.

        ``fixed``: means known beforehand (:mod:`search.index.reference`), taken for their languages
        instead of those of ``vectors``, for every language the vectors have. Centering only makes sense
        between languages, so with fewer than two languages nothing is centered.
        """
        fixed = fixed or {}
        names, codes = np.unique(np.asarray(langs), return_inverse=True)
        counts = np.bincount(codes, minlength=len(names))
        sums = np.zeros((len(names), vectors.shape[1]), np.float64)
        # Summed a block at a time, in float64: no copy of a language's rows (a million sentences are 1.5 GB),
        # and the same sums whatever the threads.
        for start in range(0, len(codes), _SUM_BLOCK):
            block, block_codes = vectors[start:start + _SUM_BLOCK], codes[start:start + _SUM_BLOCK]
            for i in np.unique(block_codes):
                sums[i] += block[block_codes == i].sum(axis=0, dtype=np.float64)
        means = {str(lang): np.asarray(fixed[lang], np.float32) if lang in fixed else (sums[i] / counts[i]).astype(np.float32)
                 for i, lang in enumerate(names) if lang in fixed or counts[i] >= min_count}
        return cls(means if len(means) >= 2 else {}, strength)

    def apply(self, vectors: np.ndarray, langs: Sequence[str], *, out: np.ndarray | None = None) -> np.ndarray:
        """``vectors`` (one row per text of the given language) with their language's mean partly removed, re-normalised.

        ``out``: where to write them (an array of ``vectors``' shape, e.g. part of a larger one); a new array when None.
        """
        vectors = np.asarray(vectors, dtype=np.float32)
        if not self.means or not self.strength:
            if out is None:
                return vectors
            out[...] = vectors
            return out
        if out is None:
            out = np.empty(vectors.shape, np.float32)  # the one full-size array: a million sentences are 1.5 GB
        names, codes = np.unique(np.asarray(langs), return_inverse=True)
        offsets = np.zeros((len(names), out.shape[1]), np.float32)  # a language without a mean moves by 0
        for i, lang in enumerate(names):
            if lang in self.means:
                offsets[i] = self.strength * np.asarray(self.means[lang], np.float32)
        for start in range(0, len(out), _BLOCK):  # a block at a time: temporaries stay small
            block = out[start:start + _BLOCK]
            np.subtract(vectors[start:start + _BLOCK], offsets[codes[start:start + _BLOCK]], out=block)
            norms = np.linalg.norm(block, axis=1, keepdims=True)
            np.divide(block, np.where(norms > 0, norms, 1), out=block)
        return out

    def same_offset(self, other: "LanguageCentering", lang: str) -> bool:
        """Whether ``other`` moves a vector of ``lang`` exactly as this centering does."""
        mine, theirs = self.means.get(lang), other.means.get(lang)
        if mine is None or theirs is None or not self.strength or not other.strength:
            return (mine is None or not self.strength) == (theirs is None or not other.strength)
        return self.strength == other.strength and np.array_equal(mine, theirs)

    def to_dict(self) -> dict:
        """A JSON-ready form: ``{"strength", "means": {lang: [floats]}}``."""
        return {"strength": self.strength, "means": {lang: [float(x) for x in m] for lang, m in self.means.items()}}

    @classmethod
    def from_dict(cls, data: dict) -> "LanguageCentering":
        """Read what :meth:`to_dict` gave."""
        return cls({lang: np.array(m, np.float32) for lang, m in data["means"].items()}, float(data["strength"]))
