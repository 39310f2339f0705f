"""Answering questions: the Searcher loads an index and the model once, lazily, and ranks passages."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .bridge import expand_question, lao_english_dictionary
from .build import make_embedder
from .cite import Citation
from .embed import Embedder
from .errors import EmptyQueryError, IndexFormatError, QueryError
from .highlight import best_sentence_spans
from .hybrid import reciprocal_rank_fusion
from .lang import detect_lang
from .store import StoredIndex, load_index
from .tokenize import tokenize

MAX_QUESTION_CHARS = 2000
MAX_K = 100
# dense: FAISS cosine; lexical: BM25 over Lao-aware tokens; +bridge: the query gets its
# translations (search/bridge.py); hybrid: dense and lexical fused by reciprocal rank.
RETRIEVERS = ("dense", "lexical", "lexical+bridge", "hybrid", "hybrid+bridge")
DEFAULT_RETRIEVER = "hybrid+bridge"


@dataclass(frozen=True)
class Hit:
    """One ranked passage.

    Attributes:
        rank: 1 for the best.
        score: the retriever's score (cosine for dense search).
        passage_id: ``"{document}#{n}"``.
        text: the passage, exactly as in the source text at the citation's span.
        lang: the passage's language.
        citation: where it comes from.
        highlight: the span in ``text`` of the sentence closest to the question, when asked
            for and the passage has more than one sentence.
    """

    rank: int
    score: float
    passage_id: str
    text: str
    lang: str
    citation: Citation
    highlight: tuple[int, int] | None = None

    def to_dict(self) -> dict:
        """The hit as JSON-ready data (the CLI's ``--json`` and the app's API)."""
        return {"rank": self.rank, "score": round(self.score, 6), "id": self.passage_id, "text": self.text,
                "lang": self.lang, "citation": self.citation.to_dict(),
                "highlight": list(self.highlight) if self.highlight else None}


@dataclass(frozen=True)
class SearchResult:
    """The answer to one question: its detected language and the ranked hits."""

    question: str
    question_lang: str
    hits: list[Hit] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"question": self.question, "question_lang": self.question_lang, "hits": [h.to_dict() for h in self.hits]}


def check_question(question: str) -> str:
    """Return the question stripped, or raise if it cannot be searched.

    Raises:
        EmptyQueryError: empty or only whitespace.
        QueryError: longer than ``MAX_QUESTION_CHARS``.
    """
    if not isinstance(question, str) or not question.strip():
        raise EmptyQueryError("the question is empty; type a question in Lao or English")
    question = question.strip()
    if len(question) > MAX_QUESTION_CHARS:
        raise QueryError(f"the question is {len(question)} characters long; the limit is {MAX_QUESTION_CHARS}. Ask about one thing at a time")
    return question


class Searcher:
    """Search over one index. The index and model load on first use and stay loaded.

    Args:
        index_dir: the index folder.
        embedder: the embedder; made from the index's own config when None.
        cache_dir: where the default model is converted (when ``embedder`` is None).
    """

    def __init__(self, index_dir: Path, *, embedder: Embedder | None = None, cache_dir: Path | None = None):
        self.index_dir = Path(index_dir)
        self._embedder = embedder
        self._cache_dir = cache_dir
        self._index: StoredIndex | None = None

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
            self._embedder = make_embedder(self.index.manifest.config, cache_dir=self._cache_dir)
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

    def languages(self) -> tuple[str, ...]:
        """The languages of the indexed passages, sorted."""
        return tuple(self.index.rows_by_lang)

    def search(
        self, question: str, *, k: int = 10, lang: str | None = None, retriever: str = DEFAULT_RETRIEVER,
        highlight: bool = False,
    ) -> SearchResult:
        """Rank passages for one question.

        Args:
            question: the question, in Lao or English (or any language the model reads).
            k: how many hits (1 to 100).
            lang: keep only passages of this language (``"lo"``, ``"en"``); all when None.
            retriever: the retrieval method, one of ``RETRIEVERS``.
            highlight: also find each hit's sentence closest to the question (``Hit.highlight``).

        Returns:
            A :class:`SearchResult`.

        Raises:
            EmptyQueryError, QueryError: the question cannot be searched.
            IndexNotFoundError, IndexFormatError: the index is missing, damaged or of another model.
        """
        return self.search_batch([question], k=k, lang=lang, retriever=retriever, highlight=highlight)[0]

    def search_batch(
        self, questions: Sequence[str], *, k: int = 10, lang: str | None = None, retriever: str = DEFAULT_RETRIEVER,
        highlight: bool = False,
    ) -> list[SearchResult]:
        """Rank passages for many questions at once (same arguments as :meth:`search`)."""
        if not 1 <= k <= MAX_K:
            raise QueryError(f"k must be between 1 and {MAX_K}, got {k}")
        if retriever not in RETRIEVERS:
            raise QueryError(f"unknown retriever {retriever!r}; choose one of: {', '.join(RETRIEVERS)}")
        questions = [check_question(q) for q in questions]
        index = self.index  # one index for the whole call, even if reload() runs meanwhile
        allowed = None if not lang else index.rows_by_lang.get(lang, [])
        vectors = self.embedder.embed_queries(questions)
        depth = k if retriever == "dense" else max(10 * k, 100)  # more candidates for fusion
        dense_rows = index.dense.search(vectors, depth, allowed=allowed)
        results = []
        for question, vector, dense_row in zip(questions, vectors, dense_rows):
            question_lang = detect_lang(question, candidates=tuple(index.rows_by_lang))
            ranked = self._rank(index, retriever, question, question_lang, vector, dense_row, depth, allowed)[:k]
            rows = [row for row, _ in ranked]
            spans = _best_sentences(index, vector, rows) if highlight else [None] * len(rows)
            results.append(SearchResult(question, question_lang, _hits(index, ranked, spans)))
        return results

    @staticmethod
    def _rank(index, retriever, question, question_lang, vector, dense_row, depth, allowed) -> list[tuple[int, float]]:
        """One question's ranked (row, score) list for a retriever."""
        if retriever == "dense":
            return dense_row
        tokens = tokenize(question)
        if retriever.endswith("+bridge"):
            query = expand_question(tokens, question_lang, vector, index.terms)
        else:
            query = Counter(tokens)
        lexical = index.sparse.rank(query, depth, allowed=allowed)
        if retriever.startswith("lexical"):
            return lexical
        return reciprocal_rank_fusion([dense_row, lexical])

    def warm_up(self) -> None:
        """Load everything a search needs now (index, BM25, terms, sentences, model, Lao segmenter, dictionary)."""
        self.index.sparse, self.index.terms, self.index.sentence_vectors, self.embedder.model  # noqa: B018
        tokenize("ລາວ")
        lao_english_dictionary()

    def context(self, hit: Hit) -> list:
        """The passages of the hit's paragraph, in reading order: the paragraph in full."""
        return self.index.paragraphs.get((hit.citation.document, hit.citation.paragraph), [])


def _hits(index: StoredIndex, ranked: list[tuple[int, float]], spans) -> list[Hit]:
    hits = []
    for rank, ((row, score), span) in enumerate(zip(ranked, spans), 1):
        p = index.passages[row]
        hits.append(Hit(rank, score, p.passage_id, p.text, p.lang, p.citation, span))
    return hits


def _best_sentences(index: StoredIndex, vector, rows: list[int]) -> list[tuple[int, int] | None]:
    passages = [index.passages[r] for r in rows]
    return best_sentence_spans(vector, passages, [index.sentence_rows[r] for r in rows], index.sentence_vectors)
