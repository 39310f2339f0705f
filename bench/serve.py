"""A search end to end through the served app, by stage and by number of concurrent clients, in one run.

    python bench/serve.py [--corpus corpus] [--gold eval/gold/laos-tip-2022.jsonl] [--clients 1,8,32]
                          [--requests 64] [--rounds 2] [--search-concurrency N] [--json OUT] [--work DIR]

Builds (or reuses, in ``--work``) the index of the corpus, serves it with ``python -m search serve`` (its
own process, as in use, writing its request log to a file) on a free loopback port, and asks the gold
questions, cycled, through four paths:

- ``engine``: ``Searcher.search`` with highlights, called directly in this process (no HTTP): the floor;
- ``api``: ``GET /api/search`` (the JSON API), one ``httpx.Client`` per client;
- ``gradio-api``: the page's Gradio endpoint ``search``, through Gradio's queue (its REST protocol:
  ``POST /gradio_api/call/search``, then the event's stream);
- ``page``: what the Search button runs (``run_search``: search, render the cards, write the exports),
  through the same queue.

``gradio_client`` is left out: it adds its own client-side time (about 55 ms a question here, and for
``run_search`` it downloads the export files, which a browser does only when asked).

Each client count runs ``--requests`` questions per path, paths interleaved and repeated ``--rounds``
times so machine noise hits all alike. Per path and client count: p50 and p90 of the client's latency,
throughput (questions/s over the wall time), errors; the server's own time from the request log (``ms``,
and its stages), so ``framework`` = client p50 − server p50 is what HTTP, queueing and (for the page)
rendering add. Ratios: each path's one-client p50 over the engine's, and each count's throughput over
one client's on the same path.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from search import Searcher
from search.evaluation.gold import load_gold
from search.retrieve.engine import one_blas_thread
from search.serve.prepare import prepare_index
from search.serve.render import LANG_FILTERS
from search.serve.requestlog import LOGGER, RequestLog

PATHS = ("engine", "api", "gradio-api", "page")
K = 5
ALL = next(iter(LANG_FILTERS))  # the page's "all languages" choice


class _Lines:
    """The request log's lines written since the last ``take``: the server's file, and this process's engine."""

    def __init__(self, path: Path):
        self.path, self.offset, self.engine = path, 0, _Memory()
        logger = logging.getLogger(LOGGER)
        logger.addHandler(self.engine)
        logger.setLevel(logging.INFO)
        logger.propagate = False

    def take(self) -> list[dict]:
        time.sleep(0.2)  # the server's last lines reach the file
        if not self.path.exists():
            return self.engine.take()
        with self.path.open("rb") as f:
            f.seek(self.offset)
            data = f.read()
        complete = data[:data.rfind(b"\n") + 1]
        self.offset += len(complete)
        return [json.loads(line) for line in complete.decode("utf-8").splitlines()] + self.engine.take()


