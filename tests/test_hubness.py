"""The hub discount: each vector's mean cosine with its nearest neighbours, written at build time, and the
model's lists ranked by cosine less a share of it."""

from pathlib import Path

import numpy as np
import pytest

from search import Searcher, build_index, index_is_stale
from search.evaluation.gold import load_gold
from search.index.dense import DenseIndex
from search.index.generations import current_generation
from search.index.hubness import neighbour_similarity
from search.index.records import HUBNESS
from search.index.store import load_index
from search.ingest.lang import detect_lang
from search.retrieve.lists import HUB_WEIGHT

from index_files import rewrite_manifest

GOLD = Path(__file__).parents[1] / "eval" / "gold" / "laos-tip-2022.jsonl"


def unit_rows(n: int, d: int = 16, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def brute_hubness(v: np.ndarray, k: int) -> np.ndarray:
    sims = v @ v.T
    np.fill_diagonal(sims, -np.inf)
    return np.sort(sims, axis=1)[:, ::-1][:, :k].mean(axis=1)


def test_hubness_is_the_mean_cosine_with_the_nearest_others():
    v = unit_rows(300)
    index = DenseIndex.from_vectors(v, half=False)
    assert np.allclose(neighbour_similarity(index, v, neighbours=10), brute_hubness(v, 10), atol=1e-5)
    # the rows given in parts, as the units are (sentences, then one-sentence passages)
    told = []
    parts = neighbour_similarity(index, [v[:120], v[120:]], neighbours=10, progress=lambda *p: told.append(p))
    assert np.allclose(parts, brute_hubness(v, 10), atol=1e-5)
    assert told == [(120, 300), (300, 300)]  # after each batch: here one per part


def test_a_row_is_not_its_own_neighbour_but_its_copy_is_and_a_lone_row_has_none():
    v = unit_rows(50)
    copied = np.vstack([v, v[:1]])  # row 50 is row 0 again (the same text in another report)
    got = neighbour_similarity(DenseIndex.from_vectors(copied, half=False), copied, neighbours=5)
    assert np.isclose(got[0], (1.0 + np.sort(v[1:] @ v[0])[::-1][:4].sum()) / 5, atol=1e-5)
    assert np.isclose(got[50], got[0], atol=1e-5)
    assert np.allclose(got[1:50], brute_hubness(copied, 5)[1:50], atol=1e-5)
    one = unit_rows(1)
    assert neighbour_similarity(DenseIndex.from_vectors(one), one).tolist() == [0.0]


def test_an_inverted_file_gives_nearly_the_exact_hubness():
    topics = unit_rows(40, d=32, seed=1)  # passages gather by subject, as a library's do
    v = topics[np.arange(3000) % 40] + 0.6 * unit_rows(3000, d=32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    exact = neighbour_similarity(DenseIndex.from_vectors(v, ivf_from=10_000), v)
    ivf = neighbour_similarity(DenseIndex.from_vectors(v, ivf_from=1000), v)
    # a row whose neighbours lie in clusters its search does not scan finds less close ones, never closer ones
    assert (ivf <= exact + 1e-3).all() and (exact - ivf).mean() < 0.002


def discounted_head(query: np.ndarray, v: np.ndarray, hubness: np.ndarray, k: int, weight: float) -> list[int]:
    """The ``HUB_FETCH`` × ``k`` rows closest by cosine, ranked by cosine less ``weight`` × hubness: the first ``k``."""
    from search.index.dense import HUB_FETCH

    cosine = v @ query
    head = np.argsort(-cosine, kind="stable")[:HUB_FETCH * k]
    return head[np.argsort(-(cosine[head] - weight * hubness[head]), kind="stable")][:k].tolist()


def test_a_discounted_search_reranks_the_cosines_head_by_cosine_less_the_share_of_hubness():
    v = unit_rows(400)
    index = DenseIndex.from_vectors(v, half=False)
    plain = index.search(v[:5], 10)
    assert index.search(v[:5], 10, hub_weight=0.2) == plain  # no hubness known: plain cosine
    index.hubness = brute_hubness(v, 10).astype(np.float32)
    assert index.search(v[:5], 10) == plain  # no weight: plain cosine
    moved = 0
    for query, hits, before in zip(v[:5], index.search(v[:5], 10, hub_weight=0.2), plain):
        want = discounted_head(query, v, index.hubness, 10, 0.2)
        assert [row for row, _ in hits] == want
        assert np.allclose([s for _, s in hits], v[want] @ query - 0.2 * index.hubness[want], atol=1e-5)
        moved += hits != before
    assert moved


def test_the_build_writes_every_vectors_hubness(tip_index):
    """The real index of the bundled report: hubness of its passages and units as computed from the stored vectors."""
    index = load_index(tip_index)
    passages = index.dense.vectors()
    assert HUBNESS in index.manifest.files and len(index.hubness) == len(passages) + len(index.units)
    assert np.allclose(index.hubness[:len(passages)], brute_hubness(passages, 10), atol=1e-3)
    assert np.allclose(index.hubness[len(passages):], brute_hubness(index.units.vectors(), 10), atol=1e-3)
    assert index.dense.hubness is not None and index.units.hubness is not None


def test_the_passage_list_reranks_the_cosines_head(searcher):
    """The real model and index, the dev set's first 20 questions: the passage list is the cosine's head re-ranked."""
    index = searcher.index
    passages = index.dense.vectors()
    questions = [q.question for q in load_gold(GOLD)[0]][:20]
    vectors = searcher.embedder.embed_queries(questions)
    langs = [detect_lang(q, candidates=tuple(index.rows_by_lang)) for q in questions]
    centered = index.centering.apply(vectors, langs)
    moved = 0
    for query, hits in zip(centered, index.dense.search(centered, 10, hub_weight=HUB_WEIGHT)):
        assert [row for row, _ in hits] == discounted_head(query, passages, index.dense.hubness, 10, HUB_WEIGHT)
        moved += [row for row, _ in hits] != np.argsort(-(passages @ query), kind="stable")[:10].tolist()
    assert moved  # the discount changes some of these lists


def test_an_index_written_before_hubness_is_searched_and_brought_up_to_date(mini_corpus, tmp_path, embedder, monkeypatch):
    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=embedder)
    generation = rewrite_manifest(index_dir, lambda values: values["files"].pop(HUBNESS))
    (generation / HUBNESS).unlink()
    old = load_index(index_dir)
    assert old.hubness is None and old.dense.hubness is None
    assert Searcher(index_dir, embedder=embedder).search("rice exports").hits  # searched without the discount
    assert index_is_stale(mini_corpus, index_dir)
    embedded = []
    real = embedder.embed_passages
    monkeypatch.setattr(embedder, "embed_passages", lambda texts, *a, **kw: embedded.extend(texts) or real(texts, *a, **kw))
    told = []
    build_index(mini_corpus, index_dir, embedder=embedder, progress=lambda *step: told.append(step))
    assert embedded == [] and not index_is_stale(mini_corpus, index_dir)  # nothing embedded again
    rebuilt = load_index(index_dir)
    assert rebuilt.hubness is not None
    # the step shows progress too (minutes at a million passages): passages, then units, to the last one
    measured = [(done, total) for stage, done, total in told if stage == "neighbours"]
    assert measured and measured[-1] == (len(rebuilt.hubness), len(rebuilt.hubness))
    assert [done for done, _ in measured] == sorted(done for done, _ in measured)


def test_a_damaged_hubness_file_says_how_to_rebuild(mini_corpus, tmp_path, embedder):
    from search.errors import IndexFormatError

    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=embedder)
    generation = current_generation(index_dir)[0]
    np.save(generation / HUBNESS, np.zeros(3, np.float32))
    with pytest.raises(IndexFormatError, match="hubness.npy.*(rebuild|build)"):
        load_index(index_dir, verify="none")
