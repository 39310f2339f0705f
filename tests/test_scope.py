"""Scoped search: a user limits a search to chosen reports (library, CLI, evaluation), with the real model."""

import json

import pytest
from click.testing import CliRunner

from search.cli import cli
from search.errors import QueryError, ScopeError
from search.evaluation.evaluate import evaluate
from search.evaluation.gold import GoldQuestion

TIP = "laos-tip-2022-voa.txt"
QUESTION = "How many traffickers were convicted in 2021?"


@pytest.fixture
def run():
    return lambda *args: CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_a_search_limited_to_reports_ranks_only_their_passages(shelf):
    searcher = shelf["searcher"]
    everywhere = searcher.search(QUESTION, k=100, highlight=True)
    assert {h.citation.document for h in everywhere.hits} > {TIP, "rice-report.md"}  # the other reports do compete
    assert "conviction of 10 traffickers" in everywhere.hits[0].text
    rice = searcher.search(QUESTION, k=10, highlight=True, docs=["rice-report.md"])
    assert rice.hits and {h.citation.document for h in rice.hits} == {"rice-report.md"}
    assert rice.candidate is None or rice.candidate.passage_id.startswith("rice-report.md#")  # the answer too
    two = searcher.search(QUESTION, k=10, docs=["rice-report.md", "school-report.html"])
    assert {h.citation.document for h in two.hits} == {"rice-report.md", "school-report.html"}
    assert [h.passage_id for h in searcher.search(QUESTION, k=100, docs=[]).hits] == [h.passage_id for h in everywhere.hits]


def test_a_scope_and_a_language_filter_both_hold(shelf):
    """A Lao question limited to the bundled report and to English passages: only its English chapter answers."""
    result = shelf["searcher"].search("ມາດຕາ 215 ຂອງກົດໝາຍອາຍາ ກຳນົດໂທດຈຳຄຸກຈັກປີ?", k=5, lang="en", docs=[TIP])
    assert result.hits and all(h.lang == "en" and h.citation.document == TIP for h in result.hits)
    assert any("five to 15 years" in h.text for h in result.hits)
    lao_health = shelf["searcher"].search("ວັກຊີນ", k=5, lang="lo", docs=["health-report.txt", "rice-report.md"])
    assert {h.citation.document for h in lao_health.hits} == {"health-report.txt"}  # the rice report is English


@pytest.mark.parametrize("docs, message", [
    (["nowhere.txt"], "no report named 'nowhere.txt'"),
    ("rice-report.md", "must be a list of report names"),
    ([3], "must be a list of report names"),
    (5, "must be a list of report names"),  # a TypeError (a traceback in the API) before
    ({"rice-report.md": 1}, "must be a list of report names"),
])
def test_a_scope_naming_no_report_of_the_index_is_refused_by_name(shelf, docs, message):
    with pytest.raises(ScopeError, match=message):
        shelf["searcher"].search(QUESTION, docs=docs)
    assert issubclass(ScopeError, QueryError)  # callers that catch a bad question catch it too


def test_evaluation_can_run_within_chosen_reports(shelf):
    question = GoldQuestion("q1", QUESTION, ("conviction of 10 traffickers",), "en", TIP)
    run = evaluate(shelf["searcher"], [question], retriever="hybrid+bridge+sentences+answer-type", docs=[TIP])
    assert run.questions[0]["rank"] == 1 and all(pid.startswith(TIP) for pid in run.questions[0]["top"])


def test_cli_query_and_eval_take_doc(run, shelf, tmp_path):
    index = str(shelf["index"])
    result = run("query", QUESTION, "--index", index, "--doc", "rice-report.md", "--json", "-k", "3")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)["hits"]
    assert hits and {h["citation"]["document"] for h in hits} == {"rice-report.md"}
    refused = run("query", QUESTION, "--index", index, "--doc", "missing.pdf")
    assert refused.exit_code == 2 and "--doc" in refused.output and "missing.pdf" in refused.output
    gold = tmp_path / "gold.jsonl"
    gold.write_text(json.dumps({"id": "q1", "question": QUESTION, "answers": ["conviction of 10 traffickers"]}) + "\n")
    out = tmp_path / "run.json"
    evaluated = run("eval", str(gold), "--index", index, "--doc", TIP, "--json", str(out))
    assert evaluated.exit_code == 0, evaluated.output
    data = json.loads(out.read_text())
    assert data["config"]["docs"] == [TIP] and all(p.startswith(TIP) for p in data["questions"][0]["top"])


@pytest.fixture(scope="module")
def shelf_app(shelf, embedder):
    """The app over the small library (searches only: nothing here writes)."""
    from search.serve.page import build_app
    from served import serve

    app = build_app(shelf["index"], corpus_dir=shelf["corpus"], embedder=embedder)
    yield serve(app)
    app.close()


def test_api_search_takes_docs(shelf_app):
    from gradio_client import Client

    client = Client(shelf_app, verbose=False)
    result = client.predict(QUESTION, 3, "all", ["rice-report.md"], api_name="/search")
    assert result["hits"] and {h["citation"]["document"] for h in result["hits"]} == {"rice-report.md"}
    everywhere = client.predict(QUESTION, 3, "all", api_name="/search")  # docs left out: every report
    assert "conviction of 10 traffickers" in everywhere["hits"][0]["text"]


def test_page_a_shared_address_with_doc_searches_those_reports_and_the_address_keeps_them(browser, shelf_app):
    from urllib.parse import parse_qs, urlencode, urlparse

    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    page.goto(shelf_app + "?" + urlencode([("q", QUESTION), ("k", 5), ("lang", "all"), ("doc", "rice-report.md"),
                                           ("doc", "school-report.html")]))
    page.locator("#results .hit").first.wait_for(timeout=60_000)
    cited = page.locator("#results .hit .cite").all_inner_texts() or page.locator("#results .hit").all_inner_texts()
    assert cited and all("rice-report.md" in c or "school-report.html" in c for c in cited)
    assert "laos-tip-2022-voa.txt" not in page.locator("#results").inner_text()
    chosen = page.locator("#scope").inner_text()
    assert "rice-report.md" in chosen and "school-report.html" in chosen  # the control shows the scope
    box = page.locator("#question textarea")  # a new question keeps the scope, in the results and the address
    box.fill("Which crops were exported?")
    box.press("Enter")
    page.wait_for_function("() => new URL(location.href).searchParams.get('q') === 'Which crops were exported?'")
    assert parse_qs(urlparse(page.url).query)["doc"] == ["rice-report.md", "school-report.html"]
    page.goto(shelf_app + "?" + urlencode({"q": QUESTION, "doc": "gone.txt"}))  # a report no longer in the index
    page.locator("#search-error").wait_for(timeout=60_000)
    assert "gone.txt" in page.locator("#search-error").inner_text()
    page.close()
