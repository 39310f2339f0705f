"""Questions that ask for a number, and text that states one (pure logic, no model)."""

import numpy as np
import pytest

from search.ingest.numbers import asks_for_number, holds_number
from search.retrieve.lists import numeric_first
from search.retrieve.highlight import best_sentence_spans
from search.index.records import Passage


@pytest.mark.parametrize("question", [
    "ລາວມີດ່ານຊາຍແດນທີ່ເປັນທາງການທັງໝົດຈັກແຫ່ງ?",  # how many official border crossings
    "ມີຜູ້ເຄາະຮ້າຍຈັກຄົນ?",
    "ສານສັ່ງໃຫ້ຈ່າຍຄ່າຊົດເຊີຍເປັນເງິນເທົ່າໃດ?",  # how much
    "ຄະດີໃຊ້ເວລາດົນປານໃດ?",  # how long
    "How many traffickers were convicted?",
    "HOW MUCH did the courts award?",
    "how long are the prison terms",
    "What percentage of victims were children?",
])
def test_questions_that_ask_for_a_number(question):
    assert asks_for_number(question)


@pytest.mark.parametrize("question", [
    "ໜ່ວຍງານໃດມີສິດລະບຸຕົວຜູ້ເຄາະຮ້າຍ?",  # which unit
    "ເຄື່ອງຈັກໃນໂຮງງານ",  # ຈັກ inside "machine" is not "how many"
    "Who identifies victims?",
    "How did the government respond?",
    "When was the report published?",  # a date, not a quantity
])
def test_questions_that_do_not(question):
    assert not asks_for_number(question)


@pytest.mark.parametrize("text", [
    "through Laos' 27 official border crossings",
    "ລັດຖະບານໄດ້ລະບຸຕົວ ໑໑໐ ຄົນ",  # Lao digits
    "Eighteen of the identified victims were foreign nationals",
    "hundreds of Lao employees",
    "more than 4,000 individuals",
    "ມີຜູ້ເຄາະຮ້າຍສາມຄົນ",  # ສາມ, three, as a word
    "2,000 workers",  # a thousands separator: not a year
])
def test_text_that_states_a_number(text):
    assert holds_number(text)


@pytest.mark.parametrize("text", [
    "In 2021, the government continued its efforts.",  # a year is not a quantity
    "ລັດຖະບານສາມາດຊ່ວຍເຫຼືອ",  # ສາມ inside ສາມາດ (can) is not three
    "Authorities did not report on the case.",
    "",
])
def test_text_that_does_not(text):
    assert not holds_number(text)


def test_numbers_first_keeps_each_part_in_order():
    ranking = [(4, 0.9), (1, 0.8), (3, 0.7), (0, 0.6), (2, 0.5)]
    numeric = np.array([True, False, True, False, True])
    assert numeric_first(ranking, numeric) == [(4, 0.9), (0, 0.6), (2, 0.5), (1, 0.8), (3, 0.7)]


def test_highlight_prefers_a_sentence_with_a_number():
    passage = Passage("r.txt#1", "About victims. 18 were foreign.", "en", None, ((0, 14), (15, 31)))
    vectors = np.array([[1.0, 0.0], [0.6, 0.8]], np.float32)
    question = np.array([1.0, 0.0], np.float32)
    assert best_sentence_spans(question, [passage], [(0, 2)], vectors) == [(0, 14)]
    preferred = np.array([False, True])
    assert best_sentence_spans(question, [passage], [(0, 2)], vectors, preferred=preferred) == [(15, 31)]
