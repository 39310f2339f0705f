"""The JSON API against its own OpenAPI document: every route's real answers (success and each documented
refusal), over real HTTP from the real app, model and index, each validated against the schema the document
gives for its path, method and status; and every documented answer is met at least once."""

from __future__ import annotations

import httpx
import pytest
from jsonschema import Draft202012Validator

from test_api import LAO_QUESTION, WRITE, _serve_team

OPERATIONS = [("/api/search", "get"), ("/api/passages/{passage_id}", "get"), ("/api/reports", "get"),
              ("/api/reports", "post"), ("/api/reports/{document}", "delete")]
CONCRETE = {"/api/search": "api/search?q=rice", "/api/passages/{passage_id}": "api/passages/rice-report.md%231",
            "/api/reports": "api/reports", "/api/reports/{document}": "api/reports/rice-report.md"}
OTHER_METHOD = {("/api/search", "get"): "PUT", ("/api/passages/{passage_id}", "get"): "POST",
                ("/api/reports", "get"): "PUT", ("/api/reports", "post"): "PATCH",
                ("/api/reports/{document}", "delete"): "GET"}


@pytest.fixture(scope="module")
def app(tmp_path_factory, embedder):
    """The app with a users file: a reader, an editor, and a name locked out by wrong passwords."""
    gradio_app, url, corpus = _serve_team(tmp_path_factory.mktemp("openapi"), embedder)
    spec = httpx.get(url + "api/openapi.json", auth=("ana", "ana-password"), timeout=60).json()
    yield {"url": url, "corpus": corpus, "spec": spec, "met": set()}
    gradio_app.close()


def check(app, path: str, method: str, answer: httpx.Response) -> dict:
    """``answer``'s status is documented for ``path`` and ``method`` and its JSON body fits that schema."""
    spec = app["spec"]
    documented = spec["paths"][path][method]["responses"]
    status = str(answer.status_code)
    assert status in documented, f"{method.upper()} {path} answered {status}, not documented: {answer.text[:300]}"
    assert answer.headers["content-type"].startswith("application/json"), answer.headers
    schema = documented[status]["content"]["application/json"]["schema"]
    body = answer.json()
    Draft202012Validator({"components": spec["components"], "allOf": [schema]}).validate(body)
    app["met"].add((path, method, status))
    return body


def test_the_document_gives_the_real_limits_and_shapes(app):
    from search.retrieve.checks import MAX_K, MAX_QUESTION_CHARS

    spec = app["spec"]
    params = {p["name"]: p["schema"] for p in spec["paths"]["/api/search"]["get"]["parameters"]}
    assert params["q"]["maxLength"] == MAX_QUESTION_CHARS and params["k"]["maximum"] == MAX_K
    assert params["offset"]["minimum"] == 0
    assert "HTTPValidationError" not in spec["components"]["schemas"]  # FastAPI's {"detail"}: never sent
    hit = spec["components"]["schemas"]["Hit"]["properties"]
    assert {"citation", "link", "highlight", "why"} <= set(hit)
    for path, method in OPERATIONS:
        documented = spec["paths"][path][method]["responses"]
        assert {"401", "405", "414", "429", "503"} <= set(documented), (path, method)
        for status, response in documented.items():
            ref = response["content"]["application/json"]["schema"]["$ref"]
            assert (ref == "#/components/schemas/Error") == (status != "200"), (path, method, status, ref)


