"""The source view of a passage read by OCR: its scanned page beside the text, the passage's lines marked over
Tesseract's word boxes. A real scanned PDF and image (tests/scan_files.py), real Tesseract, the real app in
headless Chromium."""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.parse
import urllib.request

import pytest
from PIL import Image

from search.index.publish import OCR_CACHE
from search.ingest import ocr
from search.ingest.page_marks import _letters
from search.ingest.scans import page_image

from scan_files import SCANS, scanned_pdf
from served import serve

pytestmark = pytest.mark.skipif(ocr.missing_engine() is not None, reason="tests/setup.sh installs Tesseract")

PDF = "field-report.pdf"  # page 1 English (en-300.png), page 2 Lao (lo-300.png), no text layer
PNG = "child-labour.png"  # an image file, one page (lo-150.png)


@pytest.fixture(scope="module")
def scan_app(tmp_path_factory, bundled_corpus, tip_index, embedder):
    """The app over the bundled report and two scanned reports (the bundled report's vectors reused)."""
    from search import build_index
    from search.serve.page import build_app

    root = tmp_path_factory.mktemp("scan-app")
    corpus, index = root / "corpus", root / "index"
    shutil.copytree(bundled_corpus, corpus)
    shutil.copytree(tip_index, index)
    scanned_pdf([Image.open(SCANS / "en-300.png"), Image.open(SCANS / "lo-300.png")], corpus / PDF)
    shutil.copy(SCANS / "lo-150.png", corpus / PNG)
    build_index(corpus, index, embedder=embedder)
    app = build_app(index, corpus_dir=corpus, embedder=embedder)
    url = serve(app)
    yield {"url": url, "corpus": corpus, "index": index, "scans": app.scan_pages}
    app.close()


def _open(browser, url):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    return page


def _words(scan_app, document: str, page: int):
    """Tesseract's words on that page, as its OCR kept them (found in the cache by the page's pixels)."""
    found = ocr.cached_page(page_image(scan_app["corpus"] / document, page, document), scan_app["index"] / OCR_CACHE)
    assert found is not None and found.words
    return found


def _overlap(a, b) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _inside(word, box) -> bool:
    x, y = word[1] + word[3] / 2, word[2] + word[4] / 2
    return box[0] <= x <= box[0] + box[2] and box[1] <= y <= box[1] + box[3]


def _passages(scan_app, document: str):
    searcher = scan_app["scans"].searcher  # the app's own
    return [searcher.index.passages[row] for row in searcher.index.document_rows[document]]


@pytest.mark.parametrize("document", [PDF, PNG])
def test_each_scanned_passage_marks_exactly_the_words_it_was_read_from(scan_app, document):
    passages = _passages(scan_app, document)
    assert passages
    for passage in passages:
        view = scan_app["scans"].view(passage)
        assert view is not None and view.page == passage.citation.page, passage.passage_id
        page = _words(scan_app, document, view.page)
        assert view.size == page.size and view.lines
        marked = [w for w in page.words if any(_inside(w, box) for box in view.lines)]
        letters, wanted = _letters("".join(w[0] for w in marked)), _letters(passage.text)
        assert wanted in letters and len(letters) <= len(wanted) + 40, passage.passage_id  # its words, few more
        assert len({w[5] for w in marked}) == len(view.lines)  # a box a line


def _search(scan_app, question: str, document: str) -> dict:
    query = urllib.parse.urlencode({"q": question, "k": 3, "doc": document})
    with urllib.request.urlopen(f"{scan_app['url']}api/search?{query}", timeout=120) as answer:
        hits = json.loads(answer.read())["hits"]
    assert hits and hits[0]["citation"]["document"] == document
    return hits[0]


