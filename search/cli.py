"""Command line: ``report-search`` (or ``python -m search``) ``serve | build | query | eval | compare | check | users``.

Only this module reads environment variables (each once, as an option's default): ``REPORT_SEARCH_CACHE``
(where the converted model is kept), ``REPORT_SEARCH_MODEL`` (another
sentence-transformers model for new indexes), ``REPORT_SEARCH_ENGINE`` (how the
default model runs in new indexes), ``REPORT_SEARCH_THREADS``, ``REPORT_SEARCH_USERS``,
``REPORT_SEARCH_THAI_WORDS`` and ``REPORT_SEARCH_DEBUG``.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import textwrap
from pathlib import Path

import click

from search.serve.access import ROLES, read_users, remove_user, save_user
from search.serve.curate import DEFAULT_MAX_UPLOAD_MB, DEFAULT_UPLOADS_PER_MINUTE
from search.index.build import build_index, make_embedder
from search.cite import format_citation
from search.display import visible
from search.model.embed import DEFAULT_ENGINE, DEFAULT_MODEL, DEVICES, ENGINES, Embedder
from search.retrieve.checks import MAX_K
from search.retrieve.engine import DEFAULT_RETRIEVER, RETRIEVERS, Searcher, one_blas_thread
from search.errors import IndexNotFoundError, QueryError, ScopeError, SearchError
from search.evaluation.evaluate import evaluate, format_side_by_side, format_table
from search.evaluation.gold import load_gold
from search.evaluation.report import write_report
from search.evaluation.compare import compare, format_comparison, load_ranks
from search.evaluation.trec import METRIC_NAMES, write_qrels, write_run
from search.index.records import IndexConfig
from search.index.store import check_index
from search.ingest.limits import DEFAULT_LIMITS, LIMIT_HELP, MIN_LIMITS, ReadLimits, option_name
from search.progress import TerminalProgress, say

class _EnvOption(click.Option):
    """An option an environment variable may also set: a bad value there is named with its variable."""

    def process_value(self, ctx: click.Context, value):
        try:
            return super().process_value(ctx, value)
        except click.BadParameter as exc:
            if ctx.get_parameter_source(self.name) is not click.core.ParameterSource.ENVIRONMENT:
                raise
            raise click.UsageError(f"{self.envvar}={os.environ.get(self.envvar, '')!r}: {exc.message}") from exc


_cache_option = click.option("--model-cache", type=click.Path(path_type=Path), cls=_EnvOption, envvar="REPORT_SEARCH_CACHE",
                             default=None, help="Folder for the converted model [env REPORT_SEARCH_CACHE; default ~/.cache/report-search].")
_threads_option = click.option("--threads", type=click.IntRange(1, 256), cls=_EnvOption, envvar="REPORT_SEARCH_THREADS", default=None,
                               help="Threads for embedding batches [env REPORT_SEARCH_THREADS; default: every core]. "
                                    "A single question always uses one.")
_device_option = click.option("--device", type=click.Choice(DEVICES), cls=_EnvOption, envvar="REPORT_SEARCH_DEVICE",
                              default="auto", show_default=True,
                              help="Where embedding batches run: a CUDA GPU when one is usable (auto), or always the "
                                   "CPU; cuda says so in one line when there is none [env REPORT_SEARCH_DEVICE].")
_index_option = click.option("--index", "index_dir", type=click.Path(path_type=Path), default=Path("index"),
                             show_default=True, help="Index folder.")
_corpus_option = click.option("--corpus", "corpus_dir", type=click.Path(path_type=Path), default=Path("corpus"),
                              show_default=True, help="Folder of reports.")
_doc_option = click.option("--doc", "docs", multiple=True, metavar="REPORT",
                           help="Search only this report (its file name in the corpus, as in citations); repeat for several.")


class _OneLineErrors(click.Group):
    """Every failure is one line and a non-zero exit; ``--debug`` shows the traceback of unexpected ones."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort, KeyboardInterrupt):
            raise
        except SearchError as exc:
            raise click.ClickException(str(exc)) from exc
        except Exception as exc:  # noqa: BLE001 - the CLI's promise: one line, not a traceback
            if ctx.meta.get("debug"):
                raise
            reason = " ".join(str(exc).split()) or "no message"
            raise click.ClickException(
                f"unexpected {type(exc).__name__}: {reason} (run with --debug for the traceback, and please report it)"
            ) from exc


