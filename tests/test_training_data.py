"""The written training data (train/data/): it parses, its answers are where it says, and it copies nothing of corpus/ or eval/.

No model: these are checks on files. The leak check reads every text file under corpus/ and eval/
(the bundled report, the gold sets, the dev library's reports) once per session.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "train" / "data"
sys.path.insert(0, str(ROOT))

from train.overlap import LAO_CHARS, WORDS, Reference, norm, reference_files  # noqa: E402


def _rows(name: str) -> list[dict]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def passages() -> dict[str, dict]:
    rows = _rows("passages-en.jsonl") + _rows("passages-lo.jsonl")
    ids = [p["id"] for p in rows]
    assert len(ids) == len(set(ids)), "passage ids repeat"
    return {p["id"]: p for p in rows}


@pytest.fixture(scope="module")
def questions() -> list[dict]:
    return _rows("questions.jsonl")


@pytest.fixture(scope="module")
def reference() -> Reference:
    return Reference(reference_files(ROOT))


def test_passage_files_have_their_fields_and_language(passages):
    for p in passages.values():
        assert set(p) == {"id", "doc", "source", "text"}, p["id"]
        assert p["id"].startswith(p["doc"] + "#") and p["text"].strip() and p["source"].strip()
        lao = sum("\u0e80" <= c <= "\u0eff" for c in p["text"])
        assert (lao > 0) == p["doc"].startswith("lo-"), f"{p['id']}: language does not match its file"


def test_questions_have_their_fields_and_unique_ids(questions, passages):
    assert len({q["id"] for q in questions}) == len(questions)
    assert len({norm(q["question"]) for q in questions}) == len(questions), "a question is written twice"
    for q in questions:
        assert set(q) == {"id", "lang", "question", "passage", "answer", "negatives"}, q["id"]
        assert q["lang"] in {"lo", "en"} and q["passage"] in passages, q["id"]
        has_lao = any("\u0e80" <= c <= "\u0eff" for c in q["question"])
        assert has_lao == (q["lang"] == "lo"), f"{q['id']}: lang does not match the question's script"


def test_answer_is_in_its_passage_and_not_in_its_negatives(questions, passages):
    for q in questions:
        answer = norm(q["answer"])
        assert answer, q["id"]
        assert answer in norm(passages[q["passage"]]["text"]), f"{q['id']}: answer not in its passage"
        assert 1 <= len(q["negatives"]) <= 3 and q["passage"] not in q["negatives"], q["id"]
        for neg in q["negatives"]:
            assert passages[neg]["doc"] == passages[q["passage"]]["doc"], f"{q['id']}: negative {neg} of another doc"
            assert answer not in norm(passages[neg]["text"]), f"{q['id']}: negative {neg} holds the answer"


def test_the_leak_check_finds_a_copied_run(reference):
    """A run copied from the bundled report is caught; so is a run of Lao from the dev library."""
    words = (ROOT / "corpus" / "laos-tip-2022-voa.txt").read_text(encoding="utf-8").split()
    start = len(words) // 2
    assert reference.leaks("Question: " + " ".join(words[start:start + WORDS]) + " ?")
    assert not reference.leaks(" ".join(words[start:start + WORDS - 1]))
    lao = "".join((ROOT / "eval" / "library" / "reports" / "udhr-lo.md").read_text(encoding="utf-8").split())
    i = next(i for i, c in enumerate(lao) if "\u0e80" <= c <= "\u0eff") + 200
    assert reference.leaks(lao[i:i + LAO_CHARS])


def test_no_training_text_shares_a_run_with_corpus_or_eval(questions, passages, reference):
    leaks = [p["id"] for p in passages.values() if reference.leaks(p["text"])]
    leaks += [q["id"] for q in questions if reference.leaks(q["question"])]
    assert not leaks, f"share a run of {WORDS} words or {LAO_CHARS} Lao characters with corpus/ or eval/: {leaks[:20]}"


def test_counts_meet_the_issue(questions, passages):
    """Issue 40 part 5: 1,500 questions; 1,000 in Lao, 600 of them answered by English; 200 English answered by Lao."""
    pairs: dict[str, int] = {}
    for q in questions:
        side = "lo" if passages[q["passage"]]["doc"].startswith("lo-") else "en"
        pairs[f"{q['lang']}->{side}"] = pairs.get(f"{q['lang']}->{side}", 0) + 1
    assert len(questions) >= 1500, pairs
    assert pairs.get("lo->en", 0) + pairs.get("lo->lo", 0) >= 1000, pairs
    assert pairs.get("lo->en", 0) >= 600 and pairs.get("en->lo", 0) >= 200, pairs
    assert pairs.get("en->en", 0) > 0 and pairs.get("lo->lo", 0) > 0, pairs


def test_readme_names_each_file_with_its_hash():
    """train/data/README.md records the SHA-256 of every data file as it is now."""
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    for path in sorted(DATA.glob("*.jsonl")):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert f"`{path.name}`" in readme and digest in readme, f"README lacks {path.name} or its SHA-256 {digest}"
