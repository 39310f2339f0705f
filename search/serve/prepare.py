"""Before serving: make sure there is an index to serve, built now (with progress) when there is none usable."""

from __future__ import annotations

from pathlib import Path

from search.errors import IndexFormatError, IndexNotFoundError
from search.index.build import build_index, make_embedder
from search.index.freshness import index_is_stale
from search.index.generations import check_files, current_generation
from search.index.records import IndexConfig
from search.ingest.limits import DEFAULT_LIMITS, ReadLimits
from search.model.embed import DEFAULT_ENGINE, Embedder
from search.progress import TerminalProgress, say


def prepare_index(corpus_dir: Path, index_dir: Path, cache_dir: Path | None, *, engine: str = DEFAULT_ENGINE,
                  threads: int | None = None, device: str = "auto", say=say, progress=None,
                  limits: ReadLimits = DEFAULT_LIMITS) -> tuple[Embedder, bool]:
    """Make sure there is an index to serve; return the model it uses and whether it is stale.

    With no usable index (none, damaged, another format), it is built now, with a
    progress bar. A usable but stale one (reports added, changed or removed) is
    served as it is, and :func:`build_app` brings it up to date in the background.
    ``say`` is told each long step (the model's conversion, a build), ``progress``
    a build's counts (default: bars on the console).
    """
    progress = progress or TerminalProgress()
    manifest = None
    try:
        generation, manifest = current_generation(index_dir)
        check_files(generation, manifest)  # sizes, and checksums up to a size: damage is repaired now
        embedder = make_embedder(manifest.config, cache_dir=cache_dir, threads=threads, device=device, progress=say)
        if embedder.model_id != manifest.model_id:  # a new model or adapter: the old vectors cannot answer
            raise IndexFormatError(f"it was built with model {manifest.model_id}, this program uses {embedder.model_id}")
    except (IndexNotFoundError, IndexFormatError) as exc:
        why = "" if isinstance(exc, IndexNotFoundError) else f" (the one there cannot be used: {str(exc).split('; ')[0]})"
        say(f"Building the index of {corpus_dir} into {index_dir}{why}")
        config = manifest.config if manifest is not None else IndexConfig(engine=engine)  # keep the index's settings
        embedder = make_embedder(config, cache_dir=cache_dir, threads=threads, device=device, progress=say)
        report = build_index(corpus_dir, index_dir, config=config, embedder=embedder, progress=progress, limits=limits)
        say(f"Indexed {len(report.documents)} report(s), {report.passages} passages")
        return embedder, False
    stale = index_is_stale(corpus_dir, index_dir)
    if stale:
        print(f"The reports in {corpus_dir} changed: serving the current index while it is brought up to date.", flush=True)
    return embedder, stale


