"""Language centering: by hand on small vectors, then on the real model and index."""

import numpy as np
import pytest

from search.index.centering import LanguageCentering


def _unit(rows):
    rows = np.array(rows, np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_centering_removes_the_language_direction():
    # Two languages, each offset along its own axis; the meaning lies on the third.
    lo = _unit([[1, 0, 0.2], [1, 0, -0.2]] * 5)
    en = _unit([[0, 1, 0.2], [0, 1, -0.2]] * 5)
    vectors, langs = np.vstack([lo, en]), ["lo"] * 10 + ["en"] * 10
    centering = LanguageCentering.fit(vectors, langs, strength=1.0)
    out = centering.apply(vectors, langs)
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0)
    assert out[0] @ out[10] == pytest.approx(1.0, abs=1e-5)  # same meaning, other language: now identical
    assert vectors[0] @ vectors[10] < 0.1  # before, the language kept them apart
    assert out[0] @ out[1] == pytest.approx(-1.0, abs=1e-5)  # other meaning, same language: now opposite


def test_half_strength_keeps_part_of_the_mean():
    vectors = _unit([[1, 0, 0.2], [1, 0, -0.2]] * 5 + [[0, 1, 0.2], [0, 1, -0.2]] * 5)
    langs = ["lo"] * 10 + ["en"] * 10
    full = LanguageCentering.fit(vectors, langs, strength=1.0).apply(vectors, langs)
    half = LanguageCentering.fit(vectors, langs, strength=0.5).apply(vectors, langs)
    assert vectors[0] @ vectors[10] < half[0] @ half[10] < full[0] @ full[10]


def test_too_few_passages_or_one_language_change_nothing():
    vectors = _unit(np.random.default_rng(0).normal(size=(12, 4)))
    few = LanguageCentering.fit(vectors, ["lo"] * 3 + ["en"] * 9, min_count=5)
    assert few.means == {} and np.array_equal(few.apply(vectors, ["lo"] * 12), vectors)
    single = LanguageCentering.fit(vectors, ["en"] * 12, min_count=5)
    assert single.means == {}


def test_question_language_not_in_the_index_is_left_as_is():
    vectors = _unit([[1, 0, 0.2]] * 10 + [[0, 1, 0.2]] * 10)
    centering = LanguageCentering.fit(vectors, ["lo"] * 10 + ["en"] * 10)
    question = _unit([[0.3, 0.3, 0.9]])
    assert np.allclose(centering.apply(question, ["fr"]), question)


def test_centering_brings_a_lao_question_to_its_english_answer(searcher):
    """Real model and index: the English paragraph that answers a Lao question moves up."""
    index = searcher.index
    # how much did each ministry get for counter-trafficking before? (dev set lo-21)
    question = "ໃນໄລຍະກ່ອນ ລັດຖະບານຈັດສັນງົບປະມານຕ້ານການຄ້າມະນຸດໃຫ້ແຕ່ລະກະຊວງເທົ່າໃດ?"
    answer = next(i for i, p in enumerate(index.passages) if "300 million Lao kip" in p.text)
    vector = searcher.embedder.embed_queries([question])

    def rank(scores):
        return int((scores > scores[answer]).sum()) + 1

    raw = rank(index.vectors @ vector[0])
    centered = rank(index.dense.vectors() @ index.centering.apply(vector, ["lo"])[0])  # FAISS holds centered vectors
    # measured: 7th, then 2nd. (With the plain model, the shelter question was 6th, then 1st; with the Lao
    # adapter it starts 3rd and centering brings it to 2nd: the adapter does part of centering's work.)
    assert raw >= 5 and centered <= 2
