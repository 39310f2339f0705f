"""How well the model matches a Lao sentence with its English translation, and back.

    python bench/parallel.py [--engine E] [--threads N] [--json OUT]

The sentences are NTREX-128's news test set (``eval/parallel/``: 1,997 English sentences of 123 stories
and their Lao translation). Each sentence is encoded as a question (``query:``) and its translation
is looked for among the other language's sentences, encoded as passages, as a search does, both
centered by the build's reference means. Printed per direction: the translation's hit@1 and mrr
among all 1,997 sentences, among the sentences of its own story only (about 16, on one subject: the
library's same-subject passages in small), and among the pairs with no Latin letter or digit to
match on (664 of them); then the mean cosine of a sentence with its translation. Last, a sentence is
looked for in passages: each story's sentences in the other language joined four at a time (549
passages), the one holding its translation to be found, among all and within its story. That is a
library's step in small: a question is shorter than the passage that answers it, and the passages
around the answer are on its subject. The Lao question is searched as a search does, with its
Thai reading (search/retrieve/bridge.py); the same for English sentences shows the monolingual bar.

Measured (docs/library.md, "a Lao–English sentence corpus"): the model finds the translation first
for 97–98 % of sentences among all, 98–99 % within a story; the gap is a short Lao text against longer
English passages (the passage holding the translation first for 0.61 of Lao sentences, 0.83 of English
ones), which is what a library costs Lao questions.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

from search.index.build import language_reference, make_embedder
from search.index.centering import LanguageCentering
from search.index.records import IndexConfig
from search.ingest.lang import normalize_text
from search.model.embed import DEFAULT_ENGINE, ENGINES
from search.retrieve.bridge import read_as_thai, with_thai_readings

DATA = Path(__file__).resolve().parents[1] / "eval" / "parallel"
PASSAGE_SENTENCES = 4  # sentences of a story joined into one passage


def ranks(scores: np.ndarray, own: np.ndarray, groups: np.ndarray | None = None,
          target_groups: np.ndarray | None = None) -> np.ndarray:
    """Each question's rank (0 = first) of its own target (column ``own[i]`` of row ``i`` of ``scores``): how many
    targets score higher, only those of its own group when ``groups`` (the questions') and ``target_groups``
    are given."""
    mine = scores[np.arange(len(scores)), own]
    above = scores > mine[:, None]
    if groups is not None:
        above &= groups[:, None] == target_groups[None, :]
    return above.sum(axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", choices=ENGINES, default=DEFAULT_ENGINE)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--pairs", type=int, default=None, help="only the first N sentence pairs (a smoke run)")
    args = parser.parse_args()

    config = IndexConfig(engine=args.engine)
    embedder = make_embedder(config, threads=args.threads)
    centering = LanguageCentering(language_reference(embedder, config)["passages"])  # as a build centers
    texts = {"lo": [normalize_text(line.rstrip("\n")) for line in open(DATA / "ntrex-lao.txt", encoding="utf-8")][:args.pairs],
             "en": [line.rstrip("\n") for line in open(DATA / "ntrex-eng.txt", encoding="utf-8")][:args.pairs]}
    stories = np.array([line.strip() for line in open(DATA / "ntrex-documents.txt", encoding="utf-8")][:args.pairs])
    plain = np.array([not re.search(r"[A-Za-z0-9]", lo) for lo in texts["lo"]])  # nothing shared to match on

    def encoded(lang: str, as_question: bool) -> np.ndarray:
        vectors = (embedder.embed_queries if as_question else embedder.embed_passages)(texts[lang])
        return centering.apply(vectors, [lang] * len(vectors))

    rows = {}
    print(f"{len(stories)} sentence pairs, {len(set(stories))} stories, {int(plain.sum())} with no Latin letter or digit")
    print("| direction | hit@1 / mrr, all | hit@1 / mrr, within its story | hit@1, no names or digits | mean cosine |")
    print("|---|---|---|---|---|")
    for source, target in (("lo", "en"), ("en", "lo")):
        questions, passages = encoded(source, True), encoded(target, False)
        scores, pairs = questions @ passages.T, np.arange(len(questions))
        everywhere, within = ranks(scores, pairs), ranks(scores, pairs, stories, stories)
        plain_ranks = ranks(scores[np.ix_(plain, plain)], np.arange(int(plain.sum())))
        row = {"hit1": float((everywhere == 0).mean()), "mrr": float((1 / (everywhere + 1)).mean()),
               "hit1_story": float((within == 0).mean()), "mrr_story": float((1 / (within + 1)).mean()),
               "hit1_plain": float((plain_ranks == 0).mean()), "plain_pairs": int(plain.sum()),
               "cosine": float((questions * passages).sum(axis=1).mean())}
        rows[f"{source}->{target}"] = row
        print(f"| {source}->{target} | {row['hit1']:.3f} / {row['mrr']:.3f} | {row['hit1_story']:.3f} / "
              f"{row['mrr_story']:.3f} | {row['hit1_plain']:.3f} | {row['cosine']:.3f} |", flush=True)
    # a sentence -> the passage of the other language that holds its translation
    passage_of = np.zeros(len(stories), np.int64)
    passage_story, joined = [], {"lo": [], "en": []}
    for story in dict.fromkeys(stories):
        lines = np.flatnonzero(stories == story)
        for start in range(0, len(lines), PASSAGE_SENTENCES):
            part = lines[start:start + PASSAGE_SENTENCES]
            passage_of[part] = len(passage_story)
            passage_story.append(story)
            for lang in joined:
                joined[lang].append(" ".join(texts[lang][i] for i in part))
    passage_story = np.array(passage_story)
    print(f"\n| a sentence -> the passage holding its translation ({len(passage_story)} passages of {PASSAGE_SENTENCES} "
          "sentences) | hit@1 / mrr, all | hit@1 / mrr, within its story |")
    print("|---|---|---|")
    for source, target in (("lo", "en"), ("en", "lo"), ("en", "en"), ("lo", "lo")):
        vectors = np.asarray(embedder.embed_queries(texts[source]), np.float32)
        if source == "lo":  # searched as a search does: with the question's Thai reading
            thai = embedder.embed_queries([read_as_thai(t) for t in texts[source]])
            vectors = with_thai_readings(vectors, dict(enumerate(thai)))
        questions = centering.apply(vectors, [source] * len(vectors))
        passages = centering.apply(embedder.embed_passages(joined[target]), [target] * len(passage_story))
        scores = questions @ passages.T
        everywhere, within = ranks(scores, passage_of), ranks(scores, passage_of, stories, passage_story)
        row = {"hit1": float((everywhere == 0).mean()), "mrr": float((1 / (everywhere + 1)).mean()),
               "hit1_story": float((within == 0).mean()), "mrr_story": float((1 / (within + 1)).mean())}
        rows[f"{source}->{target} passage"] = row
        print(f"| {source}->{target} | {row['hit1']:.3f} / {row['mrr']:.3f} | {row['hit1_story']:.3f} / {row['mrr_story']:.3f} |",
              flush=True)
    if args.json:
        args.json.write_text(json.dumps({"engine": args.engine, "model": embedder.model_id, "pairs": len(stories),
                                         "directions": rows}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
