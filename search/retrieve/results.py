"""What a search returns: ranked hits with their citations, and the answer sentence."""

from __future__ import annotations

from dataclasses import dataclass, field

from search.cite import Citation
from search.ingest.ocr import LOW_CONFIDENCE
from search.ingest.lang import LAO, UNKNOWN
from search.retrieve.answer import Answer, shown
from search.retrieve.explain import Why


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
        also_in: citations of the same text elsewhere (the same report under other file
            names, a paragraph repeated); it is shown once, here.
        why: its rank in each list, the words that matched, the answer type (with ``highlight``).
        ocr: Tesseract's confidence (0-100) in the page the passage was read from by OCR; None for text.
    """

    rank: int
    score: float
    passage_id: str
    text: str
    lang: str
    citation: Citation
    highlight: tuple[int, int] | None = None
    also_in: tuple[Citation, ...] = ()
    why: Why | None = None
    ocr: float | None = None

    @property
    def low_confidence(self) -> bool:
        """Whether the passage was read by OCR from a page under the confidence floor (``LOW_CONFIDENCE``)."""
        return self.ocr is not None and self.ocr < LOW_CONFIDENCE

    def to_dict(self) -> dict:
        """The hit as JSON-ready data (the CLI's ``--json`` and the app's API); a passage read by OCR has
        ``"ocr": {"confidence", "low"}``."""
        scanned = {"ocr": {"confidence": self.ocr, "low": self.low_confidence}} if self.ocr is not None else {}
        return {"rank": self.rank, "score": round(self.score, 6), "id": self.passage_id, "text": self.text,
                "lang": self.lang, "citation": self.citation.to_dict(),
                "highlight": list(self.highlight) if self.highlight else None,
                "also_in": [c.to_dict() for c in self.also_in], "why": self.why.to_dict() if self.why else None,
                **scanned}


# The languages the answer box answers: questions in others are searched (the model reads many), but no answer
# is given, since none has been measured (a French question was read as English, and answered wrongly).
ANSWERED_LANGS = (LAO, "en")


@dataclass(frozen=True)
class SearchResult:
    """The answer to one question: its detected language, the ranked hits, and the answer sentence.

    Attributes:
        candidate: the top hit's answering sentence, however weak (searches with ``highlight`` only);
            :attr:`answer` is it when it is confident enough to show.
    """

    question: str
    question_lang: str
    hits: list[Hit] = field(default_factory=list)
    candidate: Answer | None = None

    @property
    def supported(self) -> bool:
        """Whether the question is in a language the answer box answers (Lao, English, or undecided)."""
        return self.question_lang in (*ANSWERED_LANGS, UNKNOWN)

    @property
    def answer(self) -> Answer | None:
        """The sentence that answers the question, or None when none answers well enough, its passage
        contradicts the question, or the question's language is not Lao or English."""
        return shown(self.candidate) if self.supported else None

    @property
    def withheld(self) -> str | None:
        """Why no answer is given when that is not (only) a matter of confidence, in words; else None."""
        if not self.supported:
            return f"questions in this language ({self.question_lang}) are not supported; ask in Lao or English"
        return self.candidate.conflict if self.candidate is not None else None

    def to_dict(self) -> dict:
        """JSON-ready: the CLI's ``--json`` and the app's API."""
        return {"question": self.question, "question_lang": self.question_lang, "question_supported": self.supported,
                "answer": self.answer.to_dict() if self.answer else None, "answer_withheld": self.withheld,
                "hits": [h.to_dict() for h in self.hits]}
