"""The language centering's reference: one text in both languages, embedded once per model.

Centering subtracts part of each language's mean vector (:mod:`search.index.centering`). Taken from the
library itself, the means are the library's topics as much as its languages, and they move as reports are
added: in the dev library the English mean is the US Code's. The reference is the Universal Declaration of
Human Rights in English and in Lao (``reference/``): the same text in both, so the difference of its two
means is the languages' difference, and the means are the same whatever the library holds. Measured on both
dev sets (docs/library.md, strength 0.4): no question lost from the top 5 alone; in the library dev hit@5
0.773 -> 0.788, second set 0.738 -> 0.786, Lao→English mrr@10 of the second set 0.522 -> 0.578.

The means depend on the model and the chunking only; they are kept in the model cache, keyed by both.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from search.fileio import write_atomic
from search.ingest.read import Document, read_document

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
FILES = {"en": "udhr-en.md", "lo": "udhr-lo.md"}


def reference_digest() -> str:
    """SHA-256 of the reference files, in order."""
    digest = hashlib.sha256()
    for name in FILES.values():
        digest.update((REFERENCE_DIR / name).read_bytes())
    return digest.hexdigest()


def reference_means(embedder, cut: Callable[[Document], list], *, key: str) -> dict[str, dict[str, np.ndarray]]:
    """The reference's mean vector per language: ``{"passages": {lang: mean}, "sentences": {lang: mean}}``.

    Args:
        embedder: the index's model (``embed_passages``, ``model_id``; ``cache_dir`` when it has one).
        cut: a document's passages, as a build cuts them.
        key: what else the passages depend on (the chunking settings), for the cache.

    ``sentences`` are the best-sentence list's units: each sentence of a longer passage, and each
    one-sentence passage, as :func:`search.index.vector_files.save_vectors` lays them out.
    """
    name = hashlib.sha256(f"{embedder.model_id} {reference_digest()} {key}".encode()).hexdigest()[:20]
    cache_dir = getattr(embedder, "cache_dir", None)
    cached = Path(cache_dir) / f"reference-means-{name}.json" if cache_dir else None
    if cached is not None:
        try:
            data = json.loads(cached.read_text(encoding="utf-8"))
            return {part: {lang: np.array(m, np.float32) for lang, m in means.items()} for part, means in data.items()}
        except (OSError, ValueError, AttributeError):
            pass  # not made yet, or damaged: made again
    out: dict[str, dict[str, np.ndarray]] = {"passages": {}, "sentences": {}}
    for lang, file in FILES.items():
        passages = cut(read_document(REFERENCE_DIR / file, file))
        sentences = [p.text[a:b] for p in passages for a, b in p.sentences]
        vectors = np.asarray(embedder.embed_passages([p.text for p in passages] + sentences), np.float32)
        passage_vectors = vectors[:len(passages)]
        single = np.array([not p.sentences for p in passages], bool)
        units = np.vstack([vectors[len(passages):], passage_vectors[single]])
        out["passages"][lang] = passage_vectors.mean(axis=0, dtype=np.float64).astype(np.float32)
        out["sentences"][lang] = units.mean(axis=0, dtype=np.float64).astype(np.float32)
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            data = {part: {lang: [float(x) for x in m] for lang, m in means.items()} for part, means in out.items()}
            write_atomic(cached, json.dumps(data).encode("utf-8"))
        except OSError:
            pass  # a read-only cache: made again next time
    return out
