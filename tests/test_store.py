"""The index on disk: incremental rebuilds, atomic writes, damaged indexes, model mismatch."""

import json
from pathlib import Path

import numpy as np
import pytest

from search import Embedder, Searcher, build_index, index_is_stale
from search.model.convert import converted_model_dir
from search.index.dense import DenseIndex
from search.errors import CorpusError, IndexFormatError, IndexNotFoundError, IndexWriteError
from search.index.context import model_inputs
from search.index.generations import current_generation
from search.index.store import load_index

from index_files import rewrite_manifest


def record_texts(monkeypatch, embedder, method: str) -> list:
    """Let the real embedder's ``method`` run, recording the texts it is given."""
    seen = []
    real = getattr(embedder, method)

    def recording(texts, *args, **kwargs):
        seen.extend(texts)
        return real(texts, *args, **kwargs)

    monkeypatch.setattr(embedder, method, recording)
    return seen


@pytest.fixture
def counted(embedder, monkeypatch):
    """The real embedder, counting the passages it embeds."""
    return embedder, record_texts(monkeypatch, embedder, "embed_passages")


def test_rebuild_embeds_only_the_changed_document(mini_corpus, tmp_path, counted):
    embedder, seen = counted
    # A model's first build also embeds the centering's reference text once (kept in the model cache): done
    # here first, so that the count below is the reports' whatever test ran before
    build_index(mini_corpus, tmp_path / "first-use", embedder=embedder)
    seen.clear()
    index_dir = tmp_path / "index"
    first = build_index(mini_corpus, index_dir, embedder=embedder)
    passages = load_index(index_dir).passages
    assert first.embedded == first.passages == len(passages) and len(first.documents) == 3
    # passages as the model reads them (after their heading path), then their sentences for highlighting
    assert set(model_inputs(passages, load_index(index_dir).manifest.config.model_context)[0]) <= set(seen)
    assert len(seen) == len(passages) + sum(len(p.sentences) for p in passages)
    question = "How much rice was harvested in Savannakhet?"
    # Plain cosine: the check is that the stored vectors come back unchanged after a rebuild.
    rice_hit = Searcher(index_dir, embedder=embedder).search(question, k=1, retriever="dense-raw").hits[0]
    assert "1.2 million tonnes" in rice_hit.text

    seen.clear()
    health = mini_corpus / "health-report.txt"
    health.write_text(health.read_text(encoding="utf-8") + "\nໂຄງການນ້ຳສະອາດໄດ້ເຂົ້າເຖິງ 30 ບ້ານ ໃນປີ 2023.\n", encoding="utf-8")
    second = build_index(mini_corpus, index_dir, embedder=embedder)
    health_passages = [p for p in load_index(index_dir).passages if p.citation.document == "health-report.txt"]
    assert second.embedded == len(health_passages)
    assert seen and all(any(text in p.text for p in health_passages) for text in seen)
    again = Searcher(index_dir, embedder=embedder).search(question, k=1, retriever="dense-raw").hits[0]
    assert (again.passage_id, round(again.score, 5)) == (rice_hit.passage_id, round(rice_hit.score, 5))

    seen.clear()
    (mini_corpus / "rice-report.md").unlink()
    third = build_index(mini_corpus, index_dir, embedder=embedder)
    assert third.embedded == 0 and seen == []
    assert {p.citation.document for p in load_index(index_dir).passages} == {"health-report.txt", "school-report.html"}


def test_late_sentence_vectors_cost_no_model_pass_of_their_own(mini_corpus, tmp_path, embedder, monkeypatch):
    """sentence_vectors="late": one model pass per passage gives its sentences too; repairs keep passage vectors."""
    import numpy as np

    from search.index.records import IndexConfig, SENTENCES

    config = IndexConfig(sentence_vectors="late")
    alone = record_texts(monkeypatch, embedder, "embed_passages")
    together = record_texts(monkeypatch, embedder, "embed_passages_and_sentences")
    index_dir = tmp_path / "index"
    report = build_index(mini_corpus, index_dir, config=config, embedder=embedder)
    index = load_index(index_dir)
    assert alone == [] and sorted(together) == sorted(model_inputs(index.passages, config.model_context)[0])
    assert report.embedded == len(together)
    assert index.manifest.config.sentence_vectors == "late"
    assert len(index.sentence_vectors) == sum(len(p.sentences) for p in index.passages) > 0

    together.clear()
    assert build_index(mini_corpus, index_dir, config=config, embedder=embedder).embedded == 0 and together == []

    generation, _ = current_generation(index_dir)
    (generation / SENTENCES).write_bytes(b"damaged")
    before = index.vectors.copy()
    report = build_index(mini_corpus, index_dir, config=config, embedder=embedder)
    repaired = load_index(index_dir)
    assert report.embedded == 0 and len(together) == len(index.passages)  # one pass for the sentences alone
    assert np.array_equal(repaired.vectors, before)
    assert np.allclose(repaired.sentence_vectors, index.sentence_vectors, atol=1e-5)

    together.clear()
    build_index(mini_corpus, index_dir, embedder=embedder)  # the default setting: every vector made again
    assert load_index(index_dir).manifest.config.sentence_vectors == "separate" and alone


