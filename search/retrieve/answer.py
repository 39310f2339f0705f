"""The answer box: the one sentence that answers the question, or nothing when none answers well.

The answer is the sentence highlighted in the top hit (the passage itself when it is
one sentence): the fused ranking chose the passage, the highlight the sentence. It
is shown only when its cosine to the question reaches ``ANSWER_THRESHOLD``, or
when the three ranked lists all put its passage first (down to ``AGREED_FLOOR``),
measured on the dev set and on questions the bundled report does not answer
(``eval/no-answer.jsonl``; ``python bench/readme.py`` makes the table of docs/quality.md, *The answer box*). When the question asks
for a number, the quantities in the sentence are marked for emphasis. However confident, no answer is shown when
its passage contradicts a year, a number or a place the question names (:mod:`search.retrieve.conflict`;
``eval/contradictions.jsonl``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from search.ingest.numbers import number_spans
from search.cite import Citation
from search.index.store import StoredIndex
from search.retrieve.conflict import conflict

# The model's own cosine between question and answer sentence (with the Lao adapter), not the centered
# one: centering subtracts the library's language means, which move as reports are added, so a threshold
# on the centered cosine held on one report and not in a library (bench/library.py: with the bundled
# report among 7,600 passages of other reports, the centered 0.45 showed 17 wrong answers of 48 on the dev
# set and answered 6 of the 20 unanswerable questions, eval/no-answer.jsonl). The raw cosine is a property
# of the model. The 20 unanswerable questions score at most 0.63 alone and in the library; from 0.70 none
# is answered and the dev set's shown answers are 22 right, 1 wrong alone, 19 right, 5 wrong in the
# library. docs/quality.md, *The answer box*, has the tables (bench/readme.py, bench/library.py).
ANSWER_THRESHOLD = 0.70
# Below it, an answer is still shown when the three ranked lists (the passage's meaning, its best
# sentence's, its words) all put its passage first, down to this floor: 5 more right answers on the dev set
# alone and none wrong, 7 more on the second set; in the library no more wrong ones. The one unanswerable
# question whose lists agree (in the library) scores 0.600.
AGREED_FLOOR = 0.62


@dataclass(frozen=True)
class Answer:
    """The sentence that answers a question.

    Attributes:
        text: the sentence, as in the report.
        passage_id: the passage it stands in.
        rank: that passage's rank among the hits.
        span: the sentence's span in the passage's text.
        citation: the passage's citation.
        confidence: the model's cosine of question and sentence (shown from ``ANSWER_THRESHOLD``).
        numbers: spans in ``text`` of the quantities it states, when the question asks for one.
        agreed: every list the fusion used (three of them, at least) ranked its passage first.
        conflict: what in the question its passage contradicts (a year, a number, a place), in words; such an
            answer is never shown.
    """

    text: str
    passage_id: str
    rank: int
    span: tuple[int, int]
    citation: Citation
    confidence: float
    numbers: tuple[tuple[int, int], ...] = ()
    agreed: bool = False
    conflict: str | None = None

    def to_dict(self) -> dict:
        """JSON-ready (the CLI's ``--json`` and the app's API)."""
        return {"text": self.text, "id": self.passage_id, "rank": self.rank, "span": list(self.span),
                "citation": self.citation.to_dict(), "confidence": round(self.confidence, 4),
                "numbers": [list(n) for n in self.numbers], "lists_agree": self.agreed}


def answer_candidate(index: StoredIndex, query: np.ndarray, row: int, span: tuple[int, int] | None,
                     rank: int, *, numeric: bool, agreed: bool = False, question: str = "") -> Answer:
    """The answer a hit offers (its highlighted sentence, or the whole one-sentence passage), scored.

    Args:
        index: the index.
        query: the question's vector as the model gives it (not centered: see ``ANSWER_THRESHOLD``).
        row: the hit's passage row.
        span: its highlighted sentence (None: the passage is one sentence).
        rank: the hit's rank.
        numeric: the question asks for a number.
        agreed: every ranked list put this passage first.
        question: the question, whose years, numbers and places the passage must not contradict.
    """
    passage = index.passages[row]
    if span is None or not passage.sentences:
        span = (0, len(passage.text))
        unit = np.asarray(index.vectors[row], np.float32)
    else:
        first, _ = index.sentence_rows[row]
        unit = np.asarray(index.sentence_vectors[first + passage.sentences.index(tuple(span))], np.float32)
    text = passage.text[span[0]:span[1]]
    confidence = float(np.dot(unit, np.asarray(query, np.float32)))
    numbers = tuple(number_spans(text)) if numeric else ()
    context = f"{passage.citation.title} {passage.citation.section or ''}"
    return Answer(text, passage.passage_id, rank, tuple(span), passage.citation, confidence, numbers, agreed,
                  conflict(question, text, passage.text, context) if question else None)


def confident(confidence: float, agreed: bool, threshold: float = ANSWER_THRESHOLD, *, agreement: bool = True) -> bool:
    """Whether an answer is shown: its cosine reaches ``threshold``, or (with ``agreement``) every ranked list
    put its passage first and its cosine reaches ``AGREED_FLOOR``."""
    return confidence >= threshold or (agreement and agreed and confidence >= AGREED_FLOOR)


def shown(answer: Answer | None, threshold: float = ANSWER_THRESHOLD, *, agreement: bool = True) -> Answer | None:
    """The answer if it is confident enough to show (:func:`confident`) and its passage contradicts nothing the
    question names, else None."""
    if answer is None or answer.conflict or not confident(answer.confidence, answer.agreed, threshold, agreement=agreement):
        return None
    return answer
