"""ONNX Runtime engines: the converted e5 model exported to ONNX (float32, or quantised to 8 bits).

Measured figures are in docs/model.md (*Engines*). ``optimum`` cannot be installed beside
transformers 5, so the export is ``torch.onnx.export`` (the TorchScript exporter) and
the quantisation ``onnxruntime.quantization.quantize_dynamic``; encoding is
tokenizers + ONNX Runtime + mean pooling + L2 normalisation, which is all e5 needs.
Neither torch nor sentence-transformers is imported to encode.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from search.model.convert import cached_folder
from search.errors import ModelError

EXPORT_VERSION = 2  # bump when the exported folder changes, so caches export again
ONNX_FILE, INT8_FILE = "model.onnx", "model-int8.onnx"
MODEL_FILES = {"onnx-fp32": ONNX_FILE, "onnx-int8": INT8_FILE}
MAX_TOKENS = 512
# Calls of at most this many tokens (a question, or a Lao question's words) run on one thread: a second one
# only waits for a busy core, and a one-shot query loads one session (1.5 s each), not two.
QUERY_TOKENS = 512


def onnx_dir(converted: Path, engine: str, *, progress: Callable[[str], None] | None = None) -> Path:
    """Return the ONNX export of a converted model folder for ``engine``, exporting on first use (10–30 s).

    The folder sits beside ``converted``, keyed by its name (which carries the weights'
    hash), the engine and ``EXPORT_VERSION``, and is made, stamped and checked like the conversion.

    Args:
        converted: a sentence-transformers folder from :func:`search.model.convert.converted_model_dir`.
        engine: ``"onnx-fp32"`` or ``"onnx-int8"``.
        progress: told each step of a first-use export, for people waiting on it.

    Raises:
        ModelError: the export failed or the cache cannot be written.
    """
    converted = Path(converted)
    target = converted.parent / f"{converted.name}-{engine}-v{EXPORT_VERSION}"
    key = {"source": converted.name, "engine": engine, "export_version": EXPORT_VERSION}
    return cached_folder(target, key, lambda staging: export_onnx(converted, staging, quantize=engine == "onnx-int8",
                                                                  progress=progress))


def export_onnx(converted: Path, out: Path, *, quantize: bool, progress: Callable[[str], None] | None = None) -> None:
    """Export ``converted`` to ONNX into ``out``, and quantise it to 8 bits when asked (needs torch, once).

    Eager attention and a padded dummy batch keep the padding mask in the traced graph
    (the SDPA path decides on the mask from the data, which a trace freezes).

    Raises:
        ModelError: the export or the quantisation failed.
    """
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    say = progress or (lambda message: None)
    try:
        say("exporting the model to ONNX (first use only)")

        class HiddenStates(torch.nn.Module):
            def __init__(self, model):
                super().__init__()
                self.model = model

            def forward(self, input_ids, attention_mask):
                return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

        model = HiddenStates(AutoModel.from_pretrained(converted, attn_implementation="eager").eval())
        ids = torch.ones((2, 8), dtype=torch.long)
        mask = torch.ones((2, 8), dtype=torch.long)
        mask[1, 5:] = 0
        axes = {0: "batch", 1: "tokens"}
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the tracer's notes on constants that do not vary here
            torch.onnx.export(model, (ids, mask), str(out / ONNX_FILE), dynamo=False, opset_version=17,
                              input_names=["input_ids", "attention_mask"], output_names=["hidden"],
                              dynamic_axes={"input_ids": axes, "attention_mask": axes, "hidden": axes})
        if not quantize:
            return _finish_export(converted, out)
        say("quantising the model to 8 bits (first use only)")
        logging.disable(logging.WARNING)  # its advice to pre-process, on the root logger: the library never prints
        try:
            # Per-channel unsigned 8-bit weights: per-tensor QInt8 lost the bridge's fine term similarities
            # (dev mrr@10 0.797 against torch's 0.856); this keeps a median cosine of 0.997 to torch.
            quantize_dynamic(str(out / ONNX_FILE), str(out / INT8_FILE), weight_type=QuantType.QUInt8, per_channel=True)
        finally:
            logging.disable(logging.NOTSET)
    except (RuntimeError, ValueError, OSError, ImportError) as exc:
        raise ModelError(f"exporting the model to ONNX failed ({type(exc).__name__}: {exc}); use --engine torch") from exc
    (out / ONNX_FILE).unlink()  # 450 MB of float32 that nothing reads
    _finish_export(converted, out)


def _finish_export(converted: Path, out: Path) -> None:
    """Put the tokenizer and the encoder's settings beside the ONNX model."""
    shutil.copy(converted / "tokenizer.json", out / "tokenizer.json")
    config = json.loads((converted / "config.json").read_text(encoding="utf-8"))
    (out / "encoder.json").write_text(json.dumps({"dimension": config["hidden_size"], "pad_id": config["pad_token_id"],
                                                  "max_tokens": MAX_TOKENS}), encoding="utf-8")


