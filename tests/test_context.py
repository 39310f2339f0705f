"""A passage read with its title and heading path (search/index/context.py): by the model, by BM25, never cited."""

from dataclasses import replace

from search import Searcher, build_index
from search.cite import Citation
from search.index.context import MAX_HEADER_CHARS, header, model_inputs, with_context
from search.index.records import IndexConfig, Passage
from search.index.store import load_index

CHAIRMAN = "The Task Force shall be chaired by the Secretary of State."
CODE = ("# Title 22— FOREIGN RELATIONS\n### CHAPTER 78— TRAFFICKING VICTIMS PROTECTION\n"
        "#### § 7103. Interagency Task Force to Monitor and Combat Trafficking\n##### (c) Chairman\n\n"
        f"{CHAIRMAN}\n\n"
        "#### § 7103. Interagency Task Force to Monitor and Combat Trafficking\n##### (b) Appointment\n\n"
        "The President shall appoint the members of the body from among the heads of departments.\n")
OTHER = ("Farm workers in the province were paid less than the minimum wage, and several of them said the "
         "plantation kept their identity cards until the harvest ended.\n")


def _passage(text="Two sentences here. And a second one.", title="Title 22", section="§ 7103. Task Force › (c) Chairman"):
    return Passage("r.md#1", text, "en", Citation("r.md", title, section, 1, 0, len(text)), ((0, 19), (20, 37)))


def test_the_header_holds_what_is_asked_and_the_spans_follow_the_text():
    p = _passage()
    assert header(p, ("title", "path")) == "Title 22 › § 7103. Task Force › (c) Chairman"
    assert header(p, ("path",)) == "§ 7103. Task Force › (c) Chairman"
    assert with_context(p, ()) == p.text and with_context(p, ("title",)) == "Title 22\n" + p.text
    texts, spans = model_inputs([p], ("title", "path"))
    assert [texts[0][a:b] for a, b in spans[0]] == ["Two sentences here.", "And a second one."]
    assert header(replace(p, citation=replace(p.citation, section="Title 22")), ("title", "path")) == "Title 22"  # once
    long = _passage(section="(a) " + "Whoever knowingly provides labor " * 40)
    assert len(header(long, ("path",))) == MAX_HEADER_CHARS and header(long, ("path",)).endswith("…")


def test_bm25_finds_a_short_passage_by_its_headings_and_cites_its_own_text(tmp_path, embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "us-code-title-22.md").write_text(CODE, encoding="utf-8")
    (corpus / "farms.txt").write_text(OTHER, encoding="utf-8")
    plain = tmp_path / "plain"
    build_index(corpus, plain, embedder=embedder, config=IndexConfig(bm25_context=()))
    question = "Who is the interagency chairman?"
    found = Searcher(plain, embedder=embedder).search(question, k=3, retriever="lexical").hits
    assert not any(h.text == CHAIRMAN for h in found)  # its own words hold none of the question's…

    again = build_index(corpus, plain, embedder=embedder)  # BM25 reads the heading path by default
    assert again.embedded == 0  # BM25's words changed, not what the model read: every vector kept
    assert load_index(plain).manifest.config == IndexConfig() and IndexConfig().bm25_context == ("path",)
    hits = Searcher(plain, embedder=embedder).search(question, k=3, retriever="lexical").hits
    assert hits[0].text == CHAIRMAN  # …its headings hold "Interagency" and "Chairman"
    assert hits[0].citation.section.endswith("› (c) Chairman") and "Title 22" not in hits[0].citation.section

    model = build_index(corpus, tmp_path / "model", embedder=embedder, config=IndexConfig(model_context=("title", "path")))
    assert model.embedded == model.passages  # what the model reads changed: embedded again
    texts = [p.text for p in load_index(tmp_path / "model").passages]
    assert CHAIRMAN in texts and not any("Interagency" in t for t in texts)  # stored and cited as its own text
