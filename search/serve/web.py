"""What the web app adds to Gradio's server: sessions that end when an account changes, and no uploads when read-only.

Gradio keeps sign-in sessions as tokens on its server (``server_app.tokens``: token to user name).
These helpers read and drop them; they take the ``gr.Blocks`` and its request as Gradio gives them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.responses import PlainTextResponse

if TYPE_CHECKING:
    import gradio as gr


def _server(blocks: gr.Blocks):
    """The running server of ``blocks`` (None before ``launch``)."""
    return getattr(blocks, "server_app", None)


def end_sessions(blocks: gr.Blocks, names: set[str]) -> None:
    """End the sign-in sessions of ``names`` (their password or role changed, or they were removed)."""
    server = _server(blocks)
    if server is not None:
        for token, name in list(server.tokens.items()):
            if name in names:
                server.tokens.pop(token, None)


def session_alive(blocks: gr.Blocks, request: gr.Request | None) -> bool:
    """Whether the request's sign-in session still stands (always, before launch, or without a request)."""
    server = _server(blocks)
    if server is None or request is None or getattr(request, "request", None) is None:
        return True
    return _token(server, request.request) in server.tokens


def session_user(blocks: gr.Blocks, request) -> str | None:
    """The user signed in on the page that sends ``request`` (a Starlette request: a route of our own, outside
    Gradio's), by its session cookie; None without a session, or before launch."""
    server = _server(blocks)
    return None if server is None else server.tokens.get(_token(server, request))


def _token(server, request) -> str | None:
    cookies = request.cookies
    return cookies.get(f"access-token-{server.cookie_id}") or cookies.get(f"access-token-unsecure-{server.cookie_id}")


class NoUploads:
    """Read-only: Gradio's upload route answers 403 to everyone (its size limit of 0 let empty files into its cache)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].rstrip("/").endswith("/upload"):
            return await PlainTextResponse("This app is read-only: uploads are refused.", status_code=403)(scope, receive, send)
        await self.app(scope, receive, send)
