"""Updating an index: adding or removing a report costs that report's work, and gives the index a build
from scratch gives (BM25 statistics, the bridge's term counts, quantities, passages, vectors, hubness)."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from search import build_index, index_is_stale
from search.index import build as build_module
from search.index.generations import current_generation
from search.index.hubness import neighbour_similarity
from search.index.records import PASSAGES, Passage
from search.index.sparse import COUNTS
from search.index.store import load_index
from search.index.terms import TermCounts
from search.retrieve.engine import Searcher

from conftest import CORPUS


@pytest.fixture
def tokenized(monkeypatch) -> list[str]:
    """Every passage text the build tokenizes (for BM25 and the term counts), in order."""
    seen: list[str] = []
    inner = build_module.words_and_tokens

    def counting(text, **kwargs):
        seen.append(text)
        return inner(text, **kwargs)
    monkeypatch.setattr(build_module, "words_and_tokens", counting)
    return seen


@pytest.fixture
def parsed(monkeypatch) -> list[str]:
    """The id of every stored passage a build parses (a kept report's passages should not be)."""
    seen: list[str] = []
    inner = Passage.from_record.__func__

    def counting(cls, record):
        seen.append(record["id"])
        return inner(cls, record)
    monkeypatch.setattr(Passage, "from_record", classmethod(counting))
    return seen


@pytest.fixture
def measured(monkeypatch) -> list:
    """How many rows each neighbourhood measurement of a build searched ("all" for every row)."""
    from search.index import neighbours

    seen: list = []
    inner = neighbours.measure

    def counting(*args, rows=None, **kwargs):
        seen.append("all" if rows is None else len(rows))
        return inner(*args, rows=rows, **kwargs)
    monkeypatch.setattr(neighbours, "measure", counting)
    return seen


def assert_same_index(updated, scratch) -> None:
    a, b = load_index(updated), load_index(scratch)
    assert (a.path / PASSAGES).read_bytes() == (b.path / PASSAGES).read_bytes()  # kept lines copied as they were
    for name in ("offsets", "lang", "langs", "doc", "docs", "paragraph", "sentences", "hashes"):
        assert np.array_equal(getattr(a.table, name), getattr(b.table, name)), name  # kept columns taken over
    for got, want in ((a.centering, b.centering), (a.sentence_centering, b.sentence_centering)):
        assert got.means.keys() == want.means.keys()
        for lang in got.means:
            np.testing.assert_allclose(got.means[lang], want.means[lang], atol=1e-5)
    np.testing.assert_allclose(a.vectors, b.vectors, atol=1e-4)  # reused against embedded again in other batches
    np.testing.assert_allclose(a.hubness, b.hubness, atol=1e-4)  # the same, as the vectors are
    # and exactly what measuring every passage of the updated index gives (the update measured only some)
    centered = a.centering.apply(np.asarray(a.vectors), a.table.lang_names())
    assert np.array_equal(a.hubness[:len(a.passages)], neighbour_similarity(a.dense, centered))
    assert np.array_equal(a.numeric_passages, b.numeric_passages)
    assert np.array_equal(a.numeric_sentences, b.numeric_sentences)
    assert set(a.sparse.vocab) == set(b.sparse.vocab)
    tokens = sorted(b.sparse.vocab)
    queries = [{t: 1.0} for t in tokens] + [{t: 0.3 for t in tokens[::7]}]
    for query in queries:  # every passage scores the same for every token, to the bit
        assert np.array_equal(a.sparse.scores(query), b.sparse.scores(query)), query
    counts_a, counts_b = TermCounts.load(a.path), TermCounts.load(b.path)
    for lang in ("en", "lo"):
        assert dict(counts_a.df[lang]) == dict(counts_b.df[lang])
        assert counts_a.chosen(lang) == counts_b.chosen(lang)
        assert a.terms[lang].words == b.terms[lang].words


def test_adding_and_removing_a_report_tokenizes_only_that_report_and_gives_a_scratch_build(
        mini_corpus, tmp_path, embedder, tokenized, parsed, measured):
    corpus, held = mini_corpus, tmp_path / "held"
    shutil.copy(CORPUS / "laos-tip-2022-voa.txt", corpus)
    held.mkdir()
    new = sorted(p for p in corpus.iterdir() if p.name != "laos-tip-2022-voa.txt")[0]
    shutil.move(new, held / new.name)
    index = tmp_path / "index"
    first = build_index(corpus, index, embedder=embedder)
    assert len(tokenized) == first.passages  # the first build tokenizes every passage

    shutil.move(held / new.name, corpus / new.name)
    tokenized.clear()
    parsed.clear()
    measured.clear()
    added = build_index(corpus, index, embedder=embedder)
    assert parsed == []  # the kept reports' passages are copied, not read
    rows = load_index(index).document_rows[new.name]
    assert measured[0] == len(rows)  # the passages' neighbourhoods: only the new report's searched
    assert added.embedded == len(rows) == len(tokenized)  # only the new report's passages
    assert set(tokenized) == {load_index(index).passages[r].text for r in rows}
    build_index(corpus, tmp_path / "scratch", embedder=embedder)
    assert_same_index(index, tmp_path / "scratch")

    gone = corpus / "laos-tip-2022-voa.txt"
    removed_texts = {load_index(index).passages[r].text for r in load_index(index).document_rows[gone.name]}
    removed_ids = [load_index(index).passages[r].passage_id for r in load_index(index).document_rows[gone.name]]
    gone.unlink()
    tokenized.clear()
    parsed.clear()
    after = build_index(corpus, index, embedder=embedder)
    assert parsed == removed_ids  # only the removed report's, to take its terms out of the counts
    assert after.embedded == 0 and set(tokenized) == removed_texts  # taken back out of the term counts
    build_index(corpus, tmp_path / "scratch-2", embedder=embedder)
    assert_same_index(index, tmp_path / "scratch-2")
    searcher = Searcher(index, embedder=embedder)
    assert new.name == "health-report.txt"
    assert searcher.search("How many children did the provincial hospital vaccinate?", k=5).hits[0].citation.document == new.name
    hits = searcher.search("How many trafficking victims did the government identify?", k=10).hits
    assert hits and all(h.citation.document != gone.name for h in hits)


def test_damaged_counts_are_not_trusted_the_build_counts_every_passage(mini_corpus, tmp_path, embedder, tokenized):
    index = tmp_path / "index"
    held = sorted(mini_corpus.iterdir())[0]
    kept_aside = tmp_path / held.name
    shutil.move(held, kept_aside)
    build_index(mini_corpus, index, embedder=embedder)
    generation, _ = current_generation(index)
    (generation / COUNTS).write_bytes(b"not a matrix")  # the size check may pass or not: the checksum does not
    shutil.move(kept_aside, mini_corpus / held.name)
    tokenized.clear()
    report = build_index(mini_corpus, index, embedder=embedder)
    assert len(tokenized) == report.passages  # counted again from the passages, not from the damaged file
    build_index(mini_corpus, tmp_path / "scratch", embedder=embedder)
    assert_same_index(index, tmp_path / "scratch")


def test_counts_made_by_other_tokenizing_rules_are_counted_again(mini_corpus, tmp_path, embedder, tokenized,
                                                                 monkeypatch):
    """A change of tokenizing rules (``TOKENS``) makes the stored counts stale: the next build counts every passage."""
    import search.index.terms

    index = tmp_path / "index"
    build_index(mini_corpus, index, embedder=embedder)
    monkeypatch.setattr(search.index.terms, "TOKENS", search.index.terms.TOKENS + 1)
    tokenized.clear()
    report = build_index(mini_corpus, index, embedder=embedder)
    assert report.embedded == 0 and len(tokenized) == report.passages


def test_new_reading_rules_keep_the_vectors_of_the_texts_a_report_had(mini_corpus, tmp_path, embedder, monkeypatch):
    """Read by newer rules (``READING``), a report whose passages are texts it had (a heading that was a passage
    is one no more) is embedded no further: each passage keeps its text's vectors, passage and sentences."""
    from search.index import freshness

    index = tmp_path / "index"
    build_index(mini_corpus, index, embedder=embedder)
    before = load_index(index)
    old = {before.passages[i].text: (before.vectors[i].copy(), before.sentence_vectors[a:b].copy())
           for i, (a, b) in enumerate(before.sentence_rows)}
    name = max(before.document_rows, key=lambda d: len(before.document_rows[d]))
    dropped = before.passages[before.document_rows[name][0]].text
    cut = build_module.document_passages
    monkeypatch.setattr(build_module, "document_passages",  # the newer rules: that report's first passage is gone
                        lambda doc, *a, **k: [p for p in cut(doc, *a, **k) if p.text != dropped])
    monkeypatch.setattr(freshness, "READING", freshness.READING + 1)
    report = build_index(mini_corpus, index, embedder=embedder)
    assert report.embedded == 0 and report.passages == len(before.passages) - 1
    after = load_index(index)
    for i, (a, b) in enumerate(after.sentence_rows):
        vector, sentences = old[after.passages[i].text]
        np.testing.assert_array_equal(after.vectors[i], vector)
        np.testing.assert_array_equal(after.sentence_vectors[a:b], sentences)


def test_what_a_ray_build_need_not_send_is_what_the_build_keeps(mini_corpus, tmp_path, embedder):
    """The reports a build keeps as they are (their bytes, config, model and reading rules the same): a Ray build
    sends only the others. Another model (an adapter changed, another engine) keeps none."""
    from search.index.freshness import kept_as_they_are
    from search.index.records import IndexConfig

    index = tmp_path / "index"
    built = build_index(mini_corpus, index, embedder=embedder)
    held = kept_as_they_are(index, IndexConfig(), embedder.model_id)
    assert sorted(held) == sorted(built.documents)
    assert kept_as_they_are(index, IndexConfig(), embedder.model_id + "+another-adapter") == {}
    assert kept_as_they_are(index, IndexConfig(max_words=50), embedder.model_id) == {}


def test_an_inverted_file_of_a_grown_library_reuses_the_previous_clusters(tmp_path):
    """Adding vectors to a library keeps its k-means clusters (no training again) and finds what exact search finds;
    a library grown far past them trains its own."""
    from search.index.dense import DenseIndex

    rng = np.random.default_rng(0)
    topics = rng.standard_normal((30, 64)).astype(np.float32)
    vectors = topics[rng.integers(0, 30, 3200)] + 0.5 * rng.standard_normal((3200, 64)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    before = DenseIndex.from_vectors(vectors[:3000], ivf_from=1000)
    before.save(tmp_path / "before.faiss")
    before = DenseIndex.load(tmp_path / "before.faiss")  # as a build finds it: memory-mapped
    grown = DenseIndex.from_vectors(vectors, ivf_from=1000, like=before)
    lists = before.index.nlist
    assert grown.index.nlist == lists
    assert np.array_equal(before.centroids(64, lists), grown.centroids(64, lists))
    queries = vectors[-20:] + 0.3 * rng.standard_normal((20, 64)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    truth = DenseIndex.from_vectors(vectors, ivf_from=10_000).search(queries, 10)
    found = grown.search(queries, 10)
    assert np.mean([len({i for i, _ in t} & {i for i, _ in f}) / 10 for t, f in zip(truth, found)]) >= 0.95
    # Kept vectors keep their clusters without being compared with the centres again: the same places as
    # assigning every vector afresh (the vectors did not move), and a removed vector leaves no trace.
    order = np.concatenate([np.arange(100, 3000), np.arange(3000, 3200)])
    carried = np.concatenate([np.arange(100, 3000), np.full(200, -1)])
    fast = DenseIndex.from_vectors(vectors[order], ivf_from=1000, like=before, carried=carried)
    slow = DenseIndex.from_vectors(vectors[order], ivf_from=1000, like=before)
    assert np.array_equal(fast.places(), slow.places()) and (fast.places() >= 0).all()
    assert [f[:5] for f in fast.search(queries, 10)] == [s[:5] for s in slow.search(queries, 10)]
    far = np.vstack([vectors] * 4)
    assert DenseIndex.from_vectors(far, ivf_from=1000, like=before).index.nlist == int(4 * np.sqrt(len(far)))


def test_carried_runs_split_kept_rows_where_they_stop_following_each_other():
    from search.index.vector_files import Carried
    from search.index.records import Joined

    carried = Carried(np.array([5, 6, 7, -1, -1, 2, 3, 9]), passages=["stand-in"])
    assert carried.runs() == [(0, 3), (3, 5), (5, 7), (7, 8)]
    assert Carried(np.array([4, 5]), passages=None).runs() == [(0, 2)]  # no lines to copy: all written anew
    assert Carried.nothing(0).runs() == []
    joined = Joined([[1, 2], [], [3]])
    assert len(joined) == 3 and list(joined) == [1, 2, 3] and joined[2] == 3 and joined[-1] == 3 and joined[1:] == [2, 3]
    with pytest.raises(IndexError):
        joined[3]


@pytest.fixture
def corpus_reads(monkeypatch) -> list[str]:
    """The name of every corpus file whose bytes are hashed (a file whose stamp is unchanged should not be)."""
    from search import fileio

    seen: list[str] = []
    inner = fileio.file_sha256

    def counting(path):
        if not any(part.startswith(("gen-", ".staging-")) for part in Path(path).parts):  # the index's are not
            seen.append(Path(path).name)
        return inner(path)
    monkeypatch.setattr(fileio, "file_sha256", counting)
    monkeypatch.setattr(fileio, "SETTLED_SECONDS", 0.0)  # the test's files were written a moment ago
    return seen


def test_a_file_is_hashed_again_only_when_its_stamp_moves(tmp_path, corpus_reads):
    from search.fileio import stamped_sha256

    report = tmp_path / "report.txt"
    report.write_bytes(b"first text")
    digest, stamp = stamped_sha256(report)
    assert digest == hashlib.sha256(b"first text").hexdigest() and stamp and corpus_reads == ["report.txt"]
    assert stamped_sha256(report, {"sha256": digest, "stamp": stamp}) == (digest, stamp)
    assert corpus_reads == ["report.txt"]  # taken from the stamp, not read
    before = report.stat()
    time.sleep(0.05)
    report.write_bytes(b"other text")  # the same size, and its modification time put back, as a careless copy does
    os.utime(report, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert stamped_sha256(report, {"sha256": digest, "stamp": stamp})[0] == hashlib.sha256(b"other text").hexdigest()
    assert corpus_reads == ["report.txt", "report.txt"]  # its status-change time moved: read again
    assert stamped_sha256(report, {"sha256": digest, "stamp": "not a stamp"})[0] != digest


def test_a_file_changed_just_before_it_was_hashed_is_not_stamped(tmp_path):
    from search.fileio import stamped_sha256

    report = tmp_path / "report.txt"
    report.write_bytes(b"just written")
    digest, stamp = stamped_sha256(report)  # within the 2 s a coarse clock could hide a second change in
    assert stamp is None and digest == hashlib.sha256(b"just written").hexdigest()


def test_an_unchanged_corpus_is_not_read_again_by_a_build_or_at_start_up(mini_corpus, tmp_path, embedder, corpus_reads):
    index = tmp_path / "index"
    build_index(mini_corpus, index, embedder=embedder)
    files = sorted(p.name for p in mini_corpus.iterdir())
    assert sorted(corpus_reads) == files
    corpus_reads.clear()
    assert not index_is_stale(mini_corpus, index)
    again = build_index(mini_corpus, index, embedder=embedder)
    assert corpus_reads == [] and again.embedded == 0
    changed = mini_corpus / "health-report.txt"
    text, before = changed.read_bytes(), changed.stat()
    time.sleep(0.05)
    changed.write_bytes(text.replace(b"2023", b"2031"))  # same size, modification time put back
    os.utime(changed, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert index_is_stale(mini_corpus, index) and corpus_reads == ["health-report.txt"]
    corpus_reads.clear()
    report = build_index(mini_corpus, index, embedder=embedder)
    assert corpus_reads == ["health-report.txt"] and report.embedded > 0
    assert b"2031" in (current_generation(index)[0] / PASSAGES).read_bytes()


def test_a_build_reads_again_only_the_live_files_written_to_since_they_were_written(mini_corpus, tmp_path, embedder,
                                                                                     monkeypatch):
    """The live generation is checked before its files are reused: by their stamps as written (stamps.json), so
    an add to a big library does not read the whole index again; a file written to since is checksummed."""
    from search import fileio

    index = tmp_path / "index"
    build_index(mini_corpus, index, embedder=embedder)
    hashed: list[str] = []
    inner = fileio.file_sha256
    monkeypatch.setattr(fileio, "file_sha256", lambda path: hashed.append(Path(path).parent.name) or inner(path))
    live = current_generation(index)[0]
    (mini_corpus / "added.txt").write_text("Rice prices rose in Savannakhet in 2024.\n", encoding="utf-8")
    build_index(mini_corpus, index, embedder=embedder)
    assert live.name not in hashed and hashed  # the new generation's files are checksummed as written
    hashed.clear()

    live = current_generation(index)[0]
    vectors = live / "vectors.npy"
    data, before = bytearray(vectors.read_bytes()), vectors.stat()
    data[-8:] = np.array([0.5, -0.5], np.float32).tobytes()  # a vector changed in place, same size
    time.sleep(0.05)
    vectors.write_bytes(bytes(data))
    os.utime(vectors, ns=(before.st_atime_ns, before.st_mtime_ns))  # its modification time put back
    report = build_index(mini_corpus, index, embedder=embedder)
    assert hashed.count(live.name) == 1  # vectors.npy alone was read again, found damaged and not reused
    assert report.embedded == report.passages