@click.group(cls=_OneLineErrors)
@click.version_option(package_name="report-search")
@click.option("--debug", is_flag=True, envvar="REPORT_SEARCH_DEBUG", help="Show the traceback of an unexpected error.")
@click.pass_context
def cli(ctx, debug):
    """Search Lao and English reports; every answer is a cited passage."""
    ctx.meta["debug"] = debug


def _limits_options(command):
    """``--max-pages``, ``--max-chars``, ``--max-passages``, ``--read-seconds``, ``--read-memory-mb``, given to the
    command as one ``limits`` (a :class:`ReadLimits`)."""
    names = list(LIMIT_HELP)

    def wrapped(*args, **kwargs):
        values = {name: kwargs.pop(name) for name in names}
        return command(*args, limits=ReadLimits(**values), **kwargs)

    wrapped = functools.update_wrapper(wrapped, command)
    for name in reversed(names):
        default = getattr(DEFAULT_LIMITS, name)
        kind = click.FloatRange(min=0.1) if isinstance(default, float) else click.IntRange(min=MIN_LIMITS.get(name, 1))
        wrapped = click.option(option_name(name), name, type=kind, default=default, show_default=True,
                               help=LIMIT_HELP[name][0].upper() + LIMIT_HELP[name][1:] + ".")(wrapped)
    return wrapped


def run_build(corpus_dir: Path, index_dir: Path, model_cache: Path | None, model: str = DEFAULT_MODEL, *,
              engine: str = DEFAULT_ENGINE, threads: int | None = None,
              sentence_vectors: str = IndexConfig.sentence_vectors,
              languages: tuple[str, ...] = IndexConfig.languages, adapter: bool = IndexConfig.adapter,
              limits: ReadLimits = DEFAULT_LIMITS, device: str = "auto", ray_address: str | None = None) -> None:
    """Build with a progress bar and a summary on stderr (shared by ``build`` and ``query``)."""
    config = IndexConfig(model=model, engine=engine, sentence_vectors=sentence_vectors, languages=languages,
                         adapter=adapter)
    embedder = make_embedder(config, cache_dir=model_cache, threads=threads, progress=say, device=device)
    progress, embedded, on_ray = TerminalProgress(), None, 0
    if ray_address is not None:
        from search.index.cluster import embed_on_ray

        embedded = embed_on_ray(corpus_dir, index_dir, config, model_id=embedder.model_id, cache_dir=embedder.cache_dir,
                                address=ray_address, limits=limits,
                                progress=lambda done, total: progress("reports on Ray", done, total))
        on_ray = sum(len(e.texts) for e in embedded.values())
        click.echo(f"Ray read and embedded {len(embedded)} report(s), {on_ray} passages; the rest is built here", err=True)
    report = build_index(corpus_dir, index_dir, config=config, embedder=embedder, progress=progress, limits=limits,
                         embedded=embedded)
    for name, reason in report.skipped:
        click.echo(f"skipped {visible(name)}: {reason}", err=True)
    where = f"{report.embedded} embedded here, {on_ray} on Ray" if embedded is not None else f"{report.embedded} embedded"
    click.echo(f"indexed {len(report.documents)} report(s), {report.passages} passages "
               f"({where}, {report.passages - report.embedded - on_ray} reused) into {index_dir}", err=True)


@cli.command()
@_corpus_option
@_index_option
@_cache_option
@click.option("--model", envvar="REPORT_SEARCH_MODEL", default=DEFAULT_MODEL, show_default=True,
              help="Embedding model: the default, or a sentence-transformers name or folder [env REPORT_SEARCH_MODEL].")
@click.option("--engine", type=click.Choice(ENGINES), envvar="REPORT_SEARCH_ENGINE", default=DEFAULT_ENGINE, show_default=True,
              help="How the default model runs: ONNX Runtime (float32 or 8-bit), or torch [env REPORT_SEARCH_ENGINE]. "
                   "Queries use the index's.")
@click.option("--sentence-vectors", type=click.Choice(["separate", "late"]), default=IndexConfig.sentence_vectors,
              show_default=True, help="Embed each sentence alone, or pool it from its passage's model pass "
                                      "(about 1.7x faster builds, slightly lower ranks; docs/building.md).")
@click.option("--languages", default=",".join(IndexConfig.languages), show_default=True,
              help="The languages passages may be tagged with, comma-separated; a passage in any other is 'und'.")
@click.option("--adapter/--no-adapter", default=IndexConfig.adapter, show_default=True,
              help="Merge the shipped Lao adapter into the default model (docs/model.md, The Lao adapter); --no-adapter for the plain model.")
