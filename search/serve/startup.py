"""A page that shows what the app is doing while it gets ready.

A first start converts the model (about half a minute on two cores) and indexes the
corpus (seconds for the bundled report, longer for a library) before the search page
exists. Without this page the browser would only say that nothing answers at the
address. :class:`StartupPage` answers there from the first second: every path gets a
page, in Lao and English, that lists the steps done and the one under way, polled
every second and a half; once the app has taken the port over, the page reloads
itself, keeping its address, so a shared ``/?q=…`` link opens its search. A program
calling the JSON API meanwhile gets what the API answers: JSON ``{"error": …}``, 503,
with ``Retry-After``.
"""

from __future__ import annotations

import html
import json
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from search.progress import STAGE_LABELS

STATUS_PATH = "/__startup__.json"
API_NOT_READY = "the app is getting ready (loading the model, indexing the reports): try again in a few seconds"
# each build stage in Lao; its English is the terminal's label (search/progress.py)
_LAO_STAGES = {"read": "ອ່ານບົດລາຍງານ", "ocr": "ອ່ານໜ້າທີ່ສະແກນ (OCR)", "embed": "ຝັງຂໍ້ຄວາມ", "terms": "ຝັງຄຳສັບ", "neighbours": "ວັດແທກຄວາມໃກ້ຄຽງ"}

_PAGE = """<!doctype html>
<html lang="lo"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ກຳລັງກຽມ · Getting ready</title>
<style>body{{font-family:system-ui,'Noto Sans Lao',sans-serif;max-width:42em;margin:3em auto;padding:0 1em;line-height:1.6}}
#steps li.done{{color:#57606a}} #current{{font-weight:600}}</style></head>
<body><h1>ກຳລັງກຽມການຄົ້ນຫາ · Getting the search ready</h1>
<p>ການເລີ່ມຄັ້ງທຳອິດ ກຽມແບບຈຳລອງ (ປະມານເຄິ່ງນາທີ) ແລະ ດັດສະນີບົດລາຍງານ. ໜ້ານີ້ຈະເປີດການຄົ້ນຫາເອງ ເມື່ອພ້ອມ.<br>
A first start prepares the model (about half a minute on two cores) and indexes the reports (seconds for
one report, longer for many). This page opens the search by itself when it is ready.</p>
<ol id="steps">{steps}</ol>
<p id="current">{current}</p>
<script>
async function poll() {{
  try {{
    const r = await fetch("{status}", {{cache: "no-store"}});
    if (r.status !== 200) {{ location.reload(); return; }}  // the app answers now: it has no such path
    const s = await r.json();
    document.getElementById("steps").innerHTML = s.steps.map(t => "<li class=done>" + t + "</li>").join("");
    document.getElementById("current").textContent = s.current;
  }} catch (e) {{}}  // between this page and the app nothing answers for a moment: try again
  setTimeout(poll, 1500);
}}
setTimeout(poll, 1500);
</script></body></html>
"""


class StartupPage:
    """Serve the getting-ready page on ``host:port`` until :meth:`stop`; echo every step to the console.

    Args:
        host, port: the app's address.
        echo: where each step is also written (the console's ``say``).
        detail: show each step's words (they name folders, and why an index is rebuilt); without it,
            for an address others can reach before signing in, the page numbers the steps instead.
    """

    def __init__(self, host: str, port: int, *, echo: Callable[[str], None] = print, detail: bool = True):
        self.host, self.port, self.echo, self.detail = host, port, echo, detail
        self._steps: list[str] = []
        self._current = "…"
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._stages: set[str] = set()

    def start(self) -> "StartupPage":
        """Bind the port and serve in a background thread.

        Raises:
            OSError: the port is taken (the app could not have bound it either).
        """
        page = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                path = self.path.split("?")[0]
                if path == STATUS_PATH:
                    body, status, kind = json.dumps(page.status(), ensure_ascii=False), 200, "application/json"
                elif path.startswith("/api/"):  # a program: the API's own shape of a refusal
                    body, status, kind = json.dumps({"error": API_NOT_READY}), 503, "application/json"
                else:  # every other path: the app's page is not there yet (503, try again)
                    body, status, kind = page.html(), 503, "text/html"
                data = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", f"{kind}; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                if status == 503:
                    self.send_header("Retry-After", "2")
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):  # noqa: N802 - a write while the app starts: the same 503, the body unread
                self.close_connection = True
                self.do_GET()

            do_DELETE = do_PUT = do_PATCH = do_POST  # noqa: N815

            def log_message(self, *args):  # the console shows the steps, not every poll
                pass

        self._server = _QuietServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="startup-page", daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port for the app."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def say(self, message: str) -> None:
        """A new step (the model's conversion, a build): shown on the page and in the console."""
        self.echo(message)
        with self._lock:
            if self._current != "…":
                self._steps.append(self._current)
            self._current = message if self.detail else f"ຂັ້ນຕອນ · step {len(self._steps) + 1}"

    def progress(self, stage: str, done: int, total: int) -> None:
        """A build stage's count (``build_index``'s progress), shown as the current step."""
        lao, english = _LAO_STAGES.get(stage, stage), STAGE_LABELS.get(stage, stage)
        line = f"{lao} · {english}: {done} / {total}"
        with self._lock:
            if stage not in self._stages:  # a new stage: the step before it is done
                if self._current != "…":
                    self._steps.append(self._current)
                self._stages.add(stage)
            self._current = line

    def status(self) -> dict:
        with self._lock:
            return {"ready": False, "steps": [html.escape(s) for s in self._steps], "current": self._current}

    def html(self) -> str:
        with self._lock:
            steps = "".join(f"<li class=done>{html.escape(s)}</li>" for s in self._steps)
            return _PAGE.format(steps=steps, current=html.escape(self._current), status=STATUS_PATH)


class _QuietServer(ThreadingHTTPServer):
    """The start-up page's server: a browser that leaves (a closed tab, a reload) while the page is sent is not
    a traceback on the console; any other failure still is."""

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):  # BrokenPipeError, ConnectionResetError...
            return
        super().handle_error(request, client_address)
