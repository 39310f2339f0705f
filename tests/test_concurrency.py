"""Searches at once: the same answers as one at a time, thread counts that one search cannot change for
another, and the app's limits on how many run together."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import faiss

QUESTIONS = [
    "How many victims did the government identify in 2021?",
    "ລັດຖະບານລາວລະບຸຕົວຜູ້ເຄາະຮ້າຍໄດ້ຈັກຄົນ ໃນປີ 2021?",
    "What penalties does Article 215 prescribe?",
    "ມາດຕາ 215 ກຳນົດໂທດຈຳຄຸກຈັກປີ?",
]


def _ranking(result) -> list:
    return [(hit.passage_id, round(hit.score, 5), hit.highlight) for hit in result.hits] + [result.answer and result.answer.text]


def test_concurrent_searches_answer_as_one_at_a_time(searcher):
    """Eight threads on one Searcher (one model session, one FAISS index, one word cache): every result the
    same as alone, the answer box included."""
    alone = {q: _ranking(searcher.search(q, k=5, highlight=True)) for q in QUESTIONS}
    asked = QUESTIONS * 8
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda q: _ranking(searcher.search(q, k=5, highlight=True)), asked))
    assert together == [alone[q] for q in asked]


def test_faiss_thread_count_is_each_threads_own(searcher):
    """The dense search sets one thread for a question and restores the count after: that is safe only
    because OpenMP keeps the count per thread, so a search never changes a build's count in another."""
    before = faiss.omp_get_max_threads()
    seen = {}

    def elsewhere():
        faiss.omp_set_num_threads(2)
        searcher.search(QUESTIONS[0], k=3)  # sets one thread for its FAISS search, then puts 2 back
        seen["worker"] = faiss.omp_get_max_threads()

    faiss.omp_set_num_threads(3)
    try:
        worker = threading.Thread(target=elsewhere)
        worker.start()
        worker.join()
        assert seen["worker"] == 2 and faiss.omp_get_max_threads() == 3
    finally:
        faiss.omp_set_num_threads(before)


def test_torch_threads_are_set_once_at_load(torch_embedder):
    """torch's count is the process's: a question must not set it to one under a build's batch."""
    import torch

    torch_embedder.embed_passages(["one passage", "two"] * 4)
    count = torch.get_num_threads()
    torch_embedder.embed_queries(["a question"])
    assert torch.get_num_threads() == count
    torch_embedder.embed_passages(["one passage", "two"] * 4)
    assert torch.get_num_threads() == count


def test_every_search_event_shares_one_limit_and_writes_run_one_at_a_time(tip_index, embedder, tmp_path):
    """Gradio runs each event one call at a time unless told (8 clients got 1.2x one client's throughput)."""
    from search.serve.page import build_app

    app = build_app(tip_index, corpus_dir=tmp_path, embedder=embedder, search_concurrency=3)
    fns = list(app.fns.values())
    by_name = {}
    for fn in fns:
        by_name.setdefault(fn.name, set()).add((fn.concurrency_id, fn.concurrency_limit))
    for name in ("run_search", "rerun", "from_url", "api_search"):
        assert by_name[name] == {("search", "default")}, name
    assert app._queue.default_concurrency_limit == 3
    for name in ("upload", "remove", "reindex"):
        assert by_name[name] == {("write", 1)}, name


def test_a_process_that_serves_searches_runs_blas_on_one_thread():
    """``one_blas_thread`` (called by ``serve`` once its index is ready, and by ``eval``): every BLAS library
    loaded, numpy's and FAISS's, on one thread; a second one only spun beside a question's small products.
    In a process of its own: the limit is the process's."""
    import subprocess
    import sys

    code = ("import faiss, numpy\nfrom threadpoolctl import threadpool_info\n"
            "from search.retrieve.engine import one_blas_thread\n"
            "blas = lambda: [i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas']\n"
            "before = blas(); one_blas_thread(); print(len(before), set(blas()))")
    found, after = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  check=True).stdout.split(maxsplit=1)
    assert int(found) >= 1 and after.strip() == "{1}"
