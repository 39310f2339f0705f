"""The JSON API beside the page: plain HTTP for curl, R, Python or a spreadsheet.

    GET    /api/search?q=…&lang=all|lo|en&k=5&offset=0&doc=…  the answer and ranked passages (as the page shows them)
    GET    /api/passages/{id}                                one passage with its citation (``#`` in an id as ``%23``)
    GET    /api/reports                                      the reports in the index
    POST   /api/reports            (multipart ``file``)      add a report (editors; header X-Requested-With)
    DELETE /api/reports/{name}                               remove a report (editors; header X-Requested-With)
    GET    /api/openapi.json                                 this API's OpenAPI description
    GET    /api/docs                                         that description as a page (works offline)

With a users file every request signs in with HTTP Basic (the same accounts, roles and lockout as the page);
without one, only this machine is served and its person may write, as on the page. A read-only app has no
write route at all. Errors are JSON ``{"error": "…"}``: 400 a question or argument that cannot be searched,
401 no or wrong credentials, 403 a role that may not do this, 404 no such passage or report, 409 a report already
held, 413 too big, 422 an argument out of range, 429 a locked-out name (with Retry-After); each answer's shape is
a typed model (search/serve/apischema.py), so the OpenAPI document describes what is really sent.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Depends, File, HTTPException, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from starlette.exceptions import HTTPException as StarletteHTTPException

from search.display import visible
from search.errors import AccessError, DuplicateReportError, QueryError, SearchError
from search.retrieve.checks import MAX_K, MAX_QUESTION_CHARS
from search.retrieve.engine import Searcher
from search.serve import apischema as schema
from search.serve.apidocs import DOCS_PAGE
from search.serve.access import Users
from search.serve.curate import Curator
from search.serve.render import source_link
from search.serve.requestlog import RequestLog, already_logged

log = logging.getLogger(__name__)
# Searches at once, in the page and in each API: each runs on one core (the question's model session and
# FAISS use one thread each), and a few more than the cores keep them busy while others wait on the network
# (bench/serve.py).
DEFAULT_SEARCH_CONCURRENCY = 2 * (os.cpu_count() or 1)
_basic = HTTPBasic(auto_error=False, realm="report-search")


class ApiError(Exception):
    """A request the API refuses: its HTTP status and a one-line reason."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.headers = status, headers


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    if status == 401:
        headers = {"WWW-Authenticate": 'Basic realm="report-search"', **(headers or {})}
    return JSONResponse({"error": visible(message)}, status_code=status, headers=headers)


def _status(exc: SearchError) -> int:
    if isinstance(exc, AccessError):
        return 403
    if isinstance(exc, DuplicateReportError):
        return 409
    return 400