def test_rebuild_embeds_only_new_terms(mini_corpus, tmp_path, embedder, monkeypatch):
    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=embedder)
    asked = record_texts(monkeypatch, embedder, "embed_queries")
    (mini_corpus / "ferry.md").write_text("# Ferries\n\nThe ferry crossing carried passengers daily.\n", encoding="utf-8")
    build_index(mini_corpus, index_dir, embedder=embedder)
    new_words = {"ferries", "ferry", "crossing", "carried", "passengers", "daily"}
    assert asked and set(asked) <= new_words  # terms of unchanged reports are reused, not embedded again
    terms = load_index(index_dir).terms["en"]
    assert "ferri" in terms.keys or "ferry" in terms.keys


def test_unreadable_files_are_skipped_and_named(mini_corpus, tmp_path, embedder):
    (mini_corpus / "scan.pdf").write_bytes(b"%PDF-1.4 garbage")
    (mini_corpus / "photo.jpg").write_bytes(b"\xff\xd8\xff")  # a scan's type (read by OCR), cut off
    (mini_corpus / "slides.pptx").write_bytes(b"PK\x03\x04")
    report = build_index(mini_corpus, tmp_path / "index", embedder=embedder)
    skipped = dict(report.skipped)
    assert "cannot read this PDF" in skipped["scan.pdf"] and "cannot read this image" in skipped["photo.jpg"]
    assert "unsupported" in skipped["slides.pptx"]
    assert len(report.documents) == 3
    assert not index_is_stale(mini_corpus, tmp_path / "index")  # skipped files don't make it stale


def test_staleness(mini_corpus, tmp_path, embedder):
    index_dir = tmp_path / "index"
    assert index_is_stale(mini_corpus, index_dir)
    build_index(mini_corpus, index_dir, embedder=embedder)
    assert not index_is_stale(mini_corpus, index_dir)
    (mini_corpus / "new.md").write_text("# New\n\nA new report about bridges.\n", encoding="utf-8")
    assert index_is_stale(mini_corpus, index_dir)


def test_empty_corpus_is_an_error_and_keeps_the_old_index(mini_corpus, tmp_path, embedder):
    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=embedder)
    for path in mini_corpus.iterdir():
        path.unlink()
    with pytest.raises(CorpusError, match="no readable report"):
        build_index(mini_corpus, index_dir, embedder=embedder)
    assert len(load_index(index_dir).passages) > 0


def test_interrupted_build_leaves_the_previous_index(mini_corpus, tmp_path, embedder, monkeypatch):
    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=embedder)
    before = (index_dir / "CURRENT").read_bytes()
    (mini_corpus / "rice-report.md").unlink()

    def crash(self, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(DenseIndex, "save", crash)
    with pytest.raises(IndexWriteError, match="No space left on device.*previous index is unchanged"):
        build_index(mini_corpus, index_dir, embedder=embedder)
    assert (index_dir / "CURRENT").read_bytes() == before
    assert len(load_index(index_dir).passages) > 0
    assert [p.name for p in index_dir.iterdir() if p.name.startswith(".staging")] == []  # no staging left behind


def test_lao_is_stored_as_lao(mini_corpus, tmp_path, embedder):
    build_index(mini_corpus, tmp_path / "index", embedder=embedder)
    raw = (current_generation(tmp_path / "index")[0] / "passages.jsonl").read_text(encoding="utf-8")
    assert "ໂຮງໝໍແຂວງ" in raw and "\\u0e" not in raw


@pytest.fixture
def built(mini_corpus, tmp_path, embedder):
    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=embedder)
    return index_dir


