"""The fault catalogue (docs/reliability.md), each fault injected for real.

Real processes are killed with SIGKILL at chosen points of a real build; index files are
truncated, emptied and bit-flipped on disk; read-only folders are real read-only mounts;
the model cache is damaged on disk and converted again for real.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from search import Searcher, build_index, index_is_stale
from search.ingest.chunk import sentence_spans
from search.cli import cli
from search.model.convert import STAMP, converted_model_dir
from search.errors import DocumentError, IndexFormatError, IndexWriteError, ModelError, QueryError
from search.ingest.bounded import BoundedReader
from search.ingest.limits import ReadLimits
from search.ingest.read import list_corpus, read_document
from search.index.generations import current_generation
from search.index.store import load_index

import hostile_files as hostile
from conftest import CORPUS, DATA, ROOT

NEW_REPORT = ("# Ferry safety on the Mekong\n\nThe ferry crossing at Pakse carried 900 passengers a day in 2023. "
              "Inspectors found life jackets missing on half of the boats they checked.\n")
INDEX_FILES = ("manifest.json", "passages.jsonl", "dense.faiss", "vectors.npy", "sentences.npy", "units.faiss",
               "centering.json", "numbers.npy", "bm25.npz", "bm25-vocab.json", "terms.json", "terms.npy")


@pytest.fixture
def built(mini_corpus, tmp_path, embedder) -> Path:
    index_dir = tmp_path / "index"
    build_index(mini_corpus, index_dir, embedder=embedder)
    return index_dir


def _env(model_cache: Path) -> dict:
    return {**os.environ, "REPORT_SEARCH_CACHE": str(model_cache), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}


def _passage_ids(index_dir: Path) -> list[str]:
    return [p.passage_id for p in load_index(index_dir, verify="full").passages]


# --- questions and arguments -------------------------------------------------------------------

@pytest.mark.parametrize("question, message", [
    ("victims \ud800 in 2021", "invalid character at position 9"),
    ("", "empty"),
    ("\x00\x01 \t", "empty"),
    ("x" * 2001, "2001 characters"),
    (None, "must be text"),
])
def test_bad_questions_are_refused_clearly(searcher, question, message):
    with pytest.raises(QueryError, match=message):
        searcher.search(question)


def test_control_characters_are_read_as_spaces(searcher):
    assert searcher.search("traffickers\x00convicted\x07in 2021", k=1).question == "traffickers convicted in 2021"


@pytest.mark.parametrize("k", [1.5, "5", True, 0, 101, None])
def test_k_must_be_a_whole_number_in_range(searcher, k):
    with pytest.raises(QueryError, match="k must be a whole number from 1 to 100"):
        searcher.search("victims", k=k)


def test_k_accepts_numpy_integers(searcher):
    assert len(searcher.search("victims", k=np.int64(2)).hits) == 2


def test_unknown_passage_language_is_refused(searcher):
    with pytest.raises(QueryError, match="unknown passage language 'xx'; choose one of: en, lo"):
        searcher.search("victims", lang="xx")


def test_search_batch_refuses_a_single_string(searcher):
    with pytest.raises(QueryError, match="list of questions"):
        searcher.search_batch("victims")


# --- reports -----------------------------------------------------------------------------------

class CountingText(str):
    """A string that counts the characters its slices copy."""

    copied = 0

    def __getitem__(self, key):
        out = str.__getitem__(self, key)
        CountingText.copied += len(out)
        return out


def test_sentence_splitting_copies_a_bounded_amount_per_sentence():
    """The old splitter copied the whole text before each sentence end: quadratic in the report's size."""
    sentence = "On 3.5 km of the U.S. border, 12 people were found. "
    for n in (200, 800):
        CountingText.copied = 0
        text = CountingText(sentence * n)
        spans = sentence_spans(text)
        assert len(spans) == n
        assert CountingText.copied <= 40 * n * 4  # a window of 32 characters per period, whatever the length


