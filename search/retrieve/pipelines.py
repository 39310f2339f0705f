"""The retrievers: which parts (model lists, BM25, the bridge, the answer type) each one combines."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pipeline:
    """The parts a retriever combines; each can be switched off for comparison.

    Attributes:
        dense: rank passages by cosine with the question (FAISS).
        centered: take the language component out of the vectors first (search/index/centering.py).
        sentences: also rank passages by their best sentence, a list of its own in the fusion.
        lexical: rank passages by BM25 over Lao-aware tokens (search/index/sparse.py).
        bridge: add the question's translations to the BM25 query (search/retrieve/bridge.py).
        answer_type: when the question asks for a number, every list ranks the passages
            (and sentences) that state one first (search/retrieve/answer_type.py).
    """

    dense: bool = False
    centered: bool = True
    sentences: bool = False
    lexical: bool = False
    bridge: bool = False
    answer_type: bool = False


# Several lists are fused by reciprocal rank (search/retrieve/hybrid.py).
PIPELINES = {
    "dense-raw": Pipeline(dense=True, centered=False),
    "dense": Pipeline(dense=True),
    "dense+sentences": Pipeline(dense=True, sentences=True),
    "lexical": Pipeline(lexical=True),
    "lexical+bridge": Pipeline(lexical=True, bridge=True),
    "hybrid": Pipeline(dense=True, lexical=True),
    "hybrid+bridge": Pipeline(dense=True, lexical=True, bridge=True),
    "hybrid+bridge+sentences": Pipeline(dense=True, lexical=True, bridge=True, sentences=True),
    "hybrid+bridge+sentences+answer-type": Pipeline(dense=True, lexical=True, bridge=True, sentences=True, answer_type=True),
}
RETRIEVERS = tuple(PIPELINES)
DEFAULT_RETRIEVER = "hybrid+bridge+sentences+answer-type"
