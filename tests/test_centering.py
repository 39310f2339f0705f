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
    # measured: 7th, then 6th with the reference's means (2nd with the report's own means, which move with the
    # library and lost in it: docs/library.md). (With the plain model, the shelter question was 6th, then 1st.)
    assert raw >= 5 and centered < raw


def test_fixed_means_are_taken_for_their_languages_and_the_library_gives_the_rest():
    vectors = _unit(np.random.default_rng(1).normal(size=(30, 4)))
    langs = ["lo"] * 10 + ["en"] * 10 + ["th"] * 10
    fixed = {"lo": np.array([1, 0, 0, 0], np.float32), "en": np.array([0, 1, 0, 0], np.float32),
             "fr": np.array([0, 0, 1, 0], np.float32)}
    centering = LanguageCentering.fit(vectors, langs, fixed=fixed)
    assert set(centering.means) == {"lo", "en", "th"}  # French is in no passage: nothing to center
    assert np.array_equal(centering.means["lo"], fixed["lo"]) and np.array_equal(centering.means["en"], fixed["en"])
    assert np.allclose(centering.means["th"], vectors[20:].mean(axis=0), atol=1e-6)


def test_an_index_takes_its_lao_and_english_means_from_the_reference_whatever_it_holds(
        searcher, embedder, mini_corpus, tmp_path, monkeypatch):
    """The bundled report alone and three other reports: other passages, the same Lao and English means,
    those of the shipped reference, embedded once per model (a second build reads no reference file)."""
    from search import build_index
    from search.index import reference
    from search.index.store import load_index

    build_index(mini_corpus, tmp_path / "index", embedder=embedder)
    reads = []
    inner = reference.read_document
    monkeypatch.setattr(reference, "read_document", lambda *a, **k: reads.append(a) or inner(*a, **k))
    build_index(mini_corpus, tmp_path / "again", embedder=embedder)
    assert reads == []  # the means are cached with the model
    mine, tip = load_index(tmp_path / "index"), searcher.index
    for part in ("centering", "sentence_centering"):
        a, b = getattr(mine, part), getattr(tip, part)
        assert {"lo", "en"} <= a.means.keys() and a.strength == b.strength == 0.4
        for lang in ("lo", "en"):
            assert np.array_equal(a.means[lang], b.means[lang]), (part, lang)
    assert not np.allclose(mine.vectors[mine.table.lang_names() == "en"].mean(axis=0), mine.centering.means["en"],
                           atol=1e-3)  # not this library's own mean