class _Route(APIRoute):
    """A route whose refusals and failures are JSON ``{"error": …}`` with their status (see :func:`api_errors`),
    without touching how Gradio's own routes fail."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def guarded(request: Request):
            try:
                return await handler(request)
            except HTTPException:
                raise
            except StarletteHTTPException as exc:  # the body could not be parsed (a broken multipart form)
                log.warning("api refused %s: the body could not be read: %s", request.url.path, exc.detail)
                return _error(exc.status_code, f"the request's body could not be read: {exc.detail}")
            except Exception as exc:  # noqa: BLE001 - each becomes one JSON answer; unexpected ones are logged
                return api_errors(request, exc)
        return guarded


def json_api(searcher: Searcher, curator: Curator, *, users: Users | None = None, read_only: bool = False,
             requests: RequestLog | None = None, search_concurrency: int = DEFAULT_SEARCH_CONCURRENCY) -> APIRouter:
    """The API's routes, to go before Gradio's own (see ``launch_options``); searches go to ``requests``,
    ``search_concurrency`` at once (FastAPI alone would run up to 40)."""
    requests = requests or RequestLog()
    gate = threading.BoundedSemaphore(search_concurrency)

    def user(credentials: HTTPBasicCredentials | None = Depends(_basic)) -> str | None:
        """The signed-in user's name (None when the app has no users file)."""
        if users is None:
            return None
        if credentials is None:
            raise ApiError(401, "sign in with HTTP Basic: the app's user name and password")
        if wait := users.locked_for(credentials.username):
            seconds = max(1, round(wait))
            raise ApiError(429, f"too many wrong passwords for this name: signing in is locked for {seconds} s more",
                           headers={"Retry-After": str(seconds)})
        if not users.authenticate(credentials.username, credentials.password):
            raise ApiError(401, "wrong user name or password (after 5 wrong ones a name is locked for a while)")
        return credentials.username

    signed = (401, 429) if users is not None else ()
    router = APIRouter(prefix="/api", dependencies=[Depends(user)], route_class=_Route,
                       responses=schema.errors(*signed, 405, 414, 503))

    @router.get("/search", summary="Search the reports", response_model=schema.SearchAnswer,
                responses=schema.errors(400, 422))
    def search(request: Request,
               q: str = Query("", max_length=MAX_QUESTION_CHARS, description="The question, in Lao or English."),
               lang: Literal["all", "lo", "en"] = Query("all", description="Only passages of this language."),
               k: int = Query(5, ge=1, le=MAX_K, description="How many passages."),
               offset: int = Query(0, ge=0, le=MAX_K - 1, description=f"Skip this many first results (for the "
                                   f"next page); offset + k is at most {MAX_K}."),
               doc: list[str] = Query([], description="Search only these reports (file names); all when none."),
               name: str | None = Depends(user)) -> dict:
        """The answer sentence (or null) and the ranked passages with citations, as the page shows them."""
        if offset + k > MAX_K:
            raise ApiError(422, f"offset + k: at most {MAX_K} results are ranked; got {offset} + {k}")
        searcher.follow()
        with gate:
            result = requests.search(searcher, q, endpoint="api", user=name, k=offset + k,
                                     lang=None if lang == "all" else lang, docs=doc)
        answer = result.to_dict()
        answer["hits"] = [{**hit, "link": _link(request, hit["id"], hit["highlight"])}
                          for hit in answer["hits"][offset:]]
        return {**answer, "offset": offset}

    @router.get("/passages/{passage_id:path}", summary="One passage", response_model=schema.Passage,
                responses=schema.errors(404))
    def passage(request: Request, passage_id: str) -> dict:
        """A passage by its id (as in search results), with its citation (nested, as in /api/search; the flat
        citation fields are kept for this release only)."""
        searcher.follow()
        try:
            passages, here, _ = searcher.source(passage_id, around=0)
        except QueryError as exc:
            raise ApiError(404, str(exc)) from exc
        found = passages[here]
        return {**found.to_record(), "citation": found.citation.to_dict(), "link": _link(request, found.passage_id)}

    @router.get("/reports", summary="The reports in the index", response_model=schema.Reports)
    def reports() -> dict:
        """Each report's file name, title, parts and passages; the index's model and build time."""
        searcher.follow()
        return searcher.index.summary()

    if not read_only:
        @router.post("/reports", summary="Add a report (editors)", response_model=schema.WriteOutcome,
                     responses=schema.errors(400, 403, 409, 413, 422))
        def add(file: list[UploadFile] = File(..., description="A .txt, .md, .html, .pdf or .docx report, or a scan (.png, .jpg, .tif), read by OCR (one)."),
                name: str | None = Depends(user)) -> dict:
            """Save the report in the corpus and index it; the answer says what the index now holds of it."""
            if len(file) != 1:  # FastAPI would keep the last one and drop the others without a word
                names = ", ".join(visible(Path(f.filename or "?").name)[:80] for f in file[:5])
                raise ApiError(400, f"one report per request: this one has {len(file)} files ({names}); "
                                    "send each in a request of its own")
            upload = file[0]
            folder = Path(tempfile.mkdtemp(prefix="report-search-api-"))
            try:
                saved = folder / "upload"
                title = Path(upload.filename or "report.txt").name
                curator.check_name(title)  # before a byte is saved
                _save(upload, saved, curator.max_upload_bytes)
                return _outcome(curator.add(name, saved, title))
            finally:
                shutil.rmtree(folder, ignore_errors=True)

        @router.delete("/reports/{document}", summary="Remove a report (editors)", response_model=schema.WriteOutcome,
                       responses=schema.errors(400, 403, 404))
        def remove(document: str, name: str | None = Depends(user)) -> dict:
            """Take the report out of the index; its file is moved aside in the corpus, not deleted."""
            curator.check_name(document)  # a 2 MB name is refused here, not checked, recorded and logged
            if document not in searcher.index.manifest.documents:
                curator.authorize(name, "remove", document)  # a reader learns nothing about what exists
                raise ApiError(404, f"no report {visible(document)!r} in the index")
            return _outcome(curator.remove(name, document))

    @router.get("/openapi.json", include_in_schema=False)
    def openapi() -> dict:
        return _without_detail(get_openapi(title="Report search", version="1", routes=router.routes,
                                           description=(__doc__ or "").split("\n\n")[0]))

    @router.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(DOCS_PAGE)

    return router


def api_errors(request: Request, exc: Exception) -> JSONResponse:
    """Every refusal as JSON with its status; an unexpected failure logged once with its cause."""
    if isinstance(exc, ApiError):
        return _error(exc.status, str(exc), exc.headers)
    if isinstance(exc, RequestValidationError):  # FastAPI's checks of q, lang, k: the first one, in a line
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
        return _error(422, f"{where}: {first.get('msg', 'invalid')}")
    if isinstance(exc, SearchError):
        if not already_logged(exc):
            log.warning("api refused %s: %s", request.url.path, exc)
        return _error(_status(exc), str(exc))
    token = secrets.token_hex(4)
    log.error("api %s failed (ref %s)", request.url.path, token, exc_info=exc)
    return _error(500, f"the server failed (ref {token}); the index is as it was")


def _without_detail(spec: dict) -> dict:
    """``spec`` without the 422 FastAPI adds to each route with parameters (its ``{"detail": […]}``, never sent
    here: :func:`api_errors` answers ``{"error": …}``); a route that can answer 422 documents it itself."""
    for methods in spec.get("paths", {}).values():
        for operation in methods.values():
            answer = operation.get("responses", {}).get("422", {})
            if "HTTPValidationError" in str(answer.get("content")):
                del operation["responses"]["422"]
    for name in ("HTTPValidationError", "ValidationError"):
        spec.get("components", {}).get("schemas", {}).pop(name, None)
    return spec


def _link(request: Request, passage_id: str, span=None) -> str:
    """The passage's address on the app's page, absolute (as the CSV export's link)."""
    return str(request.base_url) + source_link(passage_id, span)


def _save(upload: UploadFile, path: Path, limit: int) -> None:
    """The uploaded file, written to ``path``; refused past ``limit`` bytes without reading the rest."""
    written = 0
    with path.open("wb") as out:
        while chunk := upload.file.read(1 << 20):
            written += len(chunk)
            if written > limit:
                raise ApiError(413, f"the file is over the upload limit of {limit // 2**20} MB")
            out.write(chunk)


def _outcome(outcome) -> dict:
    return {"action": outcome.action, "file": outcome.file, "passages": outcome.passages, "embedded": outcome.embedded,
            "reports": outcome.reports, "moved_to": str(outcome.moved_to) if outcome.moved_to else None,
            "unrecorded": outcome.unrecorded}
