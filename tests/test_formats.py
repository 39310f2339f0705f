"""The project's own formats give back exactly what was written, for hostile text and ids (hypothesis makes them):
line breaks of every kind, bidi overrides, zero-width characters, tabs, quotes, backslashes, lone surrogates, Lao.

Gold JSON Lines, TREC runs and qrels, the CSV and JSON exports, the request log, audit.log and passages.jsonl.
No model: these are the files' readers and writers themselves.
"""

from __future__ import annotations

import csv
import json
import logging
import unicodedata
from pathlib import Path
from types import SimpleNamespace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search.display import bounded, escape, json_line, name_too_long, unescape, visible

HOSTILE = "\n\r\t\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\u202e\u202d\u2066\u200b\u200d\ufeff\x00\\\"',%=+-@ #\x7f"
LAO = "ກຂຄງຈສຊຍດຕຖທນບປຜຝພຟມຢຣລວຫອຮະາິີຶືຸູເແໂໃໄ່້໊໋໐໑໒"
# Any Unicode text, leaning on the characters that break line-based formats and fool readers.
text = st.text(st.one_of(st.sampled_from(HOSTILE + LAO), st.characters(codec="utf-8")), max_size=40)  # no surrogate
words = text.filter(lambda t: t.strip() != "")
with_surrogates = st.text(st.one_of(st.sampled_from(HOSTILE), st.characters(codec=None, categories=None)), max_size=20)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(value=with_surrogates)
def test_escape_gives_back_any_text_in_one_visible_line(value):
    line = escape(value)
    assert unescape(line) == value
    assert len(line.splitlines()) <= 1 and "\t" not in line and not _invisible(line) and not _invisible(visible(value))


def _invisible(text: str) -> list[str]:
    return [c for c in text if unicodedata.category(c) in ("Cf", "Zl", "Zp", "Cc", "Cs")]


def test_a_right_to_left_override_is_shown_not_obeyed():
    from search.cite import Citation, format_citation, human_citation

    name = "photo\u202egpj.txt"
    citation = Citation(name, name, None, 3, 0, 10)
    assert "photo\\u202egpj.txt" in format_citation(citation) and "\u202e" not in format_citation(citation)
    assert "photo\\u202egpj.txt" in human_citation(citation)
    assert visible("ລາຍງານ ປີ 2023.pdf") == "ລາຍງານ ປີ 2023.pdf"  # Lao and spaces stay as they are


def test_names_longer_than_a_file_name_are_refused_and_log_fields_are_bounded():
    assert name_too_long("ລ" * 85) is None  # 255 bytes
    assert "at most 255 bytes" in name_too_long("ລ" * 86) and "258" in name_too_long("ລ" * 86)
    assert len(name_too_long("x" * 2_000_000)) < 300
    assert len(bounded("\u202e" * 2_000_000)) < 10_000


@FAST
@given(records=st.lists(st.tuples(words, words, words, words), min_size=1, max_size=5))
def test_audit_log_gives_back_every_field(tmp_path_factory, records):
    from search.serve import audit

    folder = tmp_path_factory.mktemp("audit")
    for user, action, file, outcome in records:
        audit.record(folder, user, action, file, outcome)
    back = audit.read(folder)
    assert [(r["user"], r["action"], r["file"], r["outcome"]) for r in back] == records
    assert len((folder / "audit.log").read_text(encoding="utf-8").splitlines()) == len(records)


