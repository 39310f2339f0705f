"""The installed package, not the source tree: ``pip install .`` then ``report-search serve`` serves the app."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from served import free_port

ROOT = Path(__file__).resolve().parents[1]


def _see_these_packages(python: Path) -> None:
    """Let the new environment at ``python`` import the packages this interpreter imports, in the same order.

    ``venv --system-site-packages`` would show only the base interpreter's packages: from inside a virtual
    environment (``python -m venv v && v/bin/pip install -e '.[test]'``) that is none of the project's. A
    ``.pth`` file naming this interpreter's package folders works in a virtual environment and without one.
    The folders are plain path lines, so their own ``.pth`` files (this checkout's editable install of
    ``search``) are not run: ``import search`` finds the copy installed into the new environment.
    """
    ours = [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages") and Path(p).is_dir()]
    assert ours, sys.path
    theirs = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                            capture_output=True, text=True, check=True).stdout.strip()
    (Path(theirs) / "outer-environment.pth").write_text("\n".join(ours) + "\n", encoding="utf-8")


def test_pip_install_then_report_search_serve(tmp_path, embedder):
    """A non-editable install in a fresh environment (this one's packages visible, the project's own copy
    installed from a wheel), run from a folder outside the repository: the page and the JSON API answer."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python, command = venv / "bin" / "python", venv / "bin" / "report-search"
    _see_these_packages(python)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", str(ROOT)],
                   check=True, timeout=600, cwd=tmp_path)
    where = subprocess.run([str(python), "-c", "import search; print(search.__file__)"], capture_output=True, text=True,
                           check=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": ""}).stdout
    assert str(venv) in where, where  # the installed copy, not the repository's
    assert "report-search serve" in subprocess.run([str(command), "serve", "--help"], capture_output=True, text=True,
                                                   check=True).stdout

    shutil.copytree(ROOT / "tests" / "data" / "mini", tmp_path / "corpus")
    port = free_port()
    server = subprocess.Popen([str(command), "serve", "--port", str(port)], cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONPATH": ""},
                              start_new_session=True)
    try:
        url, deadline, answer = f"http://127.0.0.1:{port}/", time.monotonic() + 600, None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                answer = httpx.get(url + "api/search", params={"q": "How many tonnes of rice were harvested?"}, timeout=30)
                if answer.status_code != 503:
                    break  # while getting ready, /api/* answers a JSON 503 (with Retry-After)
            except httpx.TransportError:
                pass
            time.sleep(1)
        assert server.poll() is None, server.stdout.read()
        assert answer is not None and answer.status_code == 200, answer and answer.text
        assert answer.json()["hits"][0]["citation"]["document"] == "rice-report.md"
        assert "report search" in httpx.get(url, timeout=30).text.lower()  # the page (its title)
        assert (tmp_path / "index").is_dir()  # --corpus and --index default to the folder it runs in
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    console = server.stdout.read()
    assert f"Ready: http://127.0.0.1:{port}/" in console, console
    assert "share=True" not in console and "Traceback" not in console, console  # no hint to publish the app
