"""Make the README's screenshots: the app on the bundled report, in Chromium, at 1,400 and 400 px.

    python bench/screenshots.py [--index index] [--out docs]

Starts the app on a free local port, asks a Lao question answered by the English
chapter through a shared address (``?q=…``), and saves ``screenshot.png`` (desktop)
and ``screenshot-mobile.png`` (400 px wide); then opens the answer's source link and
saves ``screenshot-source.png``. Needs Debian's ``chromium`` (``bash tests/setup.sh``).
"""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUESTION = "ມີຜູ້ຄ້າມະນຸດຈັກຄົນຖືກສານຕັດສິນລົງໂທດໃນປີ 2021?"
CHROMIUM = "/usr/bin/chromium"


def main() -> None:
    from playwright.sync_api import sync_playwright

    from search.serve.page import build_app
    from search.serve.prepare import prepare_index
    from search.serve.render import CSS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=ROOT / "index")
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    embedder, _ = prepare_index(ROOT / "corpus", args.index, None)
    app = build_app(args.index, corpus_dir=ROOT / "corpus", embedder=embedder)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _, url, _ = app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, css=CSS)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox"])
            for name, width in (("screenshot.png", 1400), ("screenshot-mobile.png", 400)):
                page = browser.new_page(viewport={"width": width, "height": 1100})
                page.goto(url + "?" + urlencode({"q": QUESTION, "k": 3, "lang": "all"}))
                page.locator("#results .hit").first.wait_for(timeout=120_000)
                page.screenshot(path=str(args.out / name), full_page=width < 1000)
                if width > 1000:
                    source = browser.new_page(viewport={"width": width, "height": 900})
                    source.goto(url + page.locator("#answer a.source-link").get_attribute("href"))
                    source.locator("#source mark.passage").wait_for(timeout=60_000)
                    source.wait_for_timeout(500)
                    source.screenshot(path=str(args.out / "screenshot-source.png"))
                page.close()
            browser.close()
    finally:
        app.close()
    print(f"wrote {args.out}/screenshot.png, screenshot-mobile.png, screenshot-source.png")


if __name__ == "__main__":
    main()