@FAST
@given(question=with_surrogates, user=with_surrogates, refusal=with_surrogates)
def test_request_log_lines_are_json_that_gives_back_the_question(tmp_path_factory, question, user, refusal):
    from search.errors import QueryError
    from search.serve.requestlog import RequestLog

    class Searcher:  # the log's own logic: what the search says is given, not computed
        def __init__(self):
            self.calls = 0

        def search(self, question, **kwargs):
            self.calls += 1
            if self.calls == 2:
                raise QueryError(refusal)
            return SimpleNamespace(question_lang="lo", hits=[])

    path = tmp_path_factory.mktemp("requests") / "requests.jsonl"
    logger = logging.getLogger(f"test.formats.{id(path)}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = logging.FileHandler(path, encoding="utf-8")
    logger.addHandler(handler)
    try:
        log, searcher = RequestLog(questions=True, logger=logger), Searcher()
        log.search(searcher, question, endpoint="page", user=user, k=3, lang=None, docs=None)
        try:
            log.search(searcher, question, endpoint="api", user=user, k=3, lang=None, docs=None)
        except QueryError:
            pass
    finally:
        logger.removeHandler(handler)
        handler.close()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    ok, refused = map(json.loads, lines)
    assert ok["question"] == refused["question"] == question and ok["user"] == user
    assert refused["outcome"] == "refused: " + bounded(refusal)


@FAST
@given(questions=st.lists(st.tuples(words, words, st.lists(words, min_size=1, max_size=3)), min_size=1, max_size=4,
                          unique_by=lambda q: q[0]))
def test_gold_json_lines_give_back_every_question_and_answer(tmp_path_factory, questions):
    from search.evaluation.gold import load_gold

    path = tmp_path_factory.mktemp("gold") / "gold.jsonl"
    lines = [json.dumps({"id": qid, "question": q, "answers": answers}, ensure_ascii=False)  # as people write them
             for qid, q, answers in questions]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    loaded, problems = load_gold(path)
    assert problems == []
    assert [(g.id, g.question, list(g.answers)) for g in loaded] == questions


@FAST
@given(ranked=st.dictionaries(words, st.lists(words, min_size=1, max_size=3, unique=True), min_size=1, max_size=3),
       tag=words)
def test_trec_runs_and_qrels_give_back_every_id(tmp_path_factory, ranked, tag):
    from search.evaluation.trec import from_trec_id, write_qrels, write_run

    folder = tmp_path_factory.mktemp("trec")
    run = SimpleNamespace(ranked={q: [(pid, 1.0) for pid in ids] for q, ids in ranked.items()}, judged=ranked,
                          retriever="dense")
    run_lines = write_run(folder / "run.txt", run, tag=tag).read_text(encoding="utf-8").split("\n")[:-1]
    fields = [line.split() for line in run_lines]
    assert all(len(f) == 6 for f in fields)
    back: dict[str, list[str]] = {}
    for qid, _, pid, _, _, t in fields:
        back.setdefault(from_trec_id(qid), []).append(from_trec_id(pid))
        assert from_trec_id(t) == tag
    assert back == ranked
    qrels = [line.split() for line in write_qrels(folder / "qrels.txt", run).read_text(encoding="utf-8").split("\n")[:-1]]
    assert all(len(f) == 4 for f in qrels)
    assert {(from_trec_id(q), from_trec_id(p)) for q, _, p, _ in qrels} == {(q, p) for q, ids in ranked.items() for p in ids}


@FAST
@given(rows=st.lists(st.fixed_dictionaries({"question": text, "text": text, "document": words, "title": text,
                                            "section": text, "link": text}), min_size=1, max_size=3))
def test_csv_and_json_exports_give_back_every_text(tmp_path_factory, rows):
    from search.serve.export import COLUMNS, FORMULA_STARTS, write_csv, write_json

    folder = tmp_path_factory.mktemp("export")
    full = [{**{c: "" for c in COLUMNS}, **row, "rank": i + 1} for i, row in enumerate(rows)]
    with open(write_csv(folder / "r.csv", full), encoding="utf-8-sig", newline="") as f:
        back = list(csv.DictReader(f))
    for row, read in zip(full, back, strict=True):
        for key, value in row.items():
            value = str(value)
            assert read[key] == ("'" + value if value[:1] in FORMULA_STARTS else value)  # formulas made inert
    result = SimpleNamespace(question=rows[0]["question"], question_lang="en", answer=None)
    assert "'-\\udcff" in _csv_text(folder, [{**full[0], "text": "-\udcff"}])  # not UTF-8: written as its escape
    data = json.loads(write_json(folder / "r.json", result, full).read_text(encoding="utf-8"))
    assert data["results"] == full and data["question"] == rows[0]["question"]


@FAST
@given(value=st.dictionaries(words, with_surrogates, max_size=4))
def test_json_lines_are_one_line_for_splitlines_and_give_back_any_value(value):
    line = json_line(value)
    assert len(line.splitlines()) == 1 and json.loads(line) == value
    line.encode("utf-8")  # no lone surrogate left raw


@FAST
@given(items=st.lists(st.tuples(words, with_surrogates, with_surrogates), min_size=1, max_size=4))
def test_passages_jsonl_gives_back_any_text_and_id(tmp_path_factory, items):
    """``passages.jsonl`` as a build writes it and a search reads it (by byte offsets, one line a passage)."""
    import numpy as np

    from search.cite import Citation
    from search.index.publish import _write_lines
    from search.index.records import Passage, PassageList

    passages = [Passage(f"{document}#{n}", text, "lo", Citation(document, title, title or None, n + 1, 0, len(text)))
                for n, (document, text, title) in enumerate(items)]
    path = tmp_path_factory.mktemp("passages") / "passages.jsonl"
    carried = SimpleNamespace(runs=lambda: [(0, len(passages))], passages=None)
    lengths = _write_lines(path, passages, carried)
    assert path.read_bytes().count(b"\n") == len(passages)
    assert len(path.read_text(encoding="utf-8").splitlines()) == len(passages)
    table = SimpleNamespace(offsets=np.concatenate([[0], np.cumsum(lengths)]))
    assert list(PassageList(path, table)) == passages


def _csv_text(folder: Path, rows: list[dict]) -> str:
    from search.serve.export import write_csv

    return write_csv(folder / "s.csv", rows).read_text(encoding="utf-8-sig")