@pytest.mark.parametrize("damage, message", [
    (lambda d: (d / "dense.faiss").write_bytes(b"not faiss"), "dense.faiss is 9 bytes"),
    (lambda d: (d / "dense.faiss").unlink(), "dense.faiss is missing"),
    (lambda d: (d / "manifest.json").write_text("{broken", encoding="utf-8"), "manifest.json does not match its checksum"),
    (lambda d: (d / "passages.jsonl").write_text('{"id": 1}\n', encoding="utf-8"), "passages.jsonl is 10 bytes"),
    (lambda d: (d / "passages.jsonl").write_text("", encoding="utf-8"), "passages.jsonl is 0 bytes"),
    (lambda d: (d / "bm25.npz").write_bytes(b"PK broken"), "bm25.npz is 9 bytes"),
    (lambda d: (d / "terms.npy").unlink(), "terms.npy is missing"),
    (lambda d: (d / "sentences.npy").write_bytes(b"\x93NUMPY broken"), "sentences.npy is 13 bytes"),
])
def test_damaged_index_says_how_to_rebuild(built, embedder, damage, message):
    damage(current_generation(built)[0])
    with pytest.raises(IndexFormatError, match=message) as info:
        Searcher(built, embedder=embedder).search("rice", highlight=True)
    assert "python -m search build" in str(info.value)


def test_loading_reads_no_passage_and_a_search_reads_only_its_hits(built, embedder):
    """passages.jsonl is read by line offsets from passage-table.npz: a damaged line (same size, so only a
    checksum would see it) is met by the search that needs it, with the rebuild hint, not at load."""
    from search.index.records import PASSAGES, PassageList
    from search.index.store import check_index, load_index

    generation = current_generation(built)[0]
    lines = (generation / PASSAGES).read_bytes().splitlines(keepends=True)
    health = next(i for i, line in enumerate(lines) if b"health-report" in line)
    lines[health] = b"{" + b"x" * (len(lines[health]) - 2) + b"\n"
    (generation / PASSAGES).write_bytes(b"".join(lines))
    index = load_index(built, verify="sizes")
    assert isinstance(index.passages, PassageList) and len(index.passages) == index.manifest.passage_count
    rice = Searcher(built, embedder=embedder)
    rice._index = index
    hits = rice.search("rice harvest", k=1, lang="en").hits
    assert "rice" in hits[0].text
    with pytest.raises(IndexFormatError, match=f"damaged at passage {health}.*python -m search build"):
        index.passages[health]  # noqa: B018
    with pytest.raises(IndexFormatError, match="python -m search build"):
        check_index(built)


def test_the_passage_table_agrees_with_the_passages(tip_index):
    from search.index.store import load_index

    index = load_index(tip_index)
    passages = list(index.passages)
    assert index.passages[-1] == passages[-1] and index.passages[1:3] == passages[1:3]
    assert {lang: rows.tolist() for lang, rows in index.rows_by_lang.items()} == {
        lang: [i for i, p in enumerate(passages) if p.lang == lang] for lang in sorted({p.lang for p in passages})}
    assert index.document_rows == {"laos-tip-2022-voa.txt": list(range(len(passages)))}
    start = 0
    for p, (a, b) in zip(passages, index.sentence_rows):
        assert (a, b) == (start, start + len(p.sentences))
        start = b
    hit = passages[20]
    assert index.paragraph(hit.citation.document, hit.citation.paragraph) == [
        p for p in passages if p.citation.paragraph == hit.citation.paragraph]
    groups = index.same_text.groups()
    assert all(len({passages[r].text for r in rows}) == 1 and len(rows) > 1 for rows in groups)
    assert len({p.text for p in passages}) == len(passages) - sum(len(rows) - 1 for rows in groups)


def test_repeated_texts_are_grouped_by_hash_in_row_order():
    from search.index.records import SameText

    same = SameText.of(np.array([5, 9, 5, 7, 9, 5], np.int64))
    assert same.others(0) == (2, 5) and same.others(5) == (0, 2) and same.others(4) == (1,)
    assert same.others(3) == () and same.group_of(3) is None and same.others(2, limit=1) == (0,)
    assert sorted(map(list, same.groups())) == [[0, 2, 5], [1, 4]] and not SameText.of(np.array([1, 2], np.int64))
    assert same.groups_of(np.array([5, 3, 1, 0])).tolist() == [same.group_of(5), -1, same.group_of(1), same.group_of(0)]
    assert SameText.of(np.array([1, 2], np.int64)).groups_of(np.array([0, 1])).tolist() == [-1, -1]


def test_a_passage_table_of_another_size_is_refused(built, embedder):
    from search.index.records import TABLE, PassageTable

    generation = current_generation(built)[0]
    with np.load(generation / TABLE) as data:
        arrays = {name: data[name] for name in data.files}
    arrays["offsets"] = arrays["offsets"][:-1]
    with open(generation / TABLE, "wb") as f:
        np.savez(f, **arrays)
    with pytest.raises(IndexFormatError, match="does not describe the index's .* passages"):
        PassageTable.load(generation / TABLE, json.loads((generation / "manifest.json").read_text())["passage_count"])


def test_other_format_version(built, embedder):
    rewrite_manifest(built, lambda values: values.update(format_version=99))
    with pytest.raises(IndexFormatError, match="format version 99"):
        Searcher(built, embedder=embedder).search("rice")


