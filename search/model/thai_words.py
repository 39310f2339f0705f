"""The Lao dictionary's words read as Thai, embedded once per model and kept beside it.

The language bridge looks for the English terms of a Lao question's words by the query embedding of each word
read as Thai (:func:`search.ingest.thai.read_as_thai`; docs/retrieval.md). The index keeps its own Lao terms'
(``terms-thai.npy``); a question's other words were embedded while the user waited, each about as costly as a
short question (17 ms a Lao question on one thread, its slowest part after the question's own encoding). Every
such word of the dev questions is one of laonlp's dictionary words (the segmenter's word list), so their
readings are embedded once per model (about two and a half minutes on two cores) into one file of the model
cache, and looked up: ``thai-words-<model hash>.npz``.

Each stored vector is the one the query path gives the word (the same call, :meth:`Embedder.embed_queries`),
so no ranking moves (tests/test_thai_words.py). The file names its model and the hash of its words'
readings: another model, or other reading rules, and it is not used (and is made again by the next
:func:`prepare_thai_words`).
"""

from __future__ import annotations

import functools
import hashlib
import io
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from search.fileio import exclusive_lock, write_atomic
from search.ingest.lang import is_lao_char, normalize_text
from search.ingest.thai import read_as_thai
from search.ingest.tokenize import lao_stopwords

PREFIX = "thai-words-"
CHUNK = 256  # words embedded per call to the model (progress is reported between calls)


@functools.lru_cache(maxsize=1)
def dictionary_words() -> tuple[str, ...]:
    """laonlp's word list (the segmenter's: a question's Lao words are among them), normalised like a question's
    tokens, the content words only (two letters or more, not a function word), sorted."""
    from laonlp.corpus import lao_words

    stop = lao_stopwords()
    words = {normalize_text(w).strip() for w in lao_words()}
    return tuple(sorted(w for w in words if len(w) > 1 and is_lao_char(w[0]) and w not in stop))


def store_path(cache_dir: Path, model_id: str) -> Path:
    """Where the words of ``model_id`` are kept in ``cache_dir``."""
    return Path(cache_dir) / f"{PREFIX}{hashlib.sha256(model_id.encode('utf-8')).hexdigest()[:16]}.npz"


def _readings_hash(words: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(read_as_thai(w) for w in words).encode("utf-8")).hexdigest()


class ThaiWords:
    """Words and the query embeddings of their Thai readings, looked up by word."""

    def __init__(self, words: Sequence[str], vectors: np.ndarray):
        self.words, self.vectors = tuple(words), vectors
        self._rows = {word: row for row, word in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def get(self, words: Sequence[str]) -> dict[str, np.ndarray]:
        """The vectors of those ``words`` held here."""
        return {word: self.vectors[self._rows[word]] for word in words if word in self._rows}



def load_thai_words(cache_dir: Path | None, model_id: str, words: Sequence[str] | None = None) -> ThaiWords | None:
    """The store of ``model_id`` in ``cache_dir``; None when there is none, or it is damaged, of another model,
    of other words or of other reading rules than ``words`` (default :func:`dictionary_words`)."""
    if cache_dir is None:
        return None
    try:
        with np.load(store_path(cache_dir, model_id), allow_pickle=False) as data:
            stored, vectors = data["words"], data["vectors"]
            model, readings = str(data["model_id"]), str(data["readings"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):  # missing, cut short, not ours
        return None
    words = dictionary_words() if words is None else tuple(words)
    if (model != model_id or vectors.dtype != np.float32 or vectors.ndim != 2 or len(vectors) != len(stored)
            or tuple(stored.tolist()) != words or readings != _readings_hash(words)):
        return None
    return ThaiWords(words, vectors)


def prepare_thai_words(embedder, *, words: Sequence[str] | None = None,
            progress: Callable[[int, int], None] | None = None) -> ThaiWords:
    """The store of ``embedder``'s model: loaded when it is there and whole, else made (the words' readings
    embedded, ``progress(done, total)`` between calls) and written atomically into ``embedder.cache_dir``.
    Two processes preparing at once take turns (a lock file); the second finds the first one's.

    Raises:
        OSError: the model cache cannot be written.
    """
    words = dictionary_words() if words is None else tuple(words)
    cache_dir = Path(embedder.cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(cache_dir / f".{PREFIX}lock"):
        found = load_thai_words(cache_dir, embedder.model_id, words)
        if found is not None:
            return found
        readings = [read_as_thai(w) for w in words]
        vectors = np.zeros((len(words), embedder.dimension), np.float32)
        for start in range(0, len(words), CHUNK):
            vectors[start:start + CHUNK] = embedder.embed_queries(readings[start:start + CHUNK])
            if progress:
                progress(min(start + CHUNK, len(words)), len(words))
        data = io.BytesIO()
        np.savez(data, words=np.array(words, dtype=str), vectors=vectors, model_id=np.array(embedder.model_id),
                 readings=np.array(_readings_hash(words)))
        write_atomic(store_path(cache_dir, embedder.model_id), data.getvalue())
        return ThaiWords(words, vectors)
