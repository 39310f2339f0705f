"""The JSON API's answers as typed models: what its OpenAPI document promises, and what FastAPI checks each
answer against before it is sent (search/serve/api.py). The shapes are those of ``Hit.to_dict``,
``SearchResult.to_dict``, ``StoredIndex.summary`` and a write's outcome, plus each passage's ``link``."""

from __future__ import annotations

from pydantic import BaseModel, Field

from search.retrieve.checks import MAX_K, MAX_QUESTION_CHARS

__all__ = ["MAX_K", "MAX_QUESTION_CHARS", "ERRORS", "errors"]


class Citation(BaseModel):
    document: str = Field(description="The report's file name in the corpus.")
    title: str
    section: str | None = Field(description="The section heading in force, or null.")
    paragraph: int = Field(description="Paragraph number in the report, from 1.")
    start: int = Field(description="First character of the passage in the report's source text.")
    end: int = Field(description="One past its last character.")
    page: int | None = Field(None, description="Page number for a PDF, else null.")


class Ocr(BaseModel):
    confidence: float = Field(description="Tesseract's confidence (0-100) in the page the passage was read from.")
    low: bool = Field(description="Under the confidence floor: check the scan.")


class Why(BaseModel):
    ranks: dict[str, int | None] = Field(description="The passage's rank in each list the fusion used.")
    question_words: list[str]
    translations: list[str]
    states_number: bool | None


class Hit(BaseModel):
    rank: int = Field(description="1 for the best (counted from the first result, whatever the offset).")
    score: float
    id: str = Field(description="The passage's id, for /api/passages/{id} ('#' as %23).")
    text: str
    lang: str
    citation: Citation
    highlight: list[int] | None = Field(description="[start, end] in text of the sentence closest to the question.")
    also_in: list[Citation] = Field(description="The same text elsewhere (shown once, here).")
    why: Why | None
    ocr: Ocr | None = Field(None, description="For a passage read by OCR from a scan; null for text.")
    link: str = Field(description="The passage in its report on the app's page (as the CSV export's link).")


class Answer(BaseModel):
    text: str
    id: str
    rank: int
    span: list[int]
    citation: Citation
    confidence: float
    numbers: list[list[int]]
    lists_agree: bool


class SearchAnswer(BaseModel):
    question: str
    question_lang: str
    question_supported: bool
    answer: Answer | None = Field(description="The sentence that answers, or null when none answers confidently.")
    answer_withheld: str | None = Field(description="Why no answer is given when that is not only confidence.")
    offset: int = Field(description="How many results before these were skipped.")
    hits: list[Hit]


class Passage(BaseModel):
    id: str
    lang: str
    text: str
    citation: Citation = Field(description="Where it comes from, nested as in /api/search's hits.")
    sentences: list[list[int]] = Field(description="Each sentence's [start, end] in text.")
    asides: list[list[int | str]] | None = None
    link: str = Field(description="The passage in its report on the app's page.")
    # one release only: the citation's fields flat, as before it was nested
    document: str = Field(deprecated=True, description="Deprecated: citation.document (removed in the next release).")
    title: str = Field(deprecated=True, description="Deprecated: citation.title.")
    section: str | None = Field(deprecated=True, description="Deprecated: citation.section.")
    paragraph: int = Field(deprecated=True, description="Deprecated: citation.paragraph.")
    start: int = Field(deprecated=True, description="Deprecated: citation.start.")
    end: int = Field(deprecated=True, description="Deprecated: citation.end.")
    page: int | None = Field(None, deprecated=True, description="Deprecated: citation.page.")


class Report(BaseModel):
    document: str
    title: str
    passages: int
    parts: list[str]
    ocr: dict[int, float] | None = Field(None, description="OCR confidence by page, for a scanned report.")


class Reports(BaseModel):
    reports: list[Report]
    passages: int
    passages_by_lang: dict[str, int]
    model: str
    built: str
    skipped: list[str]


class WriteOutcome(BaseModel):
    action: str = Field(description="upload or remove")
    file: str
    passages: int
    embedded: int
    reports: int
    moved_to: str | None = Field(description="Where a removed report's file went (not deleted).")
    unrecorded: str | None = Field(description="Why the audit log could not record this write (it was done).")


class Error(BaseModel):
    error: str = Field(description="One line: what was refused and why.")


ERRORS = {
    400: "A question or argument that cannot be searched (empty, an unknown report in doc, a bad name or body).",
    401: "No or wrong credentials (HTTP Basic), when the app has a users file.",
    403: "A role that may not do this; a write without the header X-Requested-With, or from another site.",
    404: "No such passage, report or route.",
    405: "A method the route does not take.",
    409: "The report is already in the library (under another name).",
    413: "The file is over the upload limit.",
    414: "The address is too long.",
    422: "An argument out of range or of the wrong type (k, offset, lang, q's length).",
    429: "Too many wrong passwords for this name: locked out for the seconds in Retry-After.",
    503: "The app is still getting ready (loading the model, indexing): try again after Retry-After seconds.",
}


def errors(*statuses: int) -> dict:
    """OpenAPI ``responses`` for these statuses, each the JSON ``{"error": …}`` the API sends."""
    return {status: {"model": Error, "description": ERRORS[status]} for status in statuses}
