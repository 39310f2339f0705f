"""Building on a Ray cluster: each report read, cut and embedded by a Ray task, the index written here.

``python -m search build --ray [ADDRESS]`` sends every report that the index does not already hold
(new or changed bytes) to the cluster as one task: its bytes travel with it, so nodes need not share
the corpus folder. A task reads the report within the build's limits, cuts its passages and embeds
them and their sentences with the index's model, loaded once per worker process. The driver then runs
the ordinary build (:func:`search.index.build.build_index`) with those reports and vectors in hand:
it cuts each report again (cheap) and takes a task's vectors only when its passages are the same
texts, so the index is the one a local build writes. What remains on the driver is the part that
needs the whole library: BM25, the bridge's term tables (their new terms embedded here) and writing.

A report a task cannot read is read again by the driver, which records why it was refused, as a local
build does. Ray is an optional extra: ``pip install 'report-search[cluster]'``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from search.errors import DocumentError, SearchError
from search.index.records import IndexConfig
from search.ingest.limits import DEFAULT_LIMITS, ReadLimits
from search.ingest.read import Document, list_corpus

_EMBEDDERS: dict = {}  # per worker process: (config, cache_dir) -> Embedder, loaded once


@dataclass(frozen=True)
class Embedded:
    """A report as a task returns it: the report read, its passages' texts, their vectors and their
    sentences' vectors (in passage order)."""

    document: Document
    texts: tuple[str, ...]
    vectors: np.ndarray
    sentence_vectors: np.ndarray


def embed_on_ray(corpus_dir: Path, index_dir: Path, config: IndexConfig, *, model_id: str, cache_dir: Path | None,
                 address: str | None, limits: ReadLimits = DEFAULT_LIMITS,
                 progress: Callable[[int, int], None] | None = None) -> dict[str, Embedded]:
    """Read and embed on Ray, one task a report, the reports of ``corpus_dir`` that the index at ``index_dir``
    does not hold already as the build will keep them (new or changed bytes, another config or model:
    :func:`search.index.freshness.kept_as_they_are`). Returns what the tasks made, by report (not those
    they could not read).

    Raises:
        SearchError: Ray is not installed, or the cluster cannot be reached.
    """
    try:
        import ray
    except ImportError as exc:
        raise SearchError("building on Ray needs the cluster extra: pip install 'report-search[cluster]'") from exc
    from search.fileio import file_sha256

    from search.index.freshness import kept_as_they_are

    held = kept_as_they_are(index_dir, config, model_id)
    files, _ = list_corpus(corpus_dir)
    work = []
    for path in files:
        doc_id = path.relative_to(corpus_dir).as_posix()
        try:
            if held.get(doc_id) != file_sha256(path):
                work.append((doc_id, path))
        except OSError:
            continue  # the build names it
    if not work:
        return {}
    started_here = not ray.is_initialized()
    if started_here and address not in (None, "local", "auto"):
        _reachable(address)  # Ray itself retries an unreachable address for minutes, logging each try
    try:
        if started_here:
            ray.init(address=None if address in (None, "local") else address, include_dashboard=False,
                     log_to_driver=False, configure_logging=False)
    except Exception as exc:  # noqa: BLE001 - Ray raises ConnectionError, RuntimeError, its own types
        raise SearchError(f"cannot reach the Ray cluster at {address or 'the default address'} ({exc})") from exc
    try:
        task = ray.remote(_embed_report)
        cache = str(cache_dir) if cache_dir else None
        # A window of tasks in flight, not the whole library: each carries its report's bytes (up to 50 MB)
        window = max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
        queue, pending, done = list(reversed(work)), {}, {}
        while queue or pending:
            while queue and len(pending) < window:
                doc_id, path = queue.pop()
                try:
                    data = path.read_bytes()
                except OSError:
                    continue  # gone or unreadable since it was listed: the build names it
                pending[task.remote(data, doc_id, config, cache, limits)] = doc_id
            if not pending:
                break
            ready, _ = ray.wait(list(pending), num_returns=1)
            doc_id = pending.pop(ready[0])
            result = ray.get(ready[0])
            if result is not None:
                done[doc_id] = result
            if progress:
                progress(len(work) - len(pending) - len(queue), len(work))
        return done
    finally:
        if started_here:
            ray.shutdown()


def _reachable(address: str, timeout: float = 5.0) -> None:
    """Raise at once when nothing listens at a cluster address (``host:port`` or ``ray://host:port``)."""
    import socket

    host, _, port = address.split("://", 1)[-1].rpartition(":")
    if not host or not port.isdigit():
        raise SearchError(f"a Ray address is HOST:PORT or ray://HOST:PORT, got {address!r}")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise SearchError(f"cannot reach the Ray cluster at {address} ({exc.strerror or exc}); is it running? "
                          "(ray start --head on its head node)") from exc


def _embed_report(data: bytes, doc_id: str, config: IndexConfig, cache_dir: str | None,
                  limits: ReadLimits) -> Embedded | None:
    """One Ray task: read a report from its bytes, cut it, embed it. None when it cannot be read."""
    from search.index.build import document_passages, make_embedder
    from search.index.context import model_inputs
    from search.ingest.bounded import BoundedReader
    from search.ingest.chunk import ChunkSettings

    key = (config, cache_dir)
    if key not in _EMBEDDERS:
        _EMBEDDERS[key] = make_embedder(config, cache_dir=Path(cache_dir) if cache_dir else None, threads=1)
    embedder = _EMBEDDERS[key]
    with tempfile.TemporaryDirectory(prefix="report-search-ray-") as folder:
        path = Path(folder) / Path(doc_id).name  # the suffix tells the reader the format
        path.write_bytes(data)
        try:
            with BoundedReader(limits) as reader:
                document = reader.read(path, doc_id)
            passages = document_passages(document, embedder, ChunkSettings(config.max_chars, config.max_words,
                                                                           config.max_tokens),
                                         languages=config.languages)
        except DocumentError:
            return None  # the driver reads it again and records why
    texts, spans = model_inputs(passages, config.model_context)  # each passage as the model reads it
    if config.sentence_vectors == "late":
        vectors, sentence_vectors = embedder.embed_passages_and_sentences(texts, spans)
    else:
        sentences = [p.text[a:b] for p in passages for a, b in p.sentences]
        both = embedder.embed_passages(texts + sentences)
        vectors, sentence_vectors = both[:len(texts)], both[len(texts):]
    return Embedded(document, tuple(texts), np.asarray(vectors, np.float32),
                    np.asarray(sentence_vectors, np.float32).reshape(-1, embedder.dimension))

