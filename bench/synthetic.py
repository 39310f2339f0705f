"""A deterministic synthetic library made from the bundled report, for benchmarks.

Each synthetic report is a title line and paragraphs of sentences drawn from the bundled
report's paragraphs of one language (Lao or English, in the bundled report's proportion),
shuffled, with every number changed. The same seed and size always give the same files.

    python bench/synthetic.py --passages 2000 --out /tmp/library   # about 2,000 passages
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

from search.ingest.chunk import sentence_spans
from search.ingest.read import read_document
from search.ingest.lang import LAO, detect_lang

BUNDLED = Path(__file__).resolve().parent.parent / "corpus" / "laos-tip-2022-voa.txt"
PARAGRAPHS_PER_REPORT = 40
_DIGITS = re.compile(r"[0-9\u0ed0-\u0ed9]+")


def sentence_pools(source: Path = BUNDLED) -> dict[str, list[str]]:
    """The bundled report's sentences by language (``lo``, ``en``), in reading order."""
    doc = read_document(source, source.name)
    pools: dict[str, list[str]] = {}
    for para in doc.paragraphs:
        text = doc.text[para.start:para.end]
        lang = LAO if detect_lang(text) == LAO else "en"
        pools.setdefault(lang, []).extend(text[a:b] for a, b in sentence_spans(text) if b - a > 20)
    return pools


def _vary_numbers(sentence: str, rng: random.Random) -> str:
    """Each run of digits replaced by another number of the same length (Lao digits stay Lao)."""
    def other(match: re.Match) -> str:
        lao = "\u0ed0" <= match.group()[0] <= "\u0ed9"
        digits = "".join(str(rng.randrange(10)) for _ in match.group())
        return "".join(chr(0x0ED0 + int(d)) for d in digits) if lao else digits
    return _DIGITS.sub(other, sentence)


def write_library(out: Path, passages: int, *, seed: int = 0) -> list[Path]:
    """Write synthetic reports into ``out`` until they hold about ``passages`` paragraphs; return their paths.

    Paragraphs hold 1–4 sentences, so most become one passage each when indexed.
    """
    rng = random.Random(seed)
    pools = sentence_pools()
    weights = {lang: len(pool) for lang, pool in pools.items()}
    out.mkdir(parents=True, exist_ok=True)
    paths, made = [], 0
    while made < passages:
        lang = rng.choices(list(weights), weights=list(weights.values()))[0]
        pool = pools[lang]
        title = ("ບົດລາຍງານ" if lang == LAO else "Report") + f" {len(paths) + 1}"
        paragraphs = []
        for _ in range(min(PARAGRAPHS_PER_REPORT, passages - made)):
            picked = [_vary_numbers(rng.choice(pool), rng) for _ in range(rng.randint(1, 4))]
            paragraphs.append(" ".join(picked))
        made += len(paragraphs)
        path = out / f"synthetic-{len(paths) + 1:05d}-{lang}.txt"
        path.write_text(title + "\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=2000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    paths = write_library(args.out, args.passages, seed=args.seed)
    print(f"{len(paths)} reports in {args.out}")


if __name__ == "__main__":
    main()
