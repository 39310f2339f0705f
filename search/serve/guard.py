"""The ASGI layer in front of Gradio and the JSON API: writes only from the app's own pages and real API clients,
and no request that ends in a traceback.

Each refusal is one line to the client (JSON ``{"error": …}`` under ``/api/``, plain text elsewhere) and one
line in the log:

- 414: an address (path and query) over :data:`MAX_URL` characters;
- 403: a write (any method but GET, HEAD, OPTIONS) whose ``Origin`` (or, without one, ``Referer``) is another
  site's: a page elsewhere cannot add or remove reports through the visitor's browser;
- 403: a write to ``/api/`` without the header ``X-Requested-With`` (any value). A browser sends a custom
  header to another site only after asking it first (a CORS preflight), so a page elsewhere cannot make
  this request at all; curl, R or Python add it in one option;
- 400: a multipart body with no boundary, a queue request that is not JSON;
- 404: a Gradio function (``fn_index`` or API name) the app does not have;
- 400: a Gradio request with fewer values than its function takes (Gradio's queue printed a traceback);
- 500: anything else that fails before an answer has begun, with a reference also in the log line.

Under ``/api/`` the answers Starlette and FastAPI make themselves (a 404 for a route that does not exist, a 405
for a method a route does not take: ``{"detail": …}``) are rewritten as ``{"error": …}``, the one shape the
API's OpenAPI document gives for every refusal.
"""

from __future__ import annotations

import json
import logging
import secrets
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, PlainTextResponse

from search.display import bounded

log = logging.getLogger(__name__)
MAX_URL = 32_768  # characters of path and query; Gradio's own page fails past 65,536 (an httpx limit)
MAX_JOIN_BODY = 8 * 2**20  # a Gradio request's JSON (the files themselves go to /upload)
API_WRITE_HEADER = "x-requested-with"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
_NAMED = ("/call/v2/", "/call/", "/run/", "/api/")  # Gradio's routes that name a function by its API name


