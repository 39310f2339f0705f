"""HTML reports to plain text: one block per paragraph, headings as ``# `` lines."""

from __future__ import annotations

import re

_BLOCK_TAGS = ("p", "li", "blockquote", "pre", "td", "th", "dd", "dt", "figcaption", "div", "section", "article", "tr")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_DROP = ("script", "style", "noscript", "template", "nav", "head", "svg", "iframe", "form", "button")


def html_text(markup: str) -> str:
    """Return the readable text of an HTML page, paragraphs separated by blank lines.

    Scripts, styles and navigation are dropped; the ``<title>`` (or first ``<h1>``)
    comes first as a ``#`` heading, and so do the page's own headings, so the
    paragraph splitter sees the same shapes as in Markdown.

    Args:
        markup: the page's HTML.

    Returns:
        Plain text; markup never survives into it.
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup.find_all(_DROP):
        tag.decompose()
    for tag in soup.find_all(_HEADINGS):
        tag.insert_before("\n\n# ")
        tag.insert_after("\n\n")
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    for br in soup.find_all("br"):
        br.replace_with("\n")
    blocks = [re.sub(r"[ \t\r\f\v]+", " ", b).strip() for b in re.split(r"\n\s*\n", soup.get_text())]
    blocks = [re.sub(r" *\n *", "\n", b) for b in blocks if b and b != "#"]
    if title and not any(b.startswith("# ") for b in blocks[:1]):
        blocks.insert(0, "# " + title)
    return "\n\n".join(blocks) + "\n"
