"""The answer box's margin over the next hits, and its refusal of titles and headings (search/retrieve/answer.py)."""

from dataclasses import replace

from search.cite import Citation
from search.retrieve.answer import (AGREED_MARGIN, MARGIN, RIVALS, corroborates, is_heading, sentence_cosine, shown,
                                    stands_out)

QUESTION = "How many trafficking victims did the government identify in 2021?"  # dev en-09


def test_the_runner_up_is_the_best_sentence_of_the_next_hits_whatever_k_is(searcher):
    wide = searcher.search(QUESTION, k=10, highlight=True)
    narrow = searcher.search(QUESTION, k=1, highlight=True)
    index = searcher.index
    rows = {p.passage_id: i for i, p in enumerate(index.passages)}
    vector = searcher.embedder.embed_queries([QUESTION])[0]
    rivals = [(h.text[slice(*span)], cosine) for h in wide.hits[1:1 + RIVALS]
              for span, cosine in [sentence_cosine(index, vector, rows[h.passage_id], h.highlight)]]
    assert len(rivals) == RIVALS
    # a next hit that states the answer's figure backs it up instead of rivalling it (a "how many" question)
    rivalling = [cosine for text, cosine in rivals if not corroborates(text, wide.candidate.text, QUESTION)]
    assert rivalling and abs(wide.candidate.runner_up - max(rivalling)) < 1e-5
    assert abs(narrow.candidate.runner_up - wide.candidate.runner_up) < 1e-6  # k=1 weighs the same next hits
    assert len(narrow.hits) == 1


def test_an_answer_that_does_not_stand_out_from_the_next_hits_is_not_shown(searcher):
    candidate = searcher.search(QUESTION, k=10, highlight=True).candidate
    confident = replace(candidate, confidence=0.9, agreed=False, conflict=None, heading=False)
    assert shown(replace(confident, runner_up=0.9 - MARGIN - 1e-6)) is not None
    assert shown(replace(confident, runner_up=0.9 - MARGIN + 0.005)) is None  # a rival about as close
    assert shown(replace(confident, runner_up=0.95)) is None  # a closer sentence further down
    assert shown(replace(confident, runner_up=None)) is not None  # nothing follows it
    agreed = replace(confident, agreed=True, runner_up=0.9 - AGREED_MARGIN)
    assert stands_out(agreed) and not stands_out(replace(agreed, agreed=False))


def test_a_title_or_heading_is_never_the_answer(searcher):
    citation = Citation("news.txt", "ສາຍດ່ວນ 1362 ຮັບສາຍໂທເພີ່ມຂຶ້ນໃນປີ 2023", "Part 1 › (D) Falsely claiming citizenship", 1, 0, 40)
    assert is_heading("ສາຍດ່ວນ 1362 ຮັບສາຍໂທເພີ່ມຂຶ້ນໃນປີ 2023", citation)  # a news report's headline
    assert is_heading("(D) Falsely claiming  citizenship.", citation)  # a heading of its path, spaces and stop aside
    assert not is_heading("The hotline received 2,715 calls in 2023.", citation)
    assert not is_heading("", citation)
    candidate = searcher.search(QUESTION, k=10, highlight=True).candidate
    assert not candidate.heading
    sure = replace(candidate, confidence=0.95, runner_up=0.5, conflict=None)
    assert shown(sure) is sure and shown(replace(sure, heading=True)) is None


def test_a_next_hit_stating_the_same_quantity_backs_the_answer_up():
    from search.retrieve.answer import corroborates

    question = "How many traffickers were convicted in 2021?"
    answer = "Seven of them culminated in the conviction of 10 traffickers in 2021."
    assert corroborates("The government convicted 10 traffickers, compared with 9 in 2020.", answer, question)
    assert corroborates("ສານໄດ້ຕັດສິນລົງໂທດຜູ້ຄ້າມະນຸດ ໑໐ ຄົນ.", answer, question)  # Lao digits
    assert not corroborates("Authorities identified 110 victims in 2021.", answer, question)  # a year the question names
    assert not corroborates("It convicted 12 traffickers.", answer, "How many of the 10 traffickers were convicted?")


def test_the_same_figure_twice_does_not_empty_the_box(searcher):
    """dev en-10: the report gives the cases investigated in two places; the second hit's sentence states the same
    39 and is nearly as close to the question (0.69 against 0.76, short of the margin), so as a rival it would
    empty the box; as a corroboration it leaves it answered."""
    question = "How many potential trafficking cases did the Anti-Trafficking Department investigate?"
    result = searcher.search(question, k=5, highlight=True)
    assert result.answer is not None and "investigated 39 potential cases" in result.answer.text
    assert result.answer.margin >= MARGIN
    index = searcher.index
    vector = searcher.embedder.embed_queries([question])[0]
    rows = {p.passage_id: i for i, p in enumerate(index.passages)}
    rivals = [sentence_cosine(index, vector, rows[h.passage_id], h.highlight)[1] for h in result.hits[1:1 + RIVALS]]
    assert result.answer.confidence - max(rivals) < MARGIN  # every next hit counted as a rival: no answer