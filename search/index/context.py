"""What the model and BM25 read of a passage: its own text after its report's title and heading path.

A passage of one sentence under ``(c) Chairman`` ("The Task Force shall be chaired by the Secretary of
State.") holds none of the words that say what it is about; its headings do. Read with them (a
contextual chunk header, as in Anthropic's contextual retrieval and Haystack's ``embed_meta_fields``),
it can be found by them. Which parts each reader gets is the index's setting
(``IndexConfig.model_context``, ``bm25_context``); citations, highlights and answers stay the
passage's own text.
"""

from __future__ import annotations

from collections.abc import Sequence

from search.cite import PATH_SEPARATOR, path_parts
from search.index.records import Passage

CONTEXT_PARTS = ("title", "path")
MAX_HEADER_CHARS = 400  # about 100 model tokens: a passage (at most 480) and its header stay within the model's 512


def header(passage: Passage, parts: Sequence[str]) -> str:
    """The passage's title and/or heading path (as ``parts`` asks), joined by ``›``; a heading said once."""
    pieces = []
    if "title" in parts and passage.citation.title:
        pieces.append(passage.citation.title)
    if "path" in parts:
        pieces.extend(path_parts(passage.citation.section))
    text = PATH_SEPARATOR.join(dict.fromkeys(pieces))  # a section that is the title, once
    return text if len(text) <= MAX_HEADER_CHARS else text[:MAX_HEADER_CHARS - 1].rstrip() + "…"


def with_context(passage: Passage, parts: Sequence[str]) -> str:
    """The text a reader given ``parts`` sees: the header, a line break, the passage's text."""
    head = header(passage, parts) if parts else ""
    return f"{head}\n{passage.text}" if head else passage.text


def model_inputs(passages: Sequence[Passage], parts: Sequence[str]) -> tuple[list[str], list[tuple[tuple[int, int], ...]]]:
    """The texts the model embeds for ``passages``, and their sentences' spans within those texts (for
    sentence vectors pooled from the passage's pass)."""
    texts, spans = [], []
    for p in passages:
        text = with_context(p, parts)
        shift = len(text) - len(p.text)
        texts.append(text)
        spans.append(tuple((a + shift, b + shift) for a, b in p.sentences))
    return texts, spans
