"""Errors the library raises. Each message says what failed, where, and how to fix it."""

REBUILD_HINT = "rebuild it with: python -m search build"


class SearchError(Exception):
    """Base class of every error this library raises on purpose."""


class ModelError(SearchError):
    """The embedding model cannot be found, converted or loaded."""


class IndexNotFoundError(SearchError):
    """No index exists at the given path."""


class IndexFormatError(SearchError):
    """The index is damaged, of another format version, or built with another model."""


class IndexWriteError(SearchError):
    """The index cannot be written (read-only folder, full disk); the previous index is kept."""


class QueryError(SearchError):
    """The question cannot be searched as given (empty, too long)."""


class ScopeError(QueryError):
    """The reports a search is limited to are not a list of names the index holds."""


class EmptyQueryError(QueryError):
    """The question is empty or only whitespace."""


class CorpusError(SearchError):
    """The corpus folder is missing or holds no readable report."""


class DocumentError(SearchError):
    """One report cannot be read (wrong type, binary, damaged)."""


class DuplicateReportError(DocumentError):
    """The report is already in the library (the same bytes, under another name or the same)."""


class AccessError(SearchError):
    """The user may not do this (a reader asking to write), or not now (a rate limit)."""