@_threads_option
@_device_option
@click.option("--ray", "ray_address", is_flag=False, flag_value="local", default=None, metavar="[ADDRESS]",
              help="Read and embed each changed report as a task on a Ray cluster (ADDRESS, e.g. ray://head:10001; "
                   "alone: RAY_ADDRESS, a running cluster, or a new local one); needs the [cluster] extra.")
@_limits_options
def build(corpus_dir, index_dir, model_cache, model, engine, sentence_vectors, languages, adapter, threads, device,
          ray_address, limits):
    """Build or update the index from the reports in CORPUS.

    Only reports that changed since the last build are embedded again.

    Example: python -m search build --corpus corpus --index index
    """
    try:
        run_build(corpus_dir, index_dir, model_cache, model, engine=engine, threads=threads,
                  sentence_vectors=sentence_vectors, languages=tuple(x.strip() for x in languages.split(",") if x.strip()),
                  adapter=adapter, limits=limits, device=device, ray_address=ray_address)
    except SearchError as exc:
        raise click.ClickException(str(exc)) from exc


@cli.command()
@click.argument("question")
@_index_option
@_corpus_option
@_cache_option
@click.option("-k", "k", type=click.IntRange(1, MAX_K), default=5, show_default=True, help="Number of passages.")
@click.option("--lang", type=click.Choice(["lo", "en"]), default=None, help="Only passages in this language.")
@_doc_option
@click.option("--retriever", type=click.Choice(RETRIEVERS), default=DEFAULT_RETRIEVER, show_default=True,
              help="Retrieval method.")
@click.option("--model", default=None, help="Model to query with; must be the one the index was built with.")
@click.option("--json", "as_json", is_flag=True, help="Print the hits as JSON.")
@_threads_option
def query(question, index_dir, corpus_dir, model_cache, k, lang, docs, retriever, model, as_json, threads):
    """Print the passages that best answer QUESTION, with their citations.

    Builds the index from CORPUS first if there is none.

    Example: python -m search query "How many traffickers were convicted in 2021?" -k 3 --doc laos-tip-2022-voa.txt
    """
    embedder = Embedder(model, cache_dir=model_cache) if model else None
    try:
        searcher = Searcher(index_dir, embedder=embedder, cache_dir=model_cache, threads=threads, progress=say)
        try:
            _ = searcher.index  # raises IndexNotFoundError when there is none
        except IndexNotFoundError:
            click.echo(f"no index at {index_dir}; building it from {corpus_dir} first", err=True)
            run_build(corpus_dir, index_dir, model_cache, threads=threads)
        result = searcher.search(question, k=k, lang=lang, retriever=retriever, highlight=True, docs=docs or None)
    except ScopeError as exc:
        raise click.BadParameter(str(exc), param_hint="--doc") from exc
    except QueryError as exc:
        raise click.BadParameter(str(exc), param_hint="QUESTION") from exc
    except SearchError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        click.echo(f"question language: {result.question_lang}", err=True)
        return
    click.echo(f"question language: {result.question_lang}\n")
    answer = result.answer
    if answer:
        click.echo(f"answer (from #{answer.rank}, {format_citation(answer.citation)}):")
        click.echo(textwrap.fill(answer.text, width=100, initial_indent="   ", subsequent_indent="   ") + "\n")
    elif result.withheld:
        click.echo(f"answer: none, since {result.withheld}; read the passages below\n")
    else:
        click.echo("answer: no sentence answers this confidently; read the passages below\n")
    for hit in result.hits:
        click.echo(f"{hit.rank}. [{hit.score:.3f}] {hit.lang} · {format_citation(hit.citation)}")
        for other in hit.also_in:
            click.echo(f"   also in {format_citation(other)}")
        click.echo(textwrap.fill(hit.text, width=100, initial_indent="   ", subsequent_indent="   ") + "\n")


