"""Builds on a Ray cluster (a local one, started here with 2 CPUs): the same index as a local build."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import ray
from click.testing import CliRunner

from search import Searcher, build_index
from search.cli import cli
from search.index.cluster import embed_on_ray
from search.index.records import IndexConfig
from search.index.store import load_index

from conftest import CORPUS, DATA

QUESTIONS = ("How many victims did the government identify in 2021?", "ເກັບກ່ຽວເຂົ້າໄດ້ຈັກໂຕນ?", "school enrolment")


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture
def library(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(DATA / "mini", corpus)
    shutil.copy(CORPUS / "laos-tip-2022-voa.txt", corpus)
    (corpus / "broken.txt").write_bytes(b"\x00\x01binary" * 50)  # refused, with its reason, as locally
    return corpus


def test_a_ray_build_writes_the_index_a_local_build_writes(cluster, library, tmp_path, embedder, model_cache):
    local = build_index(library, tmp_path / "local", embedder=embedder)
    embedded = embed_on_ray(library, tmp_path / "ray", IndexConfig(), model_id=embedder.model_id, cache_dir=model_cache,
                            address=None)
    assert sorted(embedded) == sorted(local.documents)  # every readable report, each a task; not the broken one
    remote = build_index(library, tmp_path / "ray", embedder=embedder, embedded=embedded)
    assert remote.embedded == 0 and remote.passages == local.passages  # every vector came from the cluster
    assert remote.skipped == local.skipped and "broken.txt" in dict(remote.skipped)
    a, b = load_index(tmp_path / "local"), load_index(tmp_path / "ray")
    assert [(p.passage_id, p.text, p.citation) for p in a.passages] == [(p.passage_id, p.text, p.citation) for p in b.passages]
    assert np.allclose(a.vectors, b.vectors, atol=1e-4) and np.allclose(a.sentence_vectors, b.sentence_vectors, atol=1e-4)
    here, there = Searcher(tmp_path / "local", embedder=embedder), Searcher(tmp_path / "ray", embedder=embedder)
    for question in QUESTIONS:
        assert [h.passage_id for h in here.search(question, k=5).hits] == [h.passage_id for h in there.search(question, k=5).hits]
    assert embed_on_ray(library, tmp_path / "ray", IndexConfig(), model_id=embedder.model_id, cache_dir=model_cache,
                            address=None) == {}  # held


def test_build_with_ray_from_the_cli_sends_only_changed_reports(cluster, library, tmp_path, model_cache):
    index = tmp_path / "index"
    first = CliRunner().invoke(cli, ["build", "--corpus", str(library), "--index", str(index), "--ray"])
    assert first.exit_code == 0, first.output
    assert "Ray read and embedded 4 report(s)" in first.output and "(0 embedded here" in first.output
    (library / "rice-report.md").write_text("# Rice\n\nThe harvest reached 9,000 tonnes in Savannakhet.\n", encoding="utf-8")
    again = CliRunner().invoke(cli, ["build", "--corpus", str(library), "--index", str(index), "--ray"])
    assert again.exit_code == 0, again.output
    assert "Ray read and embedded 1 report(s)" in again.output and "1 on Ray" in again.output
    assert "9,000 tonnes" in Searcher(index).search("rice harvest tonnes", k=1).hits[0].text


def test_an_unreachable_cluster_is_refused_at_once_not_retried_for_minutes():
    """Ray retries an address nobody listens at for minutes; the build names it and stops."""
    from search.errors import SearchError
    from search.index.cluster import _reachable
    from served import free_port

    port = free_port()  # nobody listens there
    with pytest.raises(SearchError, match=f"cannot reach the Ray cluster at 127.0.0.1:{port}"):
        _reachable(f"127.0.0.1:{port}")
    with pytest.raises(SearchError, match="HOST:PORT"):
        _reachable("nonsense")
