"""The Lao adapter: LoRA weights trained on laonlp's dictionary, merged into the converted model.

The adapter ships in the package (``search/model/adapter/``: ``adapter.safetensors``, a
few MB of float16 LoRA matrices, and ``adapter.json``: its training command, data hash
and settings). train/adapt.py makes it. At first use, the converter adds
``scaling · B @ A`` to each adapted weight of the dequantised model, so the ONNX export,
the 8-bit quantisation and every engine see one ordinary BERT: no extra cost per query.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from search.errors import ModelError
from search.fileio import file_sha256

ADAPTER_DIR = Path(__file__).parent / "adapter"
WEIGHTS, CONFIG = "adapter.safetensors", "adapter.json"
# The linear layers of every encoder layer: attention (query, key, value, output) and feed-forward.
TARGETS = r".*encoder\.layer\.\d+\.(attention\.self\.(query|key|value)|attention\.output\.dense|intermediate\.dense|output\.dense)"


def default_adapter() -> Path | None:
    """The shipped adapter's folder, or None when the package carries none."""
    return ADAPTER_DIR if (ADAPTER_DIR / WEIGHTS).is_file() else None


def adapter_hash(folder: Path) -> str:
    """The adapter's identity in cache names and index manifests: SHA-256 of its weights' and its
    settings' hashes (a new scaling is a new model too)."""
    folder = Path(folder)
    return hashlib.sha256(f"{file_sha256(folder / WEIGHTS)} {file_sha256(folder / CONFIG)}".encode()).hexdigest()


def merge_adapter(state: dict[str, np.ndarray], folder: Path) -> dict[str, np.ndarray]:
    """Add the adapter's ``scaling · B @ A`` to the weights of ``state`` it names, in place.

    Args:
        state: a BERT state dict as float32 numpy arrays (``encoder.layer.0.attention.self.query.weight``…).
        folder: the adapter's folder.

    Returns:
        ``state``, merged.

    Raises:
        ModelError: the adapter is unreadable or does not fit the model.
    """
    from safetensors.numpy import load_file

    folder = Path(folder)
    try:
        config = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
        scaling = float(config["scaling"])
        weights = load_file(str(folder / WEIGHTS))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"cannot read the model adapter in {folder} ({exc}); reinstall the package") from exc
    names = sorted({key.rsplit(".", 1)[0] for key in weights})
    for name in names:
        a, b, target = weights.get(f"{name}.lora_A"), weights.get(f"{name}.lora_B"), state.get(f"{name}.weight")
        if a is None or b is None or target is None or (b.shape[0], a.shape[1]) != target.shape:
            raise ModelError(f"the model adapter in {folder} does not fit this model (at {name}); reinstall the package")
        state[f"{name}.weight"] = target + scaling * (b.astype(np.float32) @ a.astype(np.float32))
    return state
