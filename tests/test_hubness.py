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
    assert told == [(300, 300)]  # after each batch of rows (parts are searched together): here one


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


def changed_library(seed: int = 2, d: int = 32):
    """A library of vectors gathered by topic, and the same library after removing some and adding others:
    (before, after, each after row's row before or -1)."""
    rng = np.random.default_rng(seed)
    topics = unit_rows(40, d=d, seed=seed)
    v = topics[rng.integers(0, 40, 3300)] + 0.6 * unit_rows(3300, d=d, seed=seed + 1)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    before = v[:3000]
    kept = np.concatenate([np.arange(0, 1200), np.arange(1330, 3000)])  # a report of 130 removed
    carried = np.concatenate([kept, np.full(300, -1)])  # and one of 300 added
    after = np.vstack([before[kept], v[3000:]])
    return before, after, carried


@pytest.mark.parametrize("ivf_from", [10_000, 1000])
def test_an_update_measures_what_moved_and_gives_a_full_measurements_neighbourhoods(ivf_from):
    """Removing and adding vectors: the kept lists merged with the new vectors they meet, and those that lost a
    neighbour searched again, give every row the hubness a full measurement of the new index gives, exact or
    an inverted file whose clusters the update keeps."""
    from search.index.hubness import measure
    from search.index.neighbours import updated

    before, after, carried = changed_library()
    old_index = DenseIndex.from_vectors(before, ivf_from=ivf_from)
    old = measure(old_index, before)
    new_index = DenseIndex.from_vectors([after[:2000], after[2000:]], ivf_from=ivf_from, like=old_index, carried=carried)
    assert new_index.exact == (ivf_from > 3300)
    full = measure(new_index, [after[:2000], after[2000:]])
    searched = []
    import search.index.neighbours as module
    real = module.measure
    module.measure = lambda *a, rows=None, **kw: searched.append(rows) or real(*a, rows=rows, **kw)
    try:
        got = updated(old, new_index, [after[:2000], after[2000:]], carried, np.zeros(len(after), bool), like=old_index)
    finally:
        module.measure = real
    removed = np.setdiff1d(np.arange(len(before)), carried)
    lost_one = np.isin(old.ids[carried[carried >= 0]], removed).any(axis=1)
    assert len(searched) == 1 and len(searched[0]) == 300 + lost_one.sum() < len(after) / 2  # new, or lost a neighbour
    assert np.array_equal(got.hubness(), full.hubness())
    assert np.array_equal(got.scores, full.scores)
    assert np.array_equal(got.probes, full.probes) and np.array_equal(got.probe_scores, full.probe_scores)
    assert (np.sort(got.ids, axis=1) == np.sort(full.ids, axis=1)).mean() > 0.999  # ids: ties may swap
    # a vector that moved (its language's mean is the library's own) counts as new: still the full measurement
    moved = np.zeros(len(after), bool)
    moved[:200] = True
    shifted = after.copy()
    shifted[:200] = unit_rows(200, d=32, seed=9)
    shifted_index = DenseIndex.from_vectors(shifted, ivf_from=ivf_from, like=old_index, carried=carried)
    again = updated(old, shifted_index, shifted, carried, moved, like=old_index)
    assert np.array_equal(again.hubness(), measure(shifted_index, shifted).hubness())


def test_an_index_written_before_neighbourhoods_is_searched_and_brought_up_to_date(mini_corpus, tmp_path, embedder,
                                                                                   monkeypatch):
    """Without the kept neighbourhoods an index is searched as it is (hub discount included), counts as out of
    date, and the next build writes them, measuring every vector and embedding nothing."""
    from search.index.records import NEIGHBOUR_SCORES, NEIGHBOURS

    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=embedder)
    hubness = np.array(load_index(index_dir).hubness)
    generation = rewrite_manifest(index_dir, lambda values: [values["files"].pop(n) for n in (NEIGHBOURS, NEIGHBOUR_SCORES)])
    (generation / NEIGHBOURS).unlink()
    (generation / NEIGHBOUR_SCORES).unlink()
    assert np.array_equal(load_index(index_dir).dense.hubness, hubness[:len(load_index(index_dir).passages)])
    assert Searcher(index_dir, embedder=embedder).search("rice exports").hits
    assert index_is_stale(mini_corpus, index_dir)
    embedded = []
    real = embedder.embed_passages
    monkeypatch.setattr(embedder, "embed_passages", lambda texts, *a, **kw: embedded.extend(texts) or real(texts, *a, **kw))
    build_index(mini_corpus, index_dir, embedder=embedder)
    assert embedded == [] and not index_is_stale(mini_corpus, index_dir)
    rebuilt = current_generation(index_dir)[0]
    assert (rebuilt / NEIGHBOURS).is_file() and np.array_equal(load_index(index_dir).hubness, hubness)
