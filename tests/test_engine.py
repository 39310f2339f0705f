"""End to end with the real model and a real FAISS index of the bundled report."""

from dataclasses import replace

import numpy as np
import pytest

from search import Searcher
from search.ingest.numbers import holds_number
from search.retrieve.engine import RETRIEVERS
from search.errors import EmptyQueryError, QueryError
from search.index.store import load_index

from conftest import CORPUS


def _source(citation):
    return (CORPUS / citation.document).read_text(encoding="utf-8")


def test_english_question_finds_the_prosecution_paragraph(searcher):
    result = searcher.search("How many traffickers were convicted in 2021?", k=5)
    assert result.question_lang == "en"
    top = result.hits[0]
    assert "conviction of 10 traffickers" in top.text
    assert top.citation.section == "PROSECUTION" and top.lang == "en"
    assert top.passage_id.startswith("laos-tip-2022-voa.txt#")


def test_lao_question_finds_the_110_victims(searcher):
    result = searcher.search("ລັດຖະບານລາວລະບຸຕົວຜູ້ເຄາະຮ້າຍໄດ້ຈັກຄົນ ໃນປີ 2021?", k=3)
    assert result.question_lang == "lo"
    assert any("110" in hit.text for hit in result.hits)


@pytest.mark.parametrize("question, evidence", [
    ("ມາດຕາ 215 ຂອງກົດໝາຍອາຍາ ກຳນົດໂທດຈຳຄຸກຈັກປີ?", "five to 15 years"),
    ("ຜູ້ຄ້າມະນຸດຈັກຄົນຖືກຕັດສິນລົງໂທດໃນປີ 2021?", "conviction of 10 traffickers"),
])
def test_lao_question_answered_only_in_english(searcher, question, evidence):
    index = load_index(searcher.index_dir)
    holders = [p for p in index.passages if evidence in p.text]
    assert holders and all(p.lang == "en" for p in holders)  # the answer exists only in English
    hits = searcher.search(question, k=3).hits
    assert any(evidence in hit.text for hit in hits), [h.text[:80] for h in hits]


def test_lao_digits_are_understood(searcher):
    western = searcher.search("ມາດຕາ 215 ກຳນົດໂທດຈຳຄຸກຈັກປີ?", k=5)
    lao_digits = searcher.search("ມາດຕາ ໒໑໕ ກຳນົດໂທດຈຳຄຸກຈັກປີ?", k=5)
    assert [h.passage_id for h in western.hits] == [h.passage_id for h in lao_digits.hits]


def test_citation_spans_point_at_the_passage_text(searcher):
    index = load_index(searcher.index_dir)
    source = _source(index.passages[0].citation)
    for passage in index.passages:
        c = passage.citation
        cited = source[c.start:c.end]
        for _, labels in passage.asides:  # a chart's labels, cut out of the passage (search/ingest/debris.py)
            assert labels in cited
            cited = cited.replace(labels + " ", "", 1)
        assert cited == passage.text
        assert c.title and c.paragraph >= 1 and c.page is None
    assert sum(len(p.asides) for p in index.passages) == 1  # the bundled report's one chart
    assert {p.lang for p in index.passages} == {"lo", "en"}
    assert all(len(p.text) <= 600 for p in index.passages)


@pytest.mark.parametrize("retriever", RETRIEVERS)
def test_language_filter(searcher, retriever):
    for question in ("How many victims were identified?", "ມີຜູ້ເຄາະຮ້າຍຈັກຄົນ?"):
        for lang in ("lo", "en"):
            hits = searcher.search(question, k=5, lang=lang, retriever=retriever).hits
            assert {h.lang for h in hits} <= {lang}
            # BM25 alone returns only passages sharing a word: none in the other language.
            assert len(hits) == 5 or retriever == "lexical"


