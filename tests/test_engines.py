"""The engines of the default model: ONNX Runtime float32 (the default) and 8-bit, against sentence-transformers on torch."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from search import Embedder, Searcher, build_index
from search.cli import cli
from search.errors import IndexFormatError, ModelError
from search.model.ort_encoder import EXPORT_VERSION, ONNX_FILE, OrtEncoder

TEXTS = [
    "ລັດຖະບານລາວລະບຸຕົວຜູ້ເຄາະຮ້າຍໄດ້ຈັກຄົນ ໃນປີ 2021?",
    "ມາດຕາ 215 ຂອງກົດໝາຍອາຍາ ກຳນົດໂທດຈຳຄຸກ 5 ຫາ 15 ປີ ແລະ ປັບໃໝ",
    "How many traffickers were convicted in 2021?",
    "The government identified 110 trafficking victims and referred all of them to services.",
    "ດ່ານຊາຍແດນ",
    "recruitment agencies",
    "border",
]


@pytest.fixture(scope="session")
def int8_embedder(model_cache) -> Embedder:
    return Embedder(cache_dir=model_cache, engine="onnx-int8")


def test_the_default_engine_is_onnx_fp32(embedder):
    assert embedder.engine == "onnx-fp32" and isinstance(embedder.model, OrtEncoder)
    assert embedder.model_id.endswith("+onnx-fp32")


@pytest.mark.parametrize("kind", ["embed_queries", "embed_passages"])
def test_onnx_fp32_vectors_equal_torch(embedder, torch_embedder, kind):
    ours, theirs = getattr(embedder, kind)(TEXTS), getattr(torch_embedder, kind)(TEXTS)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1, atol=1e-5)
    assert (ours * theirs).sum(axis=1).min() >= 0.9999


@pytest.mark.parametrize("kind", ["embed_queries", "embed_passages"])
def test_onnx_int8_vectors_agree_with_torch(int8_embedder, torch_embedder, kind):
    ours, theirs = getattr(int8_embedder, kind)(TEXTS), getattr(torch_embedder, kind)(TEXTS)
    cosines = (ours * theirs).sum(axis=1)
    # measured with the adapter taught on questions merged in: median 0.987 / 0.985 (questions / passages), lowest
    # 0.979; with the dictionary-only adapter median 0.992; the plain model 0.98+
    assert np.median(cosines) >= 0.98 and cosines.min() >= 0.97, cosines


def test_a_batch_with_padding_equals_one_text_at_a_time(embedder):
    """Texts of very different lengths in one batch: the padding mask must hold in the exported graph."""
    batch = embedder.model.encode(["query: " + t for t in TEXTS])
    alone = np.vstack([embedder.model.encode(["query: " + t]) for t in TEXTS])
    assert np.allclose(batch, alone, atol=1e-4)


def test_an_int8_question_does_not_depend_on_its_batchmates(int8_embedder):
    """Dynamic quantisation scales activations per batch, so questions are encoded alone (in a batch: lowest
    cosine 0.983 with the Lao adapter, 0.997 with the plain model; a lost padding mask gives far less)."""
    together = int8_embedder.embed_queries(TEXTS)
    alone = np.vstack([int8_embedder.embed_queries([t]) for t in TEXTS])
    assert np.array_equal(together, alone)
    batched = int8_embedder.model.encode(["query: " + t for t in TEXTS])
    assert (batched * alone).sum(axis=1).min() >= 0.97  # the padding mask holds in the 8-bit graph too


@pytest.mark.parametrize("fixture", ["embedder", "int8_embedder"])
def test_the_builds_batch_of_thai_readings_equals_each_word_embedded_alone(request, fixture):
    """The index embeds its Lao terms read as Thai in batches (search/index/terms.py) for a question's words to be
    looked up instead of embedded: each vector must be the one the word gets alone. Float32: padding in a batch
    changes nothing (to 1e-6); 8-bit: questions (and these) are encoded one at a time, equal exactly."""
    from search.index.terms import _thai_vectors
    from search.ingest.thai import read_as_thai

    embedder = request.getfixturevalue(fixture)
    words = ["ດ່ານຊາຍແດນ", "ລັດຖະບານ", "ຜູ້ເຄາະຮ້າຍ", "ປີ", "ກົດຫມາຍອາຍາ", "ຈຳຄຸກ", "ຊາຍແດນ", "ແຮງງານ"]
    batched = _thai_vectors(words, embedder, None, None)
    alone = np.vstack([embedder.embed_queries([read_as_thai(w)]) for w in words])
    if embedder.engine == "onnx-int8":
        assert np.array_equal(batched, alone)
    np.testing.assert_allclose(batched, alone, atol=1e-6)


@pytest.mark.parametrize("fixture", ["embedder", "int8_embedder"])
def test_a_question_and_its_readings_run_each_alone_side_by_side(request, fixture, monkeypatch):
    """A Lao question and its readings, Thai and dictionary (one search's three texts), are single-text runs on
    the two threads: each gets the vector it gets alone, in order (the 8-bit engine's rule holds), and no run
    waits for a busy core (measured: 29.3 ms in one batch for the question and its Thai reading, 16.0 side by
    side, the reading's alone 16.3). More texts than a search's (a batch of questions) run as one batch."""
    from search.retrieve.bridge import dictionary_reading, read_as_thai
    from search.ingest.tokenize import tokenize

    embedder = request.getfixturevalue(fixture)
    encoder = embedder.model
    monkeypatch.setattr(encoder, "batch_threads", 2)  # as on these two cores, whatever the machine has
    texts = [TEXTS[0], read_as_thai(TEXTS[0]), dictionary_reading(tokenize(TEXTS[0], keep_stopwords=True))]
    alone = np.vstack([embedder.embed_queries([text]) for text in texts])
    threads, encode = [], encoder.encode
    monkeypatch.setattr(encoder, "encode", lambda texts: threads.append((threading.current_thread().name, len(texts)))
                        or encode(texts))
    together = embedder.embed_queries(texts)
    assert np.array_equal(together, alone)
    assert sorted(n for _, n in threads) == [1, 1, 1] and all(name.startswith("encode") for name, _ in threads), threads
    each = np.vstack([embedder.embed_queries([t]) for t in TEXTS[:4]])
    threads.clear()
    assert np.allclose(embedder.embed_queries(TEXTS[:4]), each, atol=1e-4)  # more texts than a search's: as before
    assert {name for name, _ in threads} == {threading.current_thread().name}


def test_token_counts_agree_with_torch(embedder, torch_embedder):
    for text in TEXTS:
        assert embedder.count_tokens(text) == torch_embedder.count_tokens(text)


def test_an_index_of_one_engine_refuses_the_other(mini_corpus, tmp_path, embedder, torch_embedder):
    """Vectors differ a little by engine: an index records its engine, and queries must use it."""
    build_index(mini_corpus, tmp_path / "index", embedder=torch_embedder)
    with pytest.raises(IndexFormatError, match="was built with model"):
        Searcher(tmp_path / "index", embedder=embedder).search("rice")


def test_build_with_the_torch_engine_from_the_cli(mini_corpus, tmp_path, model_cache):
    result = CliRunner().invoke(cli, ["build", "--corpus", str(mini_corpus), "--index", str(tmp_path / "index"),
                                      "--engine", "torch", "--threads", "1"])
    assert result.exit_code == 0, result.output
    hits = Searcher(tmp_path / "index").search("rice harvest", k=1).hits  # the index's own engine is used
    assert hits[0].citation.document == "rice-report.md"


def test_bad_engine_and_threads_are_refused():
    with pytest.raises(ModelError, match="unknown engine"):
        Embedder(engine="tensorflow")
    with pytest.raises(ModelError, match="threads must be 1 or more"):
        Embedder(threads=0)


@pytest.fixture
def private_export(tmp_path, embedder) -> Path:
    """A copy of the session's converted model and its export, to damage."""
    embedder.embed_queries(["ຜູ້ເຄາະຮ້າຍ"])  # exported by now, whichever tests ran before
    cache = tmp_path / "cache"
    shutil.copytree(embedder.cache_dir, cache, ignore=shutil.ignore_patterns(".*", "*-onnx-int8-*"))
    return cache


@pytest.mark.parametrize("damage", ["truncated", "no stamp", "not onnx"])
def test_a_damaged_export_is_made_again(private_export, damage):
    from search.model.convert import STAMP

    from search.model.adapter import adapter_hash, default_adapter

    # the default model's export (the plain model's, made by other tests, may sit beside it)
    tag = f"-lo{adapter_hash(default_adapter())[:12]}"
    folder = next(p for p in private_export.iterdir() if tag in p.name and p.name.endswith(f"-onnx-fp32-v{EXPORT_VERSION}"))
    model, size = folder / ONNX_FILE, (folder / ONNX_FILE).stat().st_size
    if damage == "truncated":
        with open(model, "r+b") as f:
            f.truncate(size // 2)
    elif damage == "no stamp":
        (folder / STAMP).unlink()
    else:  # the same size, but not a model: only loading it can tell
        model.write_bytes(b"\0" * size)
    vector = Embedder(cache_dir=private_export).embed_queries(["ຜູ້ເຄາະຮ້າຍ"])
    assert model.stat().st_size == size and abs(float(np.linalg.norm(vector)) - 1) < 1e-4
    assert (folder / STAMP).is_file()


# Late chunking: sentences pooled from their passage's own model pass (IndexConfig.sentence_vectors="late").
TWO_TOPICS = ("The police arrested 12 suspects at the border crossing in Bokeo. "
              "Separately, the ministry trained 300 teachers on child protection in schools.")
LAO_TWO = "ແຂວງຫຼວງນ້ຳທາ ມີໜ່ວຍງານໃໝ່. ຕຳຫຼວດຈັບຜູ້ຕ້ອງສົງໄສ 12 ຄົນ ຢູ່ດ່ານຊາຍແດນ."


def _halves(text: str) -> list[tuple[int, int]]:
    from search.ingest.chunk import sentence_spans

    spans = sentence_spans(text)
    assert len(spans) == 2
    return spans


@pytest.mark.parametrize("engine_fixture", ["embedder", "torch_embedder"])
def test_late_passage_vectors_are_the_ordinary_ones(request, engine_fixture):
    embedder = request.getfixturevalue(engine_fixture)
    texts = [TWO_TOPICS, LAO_TWO, TEXTS[3]]
    vectors, sentences = embedder.embed_passages_and_sentences(texts, [_halves(TWO_TOPICS), _halves(LAO_TWO), []])
    assert vectors.shape == (3, 384) and sentences.shape == (4, 384)
    assert (vectors * embedder.embed_passages(texts)).sum(axis=1).min() >= 0.9999
    assert np.allclose(np.linalg.norm(sentences, axis=1), 1, atol=1e-5)


@pytest.mark.parametrize("engine_fixture", ["embedder", "torch_embedder"])
def test_a_late_sentence_vector_is_about_its_own_sentence(request, engine_fixture):
    """Each sentence's pooled vector is closer to a question on its topic than the other sentence's is."""
    embedder = request.getfixturevalue(engine_fixture)
    _, sentences = embedder.embed_passages_and_sentences([TWO_TOPICS, LAO_TWO], [_halves(TWO_TOPICS), _halves(LAO_TWO)])
    arrests, teachers, lao_province, lao_arrests = embedder.embed_queries([
        "How many suspects were arrested at the border?", "How many teachers were trained?",
        "ໜ່ວຍງານໃໝ່ຢູ່ແຂວງໃດ?", "ຕຳຫຼວດຈັບຈັກຄົນ?"])
    assert sentences[0] @ arrests > sentences[1] @ arrests
    assert sentences[1] @ teachers > sentences[0] @ teachers
    assert sentences[3] @ lao_arrests > sentences[2] @ lao_arrests


def test_late_vectors_of_onnx_and_torch_agree(embedder, torch_embedder):
    spans = [_halves(TWO_TOPICS), _halves(LAO_TWO)]
    _, ours = embedder.embed_passages_and_sentences([TWO_TOPICS, LAO_TWO], spans)
    _, theirs = torch_embedder.embed_passages_and_sentences([TWO_TOPICS, LAO_TWO], spans)
    assert (ours * theirs).sum(axis=1).min() >= 0.999


def test_spans_follow_normalisation_that_changes_lengths():
    """ໜ and ໝ are read as two letters each: a later sentence's span moves right by as many."""
    from search.model.embed import model_spans
    from search.ingest.lang import normalize_text

    passage = LAO_TWO
    for (a, b), (c, d) in zip(_halves(passage), model_spans("passage: ", passage, _halves(passage))):
        assert ("passage: " + normalize_text(passage))[c:d] == normalize_text(passage[a:b])
    assert model_spans("passage: ", passage, _halves(passage))[1][0] > len("passage: ") + _halves(passage)[1][0]


@pytest.mark.parametrize("engine", ["onnx-fp32", "torch"])
def test_asking_for_a_gpu_without_one_embeds_on_the_cpu_and_says_so_once(model_cache, embedder, engine):
    """No machine here has a GPU: ``--device cuda`` must still build, with one line saying where it runs."""
    import onnxruntime
    import torch

    if torch.cuda.is_available() or "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this machine has a GPU")
    said, batch = [], [" ".join(TEXTS * 4)] * 20  # batches past QUERY_TOKENS: the session a GPU would serve
    gpu = Embedder(cache_dir=model_cache, engine=engine, device="cuda", progress=said.append)
    vectors = gpu.embed_passages(batch)
    gpu.embed_passages(batch)
    gpu.embed_queries(TEXTS[:1])
    assert np.allclose(vectors, embedder.embed_passages(batch), atol=1e-3)
    falls_back = [line for line in said if "embedding on the CPU" in line]
    assert len(falls_back) == 1, said
    assert ("onnxruntime-gpu" if engine != "torch" else "torch.cuda") in falls_back[0]
    quiet = []
    Embedder(cache_dir=model_cache, engine=engine, device="auto", progress=quiet.append).embed_passages(batch)
    assert not [line for line in quiet if "CPU" in line]


def test_an_unknown_device_is_refused():
    with pytest.raises(ModelError, match="unknown device 'gpu'"):
        Embedder(device="gpu")
