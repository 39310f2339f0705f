"""Answering questions: the Searcher loads an index and the model once, lazily, and ranks passages."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from search.ingest.ocr import LOW_CONFIDENCE
from search.retrieve.answer import RIVALS, answer_candidate
from search.ingest.numbers import asks_for_number
from search.retrieve.checks import check_docs, check_k, check_question
from search.retrieve.bridge import expand_question, lao_content_words, lao_translations, question_vectors, read_as_thai
from search.index.build import make_embedder
from search.model.embed import Embedder
from search.model.thai_words import ThaiWords, load_thai_words, prepare_thai_words
from search.errors import IndexFormatError, QueryError, SearchError
from search.retrieve.explain import explain
from search.retrieve.hybrid import reciprocal_rank_fusion
from search.retrieve.lists import (HUB_WEIGHT, best_sentences, numeric_first, one_of_each_text, raw_first,
                                   sentence_ranking)
from search.retrieve.pipelines import DEFAULT_RETRIEVER, PIPELINES, RETRIEVERS
from search.retrieve.results import Hit, SearchResult
from search.ingest.lang import LAO, detect_question_lang
from search.index.generations import live_generation
from search.index.store import StoredIndex, load_index
from search.ingest.tokenize import tokenize

# A search's stages, as ``timings=`` and the request log name them: the question's encoding, the dense
# passage list, the best-sentence list, the bridge's expansion, BM25, rank fusion, and the highlights.
STAGES = ("encode", "dense", "sentences", "bridge", "bm25", "fusion", "highlight")
ALSO_IN_LIMIT = 20  # a hit's "also in" citations: the other places its text stands, at most this many
KNOWN_LANGS = ("en", "lo")  # passage languages a filter may name, besides those in the index
# The lexical list's vote for a Lao question that the bridge translates: its terms are one dictionary step from
# the question, weaker evidence than an English question's own words (1.0). In the dev library 0.6 to 0.8 gave
# the same top 5s (3 questions in, 1 out; alone none out); 0.5 lost one alone (docs/library.md).
BRIDGED_LEXICAL_WEIGHT = 0.7
# BM25 reads an English question's own words, which a Lao passage does not hold: such a passage missing from BM25's
# list (or listed low, through a bridged Lao term) was not voted down, only not read. It gets at least half of BM25's
# vote in the model's lists' verdict (a Lao question reads English through the bridge: its BM25 list votes as is).
# In the dev library 0.5, 0.7 and 1.0 each put six questions in a top 5 and none out, alone nothing moves; 0.5
# moved the fewest others (docs/library.md).
CROSS_LANGUAGE_SHARE = 0.5
# The model's lists compare centered vectors, which a Lao question about an English statute often misses and the
# model's own cosine does not: for a Lao question, the fused lists' candidate the raw cosine puts first gets this
# vote as a list of one. In the dev library 0.2 put 5 Lao questions in a top 5 and 1 out (library-a +1, library-b +3),
# none in or out on the bundled report's sets, alone or in the library; 0.3 and 0.5 took one more out and cost the
# bundled second set's mrr more; the raw list's first 3, or English questions too, lost a bundled question
# (docs/library.md, "the model's own first choice").
RAW_FIRST_VOTE = 0.2


def one_blas_thread() -> None:
    """Run the BLAS libraries (numpy's, FAISS's) on one thread for the rest of the process: for one that serves
    or evaluates searches. A question's products are small; a second BLAS thread sped none of them up and spun
    while waiting, so a search took 1.66 cores and 8 concurrent clients got 1.5× one client's throughput on 2
    cores (measured: one thread, the same searches a second and 1.0 core each). Set once, like torch's count:
    a per-call limit would be the process's, changed under other threads' feet. A build in the same process
    (the app's uploads) then runs its numpy products on one thread too; the model's batches are ONNX Runtime's
    or torch's threads, which this leaves alone."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


class Searcher:
    """Search over one index. The index and model load on first use and stay loaded.

    Args:
        index_dir: the index folder.
        embedder: the embedder; made from the index's own config when None.
        cache_dir: where the default model is converted (when ``embedder`` is None).
        word_cache_size: how many embedded question words (for the bridge) to keep; 0 keeps none.
        thai_words: look a Lao question's words up in the dictionary's, when the model cache has them
            (:meth:`prepare_thai_words`); False embeds every word the index lacks (a benchmark's baseline).
        threads: threads for batches of questions (when ``embedder`` is None); one question uses one.
        progress: told each step of a first-use model preparation (when ``embedder`` is None).
    """

    def __init__(self, index_dir: Path, *, embedder: Embedder | None = None, cache_dir: Path | None = None,
                 word_cache_size: int = 50_000, threads: int | None = None, progress=None, thai_words: bool = True):
        self.index_dir = Path(index_dir)
        self._embedder = embedder
        self._cache_dir = cache_dir
        self._embedder_options = {"threads": threads, "progress": progress}
        self._index: StoredIndex | None = None
        self._followed, self._unfollowable = 0.0, None
        self._following = threading.Lock()  # one thread loads a new generation; the others search the loaded one
        self._word_vectors: dict[str, np.ndarray] = {}
        self._word_cache_size = word_cache_size
        self._thai_words: ThaiWords | None = None  # the dictionary's words, embedded once per model (model cache)
        self._use_thai_words = thai_words

    @property
    def index(self) -> StoredIndex:
        """The loaded index (loaded on first use)."""
        if self._index is None:
            self._index = load_index(self.index_dir)
        return self._index

    @property
    def embedder(self) -> Embedder:
        """The embedder, checked against the model the index was built with.

        Raises:
            IndexFormatError: the index was built with another model.
        """
        if self._embedder is None:
            self._embedder = make_embedder(self.index.manifest.config, cache_dir=self._cache_dir, **self._embedder_options)
        built_with, current = self.index.manifest.model_id, self._embedder.model_id
        if built_with != current:
            raise IndexFormatError(
                f"the index at {self.index_dir} was built with model {built_with!r} but the model in use is "
                f"{current!r}; rebuild it with: python -m search build --index {self.index_dir}"
            )
        return self._embedder

    def reload(self) -> None:
        """Read the index again, now (after a rebuild); searches under way finish on the old one."""
        self._index = load_index(self.index_dir)
        self.warm_up()

    def follow(self, every: float = 1.0) -> bool:
        """Load the index again if another process (``python -m search build``) has published a new generation
        since it was loaded; checked at most every ``every`` seconds (one small file read). A generation that
        cannot be loaded is not followed: the loaded one goes on serving.

        Returns:
            Whether a new generation is now served.
        """
        now = time.monotonic()
        if self._index is None or now - self._followed < every or not self._following.acquire(blocking=False):
            return False
        try:
            self._followed = now
            live = live_generation(self.index_dir)
            if live is None or live in (self._index.path.name, self._unfollowable):
                return False
            try:
                self.reload()
            except SearchError:
                self._unfollowable = live  # damaged: not tried again every second
                return False
            return True
        finally:
            self._following.release()

    def languages(self) -> tuple[str, ...]:
        """The languages of the indexed passages, sorted."""
        return tuple(self.index.rows_by_lang)

    def search(
        self, question: str, *, k: int = 10, lang: str | None = None, retriever: str = DEFAULT_RETRIEVER,
        highlight: bool = False, timings: dict[str, float] | None = None, docs: Sequence[str] | None = None,
    ) -> SearchResult:
        """Rank passages for one question.

        Args:
            question: the question, in Lao or English (or any language the model reads).
            k: how many hits (1 to 100).
            lang: keep only passages of this language (``"lo"``, ``"en"``); all when None.
            docs: search only these reports (their file names in the corpus, as in citations); all when
                None or empty.
            retriever: the retrieval method, one of ``RETRIEVERS``.
            highlight: also find each hit's sentence closest to the question (``Hit.highlight``), and the
                answer sentence (``SearchResult.answer``).
            timings: when given, milliseconds per stage are added to it: ``encode`` (the
                question and, for the bridge, its Lao words), ``dense``, ``sentences``, ``bridge``,
                ``bm25``, ``fusion``, ``highlight``.

        Returns:
            A :class:`SearchResult`.

        Raises:
            EmptyQueryError, QueryError: the question cannot be searched, or ``docs`` names a report the index lacks.
            IndexNotFoundError, IndexFormatError: the index is missing, damaged or of another model.
        """
        return self.search_batch([question], k=k, lang=lang, retriever=retriever, highlight=highlight,
                                 timings=timings, docs=docs)[0]

    def search_batch(
        self, questions: Sequence[str], *, k: int = 10, lang: str | None = None, retriever: str = DEFAULT_RETRIEVER,
        highlight: bool = False, timings: dict[str, float] | None = None, docs: Sequence[str] | None = None,
    ) -> list[SearchResult]:
        """Rank passages for many questions at once (same arguments as :meth:`search`)."""
        k = check_k(k)
        if retriever not in RETRIEVERS:
            raise QueryError(f"unknown retriever {retriever!r}; choose one of: {', '.join(RETRIEVERS)}")
        if isinstance(questions, str):
            raise QueryError("search_batch takes a list of questions; use search() for one")
        questions = [check_question(q) for q in questions]
        pipeline = PIPELINES[retriever]
        index = self.index  # one index for the whole call, even if reload() runs meanwhile
        langs = sorted({*KNOWN_LANGS, *index.rows_by_lang})
        if lang is not None and lang not in langs:
            raise QueryError(f"unknown passage language {lang!r}; choose one of: {', '.join(langs)} (or none for all)")
        docs = check_docs(docs, index.document_rows)
        allowed, selector = index.selector(lang, docs) if lang or docs else (None, None)  # rows in the filters
        clock = _Clock(timings)
        question_langs = [detect_question_lang(q, candidates=tuple(index.rows_by_lang)) for q in questions]
        # The model's lists search with each Lao question's vector read with its Thai and dictionary readings; the
        # bridge and the answer box keep the question's own (docs/library.md, "the question read as Thai").
        vectors, model_vectors = question_vectors(self.embedder, questions, question_langs,
                                                  readings=pipeline.centered and (pipeline.dense or pipeline.sentences))
        clock.lap("encode")
        centered = index.centering.apply(model_vectors, question_langs)
        fused = pipeline.dense + pipeline.sentences + pipeline.lexical > 1
        depth = max(10 * k, 100) if fused else k  # more candidates for fusion
        dense_rows = None
        if pipeline.dense and pipeline.centered:
            dense_rows = index.dense.search(centered, depth, allowed=allowed, selector=selector, hub_weight=HUB_WEIGHT)
        elif pipeline.dense:
            dense_rows = index.raw_dense.search(vectors, depth, allowed=allowed)
        clock.lap("dense")
        results = []
        for i, (question, question_lang, vector) in enumerate(zip(questions, question_langs, vectors)):
            numeric = pipeline.answer_type and asks_for_number(question)
            # The model's lists (passages, best sentences) share one vote; BM25 has the other.
            model_lists, names, query = [], [], None
            if pipeline.dense:
                model_lists.append(dense_rows[i])
                names.append("dense")
            if pipeline.sentences:
                model_lists.append(sentence_ranking(index, centered[i], depth, lang, numbers_first=numeric, docs=docs))
                names.append("sentences")
            clock.lap("sentences")
            rankings, weights = model_lists, [1 / len(model_lists) for _ in model_lists]
            if pipeline.lexical:
                lexical, query = self._lexical_ranking(index, pipeline, question, question_lang, vector, depth, allowed, clock)
                bridged = pipeline.bridge and question_lang == LAO
                rankings, weights = [*rankings, lexical], [*weights, BRIDGED_LEXICAL_WEIGHT if bridged else 1.0]
                names.append("bm25")
            voters = len(rankings)  # the lists that can agree on an answer (the raw list's one passage only joins them)
            if fused and pipeline.centered and question_lang == LAO and RAW_FIRST_VOTE:
                at = len(model_lists)  # after the model's lists, before BM25
                rankings = [*rankings[:at], raw_first(index, vector, rankings), *rankings[at:]]
                weights = [*weights[:at], RAW_FIRST_VOTE, *weights[at:]]
                names.insert(at, "raw")
            if numeric:
                rankings = [numeric_first(ranking, index.numeric_passages) for ranking in rankings]
            # the answer box weighs the top hit's sentence against the next hits' (RIVALS of them), whatever k is
            blind = None
            if pipeline.lexical and question_lang != LAO and question_lang in index.table.langs:
                own = index.table.langs.index(question_lang)
                blind = (len(rankings) - 1, lambda row: index.table.lang[row] != own, CROSS_LANGUAGE_SHARE)
            fused_rows = reciprocal_rank_fusion(rankings, weights=weights, blind=blind) if fused else rankings[0]
            listed = one_of_each_text(index, fused_rows, max(k, 1 + RIVALS) if highlight else k)
            ranked = listed[:k]
            rows = [row for row, _ in ranked]
            clock.lap("fusion")
            listed_rows = [row for row, _ in listed]
            listed_spans = best_sentences(index, vector, listed_rows, numbers_first=numeric) if highlight else []
            spans = listed_spans[:k] if highlight else [None] * len(rows)
            agreed = voters >= 3 and all(ranking and ranking[0][0] == rows[0] for ranking in rankings) if rows else False
            # No answer from a page OCR read poorly: its words may not be the report's.
            candidate = (answer_candidate(index, vector, rows[0], spans[0], 1, numeric=numeric, agreed=agreed,
                                          question=question, rivals=list(zip(listed_rows[1:], listed_spans[1:])))
                         if highlight and rows and not _low_ocr(index, index.passages[rows[0]].citation) else None)
            whys = explain(index, rows, dict(zip(names, rankings)), query, set(tokenize(question)),
                           numeric) if highlight else [None] * len(rows)
            results.append(SearchResult(question, question_lang, _hits(index, ranked, spans, lang, docs, whys), candidate))
            clock.lap("highlight")
        return results

    def _lexical_ranking(self, index, pipeline, question, question_lang, vector, depth, allowed, clock) -> tuple[list, dict]:
        """BM25 over the question's tokens, with their translations when the pipeline has the bridge;
        the ranking, and the query (token to weight)."""
        tokens = tokenize(question)
        if pipeline.bridge:
            clock.lap("bridge")
            thai = self._thai_word_vectors(lao_content_words(tokens), index)
            clock.lap("encode")
            query = expand_question(tokens, question_lang, vector, index.terms, thai_word_vectors=thai,
                                    question_words=tokenize(question, keep_stopwords=True))
        else:
            query = Counter(tokens)
        clock.lap("bridge")
        ranked = index.sparse.rank(query, depth, allowed=allowed)
        clock.lap("bm25")
        return ranked, query

    def _thai_word_vectors(self, words: list[str], index: StoredIndex | None = None) -> list[np.ndarray]:
        """Query embeddings of Lao words read as Thai: the index's (its Lao terms', embedded at build time), the
        cached (questions share most of their words), the dictionary's (embedded once per model, when
        :meth:`prepare_thai_words` has run on this machine), and only the others embedded now."""
        table = (index or self.index).terms.get(LAO)
        found = {w: self._word_vectors.get(w) for w in words}
        found.update(table.thai_vectors([w for w, v in found.items() if v is None]) if table is not None else {})
        if self._thai_words is not None:
            found.update(self._thai_words.get([w for w, v in found.items() if v is None]))
        missing = [w for w, v in found.items() if v is None]
        if missing:
            found.update(zip(missing, self.embedder.embed_queries([read_as_thai(w) for w in missing])))
            if len(self._word_vectors) + len(missing) > self._word_cache_size:
                self._word_vectors = {}
            if len(missing) <= self._word_cache_size:
                self._word_vectors.update((w, found[w]) for w in missing)
        return [found[w] for w in words]

    def warm_up(self) -> None:
        """Load everything a search needs now (index, BM25, terms, sentences, model, Lao segmenter, dictionary)."""
        index = self.index
        index.sparse, index.terms, index.units, index.centering, self.embedder.model  # noqa: B018
        index.numeric_units, index.same_text, index.sentence_rows  # noqa: B018
        index.sparse.warm_up()
        tokenize("ລາວ")
        lao_translations()  # the dictionary and the place names
        if self._thai_words is None and self._use_thai_words:
            self._thai_words = load_thai_words(getattr(self.embedder, "cache_dir", None), self.embedder.model_id)

    @property
    def has_thai_words(self) -> bool:
        """Whether a Lao question's words are looked up in the dictionary's, embedded once per model."""
        return self._thai_words is not None

    def prepare_thai_words(self, progress=None, words: Sequence[str] | None = None) -> int:
        """Embed the Lao dictionary's words read as Thai once for this model (into the model cache: about two
        and a half minutes on two cores, the first time on a machine), and look a question's words up there from
        now on instead of embedding them while the user waits. Returns how many words it holds.

        Args:
            progress: called as ``progress(done, total)`` while the words are embedded.
            words: other words than the dictionary's (a smoke run's few).

        Raises:
            OSError: the model cache cannot be written.
        """
        self._thai_words = prepare_thai_words(self.embedder, progress=progress, words=words)
        return len(self._thai_words)

    def source(self, passage_id: str, *, around: int = 40) -> tuple[list, int, int]:
        """A passage in its report: up to ``around`` passages either side, in reading order.

        Returns:
            The passages, the position of ``passage_id`` among them, and the first one's
            position in the whole report.

        Raises:
            QueryError: no passage has that id (the report was removed, or the link is damaged).
        """
        document = passage_id.rpartition("#")[0]
        rows = self.index.document_rows.get(document, [])
        where = next((i for i, row in enumerate(rows) if self.index.passages[row].passage_id == passage_id), None)
        if where is None:
            raise QueryError(f"no passage {passage_id!r} in the index: the report may have been removed or changed; "
                             "search again to get a fresh link")
        start = max(0, where - around)
        return [self.index.passages[row] for row in rows[start:where + around + 1]], where - start, start

    def context(self, hit: Hit) -> list:
        """The passages of the hit's paragraph, in reading order: the paragraph in full."""
        return self.index.paragraph(hit.citation.document, hit.citation.paragraph)


class _Clock:
    """Adds the milliseconds since its last lap to a stage of ``out`` (does nothing when ``out`` is None)."""

    def __init__(self, out: dict[str, float] | None):
        self.out, self.last = out, time.perf_counter()

    def lap(self, stage: str) -> None:
        assert stage in STAGES, stage  # one list of names, for the request log and the benches
        if self.out is not None:
            now = time.perf_counter()
            self.out[stage] = self.out.get(stage, 0.0) + (now - self.last) * 1000
            self.last = now


def _hits(index: StoredIndex, ranked: list[tuple[int, float]], spans, lang: str | None, docs: tuple[str, ...],
          whys) -> list[Hit]:
    hits = []
    for rank, ((row, score), span, why) in enumerate(zip(ranked, spans, whys), 1):
        p = index.passages[row]
        others = (index.passages[r] for r in index.same_text.others(row, limit=ALSO_IN_LIMIT))
        also = tuple(o.citation for o in others  # the filters' rows, checked per duplicate
                     if (not lang or o.lang == lang) and (not docs or o.citation.document in docs))
        hits.append(Hit(rank, score, p.passage_id, p.text, p.lang, p.citation, span, also, why,
                        ocr_confidence(index, p.citation)))
    return hits


def ocr_confidence(index: StoredIndex, citation) -> float | None:
    """Tesseract's confidence in the page a passage was read from by OCR (the manifest keeps each scanned
    page's); None for a passage of text."""
    pages = index.manifest.documents.get(citation.document, {}).get("ocr")
    return pages.get(str(citation.page)) if pages and citation.page is not None else None


def _low_ocr(index: StoredIndex, citation) -> bool:
    confidence = ocr_confidence(index, citation)
    return confidence is not None and confidence < LOW_CONFIDENCE