def test_best_sentence_list_finds_the_sentence_inside_a_long_passage(searcher):
    """The answer is the last of three sentences of its passage: the sentence list lifts it (measured 28th -> 8th;
    16th -> 4th with the plain model)."""
    question = "ໜ່ວຍງານໃດທີ່ມີສິດລະບຸຕົວຜູ້ເຄາະຮ້າຍຢ່າງເປັນທາງການແຕ່ພຽງຜູ້ດຽວ?"  # who alone may identify victims?

    def rank(retriever):
        hits = searcher.search(question, k=100, retriever=retriever).hits
        return next(h.rank for h in hits if "sole authority able to formally identify" in h.text)

    assert rank("dense+sentences") <= 10 < 20 < rank("dense")


def test_how_many_questions_rank_passages_that_state_a_number_first(searcher):
    question = "How many foreign victims were identified?"
    typed = searcher.search(question, k=10).hits  # the default has the answer type
    untyped = searcher.search(question, k=10, retriever="hybrid+bridge+sentences").hits
    assert all(holds_number(h.text) for h in typed)  # the report has dozens of such passages
    assert not all(holds_number(h.text) for h in untyped)
    assert "Eighteen of the identified victims were foreign nationals" in typed[0].text


def test_answer_type_lifts_the_english_answer_to_a_lao_how_many_question(searcher):
    """How many official border crossings Laos has (dev lo-09): the answer type puts the English sentence with the
    figure first, 2nd without it. Alone, the answer type moves 13 of the 108 bundled questions, 10 of them up
    (bench/results/library.json); the first example chosen for this test (lo-10, the 34 recruitment agencies,
    6th -> 2nd with the dictionary-only adapter) is 2nd either way with the adapter taught on questions."""
    question = "ລາວມີດ່ານຊາຍແດນທີ່ເປັນທາງການທັງໝົດຈັກແຫ່ງ?"

    def rank(retriever):
        hits = searcher.search(question, k=30, retriever=retriever).hits
        return next(h.rank for h in hits if "27 official border crossings" in h.text)

    assert rank("hybrid+bridge+sentences+answer-type") == 1 < rank("hybrid+bridge+sentences") <= 3


def test_hits_are_ranked_and_deterministic(searcher):
    first = searcher.search("forced labor in Special Economic Zones", k=10)
    again = searcher.search("forced labor in Special Economic Zones", k=10)
    assert [h.rank for h in first.hits] == list(range(1, 11))
    assert [h.score for h in first.hits] == sorted((h.score for h in first.hits), reverse=True)
    assert [h.passage_id for h in first.hits] == [h.passage_id for h in again.hits]


def test_batch_equals_single(searcher):
    questions = ["Which tier is Laos placed in?", "ລາວຢູ່ໃນກຸ່ມທີເທົ່າໃດ?"]
    batch = searcher.search_batch(questions, k=4)
    for question, result in zip(questions, batch):
        single = searcher.search(question, k=4)
        assert [h.passage_id for h in result.hits] == [h.passage_id for h in single.hits]


def test_reloaded_index_gives_the_same_hits(searcher, tip_index, embedder):
    question = "ເຈົ້າໜ້າທີ່ສົ່ງຜູ້ເຄາະຮ້າຍກັບປະເທດ"
    before = searcher.search(question, k=5)
    fresh = Searcher(tip_index, embedder=embedder).search(question, k=5)
    assert [(h.passage_id, round(h.score, 5)) for h in before.hits] == [(h.passage_id, round(h.score, 5)) for h in fresh.hits]


@pytest.mark.parametrize("question, error", [
    ("", EmptyQueryError), ("  \n\t ", EmptyQueryError), ("x" * 2001, QueryError),
])
def test_bad_questions(searcher, question, error):
    with pytest.raises(error):
        searcher.search(question)


def test_bad_k(searcher):
    with pytest.raises(QueryError, match="k must be"):
        searcher.search("victims", k=0)


