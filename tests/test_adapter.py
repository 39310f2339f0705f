"""The Lao adapter: its training data, its merge into the model, and what it changes (real model)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from search import Embedder
from search.errors import ModelError
from search.ingest.lang import is_lao_char
from search.evaluation.gold import load_gold
from search.model.adapter import ADAPTER_DIR, CONFIG, WEIGHTS, default_adapter, merge_adapter

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("adapt", ROOT / "train" / "adapt.py")
adapt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(adapt)


def _write_adapter(folder: Path, weights: dict, scaling: float) -> Path:
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    save_file(weights, str(folder / WEIGHTS))
    (folder / CONFIG).write_text(json.dumps({"scaling": scaling}), encoding="utf-8")
    return folder


def test_merge_adds_scaled_b_times_a(tmp_path):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 5)).astype(np.float16), rng.normal(size=(3, 2)).astype(np.float16)
    folder = _write_adapter(tmp_path / "ad", {"layer.q.lora_A": a, "layer.q.lora_B": b}, 2.0)
    weight, other = rng.normal(size=(3, 5)).astype(np.float32), np.ones((4,), np.float32)
    merged = merge_adapter({"layer.q.weight": weight.copy(), "layer.q.bias": other}, folder)
    np.testing.assert_allclose(merged["layer.q.weight"], weight + 2.0 * (b.astype(np.float32) @ a.astype(np.float32)),
                               rtol=1e-6)
    assert merged["layer.q.bias"] is other


@pytest.mark.parametrize("damage", ["wrong shape", "unknown layer", "no config"])
def test_an_adapter_that_does_not_fit_is_refused(tmp_path, damage):
    a, b = np.ones((2, 5), np.float16), np.ones((3, 2), np.float16)
    name = "layer.other" if damage == "unknown layer" else "layer.q"
    folder = _write_adapter(tmp_path / "ad", {f"{name}.lora_A": a, f"{name}.lora_B": b}, 1.0)
    if damage == "no config":
        (folder / CONFIG).unlink()
    shape = (3, 4) if damage == "wrong shape" else (3, 5)
    with pytest.raises(ModelError, match="adapter"):
        merge_adapter({"layer.q.weight": np.zeros(shape, np.float32)}, folder)


def test_the_shipped_adapter_is_small_and_says_how_it_was_made():
    assert default_adapter() == ADAPTER_DIR
    config = json.loads((ADAPTER_DIR / CONFIG).read_text(encoding="utf-8"))
    assert (ADAPTER_DIR / WEIGHTS).stat().st_size <= 20_000_000
    assert config["weights_sha256"] == hashlib.sha256((ADAPTER_DIR / WEIGHTS).read_bytes()).hexdigest()
    assert config["command"].startswith("python train/adapt.py")
    # trained on the dictionary this install carries and the written questions as committed
    assert config["data"]["sha256"] == hashlib.sha256(adapt.dictionary_path().read_bytes()).hexdigest()
    for name, sha in config["data"]["questions"]["files"].items():
        assert sha == hashlib.sha256((ROOT / name).read_bytes()).hexdigest(), name


def test_training_pairs_come_from_the_dictionary_and_never_from_the_eval():
    pairs = adapt.dictionary_pairs(adapt.dictionary_path())
    assert len(pairs) > 20_000
    assert ("ເດັກນ້ອຍ", "child") in pairs and ("ແຮງງານ", "labor") in pairs
    texts = {t for pair in pairs for t in pair}
    report = (ROOT / "corpus" / "laos-tip-2022-voa.txt").read_text(encoding="utf-8")
    questions = [q for gold in sorted((ROOT / "eval" / "gold").glob("*.jsonl")) for q in load_gold(gold)[0]]
    assert len(questions) >= 100
    for q in questions:
        assert q.question not in texts
        assert not any(len(answer) > 30 and answer in texts for answer in q.answers)
    # no pair is a sentence of the report (single words occur in it, as in any text)
    assert not any(len(t) > 30 and t in report for t in texts)


def test_batches_take_turns_and_never_repeat_a_text():
    pairs = [(f"ລາວ{i}", f"word{i % 50}") for i in range(200)]
    batches = list(adapt.batches(pairs, 16, 6, seed=0))
    assert [kind for kind, *_ in batches] == list(adapt.WORD_KINDS) * 2
    for kind, queries, passages, targets in batches:
        assert len(queries) == len(passages) == 16 and targets == list(range(16))
        assert len(set(queries) | set(passages)) == 32
        assert all(q.startswith("query: ") for q in queries) and all(p.startswith("passage: ") for p in passages)
    assert batches == list(adapt.batches(pairs, 16, 6, seed=0))  # seeded


def test_question_batches_point_each_question_at_its_own_paragraph():
    """Half the batches are written questions; each question's target is the paragraph that answers it, with
    hard negatives of the same law beside it and no paragraph twice (a shared one would be a false negative)."""
    pairs = [(f"ລາວ{i}", f"word{i}") for i in range(100)]
    triples = adapt.question_triples()
    answers = {}
    for question, answer, _ in triples:
        answers.setdefault(question, set()).add(answer)
    batches = list(adapt.batches(pairs, 8, 12, seed=0, triples=triples, qa_size=16, qa_every=2))
    assert [kind for kind, *_ in batches] == list(adapt.kinds_in_turn(2)) * 2
    for kind, queries, passages, targets in batches:
        if kind != "qa":
            continue
        assert len(queries) == len(targets) == 16 and len(set(passages)) == len(passages) > 16
        for query, target in zip(queries, targets):
            assert passages[target].removeprefix("passage: ") in answers[query.removeprefix("query: ")]
    assert batches == list(adapt.batches(pairs, 8, 12, seed=0, triples=triples, qa_size=16, qa_every=2))


def test_written_questions_train_in_both_languages_and_never_from_the_eval():
    triples = adapt.question_triples()
    assert len(triples) >= 1500
    lao = [t for t in triples if any(is_lao_char(c) for c in t[0])]
    assert len(lao) >= 1000
    assert sum(1 for q, a, _ in lao if not any(is_lao_char(c) for c in a)) >= 600  # Lao questions, English answers
    gold = {q.question for path in sorted((ROOT / "eval" / "gold").glob("*.jsonl")) for q in load_gold(path)[0]}
    assert not gold & {t[0] for t in triples}


WORDS = {  # Lao words of the report's subject, and the English the search needs to reach
    "ຜູ້ເຄາະຮ້າຍ": "victim", "ຊາຍແດນ": "border", "ການຄ້າມະນຸດ": "human trafficking",
    "ຕຳຫຼວດ": "police", "ເດັກນ້ອຍ": "children", "ແຮງງານ": "labor", "ສານ": "court", "ຍິງ": "women",
}


def test_the_adapter_brings_lao_words_to_their_english(embedder, plain_embedder):
    """Each Lao word should rank its English first among the others' English, more often adapted than plain."""
    def right(e: Embedder) -> int:
        lao = e.embed_queries(list(WORDS))
        english = e.embed_passages(list(WORDS.values()))
        return int((np.argmax(lao @ english.T, axis=1) == np.arange(len(WORDS))).sum())

    assert embedder.model_id != plain_embedder.model_id and "+lo" in embedder.model_id
    adapted, plain = right(embedder), right(plain_embedder)
    assert adapted > plain and adapted >= len(WORDS) - 1, (adapted, plain)


