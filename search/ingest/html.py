"""HTML reports to plain text: one block per paragraph, headings as ``#`` lines of their level (``##`` for h2)."""

from __future__ import annotations

import re

_BLOCK_TAGS = ("p", "li", "blockquote", "pre", "td", "th", "dd", "dt", "figcaption", "div", "section", "article", "tr")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_DROP = ("script", "style", "noscript", "template", "nav", "head", "svg", "iframe", "form", "button", "footer", "aside")
_CONTENT = ("article", "main", "section")  # a <header> inside one of these heads its text; outside, it is the site's
_ROLES = ("navigation", "banner", "contentinfo", "complementary")  # the same parts of a page, named by their role


def html_text(markup: str) -> str:
    """Return the readable text of an HTML page, paragraphs separated by blank lines.

    Scripts, styles and the page's furniture (``<nav>``, ``<footer>``, ``<aside>``, and a ``<header>`` outside
    an article, main part or section: the site's banner) are dropped; the ``<title>`` (or first ``<h1>``)
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
    text = "".join(_text_parts(soup))
    blocks = [re.sub(r"[ \t\r\f\v]+", " ", b).strip() for b in re.split(r"\n\s*\n", text)]
    blocks = [re.sub(r" *\n *", "\n", b) for b in blocks if b and b.strip("#")]
    if title and not any(b.startswith("# ") for b in blocks[:1]):
        blocks.insert(0, "# " + title)
    return "\n\n".join(blocks) + "\n"


def _text_parts(soup):
    """The page's text in reading order, a blank line wherever the enclosing block changes.

    One pass over the tree, each tag's state (inside a dropped tag? which block?) taken
    from its parent's: linear even in a page of 100,000 nested tags, where inserting
    markers around every block (walking each block's subtree) was quadratic.
    """
    from bs4 import CData, NavigableString, Tag

    state: dict[int, tuple[bool, object, bool]] = {}  # id(tag) -> (dropped, nearest block-level tag, in content)
    current = None
    for node in soup.descendants:
        dropped, block, content = state.get(id(node.parent), (False, None, False))
        if isinstance(node, Tag):
            if node.name in _BLOCK_TAGS or node.name in _HEADINGS:
                block = node
            furniture = (node.name in _DROP or (node.name == "header" and not content)
                         or node.get("role") in _ROLES)
            state[id(node)] = (dropped or furniture, block, content or node.name in _CONTENT)
            if node.name == "br" and not dropped:
                yield "\n"
        elif type(node) in (NavigableString, CData) and not dropped:
            if block is not current:
                yield f"\n\n{'#' * int(block.name[1])} " if block is not None and block.name in _HEADINGS else "\n\n"
                current = block
            yield str(node)
