"""The page image beside a passage read by OCR: its scanned page, with the passage's lines marked.

The source view (:func:`search.serve.render.source_html`) asks :meth:`ScanPages.view` for the cited passage;
for a passage of a page read by OCR (the manifest lists each report's OCR'd pages), the page is drawn again
from the report's file exactly as the OCR read it (:func:`search.ingest.scans.page_image`), and its words'
boxes come from the OCR's cache (``index/ocr-cache/``, found by the page's pixels). Nothing more is stored in
the index: a page's words are already cached, and its image, drawn again in a fraction of a second, would
weigh more than a page of passages. The image is served at ``page-image?doc=NAME&page=N``, its longer side at
most ``DISPLAY_SIDE`` pixels, for a report in the index and a page of it read by OCR only, from the file the
index was built from (its SHA-256 checked); anything else is answered 404 in one line. The last ``KEEP``
pages drawn are kept in memory, and pages are drawn one at a time.
"""

from __future__ import annotations

import io
import logging
import re
import threading
import urllib.parse
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from search.display import visible
from search.errors import DocumentError
from search.fileio import stamped_sha256
from search.index.publish import OCR_CACHE
from search.ingest.ocr import OcrPage, cached_page
from search.ingest.page_marks import passage_boxes
from search.ingest.scans import page_image

log = logging.getLogger(__name__)
DISPLAY_SIDE = 1600  # the served image's longer side, in pixels at most (a 300 dpi A4 page: 1131 x 1600)
KEEP = 8  # pages kept drawn in memory (each a PNG of about 100 KB and its words)
ROUTE = "/page-image"


class NotServed(Exception):
    """A page image that is not served: why, in one line (answered 404)."""


@dataclass(frozen=True)
class ScanView:
    """What the source view shows of a scanned page.

    Attributes:
        src: the image's address, relative to the app's page.
        page: the page's number, from 1.
        size: the page image's width and height in the OCR's pixels (the boxes' unit).
        lines: the box ``(left, top, width, height)`` of each line of the passage.
        sentence: the boxes of the lines of its marked sentence.
    """

    src: str
    page: int
    size: tuple[int, int]
    lines: tuple[tuple[int, int, int, int], ...]
    sentence: tuple[tuple[int, int, int, int], ...] = ()


class ScanPages:
    """The scanned pages of the reports a searcher serves, drawn again on demand."""

    def __init__(self, searcher, corpus_dir: Path, allowed=None):
        """``allowed(request)``: whether an image request may be answered (the app's sign-in); all when None."""
        self.searcher, self.corpus_dir, self.allowed = searcher, Path(corpus_dir), allowed
        self._drawn: OrderedDict[tuple, tuple[bytes, OcrPage | None]] = OrderedDict()
        self._drawing = threading.Lock()  # one page drawn at a time: a page may have up to 60 million pixels

    def view(self, passage, span: tuple[int, int] | None = None) -> ScanView | None:
        """The scanned page of ``passage`` with its lines marked (``span``: its marked sentence); None for a
        passage of a text page, or when its page cannot be drawn or its words are no longer cached. A
        passage is looked for on the page it is cited at, then on the next (a paragraph that ran on)."""
        c = passage.citation
        scanned = self._scanned_pages(c.document)
        if c.page is None or c.page not in scanned:
            return None
        sentence = passage.text[span[0]:span[1]] if span else None
        for page in (c.page, c.page + 1):
            if page not in scanned:
                break
            try:
                _, words = self._page(c.document, page)
            except NotServed as exc:
                log.warning("no page image for %s: %s", passage.passage_id, exc)
                return None
            except Exception:  # noqa: BLE001 - the text view is shown as it was; the cause goes to the log
                log.exception("no page image for %s: drawing its page failed", passage.passage_id)
                return None
            found = passage_boxes(words, passage.text, sentence) if words else None
            if found:
                src = f"{ROUTE.lstrip('/')}?" + urllib.parse.urlencode({"doc": c.document, "page": page})
                return ScanView(src, page, tuple(words.size), tuple(found[0]), tuple(found[1]))
        return None

    def image(self, document: str, page: str) -> bytes:
        """The PNG of ``page`` of ``document``, its longer side at most ``DISPLAY_SIDE``.

        Raises:
            NotServed: not a report in the index, not a page of it read by OCR, or its file changed or is gone.
        """
        if not re.fullmatch(r"[0-9]{1,6}", page or ""):
            raise NotServed("no such page: a page is a number")
        return self._page(document, int(page))[0]

    def _scanned_pages(self, document: str) -> set[int]:
        info = self.searcher.index.manifest.documents.get(document) or {}
        return {int(page) for page in (info.get("ocr") or {})}

    def _page(self, document: str, page: int) -> tuple[bytes, OcrPage | None]:
        """The page drawn (a PNG) and its cached words (None when no longer cached), from memory or drawn now."""
        info = self.searcher.index.manifest.documents.get(document)
        if info is None:
            raise NotServed(f"no report {visible(document)[:200]!r} in the index")
        if page not in self._scanned_pages(document):
            raise NotServed(f"page {page} of {visible(document)[:200]} was not read by OCR: it has no page image")
        path = self._file(document, info)
        key = (document, page, info.get("sha256"))
        with self._drawing:
            if key in self._drawn:
                self._drawn.move_to_end(key)
                return self._drawn[key]
            try:
                image = page_image(path, page, document)
            except DocumentError as exc:
                raise NotServed(str(exc)) from exc
            words = cached_page(image, self.searcher.index_dir / OCR_CACHE)
            image = image.convert("L")
            image.thumbnail((DISPLAY_SIDE, DISPLAY_SIDE))
            png = io.BytesIO()
            image.save(png, format="PNG")  # optimize=True: 3% smaller, three times as long
            self._drawn[key] = (png.getvalue(), words)
            while len(self._drawn) > KEEP:
                self._drawn.popitem(last=False)
            return self._drawn[key]

    def _file(self, document: str, info: dict) -> Path:
        """The report's file in the corpus folder: inside it, and the very bytes the index was built from."""
        root = self.corpus_dir.resolve()
        try:
            path = (root / document).resolve(strict=True)
        except (OSError, RuntimeError) as exc:
            raise NotServed(f"the file of {visible(document)[:200]} is no longer in the corpus folder") from exc
        if not path.is_relative_to(root) or not path.is_file():
            raise NotServed(f"{visible(document)[:200]} is not a file of the corpus folder")
        try:
            same = stamped_sha256(path, info)[0] == info.get("sha256")
        except OSError as exc:
            raise NotServed(f"the file of {visible(document)[:200]} cannot be read") from exc
        if not same:
            raise NotServed(f"{visible(document)[:200]} has changed since it was indexed; re-index it")
        return path

    def respond(self, request: Request) -> Response:
        """The route's answer: the PNG, or 401 or 404 with one line."""
        if self.allowed is not None and not self.allowed(request):
            return PlainTextResponse("Sign in on the app's page first.", status_code=401)
        self.searcher.follow()
        try:
            png = self.image(request.query_params.get("doc", ""), request.query_params.get("page", ""))
        except NotServed as exc:
            return PlainTextResponse(f"No page image: {exc}", status_code=404)
        return Response(png, media_type="image/png", headers={"Cache-Control": "private, no-cache"})

    @property
    def routes(self) -> list[Route]:
        return [Route(ROUTE, self.respond, methods=["GET"])]
