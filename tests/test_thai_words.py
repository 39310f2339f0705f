"""The Lao dictionary's words read as Thai, embedded once per model (search/model/thai_words.py): a Lao question's
words are looked up, not embedded while the user waits, and nothing it ranks moves."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from search import Searcher
from search.evaluation.gold import load_gold
from search.ingest.thai import read_as_thai
from search.ingest.tokenize import tokenize
from search.model import thai_words
from search.retrieve.bridge import lao_content_words

from conftest import ROOT

LAO_QUESTIONS = [q.question for q in load_gold(ROOT / "eval/gold/laos-tip-2022.jsonl")[0] if q.lang == "lo"][:12]


@pytest.fixture
def small_dictionary(monkeypatch, embedder):
    """The dictionary cut to these questions' words and a hundred others (the whole takes minutes to embed);
    the store it makes is removed after, so no other test meets it."""
    asked = {w for q in LAO_QUESTIONS for w in lao_content_words(tokenize(q))}
    words = tuple(sorted(asked | set(thai_words.dictionary_words()[:100])))
    monkeypatch.setattr(thai_words, "dictionary_words", lambda: words)
    yield words
    thai_words.store_path(embedder.cache_dir, embedder.model_id).unlink(missing_ok=True)


@pytest.fixture
def word_calls(monkeypatch, embedder) -> list[str]:
    """Every Lao word the embedder is asked to embed (read as Thai), one entry per word."""
    readings = {read_as_thai(w): w for q in LAO_QUESTIONS for w in lao_content_words(tokenize(q))}
    calls: list[str] = []
    inner = embedder.embed_queries

    def counting(texts, **kw):
        calls.extend(readings[t] for t in texts if t in readings)
        return inner(texts, **kw)
    monkeypatch.setattr(embedder, "embed_queries", counting)
    return calls


def _ranks(searcher: Searcher) -> list[list[tuple[str, float]]]:
    return [[(h.passage_id, round(h.score, 4)) for h in searcher.search(q, k=10).hits] for q in LAO_QUESTIONS]


def test_a_lao_questions_words_are_looked_up_and_nothing_ranked_moves(tip_index, embedder, small_dictionary,
                                                                       word_calls):
    before = Searcher(tip_index, embedder=embedder, word_cache_size=0)
    before.warm_up()
    assert not before.has_thai_words
    ranked = _ranks(before)
    assert word_calls, "the bundled report's index lacks some of these questions' words: they were embedded"

    seen = []
    assert before.prepare_thai_words(progress=lambda done, total: seen.append((done, total))) == len(small_dictionary)
    assert seen[-1] == (len(small_dictionary), len(small_dictionary))
    word_calls.clear()
    after = Searcher(tip_index, embedder=embedder, word_cache_size=0)
    after.warm_up()  # found in the model cache
    assert after.has_thai_words
    assert _ranks(after) == ranked
    assert word_calls == []  # every word the index lacks was in the dictionary's store

    store = thai_words.load_thai_words(embedder.cache_dir, embedder.model_id)
    some = [w for w in small_dictionary if w in set(lao_content_words(tokenize(LAO_QUESTIONS[0])))][:4]
    for word in some:  # each the vector the word gets embedded alone
        alone = embedder.embed_queries([read_as_thai(word)])[0]
        assert np.abs(store.get([word])[word] - alone).max() < 1e-5


def test_a_damaged_or_foreign_store_is_not_used_and_is_made_again(embedder, small_dictionary):
    made = thai_words.prepare_thai_words(embedder)
    path = thai_words.store_path(embedder.cache_dir, embedder.model_id)
    assert thai_words.load_thai_words(embedder.cache_dir, embedder.model_id) is not None
    assert thai_words.load_thai_words(embedder.cache_dir, "another-model") is None
    other_words = small_dictionary[:-1]
    assert thai_words.load_thai_words(embedder.cache_dir, embedder.model_id, other_words) is None
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert thai_words.load_thai_words(embedder.cache_dir, embedder.model_id) is None
    again = thai_words.prepare_thai_words(embedder)
    assert again.words == made.words and np.allclose(again.vectors, made.vectors, atol=1e-6)
    assert thai_words.load_thai_words(embedder.cache_dir, embedder.model_id) is not None


def test_the_app_embeds_the_words_in_the_background_once(tip_index, embedder, small_dictionary, tmp_path):
    from search.serve.page import build_app

    build_app(tip_index, corpus_dir=tmp_path / "corpus", embedder=embedder, read_only=True, thai_words=True)
    worker = next((t for t in threading.enumerate() if t.name == "thai-words"), None)
    if worker is not None:  # else it has already finished
        worker.join(timeout=600)
        assert not worker.is_alive()
    assert thai_words.load_thai_words(embedder.cache_dir, embedder.model_id) is not None  # made by that thread
    build_app(tip_index, corpus_dir=tmp_path / "corpus", embedder=embedder, read_only=True, thai_words=True)
    assert not any(t.name == "thai-words" for t in threading.enumerate())  # found: nothing to do


@pytest.mark.parametrize("env, args, expected", [(None, [], True), ("0", [], False), ("1", ["--no-thai-words"], False)])
def test_serve_embeds_the_words_unless_told_not_to(monkeypatch, env, args, expected):
    from click.testing import CliRunner

    import search.serve.run
    from search.cli import cli

    told = []
    monkeypatch.setattr(search.serve.run, "serve", told.append)
    if env is None:
        monkeypatch.delenv("REPORT_SEARCH_THAI_WORDS", raising=False)
    else:
        monkeypatch.setenv("REPORT_SEARCH_THAI_WORDS", env)
    result = CliRunner().invoke(cli, ["serve", *args])
    assert result.exit_code == 0, result.output
    assert told[0].thai_words is expected
