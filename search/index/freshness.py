"""Whether an index is up to date with its corpus, and which of its reports a build keeps as they are."""

from __future__ import annotations

from pathlib import Path

from search.errors import IndexFormatError, IndexNotFoundError
from search.fileio import stamped_sha256
from search.index.generations import read_manifest
from search.index.records import HUBNESS, NEIGHBOURS, THAI_VECTORS, IndexConfig
from search.ingest.read import list_corpus

# How reports are read into passages and citations. Bump it when a change alters passages or
# citations (titles, sections): a build then reads every report again, and keeps the vectors of
# passages whose text is unchanged. 2: each part of a report has its own title. 3: tags only in
# the index's languages, else und. 4: Lao numbered headings (ພາກທີ, ໝວດທີ, ມາດຕາ …) are sections.
# 5: PDFs read by their layout (search/ingest/pdf_layout.py). 6: in PDFs, no space after a Lao mark
# unless its letter is followed by one; ຳ drawn as ໍ + າ written ຳ. 7: chart labels inside a paragraph
# left out of its passages (search/ingest/debris.py), kept as the passage's asides. 8: PDF columns found
# by their edges, paragraphs joined across a column's end, table rows (PDF, Word) with their columns' names,
# shaped Lao without pypdf's spaces after marks, HTML page furniture (footer, aside, banner header) dropped.
# 9: headings as authors wrote them (search/ingest/outline.py): Markdown heading lines of any level, several in
# a row, legal numbering standing alone are headings, never passages; a passage's section is its heading path;
# .docx and HTML headings have levels.
READING = 9


def kept_as_they_are(index_dir: Path, config: IndexConfig, model_id: str) -> dict[str, str]:
    """The reports of the index at ``index_dir`` that a build with ``config`` and ``model_id`` keeps as they are,
    not read or embedded again while their bytes are the same: their SHA-256, by name. (The build checks their
    files too; this is what a Ray build asks before sending reports out.)"""
    try:
        manifest = read_manifest(index_dir)
    except (IndexNotFoundError, IndexFormatError):
        return {}
    if manifest.config != config or manifest.model_id != model_id:
        return {}
    return {doc: info["sha256"] for doc, info in manifest.documents.items() if info.get("reading") == READING}


def index_is_stale(corpus_dir: Path, index_dir: Path) -> bool:
    """True when the index is missing, the corpus's files differ from those it was built from,
    a report was read by older rules (``READING``), or the index has no hubness, no neighbourhoods or no Thai
    readings of its Lao terms (written before them; the rebuild embeds only what is missing).

    Only file hashes are compared, and a file whose stamp (size, times, inode) is the one the build
    recorded is not read again (:func:`search.fileio.stamped_sha256`): cheap at start-up, whatever the
    library's size.
    """
    try:
        manifest = read_manifest(index_dir)
    except (IndexNotFoundError, IndexFormatError):
        return True
    files, _ = list_corpus(corpus_dir)
    recorded = {**manifest.skipped, **manifest.documents}
    names = [p.relative_to(corpus_dir).as_posix() for p in files]
    current = {name: _digest(p, recorded.get(name)) for name, p in zip(names, files)}
    known = {doc: info["sha256"] for doc, info in recorded.items()}
    return (current != known or any(info.get("reading") != READING for info in manifest.documents.values())
            or not {HUBNESS, NEIGHBOURS, THAI_VECTORS} <= manifest.files.keys())  # written before them: rebuilt


def _digest(path: Path, known: dict | None) -> str | None:
    """SHA-256 of a file's bytes (not read when its stamp is ``known``'s); None when it cannot be read (it then
    counts as changed)."""
    try:
        return stamped_sha256(path, known)[0]
    except OSError:
        return None