def test_every_route_answers_as_documented(app, tmp_path):
    url, reader, editor = app["url"], ("ana", "ana-password"), ("ed", "ed-password")

    def call(path, method, target, *, auth=reader, header=True, **kw):
        headers = WRITE if header and method != "get" else {}
        answer = httpx.request(method.upper(), url + target, auth=auth, headers=headers, timeout=300, **kw)
        return check(app, path, method, answer), answer

    # /api/search
    found, _ = call("/api/search", "get", "api/search", params={"q": LAO_QUESTION, "k": 3})
    assert found["hits"] and found["hits"][0]["link"].startswith(url + "?source=")
    call("/api/search", "get", "api/search", params={"q": "   "})  # 400
    call("/api/search", "get", "api/search", params={"q": "rice", "k": "0"})  # 422
    call("/api/search", "get", "api/search", params={"q": "a" * 2001})  # 422: over q's maxLength
    # /api/passages/{id}
    one, _ = call("/api/passages/{passage_id}", "get", "api/passages/" + found["hits"][0]["id"].replace("#", "%23"))
    assert one["citation"] == found["hits"][0]["citation"]
    call("/api/passages/{passage_id}", "get", "api/passages/rice-report.md%23999999")  # 404
    # /api/reports
    call("/api/reports", "get", "api/reports")
    # POST /api/reports
    note = b"Ferry report\n\nThe river ferry carried 4,200 passengers in March.\n"
    added, _ = call("/api/reports", "post", "api/reports", auth=editor, files={"file": ("ferries.txt", note, "text/plain")})
    assert added["file"] == "ferries.txt"
    call("/api/reports", "post", "api/reports", auth=editor, files={"file": ("copy.txt", note, "text/plain")})  # 409
    call("/api/reports", "post", "api/reports", auth=editor,
         files={"file": ("big.txt", b"a" * (2**20 + 1), "text/plain")})  # 413
    call("/api/reports", "post", "api/reports", auth=editor, files=[("file", ("a.txt", b"A", "text/plain")),
                                                                   ("file", ("b.txt", b"B", "text/plain"))])  # 400
    call("/api/reports", "post", "api/reports", auth=editor, data={"other": "x"})  # 422: no file field
    call("/api/reports", "post", "api/reports", files={"file": ("x.txt", note, "text/plain")})  # 403: a reader
    call("/api/reports", "post", "api/reports", auth=editor, header=False,
         files={"file": ("x.txt", note, "text/plain")})  # 403: no X-Requested-With
    # DELETE /api/reports/{document}
    call("/api/reports/{document}", "delete", "api/reports/ferries.txt")  # 403: a reader
    removed, _ = call("/api/reports/{document}", "delete", "api/reports/ferries.txt", auth=editor)
    assert removed["action"] == "remove"
    call("/api/reports/{document}", "delete", "api/reports/ferries.txt", auth=editor)  # 404
    call("/api/reports/{document}", "delete", "api/reports/" + "x" * 300, auth=editor)  # 400: over a file name

    # each route: no credentials (401), a method it does not take (405), an address too long (414)
    for path, method in OPERATIONS:
        target = CONCRETE[path]
        call(path, method, target, auth=None)
        answer = httpx.request(OTHER_METHOD[path, method], url + target, auth=editor, headers=WRITE, timeout=60)
        assert answer.status_code == 405 and "detail" not in answer.json(), answer.text
        check(app, path, method, answer)
        call(path, method, target + ("&" if "?" in target else "?") + "x=" + "a" * 33_000)
    nowhere = httpx.get(url + "api/nosuch", auth=reader, timeout=60)  # no route: the same shape of refusal
    assert nowhere.status_code == 404 and set(nowhere.json()) == {"error"}, nowhere.text
    # a name locked out by wrong passwords (429, with how long)
    for _ in range(5):
        call("/api/reports", "get", "api/reports", auth=("mallory", "guess"))
    for path, method in OPERATIONS:
        _, answer = call(path, method, CONCRETE[path], auth=("mallory", "mallory-password"))
        assert answer.status_code == 429 and int(answer.headers["retry-after"]) > 0
        assert f"locked for {answer.headers['retry-after']} s" in answer.json()["error"]


def test_while_the_app_gets_ready_every_route_answers_503_as_documented(app):
    from search.serve.startup import StartupPage
    from served import free_port

    port = free_port()
    page = StartupPage("127.0.0.1", port, echo=lambda _: None).start()
    try:
        page.say("Converting the model")
        for path, method in OPERATIONS:
            answer = httpx.request(method.upper(), f"http://127.0.0.1:{port}/{CONCRETE[path]}", headers=WRITE,
                                   timeout=30)
            assert answer.status_code == 503 and int(answer.headers["retry-after"]) > 0
            check(app, path, method, answer)
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=30).headers["content-type"].startswith("text/html")
    finally:
        page.stop()


def test_every_documented_answer_was_met(app):
    documented = {(path, method, status) for path, methods in app["spec"]["paths"].items()
                  for method, op in methods.items() for status in op["responses"]}
    assert documented - app["met"] == set()


def test_offset_gives_the_next_results_with_their_ranks(app):
    auth = ("ana", "ana-password")
    every = httpx.get(app["url"] + "api/search", params={"q": "rice harvest", "k": 6}, auth=auth, timeout=120).json()
    later = httpx.get(app["url"] + "api/search", params={"q": "rice harvest", "k": 3, "offset": 3}, auth=auth,
                      timeout=120).json()
    assert [(h["rank"], h["id"]) for h in later["hits"]] == [(h["rank"], h["id"]) for h in every["hits"][3:]]
    assert later["offset"] == 3 and [h["rank"] for h in later["hits"]] == [4, 5, 6]
    past = httpx.get(app["url"] + "api/search", params={"q": "rice", "k": 50, "offset": 60}, auth=auth, timeout=60)
    assert past.status_code == 422 and "offset + k" in past.json()["error"]


def test_the_docs_page_lists_the_routes_offline_and_the_page_links_to_it(app, browser):
    """In a real Chromium with every request off this machine refused: /docs opens the API's page, which draws
    each route from openapi.json; the search page's "Use via API" is that page, not Gradio's endpoints."""
    context = browser.new_context(http_credentials={"username": "ana", "password": "ana-password"})
    outside = []
    context.route(lambda u: not u.startswith(app["url"]), lambda route: (outside.append(route.request.url),
                                                                          route.abort()))
    try:
        page = context.new_page()
        page.goto(app["url"] + "docs")
        page.wait_for_selector("#routes h2")
        shown = page.inner_text("#routes")
        for path, method in OPERATIONS:
            assert path in shown
        assert "maxLength 2000" in shown and "Hit" in shown
        page.goto(app["url"])
        page.locator("input[type=text]").fill("ana")
        page.locator("input[type=password]").fill("ana-password")
        page.get_by_role("button", name="Login").click()
        link = page.locator("#api-link a")
        link.wait_for(timeout=60_000)
        assert "Use via API" in link.inner_text() and link.get_attribute("href") == "api/docs"
        page.locator("footer").first.wait_for()
        assert "API" not in page.locator("footer").first.inner_text()  # Gradio's own endpoints are not offered
        with context.expect_page() as opened:
            link.click()
        opened.value.wait_for_selector("#routes h2")
        assert outside == []
    finally:
        context.close()