def test_highlight_picks_the_sentence_that_answers(searcher):
    question = "ມາດຕາ 215 ຂອງກົດໝາຍອາຍາ ກຳນົດໂທດຈຳຄຸກຈັກປີ?"
    hits = searcher.search(question, k=3, highlight=True).hits
    top, (a, b) = hits[0], hits[0].highlight
    assert "five to 15 years" in top.text[a:b]
    assert top.text[a:b] != top.text  # one sentence of several, not the whole passage
    assert searcher.search(question, k=3).hits[0].highlight is None  # only when asked for
    index = load_index(searcher.index_dir)
    for p in index.passages:  # stored sentence spans cut each passage into its sentences
        assert len(p.sentences) != 1 and all(0 <= s < e <= len(p.text) for s, e in p.sentences)


def test_context_is_the_whole_paragraph(searcher):
    hit = searcher.search("How many traffickers were convicted in 2021?", k=1).hits[0]
    paragraph = searcher.context(hit)
    assert hit.passage_id in [p.passage_id for p in paragraph] and len(paragraph) > 1
    assert {p.citation.paragraph for p in paragraph} == {hit.citation.paragraph}


def test_the_sentence_list_from_faiss_equals_scoring_every_sentence(searcher, monkeypatch):
    """The best-sentence list (units in FAISS) ranks as scoring every unit in numpy does: all, filtered, numbers first."""
    from search.retrieve import lists
    from search.retrieve.answer_type import put_first
    from search.retrieve.lists import sentence_ranking

    index = searcher.index
    units = index.units.vectors()
    monkeypatch.setattr(lists, "HUB_WEIGHT", 0.0)  # the cosine itself (the discount's re-ranking: test_hubness.py)
    questions = ["How many traffickers were convicted in 2021?", "ມາດຕາ 215 ກຳນົດໂທດຈຳຄຸກຈັກປີ?",
                 "What did the government do to protect victims?"]
    langs = [searcher.search(q, k=1).question_lang for q in questions]
    centered = index.centering.apply(searcher.embedder.embed_queries(questions), langs)
    for query in centered:
        for lang in (None, "en", "lo"):
            for numbers_first in (False, True):
                scores = units @ query
                if numbers_first:
                    scores = put_first(scores, index.numeric_units)
                best = np.full(len(index.passages), -np.inf)
                np.maximum.at(best, index.unit_owner, scores)
                rows = np.arange(len(best)) if lang is None else np.array(index.rows_by_lang[lang])
                expected = rows[np.lexsort((rows, -best[rows]))][:20].tolist()
                got = [row for row, _ in sentence_ranking(index, query, 20, lang, numbers_first=numbers_first)]
                assert got == expected, (lang, numbers_first)


def test_a_lao_question_gives_the_raw_cosine_s_first_candidate_a_small_vote(searcher, monkeypatch):
    """For a Lao question the fusion gets one more list: the one passage, of all the other lists' candidates, that
    the model's own cosine (raw vectors, no centering) puts first, voting RAW_FIRST_VOTE, before BM25. An English
    question's fusion has no such list."""
    import search.retrieve.engine as engine
    from search.retrieve.hybrid import reciprocal_rank_fusion
    from search.retrieve.lists import raw_first

    seen = []

    def spy(rankings, *, weights=None, blind=None):
        seen.append(([list(r) for r in rankings], list(weights)))
        return reciprocal_rank_fusion(rankings, weights=weights, blind=blind)

    monkeypatch.setattr(engine, "reciprocal_rank_fusion", spy)
    lao = "ລັດຖະບານໄດ້ລະບຸຕົວຜູ້ເຄາະຮ້າຍຈັກຄົນ?"
    searcher.search(lao, k=5)
    searcher.search("How many victims did the government identify?", k=5)
    (rankings, weights), (english, english_weights) = seen
    assert len(rankings) == 4 and len(english) == 3
    assert weights[2] == engine.RAW_FIRST_VOTE > 0 and weights[:2] + weights[3:] == english_weights[:2] + [engine.BRIDGED_LEXICAL_WEIGHT]
    (row, score), = rankings[2]
    candidates = sorted({r for i, ranking in enumerate(rankings) if i != 2 for r, _ in ranking})
    vector = searcher.embedder.embed_queries([lao])[0]
    raw = np.asarray(searcher.index.vectors[candidates], np.float32) @ vector
    assert row == candidates[int(np.argmax(raw))] and score == pytest.approx(float(raw.max()), abs=1e-5)
    assert raw_first(searcher.index, vector, []) == []