class _Memory(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines: list[dict] = []
        self._lock = threading.Lock()

    def emit(self, record):
        with self._lock:
            self.lines.append(json.loads(record.getMessage()))

    def take(self) -> list[dict]:
        with self._lock:
            lines, self.lines = self.lines, []
        return lines


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def _askers(path: str, n: int, url: str, searcher: Searcher):
    """One function per client, each asking one question and raising on any failure."""
    if path == "engine":
        log = RequestLog()
        return [lambda q: log.search(searcher, q, endpoint="engine", user=None, k=K, lang=None, docs=None)
                for _ in range(n)]
    if path == "api":
        def api(client):
            def ask(q):
                response = client.get("api/search", params={"q": q, "k": K})
                response.raise_for_status()
                assert response.json()["hits"]
            return ask
        return [api(httpx.Client(base_url=url, timeout=300)) for _ in range(n)]
    endpoint = "search" if path == "gradio-api" else "run_search"
    data = (lambda q: [q, K, "all", []]) if path == "gradio-api" else (lambda q: [q, K, ALL, []])

    def gradio(client):
        def ask(q):  # Gradio's REST protocol: join the queue, then read the event's stream to its end
            joined = client.post(f"gradio_api/call/{endpoint}", json={"data": data(q)})
            joined.raise_for_status()
            stream = client.get(f"gradio_api/call/{endpoint}/{joined.json()['event_id']}").text
            if "event: complete" not in stream:
                raise RuntimeError(stream[-300:])
        return ask
    return [gradio(httpx.Client(base_url=url, timeout=300)) for _ in range(n)]


def _run(askers, questions: list[str], requests: int) -> tuple[list[float], int, float]:
    """``requests`` questions shared among the clients; latencies (ms), errors, wall seconds."""
    latencies, errors, lock = [], [0], threading.Lock()
    work = iter(range(requests))

    def client(ask):
        while True:
            with lock:
                i = next(work, None)
            if i is None:
                return
            start = time.perf_counter()
            try:
                ask(questions[i % len(questions)])
            except Exception as exc:  # noqa: BLE001 - counted and shown once; the bench goes on
                with lock:
                    errors[0] += 1
                    if errors[0] == 1:
                        print(f"  first error: {type(exc).__name__}: {exc}", flush=True)
                continue
            with lock:
                latencies.append((time.perf_counter() - start) * 1000)

    start = time.perf_counter()
    with ThreadPoolExecutor(len(askers)) as pool:
        list(pool.map(client, askers))
    return latencies, errors[0], time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    parser.add_argument("--gold", type=Path, default=Path("eval/gold/laos-tip-2022.jsonl"))
    parser.add_argument("--work", type=Path, default=None, help="where the index is built (default: a temporary folder)")
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--requests", type=int, default=64, help="questions per path and client count, per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--search-concurrency", type=int, default=None,
                        help="serve --search-concurrency (default: the app's own)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="serve-bench-"))
    questions = [q.question for q in load_gold(args.gold)[0]]
    counts = [int(c) for c in args.clients.split(",")]

    embedder, _ = prepare_index(args.corpus, work / "index", os.environ.get("REPORT_SEARCH_CACHE"), say=print)
    log_file = work / "requests.jsonl"
    log_file.unlink(missing_ok=True)
    port = _free_port()
    command = [sys.executable, "-m", "search", "serve", "--corpus", str(args.corpus), "--index", str(work / "index"),
               "--port", str(port), "--request-log", str(log_file), "--log-level", "warning",
               "--no-thai-words"]  # no background embedding of the dictionary during the measurement
    if args.search_concurrency:
        command += ["--search-concurrency", str(args.search_concurrency)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait(url, server)
        _bench(args, work, embedder, url, log_file, questions, counts)
    finally:
        server.terminate()
        server.wait(30)


def _wait(url: str, server: subprocess.Popen) -> None:
    """Until the app answers its JSON API (the index is built beforehand, so this is the model's load)."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped (exit {server.returncode})")
        try:
            if httpx.get(url + "api/reports", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise SystemExit("the server did not answer in 10 minutes")


def _bench(args, work: Path, embedder, url: str, log_file: Path, questions: list[str], counts: list[int]) -> None:
    lines = _Lines(log_file)
    searcher = Searcher(work / "index", embedder=embedder)
    searcher.warm_up()
    one_blas_thread()  # as the server does once its index is ready
    askers = {(path, n): _askers(path, n, url, searcher) for n in counts for path in PATHS}
    for path in ("engine", "api"):  # every question once in each process: all paths then meet warm caches alike
        for question in questions:
            askers[path, counts[0]][0](question)
    for path in PATHS:
        askers[path, counts[0]][0](questions[0])
    lines.take()

    runs = {key: {"ms": [], "errors": 0, "wall_s": 0.0, "requests": 0, "server": []} for key in askers}
    for round_ in range(args.rounds):
        for n in counts:
            for path in PATHS:
                latencies, errors, wall = _run(askers[path, n], questions, args.requests)
                run = runs[path, n]
                run["ms"] += latencies
                run["errors"] += errors
                run["wall_s"] += wall
                run["requests"] += args.requests
                run["server"] += lines.take()
                print(f"round {round_ + 1} · {n:>2} client(s) · {path:<10} p50 {statistics.median(latencies):8.1f} ms"
                      f" · {args.requests / wall:6.1f} q/s · errors {errors}", flush=True)

    report = {"questions": len(questions), "requests": args.requests, "rounds": args.rounds, "k": K,
              "cores": os.cpu_count(), "paths": {}}
    for (path, n), run in runs.items():
        server = [line["ms"] for line in run["server"]]
        stages = {name: round(statistics.median(line["stages"].get(name, 0.0) for line in run["server"]), 2)
                  for name in sorted({s for line in run["server"] for s in line["stages"]})}
        entry = {"p50_ms": round(statistics.median(run["ms"]), 1), "p90_ms": round(_p(run["ms"], 90), 1),
                 "throughput_qps": round(run["requests"] / run["wall_s"], 2), "errors": run["errors"]}
        if server:
            entry |= {"server_p50_ms": round(statistics.median(server), 1),
                      "framework_p50_ms": round(statistics.median(run["ms"]) - statistics.median(server), 1),
                      "stages_p50_ms": stages}
        report["paths"].setdefault(path, {})[str(n)] = entry
    engine_one = report["paths"]["engine"][str(counts[0])]["p50_ms"]
    for path, by_count in report["paths"].items():
        one = by_count[str(counts[0])]
        one["p50_over_engine"] = round(one["p50_ms"] / engine_one, 2)
        for n, entry in by_count.items():
            entry["throughput_over_one_client"] = round(entry["throughput_qps"] / one["throughput_qps"], 2)

    print(f"\n{'path':<11}{'clients':>8}{'p50 ms':>9}{'p90 ms':>9}{'server':>8}{'frame':>8}{'q/s':>7}"
          f"{'×1 client':>11}{'errors':>8}")
    for path, by_count in report["paths"].items():
        for n, e in by_count.items():
            print(f"{path:<11}{n:>8}{e['p50_ms']:>9.1f}{e['p90_ms']:>9.1f}{e.get('server_p50_ms', e['p50_ms']):>8.1f}"
                  f"{e.get('framework_p50_ms', 0.0):>8.1f}{e['throughput_qps']:>7.1f}"
                  f"{e['throughput_over_one_client']:>11.2f}{e['errors']:>8}")
    print("one client, p50 over the engine's: "
          + ", ".join(f"{path} {by[str(counts[0])]['p50_over_engine']}" for path, by in report["paths"].items()))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
