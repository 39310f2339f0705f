"""The answer box says nothing when its passage contradicts the question's year, number or place."""

from __future__ import annotations

import json

import pytest

from conftest import ROOT
from search.retrieve.conflict import conflict, places, quantities, years

CONTRADICTIONS = ROOT / "eval" / "contradictions.jsonl"
DEV_SETS = (ROOT / "eval" / "gold" / "laos-tip-2022.jsonl", ROOT / "eval" / "gold" / "laos-tip-2022-lo-en.jsonl")


def _lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _fold(text: str) -> str:
    """The gold sets' matching rule: NFC, whitespace folded, casefolded."""
    import unicodedata

    return " ".join(unicodedata.normalize("NFC", text).split()).casefold()


def test_years_numbers_and_places_are_read_in_lao_and_english():
    assert years("ໃນປີ ໒໐໒໓ and the 2021-2025 plan; 4,000 people; COVID-19") == {2021, 2022, 2023, 2024, 2025}
    assert quantities("4,000 people in 2021, 65.5 million kip, five men, ມາດຕາ ໒໑໕") == {"4000", "65.5", "5", "215"}
    assert places("ແຂວງບໍ່ແກ້ວ, 12 Vietnamese workers, PRC nationals, Chinese brokers") == {"Bokeo", "Vietnam", "China"}


@pytest.mark.parametrize("question, sentence, passage, said", [
    # the case: 2023 asked, the passage tells 2021 (and 2020)
    ("How many traffickers were convicted in 2023?", "seven of which culminated in the conviction of 10 traffickers "
     "(compared with 11 in 2020)", "from January to December 2021 ... seven of which culminated in the conviction of "
     "10 traffickers (compared with 11 in 2020)", "asks about 2023; the passage speaks of 2020, 2021"),
    ("What does Article 300 prescribe?", "five to 15 years", "Article 215 prescribed five to 15 years", "names 300"),
    ("How many recruitment centers opened in Luang Prabang?", "two new centers in Bokeo", "two new centers in Bokeo",
     "names Luang Prabang; the passage speaks of Bokeo"),
    ("How many Lao women came back from Vietnam?", "220 Lao women ... in the PRC",
     "37 Thai, 12 Vietnamese workers. 220 Lao women ... in the PRC", "names Vietnam; the sentence speaks of China"),
])
def test_a_contradicted_question_is_named(question, sentence, passage, said):
    assert said in conflict(question, sentence, passage)


@pytest.mark.parametrize("question, sentence, passage", [
    # the sentence names only the year compared with; its passage holds the year asked
    ("How many traffickers were convicted in 2021?", "conviction of 10 traffickers (compared with 11 in 2020)",
     "from January to December 2021 ... conviction of 10 traffickers (compared with 11 in 2020)"),
    ("How many victims were identified?", "110 victims in 2021", "110 victims in 2021"),  # nothing named: nothing contradicted
    ("How many victims in 2021?", "The government identified victims.", "The government identified victims."),
    ("How many Lao victims were sent home from Thailand?", "seven Lao survivors from Thailand", "seven Lao survivors"),
    ("What prison sentence does Article 215 prescribe?", "five to 15 years", "Article 215 prescribed five to 15 years"),
])
def test_what_the_passage_does_not_contradict_is_answered(question, sentence, passage):
    assert conflict(question, sentence, passage, "Laos: 2022 report") is None


def test_the_report_title_gives_its_places_not_its_years():
    """A report is named for the year it came out (the 2022 report tells of 2021), but it is about its place."""
    assert conflict("What happened in 2021?", "It happened.", "It happened.", "Laos: the 2022 report") is None
    assert conflict("How many victims in Laos?", "Thai victims", "Thai victims", "Laos report") is None
    assert "names Laos" in conflict("How many victims in Laos?", "Thai victims", "Thai victims", "Burma report")


@pytest.mark.parametrize("line", _lines(CONTRADICTIONS), ids=lambda line: line["id"])
def test_no_answer_is_shown_to_a_question_its_passage_contradicts(searcher, line):
    """eval/contradictions.jsonl: questions about the bundled report whose year, number or place it does not hold
    (several got the figure of another year, confidently, before)."""
    from dataclasses import replace

    from search.retrieve.answer import shown

    result = searcher.search(line["question"], k=5, highlight=True)
    assert result.question_lang == line["lang"]
    assert result.answer is None and result.to_dict()["answer"] is None
    # withheld for what it contradicts wherever the box would otherwise show it, not only for want of confidence
    if shown(replace(result.candidate, conflict=None)):
        assert line["names"] in result.withheld, result.withheld


def test_the_contradiction_is_named_for_nearly_every_such_question(searcher):
    """The check reads real questions: the year, number or place is named for all but at most two of the
    contradicting questions (con-lo-04's top passage, since the raw cosine's vote, names no year at all: nothing to
    contradict, and its sentence scores 0.39, far below what the box shows)."""
    lines = _lines(CONTRADICTIONS)
    named = [line["id"] for line in lines
             if line["names"] in (searcher.search(line["question"], k=5, highlight=True).withheld or "")]
    assert len(named) >= len(lines) - 2, sorted({line["id"] for line in lines} - set(named))


def test_no_dev_question_is_withheld_for_a_contradiction(searcher):
    """The dev sets' questions name years, numbers and places their answers hold: none may lose its answer. A
    wrong top passage may be withheld: with the adapter taught on questions, lo-27, en-20, le-02 and le-18 (dev lo-27
    asks about 2020 and its top passage, not its answer, speaks of 2021 only)."""
    for path in DEV_SETS:
        questions = _lines(path)
        for q, result in zip(questions, searcher.search_batch([q["question"] for q in questions], k=5, highlight=True)):
            if result.withheld is not None:
                holds = any(_fold(a) in _fold(result.candidate.text) for a in q["answers"])
                assert not holds, (q["id"], result.withheld)


@pytest.mark.parametrize("question, lang", [("Combien de trafiquants ont été condamnés en 2021 ?", "fr"),
                                            ("มีผู้ค้ามนุษย์กี่คนถูกตัดสินลงโทษในปี 2021", "th")])
def test_a_question_in_another_language_is_searched_and_said_to_be_unsupported(searcher, question, lang):
    result = searcher.search(question, k=3, highlight=True)
    assert result.question_lang == lang and not result.supported and result.hits
    assert result.answer is None and "not supported; ask in Lao or English" in result.withheld
    assert result.to_dict()["question_supported"] is False


def test_the_page_says_why_there_is_no_answer_in_both_languages(searcher):
    from search.serve.render import answer_html, question_language

    contradicted = searcher.search("How many traffickers were convicted in 2023?", k=3, highlight=True)
    box = answer_html(contradicted)
    assert 'id="no-answer"' in box and "asks about 2023" in box and "ບໍ່ມີຄຳຕອບ" in box
    french = searcher.search("Combien de trafiquants ont été condamnés en 2021 ?", k=3, highlight=True)
    assert "**fr**: not supported, ask in Lao or English" in question_language(french) and "ບໍ່ຮອງຮັບ" in question_language(french)
    assert "Lao and English only" in answer_html(french)
    english = searcher.search("How many police officers were trained on anti-trafficking laws?", k=3, highlight=True)
    assert question_language(english) == "Question language: **English · ອັງກິດ**"
    assert "at least <strong>300</strong> police officers" in answer_html(english)