def test_english_is_not_forgotten(embedder, plain_embedder):
    questions = ["How many traffickers were convicted?", "Which law criminalizes trafficking?"]
    answers = ["The courts convicted 19 traffickers in 2021.", "Article 215 of the penal code criminalizes trafficking."]
    for e in (embedder, plain_embedder):
        sims = e.embed_queries(questions) @ e.embed_passages(answers).T
        assert (np.argmax(sims, axis=1) == [0, 1]).all()


def test_an_index_of_the_model_before_the_adapter_is_rebuilt_before_serving(mini_corpus, tmp_path, plain_embedder,
                                                                           embedder, model_cache):
    """An index built before the adapter shipped holds vectors the adapted model cannot search: the app
    rebuilds it at start instead of serving one model-mismatch error per search."""
    from search.serve.prepare import prepare_index
    from search import Searcher, build_index
    from search.index.generations import read_manifest

    index = tmp_path / "index"
    build_index(mini_corpus, index, embedder=plain_embedder)  # as an older release wrote it
    assert read_manifest(index).model_id == plain_embedder.model_id
    served, stale = prepare_index(mini_corpus, index, model_cache)
    assert not stale and served.model_id == embedder.model_id == read_manifest(index).model_id
    assert Searcher(index, embedder=served).search("ferry", k=1).hits


def test_the_adapter_lifts_lao_questions_answered_in_english(searcher, plain_searcher):
    """The same report, the same retriever, the model with and without the adapter (plain dense, so that
    nothing else helps). Measured on the dev set's 24 lo->en questions: mrr@10 0.278 -> 0.460, hit@5 8 -> 14;
    English questions answered in English: hit@5 26 -> 25 of 26."""
    from search.evaluation.evaluate import evaluate

    questions, _ = load_gold(ROOT / "eval" / "gold" / "laos-tip-2022.jsonl")
    adapted = evaluate(searcher, questions, retriever="dense-raw")
    plain = evaluate(plain_searcher, questions, retriever="dense-raw")
    assert adapted.by_pair["lo->en"]["mrr@10"] > plain.by_pair["lo->en"]["mrr@10"] + 0.1
    assert adapted.by_pair["lo->en"]["hit@5"] > plain.by_pair["lo->en"]["hit@5"] + 0.15
    assert adapted.by_pair["en->en"]["hit@5"] >= plain.by_pair["en->en"]["hit@5"] - 0.04  # one question at most
