"""Multilingual (Lao and English) semantic search over reports, with citations.

Build an index from a folder of reports, then ask questions::

    from search import build_index, Searcher
    build_index("corpus", "index")
    result = Searcher("index").search("How many traffickers were convicted in 2021?", k=5)
    for hit in result.hits:
        print(hit.rank, hit.score, hit.citation.section, hit.text)
"""

__version__ = "0.1.0"

from search.index.build import BuildReport, build_index  # noqa: E402
from search.index.freshness import index_is_stale  # noqa: E402
from search.cite import Citation, format_citation  # noqa: E402
from search.model.embed import DEFAULT_MODEL, Embedder  # noqa: E402
from search.retrieve.engine import Hit, Searcher, SearchResult  # noqa: E402
from search.errors import (  # noqa: E402
    CorpusError,
    DocumentError,
    EmptyQueryError,
    IndexFormatError,
    IndexNotFoundError,
    ModelError,
    QueryError,
    ScopeError,
    SearchError,
)
from search.ingest.lang import detect_lang  # noqa: E402
from search.index.records import IndexConfig  # noqa: E402
from search.index.store import load_index  # noqa: E402

__all__ = [
    "__version__", "BuildReport", "build_index", "index_is_stale", "Citation", "format_citation",
    "DEFAULT_MODEL", "Embedder", "Hit", "Searcher", "SearchResult", "CorpusError", "DocumentError",
    "EmptyQueryError", "IndexFormatError", "IndexNotFoundError", "ModelError", "QueryError", "ScopeError", "SearchError",
    "detect_lang", "IndexConfig", "load_index",
]