def test_a_20_mb_report_on_one_line_is_read_and_cut(tmp_path):
    """A hang guard, not a speed test: it took minutes to hours before reading became linear; here about 10 s."""
    words = CORPUS.joinpath("laos-tip-2022-voa.txt").read_text(encoding="utf-8").split()
    path = tmp_path / "one-line.txt"
    with open(path, "w", encoding="utf-8") as f:
        size, i = 0, 0
        while size < 20 * 2**20:
            word = words[i % len(words)] + " "
            f.write(word)
            size, i = size + len(word.encode("utf-8")), i + 1
    script = (
        "import sys; from search.ingest.read import read_document; from search.ingest.chunk import chunk_spans\n"
        "from search.ingest.limits import ReadLimits\n"
        "doc = read_document(sys.argv[1], limits=ReadLimits(max_chars=10**9, max_passages=10**9))\n"
        "spans = [s for p in doc.paragraphs for s in chunk_spans(doc.text[p.start:p.end])]\n"
        "print(len(doc.paragraphs), len(spans), max(b - a for a, b in spans))\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    paragraphs, passages, longest = map(int, done.stdout.split())
    assert paragraphs == 1 and passages > 30_000 and longest <= 600


def test_html_nested_100000_deep_is_read(tmp_path):
    """A hang guard: marking every block's end walked its subtree (quadratic); now one pass, about 3 s."""
    path = tmp_path / "nested.html"
    path.write_text("<html><body>" + "<div>" * 100_000 + "<p>Deep text about ferries on the Mekong.</p>"
                    + "<span>" * 50_000 + "Inline text." + "</span>" * 50_000 + "</div>" * 100_000 + "</body></html>")
    script = ("import sys; from search.ingest.read import read_document; from search.ingest.limits import ReadLimits; "
              "print(read_document(sys.argv[1], limits=ReadLimits(max_passages=10**6)).text)")
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n\n")[:2] == ["Deep text about ferries on the Mekong.", "Inline text."]


def test_links_out_of_the_corpus_are_skipped(mini_corpus, tmp_path, embedder):
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("The root password is hunter2, written here in a long enough sentence.", encoding="utf-8")
    (mini_corpus / "passwd.txt").symlink_to(secret)
    (mini_corpus / "linked-dir").symlink_to(secret.parent, target_is_directory=True)
    (mini_corpus / "loop.txt").symlink_to(mini_corpus / "loop.txt")
    (mini_corpus / "health-again.txt").symlink_to(mini_corpus / "health-report.txt")  # stays inside: fine
    report = build_index(mini_corpus, tmp_path / "index", embedder=embedder)
    skipped = dict(report.skipped)
    assert "outside the corpus folder" in skipped["passwd.txt"]
    assert "outside the corpus folder" in skipped["linked-dir"]
    assert "broken or looping link" in skipped["loop.txt"]
    assert "health-again.txt" in report.documents
    assert not any("hunter2" in p.text for p in load_index(tmp_path / "index").passages)
    assert not index_is_stale(mini_corpus, tmp_path / "index")


def test_pipes_and_undecodable_names_are_skipped_without_hanging(mini_corpus):
    os.mkfifo(mini_corpus / "pipe.txt")  # reading it would block forever
    with open(os.path.join(os.fsencode(mini_corpus), b"report-\xff.txt"), "w") as f:
        f.write("A report whose file name is not UTF-8.")
    files, skipped = list_corpus(mini_corpus)
    reasons = dict(skipped)
    assert reasons["pipe.txt"] == "not a regular file"
    assert reasons["report-\\xff.txt"].startswith("the file name is not valid UTF-8")
    assert sorted(p.name for p in files) == ["health-report.txt", "rice-report.md", "school-report.html"]


def test_the_same_report_under_five_names_is_shown_once(mini_corpus, tmp_path, embedder):
    for n in range(2, 6):
        shutil.copy(mini_corpus / "rice-report.md", mini_corpus / f"rice-copy-{n}.md")
    build_index(mini_corpus, tmp_path / "index", embedder=embedder)
    hits = Searcher(tmp_path / "index", embedder=embedder).search("rice harvest", k=5).hits
    texts = [h.text for h in hits]
    assert len(texts) == len(set(texts)), texts
    top = hits[0]
    assert top.citation.document.startswith("rice")
    assert len(top.also_in) == 4 and {c.document for c in top.also_in} | {top.citation.document} == {
        "rice-report.md", *(f"rice-copy-{n}.md" for n in range(2, 6))}
    assert hits[0].to_dict()["also_in"][0]["document"].startswith("rice")
    filtered = Searcher(tmp_path / "index", embedder=embedder).search("rice harvest", k=5, lang=top.lang).hits[0]
    assert filtered.also_in == top.also_in  # the copies share the passage's language, so the filter keeps them


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_a_bom_are_text(tmp_path, encoding):
    text = (DATA / "mini" / "health-report.txt").read_text(encoding="utf-8")
    bom = {"utf-16-be": b"\xfe\xff"}.get(encoding, b"")
    path = tmp_path / "report.txt"
    path.write_bytes(bom + text.encode(encoding))
    doc = read_document(path)
    assert doc.text == text and "ໂຮງໝໍແຂວງ" in doc.text


def _pdf(pages: int = 3) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    for i in range(pages):
        pdf.add_page()
        pdf.set_font("Helvetica", size=12)
        pdf.multi_cell(0, 10, f"Page {i + 1}: boats were inspected on the river. " * 20)
    return bytes(pdf.output())


def test_a_truncated_pdf_is_one_message_and_prints_nothing(tmp_path, capfd):
    data = _pdf()
    path = tmp_path / "broken.pdf"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DocumentError) as info:
        read_document(path)
    assert str(info.value).startswith("broken.pdf: cannot read this PDF (") and "\n" not in str(info.value)
    assert capfd.readouterr() == ("", "")


def test_pypdf_warnings_do_not_reach_the_console(tmp_path, capfd, caplog, monkeypatch):
    """pypdf logs a line per broken object of a damaged PDF; reading keeps them to the one-line error."""
    import logging

    import pypdf

    real_pages = pypdf.PdfReader.pages

    def noisy_pages(self):
        for n in range(100):
            logging.getLogger("pypdf._reader").warning("Ignoring wrong pointing object %d 0 (offset 0)", n)
        return real_pages.fget(self)

    monkeypatch.setattr(pypdf.PdfReader, "pages", property(noisy_pages))
    path = tmp_path / "noisy.pdf"
    path.write_bytes(_pdf())
    level = logging.getLogger("pypdf").level
    assert "Page 1: boats" in read_document(path).text
    assert capfd.readouterr() == ("", "")
    assert [r for r in caplog.records if r.name.startswith("pypdf")] == []  # not even to a log handler
    assert logging.getLogger("pypdf").level == level  # pypdf's logging is as it was, after reading


# --- the index: kills, corruption, read-only and full disks ----------------------------------