class Refusal(Exception):
    """A request the guard answers itself: its status and one line."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def shown(text: str, limit: int = 200) -> str:
    """``text`` for a log line or an answer: invisible characters escaped, at most ``limit`` characters."""
    return bounded(text, limit)


def _netloc(url: str | None) -> str | None:
    """``host[:port]`` of an address, lower-case, default ports dropped; None for ``null`` or no address."""
    if not url or url == "null":
        return None
    try:
        parts = urlsplit(url)
        host, port = (parts.hostname or "").lower(), parts.port
    except ValueError:
        return None
    if not host:
        return None
    host = f"[{host}]" if ":" in host else host
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return host if port in (None, default) else f"{host}:{port}"


def _own(headers: Headers) -> str | None:
    """The address the client used for this app (its ``Host`` header), as :func:`_netloc` gives it."""
    host = headers.get("host")
    return _netloc(f"http://{host}") if host else None


def foreign_origin(method: str, headers: Headers) -> str | None:
    """The other site a write comes from, or None when it is the app's own page or a client with no site
    (curl, Python: no ``Origin`` and no ``Referer``)."""
    if method in _SAFE:
        return None
    origin = headers.get("origin")
    source = origin if origin is not None else headers.get("referer")
    if source is None:
        return None
    return None if _netloc(source) is not None and _netloc(source) == _own(headers) else source


class Guard:
    """ASGI middleware: the checks above, then the app; ``blocks`` (the ``gr.Blocks``) names the functions
    that exist. Whatever fails below it before an answer begins is answered 500 in one line."""

    def __init__(self, app, *, blocks=None, max_url: int = MAX_URL):
        self.app, self.blocks, self.max_url = app, blocks, max_url

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def tracked(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        if scope["path"].startswith("/api/"):
            tracked = _errors_as_error(tracked)
        try:
            receive = await self._check(scope, receive)
            await self.app(scope, receive, tracked)
        except Refusal as refusal:
            log.warning("refused %s %s: %s", scope["method"], shown(scope["path"]), refusal)
            await self._answer(scope, refusal.status, str(refusal), receive, send)
        except Exception as exc:  # noqa: BLE001 - one line, never a traceback to the client or the console
            ref = secrets.token_hex(4)
            log.error("%s %s failed (ref %s): %s: %s", scope["method"], shown(scope["path"]), ref, type(exc).__name__,
                      shown(str(exc)))
            log.debug("ref %s", ref, exc_info=exc)
            if not started:
                await self._answer(scope, 500, f"the server failed (ref {ref}); nothing was changed by it", receive, send)

    async def _check(self, scope, receive):
        """The request's refusal, if any (raised); otherwise what the app should read its body from."""
        path, query = scope["path"], scope.get("query_string", b"")
        if len(scope.get("raw_path") or path.encode()) + len(query) > self.max_url:
            raise Refusal(414, f"the address is over {self.max_url:,} characters; search for fewer reports at once "
                               "or shorten the question")
        headers = Headers(scope=scope)
        method = scope["method"]
        if (source := foreign_origin(method, headers)) is not None:
            raise Refusal(403, f"a write from another site ({shown(source, 80)}) is refused: add and remove reports "
                               "from this app's own page, or from a program (curl, R, Python)")
        if method in _SAFE:
            return receive
        if path.startswith("/api/") and API_WRITE_HEADER not in headers:
            raise Refusal(403, "API writes need the header X-Requested-With (any value), which another site's page "
                               "cannot send, e.g. curl -H 'X-Requested-With: curl' -F file=@report.pdf …/api/reports")
        kind = headers.get("content-type", "")
        if kind.lower().startswith("multipart/") and "boundary=" not in kind.lower():
            raise Refusal(400, "a multipart body needs a boundary in its Content-Type (send the file as a form, "
                               "e.g. curl -F file=@report.pdf)")
        if self.blocks is not None:
            return await self._check_function(method, path, receive)
        return receive

    async def _check_function(self, method: str, path: str, receive):
        """A Gradio request for a function the app does not have, or with fewer values than the function takes,
        is refused (Gradio fails with a KeyError, or prints a traceback from its queue)."""
        fns = getattr(self.blocks, "fns", {})
        fn = None
        for named in _NAMED:
            where = path.find("/gradio_api" + named)
            if where >= 0:
                name = path[where + len("/gradio_api" + named):].strip("/").split("/")[0]
                fn = next((f for f in fns.values() if f.api_name == name), None)
                if name and fn is None:
                    raise Refusal(404, f"this app has no function named {shown(name, 80)!r}")
                break
        else:
            if not path.rstrip("/").endswith("/queue/join"):
                return receive
        if method != "POST":
            return receive
        body = await _body(receive)
        try:
            payload = json.loads(body)
            index = payload.get("fn_index")
        except (ValueError, AttributeError):
            raise Refusal(400, "a Gradio request's body must be a JSON object") from None
        if index is not None:
            if not isinstance(index, int) or isinstance(index, bool) or index not in fns:
                raise Refusal(404, f"this app has no function number {shown(str(index), 40)}")
            fn = fns[index]
        data = payload.get("data")
        if fn is not None and isinstance(data, list) and len(data) < len(getattr(fn, "inputs", ())):
            raise Refusal(400, f"this function takes {len(fn.inputs)} values; the request gave {len(data)}")
        sent = False

        async def replay():
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return replay

    @staticmethod
    async def _answer(scope, status: int, message: str, receive, send):
        if scope["path"].startswith("/api/"):
            response = JSONResponse({"error": message}, status_code=status)
        else:
            response = PlainTextResponse(message, status_code=status)
        await response(scope, receive, send)


def _errors_as_error(send):
    """``send``, with a refusal's JSON ``{"detail": …}`` (Starlette's, FastAPI's) sent as ``{"error": …}``."""
    start = None

    async def rewrite(message):
        nonlocal start
        if message["type"] == "http.response.start" and message["status"] >= 400 and \
                Headers(raw=message.get("headers", [])).get("content-type", "").startswith("application/json"):
            start = message  # held back until the body is known
            return
        if start is None or message["type"] != "http.response.body":
            return await send(message)
        body = message.get("body", b"")
        if message.get("more_body"):  # a refusal's body comes in one piece; a long one is sent as it is
            held, start = start, None
            await send(held)
            return await send(message)
        try:
            detail = json.loads(body)
            body = json.dumps({"error": shown(str(detail["detail"]), 500)}, ensure_ascii=False).encode("utf-8") \
                if isinstance(detail, dict) and set(detail) == {"detail"} else body
        except ValueError:
            pass
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        held, start = {**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]}, None
        await send(held)
        await send({**message, "body": body})
    return rewrite


async def _body(receive) -> bytes:
    """The whole request body, refused past :data:`MAX_JOIN_BODY` bytes."""
    body, more = b"", True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Refusal(400, "the request ended before its body")
        body += message.get("body", b"")
        more = message.get("more_body", False)
        if len(body) > MAX_JOIN_BODY:
            raise Refusal(413, f"a Gradio request's body is over {MAX_JOIN_BODY // 2**20} MB")
    return body
