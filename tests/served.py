"""Serving the app on this machine for a test, as ``python app.py`` serves it."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(app, *, users=None, read_only: bool = False, max_upload_mb: int = 1) -> str:
    """Launch ``app`` (from ``build_app``) on a free local port with the settings ``app.py`` gives it (the guard,
    the host check, the JSON API, the upload limit; sign-in when ``users``), without blocking; its URL.
    The caller closes it (``app.close()``)."""
    from search.serve.access import allowed_hosts
    from search.serve.page import launch_options
    from search.serve.render import CSS

    _, url, _ = app.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True,
                           css=CSS, **launch_options(users, read_only, max_upload_mb, allowed_hosts("127.0.0.1"),
                                                     app=app))
    return url