KILLER = r"""
import os, signal, sys
from pathlib import Path
import search.index.publish as store
from search.index.dense import DenseIndex
from search import Embedder, build_index

point, corpus, index = sys.argv[1:4]
published = []

def die():
    os.kill(os.getpid(), signal.SIGKILL)

if point == "embedding":
    real_embed = Embedder.embed_passages
    def embed(self, texts, **kw):
        real_embed(self, texts[:2])
        die()
    Embedder.embed_passages = embed
elif point == "writing":
    real_save = DenseIndex.save
    def save(self, path):
        real_save(self, path)
        die()
    DenseIndex.save = save
elif point == "before-publish":  # the generation is complete and CURRENT's new copy is on disk, not yet renamed
    real_replace = os.replace
    def replace(src, dst):
        if Path(dst).name == "CURRENT":
            die()
        real_replace(src, dst)
    os.replace = replace
elif point == "after-publish":  # CURRENT names the new generation; leftovers not yet removed
    real_write = store.write_atomic
    def write(path, data):
        real_write(path, data)
        published.append(path)
    store.write_atomic = write
    real_remove = store.remove_leftovers
    def remove(*args, **kw):
        if published:
            die()
        return real_remove(*args, **kw)
    store.remove_leftovers = remove
build_index(Path(corpus), Path(index))
print("finished")
"""


@pytest.mark.parametrize("point, published", [
    ("embedding", False), ("writing", False), ("before-publish", False), ("after-publish", True),
])
def test_a_build_killed_at_any_point_loses_nothing(built, mini_corpus, embedder, model_cache, point, published):
    before = _passage_ids(built)
    (mini_corpus / "ferry.md").write_text(NEW_REPORT, encoding="utf-8")
    killed = subprocess.run([sys.executable, "-c", KILLER, point, str(mini_corpus), str(built)],
                            capture_output=True, text=True, env=_env(model_cache), timeout=600)
    assert killed.returncode == -9, killed.stderr
    after = _passage_ids(built)  # a complete index is live: the old one, or the new one once published
    assert (len(after) > len(before)) if published else (after == before)
    build_index(mini_corpus, built, embedder=embedder)  # the next build cleans up and completes
    names = sorted(p.name for p in built.iterdir())
    assert [n for n in names if n.startswith(".") and n not in (".lock", ".report-search-index")] == []
    assert len([n for n in names if n.startswith("gen-")]) == 2  # the live one and the one before
    assert any(pid.startswith("ferry.md#") for pid in _passage_ids(built))


def test_a_search_reads_one_generation_while_a_build_publishes_another(built, mini_corpus, embedder):
    searcher = Searcher(built, embedder=embedder)
    old = searcher.index  # loaded before the build: sentences and BM25 are read later, lazily
    (mini_corpus / "health-report.txt").unlink()
    build_index(mini_corpus, built, embedder=embedder)
    assert old.sentence_vectors.shape[0] == old.sentence_rows[-1][1]  # its own generation's file
    assert searcher.search("rice harvest", highlight=True).hits
    searcher.reload()
    assert "health-report.txt" not in {p.citation.document for p in searcher.index.passages}


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))


DAMAGES = {
    "half": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "empty": lambda p: p.write_bytes(b""),
    "flipped": _flip,
}


@pytest.mark.parametrize("damage", DAMAGES)
@pytest.mark.parametrize("name", INDEX_FILES)
def test_damaged_files_are_one_line_and_a_build_repairs_them(built, mini_corpus, embedder, name, damage):
    before = _passage_ids(built)
    DAMAGES[damage](current_generation(built)[0] / name)
    with pytest.raises(IndexFormatError) as info:
        Searcher(built, embedder=embedder).search("rice", highlight=True)
    message = str(info.value)
    assert "\n" not in message and name in message and message.endswith("rebuild it with: python -m search build")
    result = CliRunner().invoke(cli, ["check", "--index", str(built)])
    assert result.exit_code == 1 and result.output.count("\n") == 1 and name in result.output
    report = build_index(mini_corpus, built, embedder=embedder)
    assert _passage_ids(built) == before
    reused = name not in ("passages.jsonl", "vectors.npy", "manifest.json")  # FAISS files are made from the .npy
    assert report.embedded == (0 if reused else len(before))  # what is intact is reused
    assert CliRunner().invoke(cli, ["check", "--index", str(built)]).exit_code == 0