@pytest.mark.parametrize("question, document, page, word", [
    ("Could victims testify behind a curtain to protect their privacy?", PDF, 1, "curtain"),
    ("ກົດໝາຍອະນຸຍາດໃຫ້ເດັກອາຍຸຈັກປີ ເຮັດວຽກເບົາໄດ້?", PDF, 2, "14"),
    ("ກົດໝາຍອະນຸຍາດໃຫ້ເດັກອາຍຸຈັກປີ ເຮັດວຽກເບົາໄດ້?", PNG, 1, "14"),
])
def test_the_source_view_shows_the_scanned_page_with_the_passages_lines_marked(browser, scan_app, question,
                                                                               document, page, word):
    hit = _search(scan_app, question, document)
    assert hit["citation"]["page"] == page and word in hit["text"]
    source = _open(browser, scan_app["url"] + "?" + urllib.parse.urlsplit(hit["link"]).query)
    image = source.locator("#source .page-scan img.page-image")
    image.wait_for(timeout=60_000)
    source.wait_for_function("document.querySelector('#source img.page-image').complete", timeout=30_000)
    assert image.evaluate("img => img.naturalWidth") > 0  # the route served a picture the browser could draw
    assert source.locator("#source .source-body mark.passage").inner_text() == hit["text"]  # the text view too
    # Every mark, where the browser draws it, in the page image's pixels: on the passage's words and no others.
    boxes = source.evaluate("""() => {
        const img = document.querySelector('#source img.page-image').getBoundingClientRect();
        const [w, h] = document.querySelector('#source .page-scan').dataset.size.split(',').map(Number);
        return [...document.querySelectorAll('#source .line-mark')].map(m => {
            const r = m.getBoundingClientRect();
            return [m.classList.contains('sentence'), (r.left - img.left) * w / img.width, (r.top - img.top) * h / img.height,
                    r.width * w / img.width, r.height * h / img.height];
        });
    }""")
    tesseract = _words(scan_app, document, page)
    passage_lines = [b[1:] for b in boxes if not b[0]]
    assert passage_lines, "no line marked"
    covered = [w for w in tesseract.words if any(_overlap(w[1:5], box) for box in passage_lines)]
    assert any(w[0] == word for w in covered)  # the word that answers, under a mark
    assert _letters(hit["text"]) in _letters("".join(w[0] for w in covered))
    assert len(_letters("".join(w[0] for w in covered))) <= len(_letters(hit["text"])) + 40  # and little else
    if hit["highlight"]:  # the answering sentence's lines, marked darker, among the passage's
        assert any(b[0] for b in boxes)
    shown = source.evaluate("""() => { const s = document.querySelector('#source .page-scan').getBoundingClientRect(),
        m = document.querySelector('#source .line-mark').getBoundingClientRect(); return [s.top, s.bottom, m.top]; }""")
    assert shown[0] <= shown[2] < shown[1]  # the page scrolled to the passage
    source.close()


def test_a_text_passage_keeps_the_text_view(browser, scan_app):
    hit = _search(scan_app, "How many traffickers were convicted in 2021?", "laos-tip-2022-voa.txt")
    source = _open(browser, scan_app["url"] + "?" + urllib.parse.urlsplit(hit["link"]).query)
    source.locator("#source mark.passage").wait_for(timeout=60_000)
    assert source.locator("#source img").count() == 0 and source.locator("#source .line-mark").count() == 0
    source.close()


def _get(scan_app, query: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(f"{scan_app['url']}page-image?{query}", timeout=60) as answer:
            return answer.status, answer.headers.get_content_type(), answer.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.headers.get_content_type(), refused.read()


def test_the_image_route_serves_only_scanned_pages_of_reports_in_the_index(scan_app, tmp_path):
    import io

    status, kind, body = _get(scan_app, urllib.parse.urlencode({"doc": PDF, "page": 2}))
    assert status == 200 and kind == "image/png"
    served = Image.open(io.BytesIO(body))
    assert max(served.size) <= 1600 and abs(served.width / served.height - 2482 / 1525) < 0.01
    (scan_app["corpus"] / "not-indexed.png").write_bytes((SCANS / "en-150.png").read_bytes())  # there, not indexed
    refused = {
        "doc=../../../../etc/passwd&page=1": "no report",
        urllib.parse.urlencode({"doc": str(SCANS / "en-150.png"), "page": 1}): "no report",
        "doc=not-indexed.png&page=1": "no report",
        "doc=laos-tip-2022-voa.txt&page=1": "was not read by OCR",
        f"doc={PDF}&page=3": "was not read by OCR",
        f"doc={PDF}&page=..%2F1": "a page is a number",
        "page=1": "no report",
    }
    for query, reason in refused.items():
        status, kind, body = _get(scan_app, query)
        assert status == 404 and kind == "text/plain", query
        assert body.decode().startswith("No page image:") and reason in body.decode(), (query, body)


def test_a_report_changed_since_it_was_indexed_has_no_page_image(scan_app, tmp_path):
    from search.serve.scanview import NotServed, ScanPages

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    scanned_pdf([Image.open(SCANS / "en-150.png")], corpus / PDF, dpi=150)  # same name, other bytes
    other = ScanPages(scan_app["scans"].searcher, corpus)
    with pytest.raises(NotServed, match="has changed since it was indexed"):
        other.image(PDF, "1")
    passage = _passages(scan_app, PDF)[0]
    assert other.view(passage) is None and scan_app["scans"].view(passage) is not None  # the text view, as before
