"""Serve the app: check the settings, answer at the address at once, get the index ready, then hand the port over.

``report-search serve`` (search/cli.py) parses the options and environment; :func:`serve` does the rest.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from search.errors import SearchError
from search.ingest.limits import DEFAULT_LIMITS, ReadLimits
from search.model.embed import DEFAULT_ENGINE
from search.progress import TerminalProgress, say
from search.retrieve.engine import one_blas_thread
from search.serve.access import Users, allowed_hosts, is_loopback
from search.serve.api import DEFAULT_SEARCH_CONCURRENCY
from search.serve.curate import DEFAULT_MAX_UPLOAD_MB, DEFAULT_UPLOADS_PER_MINUTE
from search.serve.page import build_app, launch_options
from search.serve.prepare import prepare_index
from search.serve.render import CSS
from search.serve.requestlog import RequestLog, configure
from search.serve.startup import StartupPage


@dataclass(frozen=True)
class ServeOptions:
    """Everything ``serve`` is told (the CLI's options, environment variables already read)."""

    host: str = "127.0.0.1"
    port: int = 7860
    allowed_hosts: tuple[str, ...] = ()
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    model_cache: Path | None = None
    users_file: Path | None = None
    read_only: bool = False
    uploads_per_minute: int = DEFAULT_UPLOADS_PER_MINUTE
    max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB
    engine: str = DEFAULT_ENGINE
    threads: int | None = None
    device: str = "auto"
    limits: ReadLimits = field(default=DEFAULT_LIMITS)
    log_level: str = "info"
    request_log: Path | None = None
    log_questions: bool = False
    search_concurrency: int | None = None  # None: DEFAULT_SEARCH_CONCURRENCY
    thai_words: bool = True  # embed the dictionary's Lao words once per model, in the background


class ServeError(SystemExit):
    """A setting that cannot be served; one line, before anything binds or builds."""

    def __init__(self, message: str):
        super().__init__(f"error: {message}")


def serve(options: ServeOptions) -> None:
    """Serve until interrupted. Refuses, before binding or building, to serve the network with no sign-in."""
    o = options
    configure(o.log_level, o.request_log)
    if not o.users_file and not o.read_only and not is_loopback(o.host):
        raise ServeError(f"refusing to serve {o.host} with no sign-in: anyone who reaches the port could add and "
                         "remove reports. Add users (python -m search users add NAME --role editor --users users.txt, then "
                         "--users users.txt), or serve search only with --read-only.")
    page = StartupPage(o.host, o.port, echo=say, detail=is_loopback(o.host))  # answers while getting ready
    try:
        page.start()
    except OSError as exc:
        raise ServeError(f"cannot serve on {o.host}:{o.port} ({exc.strerror}): another program has it; "
                         "choose another --port") from exc
    print(f"Getting ready; progress at http://{o.host}:{o.port}/", file=sys.stderr, flush=True)
    terminal = TerminalProgress()
    try:
        users = Users(o.users_file) if o.users_file else None
        embedder, stale = prepare_index(o.corpus_dir, o.index_dir, o.model_cache, engine=o.engine, threads=o.threads,
                                        device=o.device,
                                        say=page.say, progress=lambda *count: (terminal(*count), page.progress(*count)),
                                        limits=o.limits)
        page.say("Loading the index and the model")
        one_blas_thread()  # after the first build, which keeps every core
        app = build_app(o.index_dir, corpus_dir=o.corpus_dir, embedder=embedder, refresh=stale,
                        max_upload_mb=o.max_upload_mb, users=users, read_only=o.read_only,
                        uploads_per_minute=o.uploads_per_minute, limits=o.limits,
                        requests=RequestLog(questions=o.log_questions),
                        search_concurrency=o.search_concurrency or DEFAULT_SEARCH_CONCURRENCY, thai_words=o.thai_words)
    except SearchError as exc:
        raise ServeError(str(exc)) from exc
    finally:
        page.stop()
    # quiet: Gradio's own lines end with "To create a public link, set `share=True`", which this app must not do
    app.launch(server_name=o.host, server_port=o.port, css=CSS, quiet=True, prevent_thread_lock=True,
               **launch_options(users, o.read_only, o.max_upload_mb, allowed_hosts(o.host, o.allowed_hosts), app=app))
    print(f"Ready: http://{o.host}:{o.port}/ (Ctrl+C stops it)", file=sys.stderr, flush=True)
    app.block_thread()