def test_an_index_of_the_previous_layout_is_rebuilt(built, mini_corpus, embedder):
    """Format 2 kept its files directly in index/: it is refused with the rebuild hint, and a build replaces it."""
    from search.index.publish import OWNER_MARK

    generation = current_generation(built)[0]
    for path in generation.iterdir():
        path.rename(built / path.name)
    (built / "CURRENT").unlink()
    (built / OWNER_MARK).unlink()  # format 2 had no mark: its own manifest says it is an index
    manifest = json.loads((built / "manifest.json").read_text(encoding="utf-8"))
    (built / "manifest.json").write_text(json.dumps({**manifest, "format_version": 2}), encoding="utf-8")
    with pytest.raises(IndexFormatError, match="older format.*python -m search build"):
        Searcher(built, embedder=embedder).search("rice")
    build_index(mini_corpus, built, embedder=embedder)
    assert not (built / "manifest.json").exists() and len(load_index(built).passages) > 0


def test_model_mismatch(built, model_cache):
    other = Embedder(str(converted_model_dir(model_cache)), query_prefix="query: ", passage_prefix="passage: ")
    with pytest.raises(IndexFormatError, match="was built with model") as info:
        Searcher(built, embedder=other).search("rice")
    assert "rebuild" in str(info.value)


def test_missing_index(tmp_path, embedder):
    with pytest.raises(IndexNotFoundError, match="python -m search build"):
        Searcher(tmp_path / "nothing", embedder=embedder).search("rice")


def test_a_big_index_is_an_inverted_file_and_finds_what_exact_search_finds(tmp_path):
    """Above the threshold the dense index is an IVF: saved, loaded, filtered, close to exact, vectors kept."""
    import numpy as np

    from search.index.dense import DenseIndex

    rng = np.random.default_rng(0)
    topics = rng.standard_normal((30, 64)).astype(np.float32)  # texts gather by topic, as embeddings do
    vectors = topics[rng.integers(0, 30, 3000)] + 0.5 * rng.standard_normal((3000, 64)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = vectors[:20] + 0.3 * rng.standard_normal((20, 64)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    exact = DenseIndex.from_vectors(vectors, ivf_from=10_000)
    graph = DenseIndex.from_vectors(vectors, ivf_from=1000)
    graph.save(tmp_path / "g.faiss")
    graph = DenseIndex.load(tmp_path / "g.faiss")
    assert exact.exact and not graph.exact
    truth, found = exact.search(queries, 10), graph.search(queries, 10)
    recall = np.mean([len({i for i, _ in t} & {i for i, _ in f}) / 10 for t, f in zip(truth, found)])
    assert recall >= 0.95
    odd = np.arange(1, 3000, 2)
    hits = graph.search(queries, 10, allowed=odd, selector=DenseIndex.selector(odd))
    assert all(len(h) == 10 and all(i % 2 for i, _ in h) for h in hits)
    assert np.allclose(graph.vectors(), vectors, atol=1e-3)  # kept as 16-bit floats


def test_dense_indexes_are_memory_mapped_and_search_as_built(tmp_path):
    """Loading maps the vectors instead of reading them (a million passages' sentence index loads in a
    quarter of a second), and the mapped index answers exactly as the one that was built."""
    from search.index.dense import DenseIndex

    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((3000, 64)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    for name, ivf_from in (("flat.faiss", 10_000), ("ivf.faiss", 1000)):
        built = DenseIndex.from_vectors(vectors, ivf_from=ivf_from)
        built.save(tmp_path / name)
        loaded = DenseIndex.load(tmp_path / name)
        assert str(tmp_path / name) in Path("/proc/self/maps").read_text()
        assert loaded.search(vectors[:25], 20) == built.search(vectors[:25], 20)
        odd = np.arange(1, 3000, 2)
        assert loaded.search(vectors[:5], 5, allowed=odd) == built.search(vectors[:5], 5, allowed=odd)


def test_a_selector_holds_exactly_its_ids():
    """Filters (a language, the sentences that state a quantity) are bitmaps FAISS asks about each vector."""
    import gc

    from search.index.dense import DenseIndex

    ids = np.unique(np.random.default_rng(2).integers(0, 5000, 1200))
    selector = DenseIndex.selector(ids)
    gc.collect()  # the bitmap must outlive the call that made it: memory freed with it would be reused here
    reused = [np.full(625, 255, np.uint8) for _ in range(1000)]  # noqa: F841
    assert np.array_equal([i for i in range(6000) if selector.is_member(i)], ids)
    assert not DenseIndex.selector(np.zeros(0, np.int64)).is_member(0)