@pytest.mark.parametrize("name", ["bm25.npz", "sentences.npy", "terms.npy", "bm25-vocab.json", "terms.json"])
def test_same_size_damage_is_caught_by_the_readers_when_checksums_are_skipped(built, embedder, monkeypatch, name):
    """Above VERIFY_ON_LOAD_BYTES only sizes are checked on load; readers still refuse what they cannot parse."""
    import search.index.generations

    monkeypatch.setattr(search.index.generations, "VERIFY_ON_LOAD_BYTES", 0)
    path = current_generation(built)[0] / name
    data = bytearray(path.read_bytes())
    start = 10 if name.endswith(".json") else 128  # past the header
    data[start:start + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    try:
        result = Searcher(built, embedder=embedder).search("ປີ 2023 rice harvest", highlight=True)
    except IndexFormatError as exc:
        assert name in str(exc) or "BM25" in str(exc) or "term files" in str(exc)
    else:  # float payloads parse: the damage shows in values, which `check` catches
        assert result.hits
        assert CliRunner().invoke(cli, ["check", "--index", str(built)]).exit_code == 1


def test_current_cannot_point_outside_the_index(built, embedder):
    pointer = json.loads((built / "CURRENT").read_text(encoding="utf-8"))
    (built / "CURRENT").write_text(json.dumps({**pointer, "generation": "../../etc"}), encoding="utf-8")
    with pytest.raises(IndexFormatError, match="names no readable generation"):
        Searcher(built, embedder=embedder).search("rice")


def test_a_damaged_previous_name_in_current_keeps_the_live_generation(built, mini_corpus, embedder):
    pointer = json.loads((built / "CURRENT").read_text(encoding="utf-8"))
    (built / "CURRENT").write_text(json.dumps({**pointer, "previous": "../../etc"}), encoding="utf-8")
    report = build_index(mini_corpus, built, embedder=embedder)  # clears leftovers first, then reuses
    assert report.embedded == 0 and report.passages == len(_passage_ids(built))


def test_two_builds_at_once_take_turns(built, mini_corpus, embedder):
    (mini_corpus / "ferry.md").write_text(NEW_REPORT, encoding="utf-8")
    errors = []

    def run():
        try:
            build_index(mini_corpus, built, embedder=embedder)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert any(pid.startswith("ferry.md#") for pid in _passage_ids(built))


def _read_only(folder: Path, command: list[str], env: dict) -> subprocess.CompletedProcess:
    """Run ``command`` with ``folder`` mounted read-only (a private mount namespace), or chmod-ed when not root."""
    if os.geteuid() == 0:
        script = 'mount --bind -o ro "$0" "$0" && exec "$@"'
        return subprocess.run(["unshare", "-m", "sh", "-c", script, str(folder), *command],
                              capture_output=True, text=True, env=env, timeout=600)
    modes = {p: p.stat().st_mode for p in [folder, *folder.rglob("*")]}
    for p in modes:
        p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    finally:
        for p, mode in modes.items():
            p.chmod(mode)


def test_a_read_only_index_folder_is_one_line_and_keeps_the_index(built, mini_corpus, model_cache):
    before = _passage_ids(built)
    (mini_corpus / "rice-report.md").unlink()
    done = _read_only(built, [sys.executable, "-m", "search", "build", "--corpus", str(mini_corpus), "--index", str(built)],
                      _env(model_cache))
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: cannot write the index at") and "Read-only file system" in last or "Permission" in last
    assert "Traceback" not in done.stderr
    assert _passage_ids(built) == before


def test_a_full_disk_during_a_build_is_one_line_and_keeps_the_index(built, mini_corpus, model_cache):
    """The kernel's file-size limit makes the first big write fail, as a full disk would (EFBIG instead of ENOSPC)."""
    before = _passage_ids(built)
    (mini_corpus / "ferry.md").write_text(NEW_REPORT, encoding="utf-8")
    script = ("import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
              "resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000)); "
              "from search.cli import main; sys.argv = ['search', 'build', '--corpus', sys.argv[1], '--index', sys.argv[2]]; main()")
    done = subprocess.run([sys.executable, "-c", script, str(mini_corpus), str(built)], capture_output=True, text=True,
                          env=_env(model_cache), timeout=600)
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: cannot write the index at") and "previous index is unchanged" in last
    assert "Traceback" not in done.stderr
    assert _passage_ids(built) == before
    assert [p.name for p in built.iterdir() if p.name.startswith(".staging")] == []


# --- the model cache ---------------------------------------------------------------------------

@pytest.fixture
def private_cache(tmp_path, model_cache) -> Path:
    """A copy of the session's converted model, to damage."""
    source = converted_model_dir(model_cache)
    cache = tmp_path / "cache"
    shutil.copytree(source, cache / source.name)
    return cache


@pytest.mark.parametrize("damage", ["truncated weights", "no modules.json", "no stamp"])
def test_a_damaged_conversion_is_converted_again(private_cache, damage):
    folder = converted_model_dir(private_cache)
    weights, size = folder / "model.safetensors", (folder / "model.safetensors").stat().st_size
    if damage == "truncated weights":
        with open(weights, "r+b") as f:
            f.truncate(size // 3)
    elif damage == "no modules.json":
        (folder / "modules.json").unlink()
    else:
        (folder / STAMP).unlink()
    (private_cache / ".convert-killed12").mkdir()  # what a killed conversion leaves
    (private_cache / ".convert-killed12" / "model.safetensors").write_bytes(b"\0" * 1000)
    again = converted_model_dir(private_cache)
    assert again == folder and weights.stat().st_size == size and (folder / "modules.json").is_file()
    assert sorted(p.name for p in private_cache.iterdir()) == [".convert.lock", folder.name]
    from search import Embedder

    vector = Embedder(cache_dir=private_cache).embed_queries(["ຜູ້ເຄາະຮ້າຍ"])
    assert vector.shape == (1, 384) and abs(float(np.linalg.norm(vector)) - 1) < 1e-4


def test_a_model_cache_deleted_while_serving_is_made_again_at_the_next_build(private_cache, embedder):
    """Questions ran on, but every upload and re-index failed until a restart: the builds' session is opened
    later, from the deleted folder ("delete its folder to export again": it was gone already)."""
    from search import Embedder

    serving = Embedder(cache_dir=private_cache, threads=2)  # questions on one thread, builds on two: two sessions
    assert serving.embed_queries(["ferry"]).shape == (1, 384)
    shutil.rmtree(private_cache)
    texts = [f"The ferry carried {n} passengers a day across the Mekong at Pakse. " * 8 for n in range(8)]  # a batch
    # of over 512 tokens: the builds' session, on two threads, opened only now
    vectors = serving.embed_passages(texts)
    assert np.allclose(vectors, embedder.embed_passages(texts), atol=1e-5)
    assert any(private_cache.iterdir())


def test_a_conversion_says_so_only_when_it_runs(private_cache):
    said = []
    folder = converted_model_dir(private_cache, progress=said.append)
    assert said == []  # the copy is whole: nothing to wait for
    (folder / STAMP).unlink()
    assert converted_model_dir(private_cache, progress=said.append) == folder
    assert len(said) == 1 and "with the Lao adapter" in said[0] and "first use only" in said[0]


def test_leftovers_of_a_killed_conversion_go_even_when_the_model_is_fine(private_cache):
    (private_cache / ".convert-abcd1234").mkdir()
    converted_model_dir(private_cache)
    assert not (private_cache / ".convert-abcd1234").exists()


def test_a_read_only_empty_model_cache_names_the_setting(tmp_path, tip_index):
    cache = tmp_path / "empty-cache"
    cache.mkdir()
    env = {**os.environ, "REPORT_SEARCH_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    done = _read_only(cache, [sys.executable, "-m", "search", "query", "victims", "--index", str(tip_index)], env)
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: cannot write the model cache at") and "REPORT_SEARCH_CACHE" in last
    assert "Traceback" not in done.stderr


def test_a_model_that_fails_to_load_is_a_model_error(tmp_path):
    from search import Embedder

    (tmp_path / "not-a-model").mkdir()
    (tmp_path / "not-a-model" / "modules.json").write_text("[{]", encoding="utf-8")
    with pytest.raises(ModelError, match="cannot load the embedding model"):
        Embedder(str(tmp_path / "not-a-model")).embed_queries(["x"])


# --- errors everywhere -------------------------------------------------------------------------

@pytest.mark.parametrize("error", [RuntimeError("boom\nsecond line"), EOFError()])
def test_unexpected_errors_in_the_cli_are_one_line(tip_index, monkeypatch, error):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(Searcher, "search", fail)
    result = CliRunner().invoke(cli, ["query", "victims", "--index", str(tip_index)])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and result.output.startswith(f"Error: unexpected {type(error).__name__}")
    assert "--debug" in result.output and "Aborted" not in result.output
    if isinstance(error, RuntimeError):  # click itself turns EOFError into "Aborted!"
        debug = CliRunner().invoke(cli, ["--debug", "query", "victims", "--index", str(tip_index)])
        assert debug.exception is error


def test_eval_with_no_usable_line_fails(tip_index, tmp_path):
    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"id": "a"\n{"id": "b", "question": "", "answers": ["x"]}\n'
                    '{"id": "c", "question": "Who?", "answers": ["words found nowhere at all"]}\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["eval", str(gold), "--index", str(tip_index)])
    assert result.exit_code == 1, result.output
    assert "no usable question" in result.output and "line 1" in result.output and "line 3" in result.output


# Round three (#25): the families found on 03a776b that this file now guards.

def test_a_file_name_with_any_line_break_is_one_audit_record(tmp_path):
    """U+2028, U+2029 and U+0085 break lines for str.splitlines: a name holding them made one write three records."""
    from search.serve import audit

    audit.record(tmp_path, "somchai", "upload", "report\u2028forged\tline\x85more\u2029.txt", "ok")
    audit.record(tmp_path, "noy", "remove", "plain.txt", "ok")
    records = audit.read(tmp_path)
    assert len(records) == 2 and records[0]["file"] == "report\u2028forged\tline\x85more\u2029.txt"
    assert records[1]["user"] == "noy"
    assert "report\\u2028forged\\x09line\\x85more\\u2029.txt" in (tmp_path / "audit.log").read_text(encoding="utf-8")


@pytest.mark.parametrize("tail", [b"\x00\x01\x02\x03" * 64, bytes(range(1, 32)) * 40])
def test_binary_data_after_the_first_8_kb_of_a_text_file_is_refused(tmp_path, tail):
    path = tmp_path / "notes.txt"
    path.write_bytes(("Field notes on river ferries. " * 400).encode() + tail)  # 12 KB of text, then binary
    with pytest.raises(DocumentError, match="holds binary data"):
        read_document(path, "notes.txt")
    path.write_bytes(("Tabs\tand form feeds\f are text.\r\n" * 400).encode())
    assert read_document(path, "notes.txt").paragraphs


@pytest.mark.parametrize("value, k", [("3", 3), ("²", 5), ("໕", 5), ("9" * 5000, 5), ("-2", 5), ("0", 1), ("500", 20), (None, 5)])
def test_the_address_k_is_parsed_without_raising(value, k):
    from search.serve.render import k_param

    assert k_param(value) == k


def test_a_huge_highlight_in_a_source_link_is_ignored_not_raised(searcher):
    from search.serve.render import source_html

    page = source_html(searcher, "laos-tip-2022-voa.txt#12", "9" * 5000 + "-" + "9" * 5000)
    assert 'class="passage"' in page and 'class="sentence"' not in page


@pytest.mark.parametrize("env, message", [
    ({"REPORT_SEARCH_USERS": ""}, "refusing to serve 0.0.0.0 with no sign-in"),  # "" is unset, not this folder
    ({"REPORT_SEARCH_THREADS": "two"}, "REPORT_SEARCH_THREADS='two': 'two' is not a valid integer"),
    ({"REPORT_SEARCH_MAX_UPLOAD_MB": "1e9"}, "REPORT_SEARCH_MAX_UPLOAD_MB='1e9': '1e9' is not a valid integer"),
])
def test_app_environment_values_are_checked_before_anything_binds(env, message, tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "app.py"), "--host", "0.0.0.0", "--port", "1",
                           "--index", str(tmp_path / "index"), "--corpus", str(tmp_path / "none")],
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and message in done.stderr and "Traceback" not in done.stderr


# --- the index folder is owned: nothing deleted that the index did not write --------------------

def _users_folder(folder: Path) -> dict[str, bytes]:
    """A folder of a user's files whose names a build once took for its own."""
    files = {"gen-2023-annual.md": b"# Annual report\n\nOur own words.\n", "manifest.json": b'{"name": "my app"}',
             "passages.jsonl": b'{"mine": 1}\n', ".staging-notes": b"notes", "gen-drafts/draft.txt": b"a draft",
             ".CURRENT-backup": b"mine", "CURRENT.txt": b"mine"}
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return files


def _still_there(folder: Path, files: dict[str, bytes]) -> None:
    assert {name: (folder / name).read_bytes() for name in files} == files


def test_a_build_refuses_a_folder_of_a_users_files_and_touches_nothing(mini_corpus, tmp_path, model_cache):
    folder = tmp_path / "my-files"
    files = _users_folder(folder)
    before = sorted(p.name for p in folder.iterdir())
    done = subprocess.run([sys.executable, "-m", "search", "build", "--corpus", str(mini_corpus), "--index", str(folder)],
                          capture_output=True, text=True, env=_env(model_cache), timeout=600)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert "holds files that are not an index's" in last and "--index" in last
    _still_there(folder, files)
    assert sorted(p.name for p in folder.iterdir()) == before  # not even a lock file


def test_the_corpus_folder_is_not_an_index_folder(mini_corpus, embedder):
    (mini_corpus / "gen-2023-annual.md").write_text("# Annual report\n\nThe ferry carried 900 people a day.\n")
    before = {p.name: p.read_bytes() for p in mini_corpus.iterdir()}
    with pytest.raises(IndexWriteError, match="holds files that are not an index's"):
        build_index(mini_corpus, mini_corpus, embedder=embedder)
    assert {p.name: p.read_bytes() for p in mini_corpus.iterdir()} == before


def test_a_users_files_in_an_index_folder_survive_builds(built, mini_corpus, embedder, tmp_path):
    """Inside its own folder a build removes only names of its exact shapes, and a planted link only as a link."""
    files = _users_folder(built)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("keep me")
    (built / ".staging-abcd1234").symlink_to(elsewhere)  # a leftover's exact shape, pointing away
    (mini_corpus / "ferry.md").write_text(NEW_REPORT, encoding="utf-8")
    build_index(mini_corpus, built, embedder=embedder)
    build_index(mini_corpus, built, embedder=embedder)
    _still_there(built, files)
    assert (elsewhere / "keep.txt").read_text() == "keep me" and not (built / ".staging-abcd1234").is_symlink()
    assert len([p for p in built.iterdir() if re.fullmatch(r"gen-\d{8}T\d{6}-[0-9a-f]{6}", p.name)]) == 2


def test_a_symbolic_link_as_the_index_folder_is_named_as_one(tmp_path):
    """It was refused as "is not a folder", which it looks like."""
    from search.index.publish import claim_folder

    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(IndexWriteError, match=r"is a symbolic link \(to .*real\).*--index .*real"):
        claim_folder(tmp_path / "link")
    assert not any((tmp_path / "real").iterdir())


def test_an_index_built_before_the_mark_is_adopted(built, mini_corpus, embedder):
    from search.index.publish import OWNER_MARK

    (built / OWNER_MARK).unlink()
    before = _passage_ids(built)
    build_index(mini_corpus, built, embedder=embedder)
    assert (built / OWNER_MARK).is_file() and _passage_ids(built) == before


def test_the_export_folder_is_private_and_its_sweep_follows_no_link(tmp_path, monkeypatch):
    """The export sweep once used a fixed name in /tmp: a link planted there led it to delete another folder."""
    from search.serve.export import ExportFolder

    victim = tmp_path / "victim"
    (victim / "old").mkdir(parents=True)
    os.utime(victim / "old", (0, 0))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    for name in ("report-search-exports", f"report-search-exports-{os.getuid()}"):
        (tmp_path / name).symlink_to(victim)
    exports = ExportFolder(keep_seconds=0)
    first = exports.new()
    assert first.parent.parent == tmp_path and oct(first.parent.stat().st_mode & 0o777) == "0o700"
    (first.parent / "planted").symlink_to(victim)
    exports.sweep(force=True)
    assert (victim / "old").is_dir() and not first.exists()


# --- work per upload is bounded, not only bytes --------------------------------------------------

@pytest.mark.parametrize("make, name, message", [
    (hostile.many_pages, "pages.pdf", "50,000 pages, over the limit of 3,000 (--max-pages)"),
    (hostile.inflating, "bomb.pdf", "inflates past 30 MB"),
    (lambda: hostile.inflating(pages=10), "bomb-10-pages.pdf", "inflates past 30 MB"),  # did not finish in 15 min
    (hostile.many_paragraphs, "paragraphs.html", "120,000 paragraphs, over the limit of 20,000 (--max-passages)"),
    (hostile.tiny_tags, "tags.html", "tags, over the limit of 300,000 (--max-passages)"),
    # pypdf's own limits are not a decompression bomb (it said "--max-chars"): the limit it met is named
    (hostile.huge_to_unicode, "cmap.pdf", "over a safety limit of the PDF reader (Maximum /ToUnicode size limit"),
])
def test_reports_that_are_much_work_are_refused_by_a_named_limit(tmp_path, make, name, message):
    """The catalogue's hangs: each read for minutes (or did not finish) and took up to 2.5 GB; bench/hostile.py times them."""
    path = tmp_path / name
    path.write_bytes(make())
    with BoundedReader() as reader, pytest.raises(DocumentError) as info:
        reader.read(path, name)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_read_past_its_time_is_stopped_and_the_next_read_works(tmp_path):
    """The slow report is a named pipe nobody writes to: its read never ends, however busy the machine, so
    only the limit can end it (a slow-to-parse page under a 0.3 s limit had raced the machine's load, and so
    had the next read's fresh child starting within the same 0.3 s)."""
    endless, fine = tmp_path / "endless.html", tmp_path / "fine.md"
    os.mkfifo(endless)
    fine.write_text(NEW_REPORT, encoding="utf-8")
    with BoundedReader(ReadLimits(seconds=600)) as reader:
        assert reader.read(fine).title == "Ferry safety on the Mekong"
        child = reader._child
        reader.limits = ReadLimits(seconds=0.3)
        with pytest.raises(DocumentError, match=r"endless.html: reading took longer than 0.3 s \(--read-seconds\)"):
            reader.read(endless)
        assert child.poll() is not None  # the reading process was stopped, not left blocked
        reader.limits = ReadLimits(seconds=600)
        assert reader.read(fine).title == "Ferry safety on the Mekong"  # by a new reading process
        assert reader._child is not child and reader._child.poll() is None


def test_a_word_file_past_the_read_memory_names_the_limit(tmp_path):
    """lxml, out of memory, says "XMLSyntaxError: unknown error": that was the whole message."""
    big, fine = tmp_path / "big.docx", tmp_path / "fine.md"
    big.write_bytes(hostile.huge_docx())
    fine.write_text(NEW_REPORT, encoding="utf-8")
    with BoundedReader(ReadLimits(memory_mb=256, max_passages=10**7, max_chars=10**9)) as reader:
        with pytest.raises(DocumentError, match=r"more than 256 MB \(--read-memory-mb\)"):
            reader.read(big)
        assert reader.read(fine).paragraphs


def test_a_read_past_its_memory_is_refused_and_the_next_read_works(tmp_path):
    big, fine = tmp_path / "big.html", tmp_path / "fine.md"
    big.write_bytes(hostile.many_paragraphs(120_000))  # about 270 MB to parse
    fine.write_text(NEW_REPORT, encoding="utf-8")
    with BoundedReader(ReadLimits(memory_mb=256, max_passages=10**6)) as reader:
        with pytest.raises(DocumentError, match=r"more than 256 MB \(--read-memory-mb\)"):
            reader.read(big)
        assert reader.read(fine).paragraphs


def test_an_upload_is_read_once_and_a_refused_report_is_not_read_again(searcher, mini_corpus, tmp_path, embedder, monkeypatch):
    from search.serve.curate import Curator

    reads = []
    real = BoundedReader.read
    monkeypatch.setattr(BoundedReader, "read", lambda self, path, doc_id=None, **options: reads.append(doc_id) or real(self, path, doc_id, **options))
    index = tmp_path / "index"
    (mini_corpus / "pages.pdf").write_bytes(hostile.many_pages(4000))
    build_index(mini_corpus, index, embedder=embedder)
    assert reads.count("pages.pdf") == 1
    upload = tmp_path / "upload.md"
    upload.write_text(NEW_REPORT, encoding="utf-8")
    curator = Curator(Searcher(index, embedder=embedder), mini_corpus, max_upload_bytes=2**20, uploads_per_minute=5)
    outcome = curator.add(None, upload, "ferry.md")
    assert outcome.passages > 0 and reads.count("ferry.md") == 1  # read before it was added, not again by the build
    assert reads.count("pages.pdf") == 1  # the same bytes under the same limits: refused from the manifest
    skipped = dict(curator.searcher.index.manifest.skipped)
    assert "3,000 (--max-pages)" in skipped["pages.pdf"]["reason"]


# --- the user's message matches what happened ---------------------------------------------------

def test_an_unwritable_audit_log_after_a_write_says_the_write_was_done(built, mini_corpus, embedder, tmp_path):
    """It said "the change failed, and the index is as it was" while the report was searchable."""
    from search.serve.render import write_message
    from search.serve.curate import Curator

    (built / "audit.log").mkdir()  # cannot be opened for appending
    upload = tmp_path / "ferry.md"
    upload.write_text(NEW_REPORT, encoding="utf-8")
    curator = Curator(Searcher(built, embedder=embedder), mini_corpus, max_upload_bytes=2**20, uploads_per_minute=5)
    outcome = curator.add(None, upload, "ferry.md")
    message = write_message(outcome)
    assert message.startswith("Added **ferry.md**") and "audit log could not record it" in message
    assert "ferry.md" in curator.searcher.index.manifest.documents


def test_a_full_disk_during_an_upload_leaves_no_temporary_file(mini_corpus, tmp_path, monkeypatch):
    import errno

    from search.ingest import corpus as corpus_module

    real = shutil.copyfile

    def full(source, target):
        if Path(target).name.startswith(".upload-"):
            Path(target).write_bytes(b"part of it")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(source, target)

    monkeypatch.setattr(corpus_module.shutil, "copyfile", full)
    upload = tmp_path / "ferry.md"
    upload.write_text(NEW_REPORT, encoding="utf-8")
    before = sorted(p.name for p in mini_corpus.iterdir())
    with pytest.raises(DocumentError, match="No space left on device.*nothing was added"):
        corpus_module.add_report(mini_corpus, upload, "ferry.md")
    assert sorted(p.name for p in mini_corpus.iterdir()) == before


def test_a_report_with_a_255_byte_name_can_be_removed_twice(mini_corpus):
    """Its removal added a time stamp to a name already at the limit: "File name too long", and it stayed for good."""
    from search.ingest.corpus import remove_report

    name = "ລ" * 83 + ".txt"  # 253 bytes
    for _ in range(2):
        (mini_corpus / name).write_text("A report with a long Lao name.", encoding="utf-8")
        moved = remove_report(mini_corpus, name)
        assert moved.is_file() and len(moved.name.encode()) <= 255 and not (mini_corpus / name).exists()


def test_a_generation_built_by_the_cli_is_served_by_a_running_searcher(built, mini_corpus, embedder):
    searcher = Searcher(built, embedder=embedder)
    question = "How many passengers did the ferry crossing at Pakse carry a day?"
    assert not any(h.passage_id.startswith("ferry.md") for h in searcher.search(question, k=5).hits)
    (mini_corpus / "ferry.md").write_text(NEW_REPORT, encoding="utf-8")
    build_index(mini_corpus, built, embedder=embedder)  # as `python -m search build` would, beside the app
    assert searcher.follow(every=0)
    assert any(h.passage_id.startswith("ferry.md") for h in searcher.search(question, k=5).hits)
    assert not searcher.follow(every=0)


# --- writes are journalled: a crash is finished or undone at the next start, and recorded ---------

_CRASHING_UPLOAD = """
import os, signal, sys
from pathlib import Path
from search import Searcher
from search.serve import curate

corpus, index, upload, point = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
die = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
if point == "before-build":
    curate.Curator.refresh = die
else:  # after the new generation is published, before the outcome is recorded
    real = curate.Curator._record
    curate.Curator._record = lambda self, user, action, file, outcome: die() if outcome.startswith("ok") else real(self, user, action, file, outcome)
curator = curate.Curator(Searcher(index), corpus, max_upload_bytes=2**20, uploads_per_minute=5)
curator.add(None, upload, "ferry.md")
print("not killed")
"""


@pytest.mark.parametrize("point, kept", [("before-build", False), ("after-publish", True)])
def test_an_upload_killed_midway_is_finished_or_undone_at_restart_and_recorded(built, mini_corpus, embedder, model_cache,
                                                                               tmp_path, point, kept):
    """A kill -9 during an upload left the report in corpus/; the restarted app indexed it with no audit line."""
    from search.serve import audit, journal
    from search.serve.curate import Curator

    upload = tmp_path / "ferry.md"
    upload.write_text(NEW_REPORT, encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", _CRASHING_UPLOAD, str(mini_corpus), str(built), str(upload), point],
                          capture_output=True, text=True, env=_env(model_cache), timeout=600)
    assert done.returncode == -9 and "not killed" not in done.stdout, done.stderr[-2000:]
    assert [e.values["saved"] for e in journal.pending(built)] == ["ferry.md"]
    curator = Curator(Searcher(built, embedder=embedder), mini_corpus, max_upload_bytes=2**20, uploads_per_minute=5)
    said = curator.recover()
    assert len(said) == 1 and said[0].startswith("ok (finished" if kept else "rolled back after a crash")
    assert (mini_corpus / "ferry.md").exists() == kept and (mini_corpus / ".removed" / "ferry.md").exists() != kept
    assert journal.pending(built) == [] and curator.recover() == []
    assert audit.read(built)[-1]["outcome"] == said[0] and audit.read(built)[-1]["action"] == "upload"
    assert index_is_stale(mini_corpus, built) is False


def test_a_completely_full_disk_refuses_a_write_in_one_line_as_a_nearly_full_one(built, mini_corpus, embedder, tmp_path,
                                                                                 monkeypatch):
    """0 bytes free: the journal cannot be written, then neither can the audit line saying so (it escaped as a
    bare OSError: a 500 from the API, "the change failed" on the page)."""
    import errno

    from search.errors import IndexWriteError
    from search.serve import audit, journal
    from search.serve.curate import Curator

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(journal, "write_atomic", full)
    monkeypatch.setattr(audit.os, "write", full)
    upload = tmp_path / "ferry.md"
    upload.write_text(NEW_REPORT, encoding="utf-8")
    before = sorted(p.name for p in mini_corpus.iterdir())
    curator = Curator(Searcher(built, embedder=embedder), mini_corpus, max_upload_bytes=2**20, uploads_per_minute=5)
    for write in (lambda: curator.add(None, upload, "ferry.md"), lambda: curator.remove(None, "rice-report.md"),
                  lambda: curator.rebuild(None)):
        with pytest.raises(IndexWriteError, match=r"No space left on device.*nothing was changed.*Free some disk space"):
            write()
    assert sorted(p.name for p in mini_corpus.iterdir()) == before