@cli.command("eval")
@click.argument("gold", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_index_option
@_cache_option
@click.option("-k", "k", type=click.IntRange(1, MAX_K), default=10, show_default=True, help="Passages retrieved per question.")
@click.option("--retriever", type=click.Choice([*RETRIEVERS, "all"]), default=DEFAULT_RETRIEVER, show_default=True,
              help="Retrieval method; 'all' compares them side by side.")
@_doc_option
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), help="Write the results as JSON here.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=Path), help="Write a Markdown report with a chart here.")
@click.option("--trec-run", "trec_run", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the ranked lists as a TREC run file here (with --retriever all, one file each: NAME.<retriever>.EXT).")
@click.option("--qrels", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the relevant passages (those holding an answer) as TREC qrels here.")
@_threads_option
def eval_command(gold, index_dir, model_cache, k, retriever, docs, json_out, report_dir, trec_run, qrels, threads):
    """Measure retrieval on a gold question set (JSON Lines, see notes/gold-format.md).

    Prints hit@1/3/5/10, mrr@10 and ndcg@10 overall, per question language and per
    language pair; broken gold lines are listed by line number.

    Example: python -m search eval eval/gold/laos-tip-2022.jsonl --retriever all
    """
    names = list(RETRIEVERS) if retriever == "all" else [retriever]
    try:
        questions, problems = load_gold(gold)
        searcher = Searcher(index_dir, cache_dir=model_cache, threads=threads, progress=say)
        one_blas_thread()  # questions one after another: a second BLAS thread only spins
        runs = [evaluate(searcher, questions, retriever=name, k=k, problems=problems, docs=docs or None) for name in names]
    except ScopeError as exc:
        raise click.BadParameter(str(exc), param_hint="--doc") from exc
    except SearchError as exc:
        raise click.ClickException(str(exc)) from exc
    for problem in runs[0].problems:
        click.echo(f"gold {gold.name} {problem}", err=True)
    if not runs[0].n:
        raise click.ClickException(f"no usable question in {gold}: {len(runs[0].problems)} broken line(s), listed above")
    for run in runs:
        run.config = _run_config(searcher, run, gold, docs)
    click.echo(format_side_by_side(runs) if retriever == "all" else format_table(runs[0]))
    if json_out:
        data = runs[0].to_dict() if retriever != "all" else {"retrievers": {r.retriever: r.to_dict() for r in runs}}
        json_out.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    if report_dir:
        click.echo(f"report: {write_report(runs, report_dir, title=gold.name)}", err=True)
    if trec_run:
        for run in runs:
            target = trec_run if len(runs) == 1 else trec_run.with_name(f"{trec_run.stem}.{run.retriever}{trec_run.suffix}")
            click.echo(f"TREC run: {write_run(target, run)}", err=True)
    if qrels:
        click.echo(f"qrels: {write_qrels(qrels, runs[0])} (ir_measures / ranx names: "
                   f"{', '.join(f'{k} = {v}' for k, v in METRIC_NAMES.items())})", err=True)


@cli.command("compare")
@click.argument("before", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("after", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--retriever", default=None, help="With runs of --retriever all: the retriever to compare (default: the first).")
def compare_command(before, after, retriever):
    """Compare two eval runs (eval --json): hit@1/5/10 and mrr@10 before and after, with a paired
    randomization test's p-value each, then every question whose rank moved.

    Example: python -m search compare before.json after.json
    """
    try:
        result = compare(load_ranks(before, retriever), load_ranks(after, retriever))
    except (ValueError, KeyError, TypeError) as exc:
        raise click.ClickException(f"cannot compare: {exc}") from exc
    click.echo(format_comparison(result))


@cli.command()
@_index_option
def check(index_dir):
    """Check every file of the index against its size and checksum, and read each one.

    Exits 1, with a one-line message, at the first damaged file.

    Example: python -m search check --index index
    """
    summary = check_index(index_dir)
    click.echo(f"index at {index_dir} is intact: generation {summary['generation']}, {summary['passages']} passages, "
               f"{summary['files']} files, {summary['bytes'] / 2**20:.1f} MiB checksummed")


_users_option = click.option("--users", "users_file", type=click.Path(path_type=Path), envvar="REPORT_SEARCH_USERS",
                             default=Path("users.txt"), show_default=True,
                             help="The users file the app reads with --users [env REPORT_SEARCH_USERS].")


def _names(ctx, param, values) -> tuple[str, ...]:
    """Repeated values and comma-separated ones alike (the environment gives one comma-separated string)."""
    return tuple(name.strip() for value in values for name in value.split(",") if name.strip())


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (127.0.0.1: this machine only).")
@click.option("--port", type=click.IntRange(1, 65535), default=7860, show_default=True)
@click.option("--allowed-host", "allowed_hosts", multiple=True, cls=_EnvOption, envvar="REPORT_SEARCH_ALLOWED_HOSTS",
              callback=_names, help="A name browsers use to reach the app, beyond this machine's own (repeatable) "
                                    "[env REPORT_SEARCH_ALLOWED_HOSTS, comma-separated]; other Host headers get 400.")
@_corpus_option
@_index_option
@_cache_option
@click.option("--users", "users_file", type=click.Path(path_type=Path), envvar="REPORT_SEARCH_USERS", default=None,
              help="Users file: everyone must sign in; readers search, editors also add and remove reports "
                   "[env REPORT_SEARCH_USERS] (make it with: report-search users add NAME --role editor --users FILE).")
@click.option("--read-only", is_flag=True, help="Search only: no upload, remove or re-index, for anyone.")
@click.option("--uploads-per-minute", type=click.IntRange(1), default=DEFAULT_UPLOADS_PER_MINUTE, show_default=True,
              help="Uploads one user may make in any minute.")
@click.option("--max-upload-mb", type=click.IntRange(1, 10_000), cls=_EnvOption, envvar="REPORT_SEARCH_MAX_UPLOAD_MB",
              default=DEFAULT_MAX_UPLOAD_MB, show_default=True,
              help="Largest report an upload may be, in MB [env REPORT_SEARCH_MAX_UPLOAD_MB].")
@click.option("--engine", type=click.Choice(ENGINES), cls=_EnvOption, envvar="REPORT_SEARCH_ENGINE", default=DEFAULT_ENGINE,
              show_default=True, help="How the default model runs in a new index [env REPORT_SEARCH_ENGINE].")
@_threads_option
@_device_option
@_limits_options
@click.option("--search-concurrency", type=click.IntRange(1, 256), default=None,
              help="Searches run at once, in the page and each API (more wait their turn) "
                   "[default: twice the cores]; writes always run one at a time.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), cls=_EnvOption,
              envvar="REPORT_SEARCH_LOG_LEVEL", default="info", show_default=True,
              help="What the console shows: info adds a JSON line per search [env REPORT_SEARCH_LOG_LEVEL].")
@click.option("--request-log", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the request log (a JSON line per search: user, language, k, milliseconds by stage, outcome) "
                   "to this file instead of the console.")
@click.option("--log-questions", is_flag=True, help="Put each question's text in the request log (off: questions can be sensitive).")
@click.option("--thai-words/--no-thai-words", cls=_EnvOption, envvar="REPORT_SEARCH_THAI_WORDS", default=True,
              show_default=True, help="Once per model on this machine, embed the Lao dictionary's words in the "
                                      "background (lowest priority, a few minutes), so that a Lao question's words are "
                                      "looked up, not embedded while the user waits [env REPORT_SEARCH_THAI_WORDS].")
def serve(**options):
    """Serve the web page (and its JSON API) over the index, building it first when there is none.

    Example: report-search serve --host 0.0.0.0 --users users.txt
    """
    from search.serve.run import ServeOptions, serve as run  # gradio is imported only to serve

    run(ServeOptions(**options))


@cli.group()
def users():
    """Who may sign in to a shared app: readers search; editors also add and remove reports."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="reader: search only; editor: also add and remove reports.")
@click.option("--replace", is_flag=True, help="Change an existing user's role or password.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin (for scripts).")
@_users_option
def users_add(name, role, replace, password_stdin, users_file):
    """Add a user, asking for the password (stored as a salted scrypt hash).

    Example: python -m search users add somchai --role editor --users users.txt
    """
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(f"Password for {name}", hide_input=True, confirmation_prompt=True)
    save_user(users_file, name, role, password, replace=replace)
    click.echo(f"{name} ({role}) can sign in; start the app with --users {users_file}", err=True)


@users.command("remove")
@click.argument("name")
@_users_option
def users_remove(name, users_file):
    """Remove a user; a running app refuses them at their next action.

    Example: python -m search users remove somchai --users users.txt
    """
    remove_user(users_file, name)
    click.echo(f"{name} removed from {users_file}", err=True)


@users.command("list")
@_users_option
def users_list(users_file):
    """List the users and their roles (never the hashes).

    Example: python -m search users list --users users.txt
    """
    for user in read_users(users_file).values():
        click.echo(f"{user.name}\t{user.role}")


def _run_config(searcher: Searcher, run, gold: Path, docs: tuple[str, ...] = ()) -> dict:
    manifest = searcher.index.manifest
    return {
        "model": manifest.model_id, "retriever": run.retriever, "k": run.k, "gold": str(gold), "docs": sorted(docs),
        "index": {"path": str(searcher.index_dir), "created": manifest.created, "passages": manifest.passage_count,
                  "documents": sorted(manifest.documents), "config": manifest.to_dict()["config"]},
    }


def main(prog_name: str = "report-search"):  # pragma: no cover - entry points
    cli(prog_name=prog_name)