class OrtEncoder:
    """Mean-pooled, L2-normalised embeddings from an exported ONNX model (float32 or 8-bit).

    Args:
        folder: a folder from :func:`onnx_dir`.
        engine: ``"onnx-int8"`` or ``"onnx-fp32"``: which model file of the folder to run.
        threads: threads for batches (passages, terms); None for every core. Queries
            (calls of up to ``QUERY_TOKENS`` tokens) always run on one thread: a second
            one only waits for a busy core.
        remake: makes the folder again and returns it, for a session opened after the folder was deleted
            (the model cache removed while an app serves: its next upload opens the batch session).
    """

    def __init__(self, folder: Path, *, engine: str = "onnx-int8", threads: int | None = None, device: str = "cpu",
                 say: Callable[[str], None] | None = None, remake: Callable[[], Path] | None = None):
        from tokenizers import Tokenizer

        folder = Path(folder)
        try:
            settings = json.loads((folder / "encoder.json").read_text(encoding="utf-8"))
            self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except Exception as exc:  # noqa: BLE001 - json, OSError, and tokenizers' own errors
            raise ModelError(f"cannot read the ONNX model at {folder} ({exc}); delete the folder to export again") from exc
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(settings["max_tokens"])
        self.dimension, self.pad_id = int(settings["dimension"]), int(settings["pad_id"])
        self.path, self._engine, self._remake = folder / MODEL_FILES[engine], engine, remake
        self.batch_threads = threads or os.cpu_count() or 1
        self.device, self._say = device, say or (lambda line: None)
        self._sessions: dict[int, object] = {}
        self._side_by_side: ThreadPoolExecutor | None = None
        self._session(1)  # the questions' session, now: a damaged file fails here, not on the first question

    def _session(self, threads: int):
        if threads not in self._sessions:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            batches = threads != 1 or self.batch_threads == 1  # questions: one thread on the CPU, always
            providers = self._providers(ort) if batches and self.device != "cpu" else ["CPUExecutionProvider"]
            if not self.path.is_file() and self._remake is not None:  # the cache was deleted while serving
                self._say(f"{self.path} is gone (the model cache was deleted?): making it again")
                self.path = Path(self._remake()) / MODEL_FILES[self._engine]
            try:
                session = ort.InferenceSession(str(self.path), options, providers=providers)
            except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types for a damaged file
                if not self.path.is_file():
                    raise ModelError(f"the ONNX model {self.path} is gone (the model cache was deleted?); restart the "
                                     "app to convert the model again") from exc
                raise ModelError(f"cannot load the ONNX model {self.path} ({exc}); delete its folder to export again") from exc
            if "CUDAExecutionProvider" in providers and "CUDAExecutionProvider" not in session.get_providers():
                self._say("ONNX Runtime could not start on the GPU (a driver or CUDA library missing?): embedding on the CPU")
            self._sessions[threads] = session
        return self._sessions[threads]

    def _providers(self, ort) -> list[str]:
        """The GPU first when ONNX Runtime has one (the ``onnxruntime-gpu`` package), then the CPU."""
        if "CUDAExecutionProvider" in ort.get_available_providers():
            return ["CUDAExecutionProvider", "CPUExecutionProvider"]
        if self.device == "cuda":
            self._say("no CUDA GPU for ONNX Runtime (it offers " + ", ".join(ort.get_available_providers())
                      + "; install onnxruntime-gpu for one): embedding on the CPU")
        return ["CPUExecutionProvider"]

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes, special tokens included (before truncation)."""
        return len(self.tokenizer.encode(text).ids)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts (prefixes already on); rows are L2-normalised float32."""
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        hidden, mask, _ = self._run(texts)
        pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return np.ascontiguousarray(pooled, dtype=np.float32)

    def encode_each(self, texts: Sequence[str]) -> np.ndarray:
        """Embed a few short texts (a question and its readings) each alone, side by side on the cores.

        A short text runs on one thread (``QUERY_TOKENS``), so two of them in one batch take twice as
        long as one (12.4 and 16.3 ms, 29.3 together, for a Lao question and its reading); each on its
        own thread, at the same time, they take 16.0. Longer calls, or one core, go as :meth:`encode`.
        """
        if len(texts) < 2 or self.batch_threads < 2 or sum(map(self.count_tokens, texts)) > QUERY_TOKENS:
            return np.vstack([self.encode([text]) for text in texts]) if texts else self.encode(texts)
        if self._side_by_side is None:
            self._side_by_side = ThreadPoolExecutor(self.batch_threads, thread_name_prefix="encode")
        return np.vstack(list(self._side_by_side.map(lambda text: self.encode([text]), texts)))

    def token_states(self, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each text's last hidden states, one row per token (special tokens included), and each
        token's ``(start, end)`` character offsets in the text (``(0, 0)`` for special tokens)."""
        if not texts:
            return []
        hidden, mask, encodings = self._run(texts)
        return [(hidden[row, :len(e.ids)], np.array(e.offsets, np.int64).reshape(-1, 2))
                for row, e in enumerate(encodings)]

    def _run(self, texts: Sequence[str]):
        """The model's hidden states for a padded batch, its mask, and the tokenizer's encodings."""
        encodings = self.tokenizer.encode_batch(list(texts))
        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), width), self.pad_id, np.int64)
        mask = np.zeros((len(encodings), width), np.int64)
        for row, e in enumerate(encodings):
            ids[row, :len(e.ids)] = e.ids
            mask[row, :len(e.ids)] = 1
        threads = 1 if mask.sum() <= QUERY_TOKENS else self.batch_threads
        hidden = self._session(threads).run(["hidden"], {"input_ids": ids, "attention_mask": mask})[0]
        return hidden, mask, encodings
