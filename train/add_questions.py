"""Append a batch of written questions to train/data/questions.jsonl.

    python train/add_questions.py BATCH.tsv

A batch line is ``passage_id<TAB>question<TAB>answer`` (answer: the answer's exact words
in that passage); after a line ``@doc DOC`` a bare number N stands for ``DOC#N``. The question's language is read from its script; its negatives are one
to three other passages of the same document that do not hold the answer, picked with a
seed from the question's id so a rerun picks the same ones. A line whose answer is not in
its passage, or whose question shares a run with corpus/ or eval/, is refused with a message
and nothing of the batch is written.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from train.overlap import Reference, norm, reference_files  # noqa: E402

DATA = ROOT / "train" / "data"


def load_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def lang_of(text: str) -> str:
    lao = sum("\u0e80" <= c <= "\u0eff" for c in text)
    return "lo" if lao >= 0.3 * sum(c.isalpha() for c in text) else "en"


def negatives(qid: str, passage: dict, answer: str, by_doc: dict[str, list[dict]]) -> list[str]:
    rng = random.Random(qid)
    pool = [p["id"] for p in by_doc[passage["doc"]]
            if p["id"] != passage["id"] and norm(answer) not in norm(p["text"])]
    return sorted(rng.sample(pool, min(len(pool), rng.randint(1, 3))))


def main() -> None:
    passages = load_jsonl(DATA / "passages-en.jsonl") + load_jsonl(DATA / "passages-lo.jsonl")
    by_id = {p["id"]: p for p in passages}
    by_doc: dict[str, list[dict]] = {}
    for p in passages:
        by_doc.setdefault(p["doc"], []).append(p)
    out_path = DATA / "questions.jsonl"
    done = load_jsonl(out_path)
    seen = {q["question"] for q in done}
    ref = Reference(reference_files(ROOT))
    rows, errors = [], []
    doc = ""
    for n, line in enumerate(Path(sys.argv[1]).read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("@doc "):
            doc = line.split()[1]
            continue
        if not line.strip():
            continue
        pid, question, answer = (s.strip() for s in line.split("\t"))
        if pid.isdigit():
            pid = f"{doc}#{pid}"
        passage = by_id.get(pid)
        if passage is None:
            errors.append(f"line {n}: no passage {pid}")
        elif norm(answer) not in norm(passage["text"]):
            errors.append(f"line {n}: answer {answer!r} not in {pid}")
        elif question in seen or ref.leaks(question):
            errors.append(f"line {n}: question repeated or shares a run with corpus/eval")
        else:
            seen.add(question)
            qid = f"q{len(done) + len(rows) + 1:04d}"
            rows.append({"id": qid, "lang": lang_of(question), "question": question, "passage": pid,
                         "answer": answer, "negatives": negatives(qid, passage, answer, by_doc)})
    if errors:
        sys.exit("\n".join(errors) + "\nnothing written")
    with out_path.open("a", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(rows)} questions added, {len(done) + len(rows)} in all")


if __name__ == "__main__":
    main()
