"""Document-side expansion, measured: does giving passages the other language's words find what the
query-side bridge misses?

    python bench/expansion.py [--index index] [--weight 0.3] [--per-word 2]

At build time each English passage could carry the Lao words laonlp's dictionary pairs with its
words, and each Lao passage the English glosses of its words, as extra BM25 tokens (a second field
with its own weight). This script builds that field in memory from an existing index, and runs
both dev sets four ways with the default retriever otherwise unchanged:

* ``query-side`` (the default): the question's translations are added to the question;
* ``doc-side``: no translation of the question; passages carry their translations;
* ``both``: the two together;
* ``neither``: no translation at all (the plain hybrid, for scale).

It changes nothing in the library: the expansion field is swapped in for the run.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

import search.retrieve.engine as engine
from search import Searcher
from search.evaluation.evaluate import evaluate
from search.retrieve.engine import DEFAULT_RETRIEVER
from search.evaluation.gold import load_gold
from search.index.sparse import SparseIndex, top_k
from search.ingest.lang import is_lao_char
from search.ingest.tokenize import tokenize
from search.retrieve.bridge import dictionary_expansion, lao_english_dictionary

ROOT = Path(__file__).resolve().parents[1]
SETS = {"dev": ROOT / "eval" / "gold" / "laos-tip-2022.jsonl", "second": ROOT / "eval" / "gold" / "laos-tip-2022-lo-en.jsonl"}


def english_to_lao(per_word: int) -> dict[str, list[str]]:
    """English token → Lao tokens of up to ``per_word`` dictionary words whose first gloss is that one word."""
    out: dict[str, list[str]] = defaultdict(list)
    for lao, glosses in lao_english_dictionary().items():
        first = re.split(r"[,;/(]", glosses[0])[0].strip().lower()
        first = re.sub(r"^(to|a|an|the) ", "", first)
        tokens = tokenize(first)
        if len(tokens) == 1 and len(out[tokens[0]]) < per_word:
            lao_tokens = [t for t in tokenize(lao) if is_lao_char(t[0])]
            if lao_tokens:
                out[tokens[0]].append(lao_tokens)
    return {k: [t for words in v for t in words] for k, v in out.items()}


def expansion_tokens(text: str, lang: str, table: dict[str, list[str]]) -> list[str]:
    """The other language's tokens for a passage's words."""
    if lang == "lo":
        return [t for t, w in dictionary_expansion(tokenize(text, keep_stopwords=True)).items() for _ in range(max(1, round(w)))]
    return [t for token in tokenize(text) for t in table.get(token, ())]


class Fielded:
    """BM25 over the passage's own tokens plus ``weight`` × BM25 over its expansion field."""

    def __init__(self, own: SparseIndex, expanded: SparseIndex, weight: float):
        self.own, self.expanded, self.weight = own, expanded, weight

    def rank(self, query, k, *, allowed=None):
        return top_k(self.own.scores(query) + self.weight * self.expanded.scores(query), k, allowed=allowed)

    def holding(self, tokens, rows):
        return self.own.holding(tokens, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=ROOT / "index")
    parser.add_argument("--weight", type=float, default=0.3)
    parser.add_argument("--per-word", type=int, default=2)
    args = parser.parse_args()
    searcher = Searcher(args.index, threads=1)
    index = searcher.index
    table = english_to_lao(args.per_word)
    fields = [expansion_tokens(p.text, p.lang, table) for p in index.passages]
    print(f"expansion: {np.mean([len(f) for f in fields]):.1f} tokens a passage "
          f"(English→Lao table: {len(table)} English tokens)")
    own = index.sparse
    expanded = SparseIndex.from_tokens(fields, **own.params)
    original = engine.expand_question
    plain = lambda tokens, *a, **kw: Counter(tokens)  # noqa: E731 - no translation of the question
    ways = {"query-side": (own, original), "doc-side": (Fielded(own, expanded, args.weight), plain),
            "both": (Fielded(own, expanded, args.weight), original), "neither": (own, plain)}
    runs = {}
    for way, (sparse, expand) in ways.items():
        index.__dict__["sparse"], engine.expand_question = sparse, expand
        for name, path in SETS.items():
            questions, _ = load_gold(path)
            run = evaluate(searcher, questions, retriever=DEFAULT_RETRIEVER)
            runs[way, name] = run
            lo_en = run.by_pair["lo->en"]
            print(f"{way:11} {name:7} all hit@5 {run.overall['hit@5']:.3f} mrr@10 {run.overall['mrr@10']:.3f}  "
                  f"lo->en hit@5 {lo_en['hit@5']:.3f} mrr@10 {lo_en['mrr@10']:.3f}", flush=True)
    engine.expand_question, index.__dict__["sparse"] = original, own
    for name in SETS:
        base = {q["id"]: q["rank"] for q in runs["query-side", name].questions}
        for way in ("doc-side", "both"):
            moved = [(q["id"], base[q["id"]], q["rank"]) for q in runs[way, name].questions if q["rank"] != base[q["id"]]]
            print(f"{name} {way} vs query-side: " + ", ".join(f"{i} {a or '-'}→{b or '-'}" for i, a, b in moved))


if __name__ == "__main__":
    main()
