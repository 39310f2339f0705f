"""Building the index from corpus/: read, cut, tag, embed only what changed, write atomically."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from search.index.terms import TermCounts, build_term_tables, save_term_tables
from search.ingest.chunk import ChunkSettings, chunk_spans, sentence_spans
from search.cite import Citation, path_parts
from search.model.embed import Embedder
from search.errors import CorpusError, DocumentError
from search.fileio import stamped_sha256
from search.ingest.bounded import BoundedReader
from search.ingest.limits import DEFAULT_LIMITS, ReadLimits
from search.ingest.read import Document, list_corpus
from search.ingest.lang import document_tagger
from search.index.cluster import Embedded
from search.index.context import header, model_inputs
from search.index.sparse import SparseIndex
from search.index.publish import OCR_CACHE, index_lock, write_index
from search.index.vector_files import Carried
from search.index.reference import reference_means
from search.index import freshness
from search.index.records import IndexConfig, Joined, Manifest, Passage
from search.index.reuse import Previous, old_vectors, reusable
from search.ingest.debris import without_labels
from search.ingest.tokenize import tokenize, words_and_tokens

# progress(stage, done, total): stage is "read", "embed" (passages), "terms" (the bridge's vocabulary) or
# "neighbours" (each vector's nearest neighbours, for the hub discount).
BuildProgress = Callable[[str, int, int], None]


@dataclass
class BuildReport:
    """What a build did.

    Attributes:
        documents: ids of the documents in the new index.
        passages: passages in the new index.
        embedded: passages embedded in this build (the others were reused).
        skipped: (file name, reason) of files left out.
        unreadable: files of a supported type that could not be read, with their hashes.
    """

    documents: list[str] = field(default_factory=list)
    passages: int = 0
    embedded: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    unreadable: dict = field(default_factory=dict)


def make_embedder(config: IndexConfig, *, cache_dir: Path | None = None, threads: int | None = None, device: str = "auto",
                  progress: Callable[[str], None] | None = None) -> Embedder:
    """The embedder an index config asks for (its model, prefixes and engine).

    Args:
        config: the index's settings.
        cache_dir: where the default model is converted.
        threads: threads for batches; None for every core.
        device: where batches run (``auto``, ``cpu``, ``cuda``; see :class:`Embedder`).
        progress: told each step of a first-use model preparation.
    """
    return Embedder(config.model, cache_dir=cache_dir, query_prefix=config.query_prefix,
                    passage_prefix=config.passage_prefix, engine=config.engine, threads=threads, progress=progress,
                    adapter=config.adapter, device=device)


def document_passages(doc: Document, embedder: Embedder | None, settings: ChunkSettings, *,
                      languages: tuple[str, ...] = IndexConfig.languages) -> list[Passage]:
    """Cut a document into passages with citations and language tags (one of ``languages``, or ``und``).

    Passage ids are ``"{doc_id}#{n}"`` (n from 1), so hits roll up to reports.
    Identical passages repeated within a document are kept once.
    """
    count = embedder.count_tokens if embedder is not None else None
    cut, seen = [], set()
    for para in doc.paragraphs:
        body = without_labels(doc.text[para.start:para.end])  # a chart's labels are no part of a sentence
        spans = chunk_spans(body.text, settings, count)
        for i, (a, b) in enumerate(spans):
            text = body.text[a:b]
            if text not in seen:
                seen.add(text)
                start, end = body.source_offset(a), body.source_offset(b, end=True)
                asides = body.asides(a, spans[i - 1][1] if i else -1, b if i + 1 < len(spans) else len(body.text))
                cut.append((text, asides, Citation(doc.doc_id, doc.title, para.section, para.number,
                                                   para.start + start, para.start + end, para.page)))
    tag = document_tagger([text for text, _, _ in cut], languages=languages)
    langs = [tag(text) for text, _, _ in cut]
    titles = part_titles(doc.title, tag(doc.title), langs, [c.section for _, _, c in cut])
    out = []
    for (text, asides, citation), lang, title in zip(cut, langs, titles):
        spans = sentence_spans(text)
        sentences = tuple(spans) if len(spans) > 1 else ()  # one sentence: nothing to single out
        out.append(Passage(f"{doc.doc_id}#{len(out) + 1}", text, lang, replace(citation, title=title), sentences,
                           asides))
    return out


def part_titles(title: str, title_lang: str, langs: list[str], sections: list[str | None]) -> list[str]:
    """The title of each passage's part of the report.

    A file may hold several parts, each in its own language: a Lao news article, then the English
    report chapter it is about. A new part begins where the language changes at a new section
    heading and stays changed for the next passage too (one quoted paragraph is not a part); its
    title is that heading (the last of the section's heading path). Until then passages carry the document's title.

    >>> part_titles("ລາວ ຍັງຖືກຈັດ", "lo", ["lo", "lo", "en", "en", "en"], [None, None, "LAOS: TIER 2", "LAOS: TIER 2", "PROSECUTION"])
    ['ລາວ ຍັງຖືກຈັດ', 'ລາວ ຍັງຖືກຈັດ', 'LAOS: TIER 2', 'LAOS: TIER 2', 'LAOS: TIER 2']
    """
    out, current, current_lang = [], title, title_lang
    for i, (lang, section) in enumerate(zip(langs, sections)):
        starts_section = section is not None and (i == 0 or sections[i - 1] != section)
        lasts = i + 1 == len(langs) or langs[i + 1] == lang
        if lang != current_lang and lang != "und" and starts_section and lasts:
            current, current_lang = path_parts(section)[-1], lang  # the heading that starts the part
        out.append(current)
    return out


def build_index(
    corpus_dir: Path,
    index_dir: Path,
    *,
    config: IndexConfig = IndexConfig(),
    embedder: Embedder | None = None,
    cache_dir: Path | None = None,
    progress: BuildProgress | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
    documents: Mapping[str, Document] | None = None,
    embedded: Mapping[str, Embedded] | None = None,
) -> BuildReport:
    """Build or update the index of a corpus folder.

    Documents whose bytes have not changed since the last build (same model and
    settings) keep their passages and vectors; others are read and embedded
    again; removed documents disappear. Unreadable files are skipped and named
    in the report.

    Args:
        corpus_dir: folder of reports.
        index_dir: where the index lives.
        config: model and chunking settings.
        embedder: the embedder to use; made from ``config`` when None.
        cache_dir: where the default model is converted (when ``embedder`` is None).
        progress: called as ``progress(stage, done, total)``.
        limits: the work reading one report may take; each is read in a child process that is stopped
            past ``limits.seconds`` (:mod:`search.ingest.bounded`). A report refused by the same limits
            before, with the same bytes, is not read again.
        documents: reports already read, by name (an upload is read once, before it is added).
        embedded: reports read and embedded elsewhere (:func:`search.index.cluster.embed_on_ray`), by name:
            their vectors are taken for passages that come out the same here.

    Returns:
        A :class:`BuildReport`.

    Raises:
        CorpusError: the folder is missing or holds no readable report.
    """
    embedder = embedder or make_embedder(config, cache_dir=cache_dir)
    settings = ChunkSettings(config.max_chars, config.max_words, config.max_tokens)
    corpus_dir, index_dir = Path(corpus_dir), Path(index_dir)  # the Python API takes strings too
    files, skipped = list_corpus(corpus_dir)
    with index_lock(index_dir):  # one build at a time; fails at once on a read-only folder
        previous = reusable(index_dir, config, embedder)
        report = BuildReport(skipped=list(skipped))
        kept: list[_Entry] = []
        with BoundedReader(limits, ocr_cache=index_dir / OCR_CACHE) as reader:
            embedded = dict(embedded or {})
            read = _Reading(reader, limits, {**(documents or {}), **{k: e.document for k, e in embedded.items()}}, embedded,
                            on_page=(lambda done, total: progress("ocr", done, total)) if progress else None,
                            context=config.model_context)
            for i, path in enumerate(files, 1):
                entry = _read_or_reuse(path, path.relative_to(corpus_dir).as_posix(), previous, embedder, settings,
                                       report, config.languages, read)
                if entry:
                    kept.append(entry)
                if progress:
                    progress("read", i, len(files))
        if not kept:
            raise CorpusError(f"no readable report in {corpus_dir}; add .txt, .md, .html, .pdf or .docx files, or scans (.png, .jpg, .tif)")
        vectors, sentence_vectors = _embed_new(kept, embedder, progress, report, late=config.sentence_vectors == "late",
                                               context=config.model_context)
        passages = Joined([e.passages for e in kept])  # a kept report's passages are not parsed
        documents = {e.info["doc_id"]: {k: v for k, v in e.info.items() if k != "doc_id"} for e in kept}
        manifest = Manifest(config, embedder.model_id, vectors.shape[1], len(passages), documents, report.unreadable)
        sparse, counts = _lexical(kept, previous, config)
        tables = build_term_tables(
            _langs(kept, previous), counts, vectors, embedder, previous=previous.index.terms if previous and previous.trusted_terms else None,
            progress=(lambda done, total: progress("terms", done, total)) if progress else None,
        )
        reference = language_reference(embedder, config)
        write_index(index_dir, manifest, passages, vectors, sentence_vectors,
                    extras=(sparse.save, counts.save, lambda folder: save_term_tables(tables, folder)),
                    carried=_carried(kept, previous), reference=reference, progress=progress)
    report.documents, report.passages = list(documents), len(passages)
    return report


def language_reference(embedder: Embedder, config: IndexConfig) -> dict[str, dict[str, np.ndarray]]:
    """The centering's reference means for ``embedder``, its text cut as this ``config`` cuts reports
    (:func:`search.index.reference.reference_means`; cached beside the model)."""
    settings = ChunkSettings(config.max_chars, config.max_words, config.max_tokens)
    return reference_means(embedder, lambda doc: document_passages(doc, embedder, settings, languages=config.languages),
                           key=repr(settings))


def _lexical(kept: list[_Entry], previous: Previous | None, config: IndexConfig) -> tuple[SparseIndex, TermCounts]:
    """BM25 and the bridge's term counts of the new index.

    When the previous index kept its counts, they are updated: the passages of reports that left
    (or were read anew) are taken away, those of new reports added, and only those are tokenized;
    the result is the index a build from scratch would make (tests/test_update.py). Otherwise
    every passage is tokenized.
    """
    if previous is None or previous.lexical is None:
        counts = TermCounts()
        sparse = SparseIndex.from_tokens(_tokens((p for e in kept for p in e.passages), counts, config.bm25_context),
                                         k1=config.bm25_k1, b=config.bm25_b)
        return sparse, counts
    sparse, counts = previous.lexical
    old = previous.index
    staying = np.zeros(len(old.passages), bool)
    for e in kept:
        if e.rows is not None:
            staying[e.rows] = True
    for passage in old.passages.many(np.flatnonzero(~staying)):
        counts.remove(passage.lang, words_and_tokens(passage.text))
    pieces = [np.asarray(e.rows, np.int64) if e.rows is not None else list(_tokens(e.passages, counts, config.bm25_context))
              for e in kept]
    return sparse.updated(pieces), counts


def _langs(kept: list[_Entry], previous: Previous | None) -> np.ndarray:
    """Each passage's language: a kept report's from the previous index's table, without reading its passages."""
    names = previous.index.table.lang_names() if previous is not None else None
    return np.concatenate([names[e.rows] if e.rows is not None else np.array([p.lang for p in e.passages], str)
                           for e in kept])


def _carried(kept: list[_Entry], previous: Previous | None) -> Carried | None:
    """What the new generation takes over from the previous one: the kept reports' rows, lines,
    quantities and places in the inverted files."""
    if previous is None:
        return None
    rows = np.concatenate([np.asarray(e.rows if e.rows is not None else [-1] * len(e.passages), np.int64) for e in kept])
    old = previous.index
    return Carried(rows, old.passages, old.table.sentences, previous.numbers, previous.clusters, previous.neighbourhoods,
                   previous.centering)


def _tokens(passages, counts: TermCounts, context: tuple[str, ...] = ()):
    """Each passage's BM25 tokens (of its text with its ``context``: :mod:`search.index.context`), counting the
    terms of its own text for the bridge on the way."""
    for p in passages:
        pairs = words_and_tokens(p.text)
        counts.add(p.lang, pairs)
        head = header(p, context) if context else ""
        yield [*_header_tokens(head), *(t for _, t in pairs)] if head else [t for _, t in pairs]


@functools.lru_cache(maxsize=8192)
def _header_tokens(head: str) -> tuple[str, ...]:
    """BM25's tokens of a passage's header: the passages of a section share theirs, so it is tokenized once."""
    return tuple(tokenize(head))


@dataclass
class _Entry:
    """One document on its way into the index; vectors are None until embedded."""

    passages: list[Passage]
    info: dict
    vectors: np.ndarray | None = None
    sentence_vectors: np.ndarray | None = None
    rows: list[int] | None = None  # the passages' rows in the previous index, when they are its passages as they were


@dataclass
class _Reading:
    """How a build reads: in the bounded reader, within limits, taking reports already read as they are."""

    reader: BoundedReader
    limits: ReadLimits
    documents: dict[str, Document]
    embedded: dict[str, Embedded] = field(default_factory=dict)
    on_page: Callable[[int, int], None] | None = None  # told (done, total) as a report's scanned pages are OCR'd
    context: tuple[str, ...] = ()  # what the model reads before a passage (IndexConfig.model_context)

    def __call__(self, path: Path, doc_id: str, digest: str) -> Document:
        ready = self.documents.get(doc_id)
        if ready is not None and ready.content_hash == digest:
            return ready
        return self.reader.read(path, doc_id, on_page=self.on_page)

    def refusal(self, digest: str) -> dict:
        """What the manifest keeps of a refused report, so the same bytes under the same rules are not read again."""
        return {"sha256": digest, "reading": freshness.READING, "limits": self.limits.to_dict()}


def _read_or_reuse(path, doc_id, previous, embedder, settings, report, languages, read: _Reading) -> _Entry | None:
    """The document's entry, with the previous index's vectors if its bytes are unchanged; None if unreadable."""
    old = previous.index if previous is not None else None
    known = old.manifest.documents.get(doc_id, {}) if old is not None else {}
    try:  # an unchanged file is not read again; a changed one is hashed streamed (any size)
        digest, stamp = stamped_sha256(path, known)
    except OSError as exc:
        report.skipped.append((doc_id, f"cannot read file: {exc.strerror}"))
        return None
    stamped = {"stamp": stamp} if stamp else {}
    same_bytes = known.get("sha256") == digest
    if same_bytes and known.get("reading") == freshness.READING:
        rows = old.document_rows.get(doc_id, [])
        info = {"doc_id": doc_id, **{k: v for k, v in known.items() if k != "stamp"}, **stamped}
        return _Entry(old.passages.rows(rows), info, *old_vectors(previous, rows), rows=rows)
    refused = old.manifest.skipped.get(doc_id) if old is not None else None
    if isinstance(refused, dict) and {**refused, "reason": None} == {**read.refusal(digest), "reason": None}:
        report.skipped.append((doc_id, refused["reason"]))  # the same bytes, refused by the same rules
        report.unreadable[doc_id] = refused
        return None
    try:
        doc = read(path, doc_id, digest)
        passages = document_passages(doc, embedder, settings, languages=languages)
        read.limits.check(len(passages), "max_passages", doc_id, "passages")
    except DocumentError as exc:
        report.skipped.append((doc_id, str(exc)))
        again = {"again": True} if getattr(exc, "transient", False) else {}  # a timeout: read it again next time
        report.unreadable[doc_id] = {**read.refusal(digest), "reason": str(exc), **again}
        return None
    info = {"doc_id": doc_id, "sha256": doc.content_hash, "title": doc.title, "passages": len(passages), "reading": freshness.READING,
            "parts": list(dict.fromkeys(p.citation.title for p in passages)), **stamped,
            **({"ocr": {str(page): confidence for page, confidence in doc.ocr}} if doc.ocr else {})}
    done = read.embedded.get(doc_id)
    texts = model_inputs(passages, read.context)[0]
    if done is not None and done.document.content_hash == digest and done.texts == tuple(texts):
        return _Entry(passages, info, done.vectors, done.sentence_vectors)  # embedded on the cluster
    if same_bytes:  # read again with newer rules: texts it had (as the model reads them) keep their vectors
        rows = old.document_rows.get(doc_id, [])
        had = dict(zip(model_inputs([old.passages[i] for i in rows], read.context)[0], rows))
        if all(text in had for text in texts):  # e.g. headings that were passages are no more: the rest kept
            return _Entry(passages, info, *old_vectors(previous, [had[text] for text in texts]))
    return _Entry(passages, info)


def _embed_new(kept: list[_Entry], embedder: Embedder, progress, report: BuildReport, *,
               late: bool, context: tuple[str, ...] = ()) -> tuple[np.ndarray, np.ndarray]:
    """Embed what changed documents (and damaged files) lack; return all passage and sentence vectors, in order.

    Passages are embedded with their ``context`` (:mod:`search.index.context`), sentences alone.

    With ``late``, sentence vectors come from their passages' model pass
    (:meth:`Embedder.embed_passages_and_sentences`); otherwise each sentence is embedded alone.
    """
    fresh = [e for e in kept if e.vectors is None]
    resentenced = [e for e in kept if e.sentence_vectors is None]
    report.embedded = sum(len(e.passages) for e in fresh)
    on_batch = (lambda done, total: progress("embed", done, total)) if progress else None
    dim = embedder.dimension
    if late:
        # Entries that lack sentence vectors but kept their passage vectors keep those.
        texts, spans = model_inputs([p for e in resentenced for p in e.passages], context)
        vectors, sentence_vectors = embedder.embed_passages_and_sentences(texts, spans, progress=on_batch)
        return (_gather(kept, resentenced, vectors, lambda e: e.vectors, _passages_of, dim, keep_old=True),
                _gather(kept, resentenced, sentence_vectors, lambda e: e.sentence_vectors, _sentences_of, dim))
    texts, _ = model_inputs([p for e in fresh for p in e.passages], context)
    sentences = [p.text[a:b] for e in resentenced for p in e.passages for a, b in p.sentences]
    vectors = embedder.embed_passages(texts + sentences, progress=on_batch)
    return (_gather(kept, fresh, vectors[:len(texts)], lambda e: e.vectors, _passages_of, dim),
            _gather(kept, resentenced, vectors[len(texts):], lambda e: e.sentence_vectors, _sentences_of, dim))


def _gather(kept: list[_Entry], owners: list[_Entry], new: np.ndarray, old, count, dim: int, *,
            keep_old: bool = False) -> np.ndarray:
    """Every entry's rows, in order: the ``owners``' from ``new`` (``count(e)`` rows each, in turn), the
    others' ``old(e)``. With ``keep_old``, an owner that has old rows keeps them (its new ones are skipped).

    A full build (every entry an owner) returns ``new`` itself: at a million passages a copy of the
    vectors is gigabytes, and the build used to hold three (the model's output, each report's, the stack).
    """
    new = new.reshape(-1, dim)
    if len(owners) == len(kept) and not (keep_old and any(old(e) is not None for e in kept)):
        return new
    owned, parts, taken = {id(e) for e in owners}, [], 0
    for e in kept:
        if id(e) in owned:
            n = count(e)
            parts.append(old(e).reshape(-1, dim) if keep_old and old(e) is not None else new[taken:taken + n])
            taken += n
        else:
            parts.append(old(e).reshape(-1, dim))
    return np.vstack(parts)  # kept is never empty: a build with no report stops before


def _passages_of(e: _Entry) -> int:
    return len(e.passages)


def _sentences_of(e: _Entry) -> int:
    return sum(len(p.sentences) for p in e.passages)