def test_why_names_each_list_and_only_words_the_passage_holds(searcher):
    from search.ingest.tokenize import tokenize

    result = searcher.search("ມາດຕາ 215 ຂອງກົດໝາຍອາຍາ ກຳນົດໂທດຈຳຄຸກຈັກປີ?", k=5, highlight=True)
    for hit in result.hits:
        why = hit.why
        assert set(why.ranks) == {"dense", "sentences", "raw", "bm25"} and why.states_number is not None  # a Lao question
        held = set(tokenize(hit.text))
        assert set(why.question_words) <= held & set(tokenize(result.question))
        assert set(why.translations) <= held and not set(why.translations) & set(tokenize(result.question))
    assert "penal" in result.hits[0].why.translations  # the bridge's English for ກົດໝາຍອາຍາ
    assert sum(hit.why.ranks["raw"] == 1 for hit in result.hits) <= 1  # a list of one
    from search.serve.render import _why_html  # shown only for the passage it names

    for hit in result.hits:
        assert ("plain closeness" in _why_html(hit)) == (hit.why.ranks["raw"] == 1)
    plain = searcher.search("Who runs the shelters?", k=2, highlight=True)
    assert plain.hits[0].why.states_number is None  # not a "how many" question
    assert set(plain.hits[0].why.ranks) == {"dense", "sentences", "bm25"}  # English questions fuse three lists
    assert searcher.search("Who runs the shelters?", k=2).hits[0].why is None  # only asked for with highlight


def test_sparse_postings_tell_which_rows_hold_which_tokens():
    from search.index.sparse import SparseIndex

    sparse = SparseIndex.from_tokens([["rice", "farm"], ["boat"], ["rice", "boat"]])
    assert sparse.holding(["rice", "boat", "absent"], [2, 0, 1]) == [{"rice", "boat"}, {"rice"}, {"boat"}]
    assert sparse.holding(["farm"], [2, 1, 0]) == [set(), set(), {"farm"}]  # rows past and before the postings


def test_an_answer_below_the_threshold_is_shown_when_all_three_lists_put_its_passage_first(searcher):
    from search.retrieve.answer import AGREED_FLOOR, ANSWER_THRESHOLD, shown

    result = searcher.search("ມີຜູ້ຄ້າມະນຸດຈັກຄົນຖືກສານຕັດສິນລົງໂທດໃນປີ 2021?", k=5, highlight=True)  # dev lo-02
    candidate = result.candidate
    assert candidate.agreed and set(result.hits[0].why.ranks.values()) == {1}
    assert AGREED_FLOOR <= candidate.confidence < ANSWER_THRESHOLD  # the cosine alone would leave the box empty
    assert result.answer is candidate and "conviction of 10 traffickers" in candidate.text
    assert result.to_dict()["answer"]["lists_agree"] is True
    assert shown(candidate, agreement=False) is None
    assert shown(replace(candidate, confidence=AGREED_FLOOR - 0.01)) is None
    assert shown(replace(candidate, agreed=False)) is None
    dense_only = searcher.search("ມີຜູ້ຄ້າມະນຸດຈັກຄົນຖືກສານຕັດສິນລົງໂທດໃນປີ 2021?", k=5, highlight=True, retriever="dense")
    assert not dense_only.candidate.agreed  # one list agrees with itself: that is no agreement
