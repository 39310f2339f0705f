"""Rewrite the measured figures of README.md and docs/ from a real run, so they are what a fresh clone prints.

    python bench/readme.py [--index .index-readme] [--plain-index .index-plain] [--check] [--scale-only]

Each figure block stands between ``<!-- readme:NAME -->`` and ``<!-- /readme:NAME -->``
in the file that holds it: the README keeps a short summary and the ``query`` sample,
the long tables are in docs/ (``BLOCKS``, ``PLAIN_BLOCKS`` and ``RECORDED_BLOCKS`` map
each file to its blocks). This script makes every block from an index of the bundled
report alone (built first if missing, from a copy of it beside the index; the adapter
block also from an index made with the plain model, ``build --no-adapter``) and writes
them in; ``--check`` only compares, and exits 1 naming the blocks that differ. Reports a
user added to ``corpus/`` (the app's default folder) play no part, and an ``--index``
that holds any is refused. ``tests/test_readme.py`` makes the same blocks from the test
session's index of the bundled report and checks them.

The scale tables (docs/scaling.md) come from the recorded runs of
``bench/scale.py`` in ``bench/results/`` (a million passages take an hour to build,
so they are recorded, not re-run by the tests; the tests check the tables against them).
So do the table alone and in the library (docs/quality.md) and the README's summary, from
``bench/library.py``'s recorded run (``bench/results/library.json``; the tests check its
"alone" half against a fresh run).
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import sys
import textwrap
from pathlib import Path

from search import Searcher, build_index
from search.retrieve.answer import AGREED_FLOOR, AGREED_MARGIN, ANSWER_THRESHOLD, MARGIN, confident
from search.cite import format_citation
from search.retrieve.engine import DEFAULT_RETRIEVER, RETRIEVERS
from search.index.records import IndexConfig
from search.errors import IndexFormatError, IndexNotFoundError
from search.evaluation.evaluate import EvalRun, evaluate, format_table
from search.evaluation.gold import load_gold

sys.path.insert(0, str(Path(__file__).resolve().parent))
import library as library_bench  # noqa: E402 - bench/library.py, beside this file

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
SCALING, QUALITY, RETRIEVAL, MODEL = DOCS / "scaling.md", DOCS / "quality.md", DOCS / "retrieval.md", DOCS / "model.md"
BUILDING, READING, API = DOCS / "building.md", DOCS / "reading.md", DOCS / "api.md"
SCALE_RUNS = ROOT / "bench" / "results"  # bench/scale.py --json bench/results/scale-N.json
DEV_SET = ROOT / "eval" / "gold" / "laos-tip-2022.jsonl"
LO_EN_SET = ROOT / "eval" / "gold" / "laos-tip-2022-lo-en.jsonl"
NO_ANSWER = ROOT / "eval" / "no-answer.jsonl"
SAMPLE_QUESTION = "How many police officers were trained on anti-trafficking laws?"
THRESHOLDS = (None, 0.54, 0.58, ANSWER_THRESHOLD, 0.66, 0.70)


@functools.lru_cache(maxsize=None)
def _run(searcher: Searcher, gold: Path, retriever: str = DEFAULT_RETRIEVER) -> EvalRun:
    """A gold set through a retriever, once per searcher: the tables share the runs."""
    questions, problems = load_gold(gold)
    return evaluate(searcher, questions, retriever=retriever, k=10, problems=problems)


def _cell(run: EvalRun, group: tuple[str, str | None], *, mrr: bool = True) -> str:
    """hit@5 / mrr@10 of a group of a run (``("all", None)``, ``("lang", "lo")``, ``("pair", "lo->en")``)."""
    kind, name = group
    figures = run.overall if kind == "all" else (run.by_lang if kind == "lang" else run.by_pair)[name]
    return f"{figures['hit@5']:.3f} / {figures['mrr@10']:.3f}" if mrr else f"{figures['hit@5']:.3f}"


_GROUPS = (("all", ("all", None)), ("Lao questions", ("lang", "lo")), ("English questions", ("lang", "en")),
           ("en->en", ("pair", "en->en")), ("en->lo", ("pair", "en->lo")), ("lo->en", ("pair", "lo->en")),
           ("lo->en+lo", ("pair", "lo->en+lo")))


def ablation_table(searcher: Searcher) -> str:
    """hit@5 / mrr@10 of every retriever, by question group, on both dev sets (``eval --retriever all``)."""
    out = ["| set, group | n | " + " | ".join(RETRIEVERS) + " |", "|---|---|" + "---|" * len(RETRIEVERS)]
    for gold, label, groups in ((DEV_SET, "dev", _GROUPS), (LO_EN_SET, "second, lo->en", _GROUPS[:1])):
        runs = [_run(searcher, gold, r) for r in RETRIEVERS]
        for name, group in groups:
            n = runs[0].overall["n"] if group[0] == "all" else (runs[0].by_lang if group[0] == "lang" else runs[0].by_pair)[group[1]]["n"]
            cells = [_cell(run, group) for run in runs]
            cells[-1] = f"**{cells[-1]}**" if name == "all" else cells[-1]
            out.append(f"| {label}: {name} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def adapter_table(searcher: Searcher, plain: Searcher) -> str:
    """The model with and without the Lao adapter, plain dense and the default retriever, on both dev sets."""
    head = ("| model | retriever | dev: all | Lao | English | lo->en | lo->en+lo | en->lo | second set (lo->en) |",
            "|---|---|---|---|---|---|---|---|---|")
    out = list(head)
    for label, s in (("plain e5-small (`build --no-adapter`)", plain), ("with the Lao adapter (default)", searcher)):
        for retriever in ("dense-raw", DEFAULT_RETRIEVER):
            dev, second = _run(s, DEV_SET, retriever), _run(s, LO_EN_SET, retriever)
            cells = [_cell(dev, g) for _, g in (_GROUPS[0], _GROUPS[1], _GROUPS[2], _GROUPS[5], _GROUPS[6], _GROUPS[4])]
            out.append(f"| {label} | {retriever} | " + " | ".join(cells) + f" | {_cell(second, ('all', None))} |")
    return "\n".join(out)


def eval_table(searcher: Searcher, gold: Path = DEV_SET) -> str:
    """What ``python -m search eval eval/gold/laos-tip-2022.jsonl`` prints."""
    return "```\n" + format_table(_run(searcher, gold)) + "\n```"


def eval_table_lo_en(searcher: Searcher) -> str:
    """What ``python -m search eval eval/gold/laos-tip-2022-lo-en.jsonl`` prints (the second dev set)."""
    return eval_table(searcher, LO_EN_SET)


def query_sample(searcher: Searcher) -> str:
    """What ``python -m search query "How many police officers were trained on anti-trafficking laws?" -k 1`` prints (passage cut)."""
    result = searcher.search(SAMPLE_QUESTION, k=1, highlight=True)
    hit, answer = result.hits[0], result.answer
    wrap = lambda text: textwrap.shorten(text, 260, placeholder=" ...")  # noqa: E731
    lines = [f'$ python -m search query "{SAMPLE_QUESTION}" -k 1', f"question language: {result.question_lang}", ""]
    if answer:
        lines += [f"answer (from #{answer.rank}, {format_citation(answer.citation)}):",
                  textwrap.fill(wrap(answer.text), 100, initial_indent="   ", subsequent_indent="   "), ""]
    lines += [f"{hit.rank}. [{hit.score:.3f}] {hit.lang} · {format_citation(hit.citation)}",
              textwrap.fill(wrap(hit.text), 100, initial_indent="   ", subsequent_indent="   ")]
    return "```console\n" + "\n".join(lines) + "\n```"


def answer_threshold_table(searcher: Searcher) -> str:
    """Right / wrong / empty answer boxes on both dev sets, and unanswerable questions answered, by rule:
    cosine thresholds alone, then the shipped rule (the threshold, or the three lists agreeing, and a margin over
    the next hits; its row counts what the box shows)."""
    sets = [_run(searcher, gold).questions for gold in (DEV_SET, LO_EN_SET)]
    unanswerable = [json.loads(line)["question"] for line in NO_ANSWER.read_text(encoding="utf-8").splitlines() if line.strip()]
    results = searcher.search_batch(unanswerable, k=5, highlight=True)
    negatives = [(r.candidate.confidence, r.candidate.agreed) for r in results]
    out = [f"| rule | dev set: right / wrong / empty ({len(sets[0])}) | second set, Lao → English ({len(sets[1])}) "
           f"| unanswerable questions answered ({len(negatives)}) |", "|---|---|---|---|"]
    rules = [("none", lambda conf, agreed: True)]
    rules += [(f"cosine ≥ {t:.2f}", lambda conf, agreed, t=t: confident(conf, agreed, t, agreement=False))
              for t in THRESHOLDS if t is not None]
    rules.append((f"cosine ≥ {ANSWER_THRESHOLD:.2f}, or the three lists agree (cosine ≥ {AGREED_FLOOR:g}); and {MARGIN:.2f} over "
                  f"the next hits' best sentence ({AGREED_MARGIN:.2f} when the lists agree), never a title or heading "
                  "(shipped)", confident))
    for i, (name, show) in enumerate(rules):
        shipped = i == len(rules) - 1  # what the box shows: also nothing the question names contradicted
        cells = [name]
        for rows in sets:
            held = [r["answer_holds"] for r in rows if (r["answer"] != "empty" if shipped else
                    r["answer_confidence"] is not None and show(r["answer_confidence"], r["answer_agreed"]))]
            cells.append(f"{sum(held)} / {len(held) - sum(held)} / {len(rows) - len(held)}")
        cells.append(str(sum(r.answer is not None for r in results) if shipped else
                         sum(show(conf, agreed) for conf, agreed in negatives)))
        if shipped:
            cells = [f"**{c}**" for c in cells]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def _scale_runs() -> list[dict]:
    """The recorded ``bench/scale.py`` runs (``bench/results/scale-*.json``), smallest library first."""
    runs = [json.loads(p.read_text(encoding="utf-8")) for p in SCALE_RUNS.glob("scale-*.json")]
    return sorted(runs, key=lambda run: run["passages"])


def _scale_cells(run: dict) -> dict[str, str]:
    return {"passages": f"{run['passages']:,}",
            "search": f"{run['search_ms']['p50']:.2f} / {run['search_ms']['p95']:.2f} ms",
            "recall": f"{run['ann_recall_at_100']} / {run['units_recall_at_100']}",
            "loaded": f"{run['rss_bytes_per_passage'] / 1000:.1f} KB",
            "searched": f"{run['anon_searched_bytes_per_passage'] / 1000:.1f} + "
                        f"{(run['rss_searched_bytes_per_passage'] - run['anon_searched_bytes_per_passage']) / 1000:.1f} KB",
            "mapped": f"{run['mapped_bytes_per_passage'] / 1000:.1f} KB",
            "disk": f"{run['disk_bytes_per_passage'] / 1000:.1f} KB",
            "load": f"{run['load_s']:.2f} s"}


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def scale_table() -> str:
    """docs/scaling.md's short table of search time, recall, memory, disk and load by library size."""
    lines = ["| passages | search p50 / p95 | recall@100 (passages / sentences) | memory per passage, loaded "
             "| after the dev questions (own + file pages) | disk per passage | load |",
             "|---|---|---|---|---|---|---|"]
    for run in _scale_runs():
        c = _scale_cells(run)
        lines.append(f"| {c['passages']} | {c['search']} | {c['recall']} | {c['loaded']} | {c['searched']} "
                     f"| {c['disk']} | {c['load']} |")
    return "\n".join(lines)


def scale_stages_table() -> str:
    """docs/scaling.md's table: the same runs with each stage's median and the build time."""
    lines = ["| passages | search p50 / p95 | BM25 | dense | sentence list | bridge | fusion "
             "| recall@100 passages / sentences | passage index | memory per passage, loaded "
             "| searched (own + file pages) | FAISS files | disk per passage | load | build without embedding |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for run in _scale_runs():
        c, stages = _scale_cells(run), run["stages_ms"]
        build = run.get("build_s_without_embedding")
        lines.append(f"| {c['passages']} | {c['search']} | "
                     + " | ".join(f"{stages[s]:.2f}" for s in ("bm25", "dense", "sentences", "bridge", "fusion"))
                     + f" | {c['recall']} | {run['dense_index']} | {c['loaded']} | {c['searched']} | {c['mapped']} "
                     + f"| {c['disk']} | {c['load']} | "
                     + (_duration(build) if build is not None else "not timed (index kept)") + " |")
    return "\n".join(lines)


LIBRARY_RUN = SCALE_RUNS / "library.json"  # bench/library.py --retrievers all --json bench/results/library.json


def library_run() -> dict:
    """The recorded ``bench/library.py`` run."""
    return json.loads(LIBRARY_RUN.read_text(encoding="utf-8"))


def library_table() -> str:
    """docs/quality.md's table: each retriever alone → in the library, from the recorded run."""
    return library_bench.table(library_run())


def library_figures() -> str:
    """docs/quality.md's sentence under that table: the default retriever's answer box and search time, alone and in
    the library, from the same recorded run."""
    run = library_run()
    row = run["retrievers"][DEFAULT_RETRIEVER]["library"]
    box = row["dev"]["answer_box"]
    shown, unanswerable = box["right"] + box["wrong"], len(row["unanswerable_answered"])
    latency = run["latency"]
    return (f"The answer box gives {box['wrong']} wrong answers of {shown} shown on the dev set in the library, and "
            f"{'none' if not unanswerable else unanswerable} for an unanswerable question. A search takes "
            f"{latency['library']['p50_ms']} ms p50 in the library against {latency['alone']['p50_ms']} alone (default "
            "retriever, one question at a time, both dev sets, one BLAS thread as the app runs).")


SERVE_RUN = SCALE_RUNS / "serve.json"  # bench/serve.py --json bench/results/serve.json
SERVE_PATHS = {"engine": "engine (no HTTP)", "api": "JSON API", "gradio-api": "Gradio endpoint `search`",
               "page": "the page's search (cards rendered)"}


def serve_table() -> str:
    """docs/api.md's table: one search end to end by path and concurrent clients, from the recorded run."""
    run = json.loads(SERVE_RUN.read_text(encoding="utf-8"))
    counts = list(run["paths"]["engine"])
    lines = ["| path | " + " | ".join(f"{n} client{'s' if n != '1' else ''}: p50 · q/s" for n in counts)
             + " | server's own p50, 1 client | errors |", "|---" * (len(counts) + 3) + "|"]
    for path, label in SERVE_PATHS.items():
        by = run["paths"][path]
        cells = [f"{by[n]['p50_ms']:.0f} ms · {by[n]['throughput_qps']:.1f}"
                 + ("" if n == counts[0] else f" ({by[n]['throughput_over_one_client']:.2f}×)") for n in counts]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {by[counts[0]]['server_p50_ms']:.0f} ms "
                     f"| {sum(by[n]['errors'] for n in counts)} |")
    return "\n".join(lines)


UPDATE_RUN = SCALE_RUNS / "update.json"  # bench/update.py --json bench/results/update.json


def update_table() -> str:
    """docs/building.md's table: adding and removing one report in a big library, from the recorded run."""
    run = json.loads(UPDATE_RUN.read_text(encoding="utf-8"))
    return "\n".join([
        "| library | report added, then removed | add | remove | the same library built from scratch, embedding aside "
        "| add, remove / scratch |",
        "|---|---|---|---|---|---|",
        f"| {run['passages']:,} passages | {run['report_passages']} passages | {run['add_s']:.1f} s | "
        f"{run['remove_s']:.1f} s | {run['scratch_s']:.0f} s | {run['add_over_scratch']:.3f}, {run['remove_over_scratch']:.3f} |",
    ])


PDF_RUN = SCALE_RUNS / "pdf.json"  # bench/pdf.py --json bench/results/pdf.json


def pdf_table() -> str:
    """docs/reading.md's table: how faithfully the test PDFs are read, from the recorded run."""
    rows = json.loads(PDF_RUN.read_text(encoding="utf-8"))
    lines = ["| document | pages | character error rate | headings found | header or footer lines in passages | pages/s |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['document']} ({row['language']}) | {row['pages']} | {row['cer']:.2%} | "
                     f"{row['heading_recall']:.0%} | {row['furniture_in_passages']} | {row['pages_per_s']:.0f} |")
    return "\n".join(lines)


OCR_RUN = SCALE_RUNS / "ocr.json"  # bench/ocr.py --dev --json bench/results/ocr.json
HOW_SCANNED = {"flat": "flat, black and white", "phone": "phone photo: turned 2.5°, grey, noisy, JPEG",
               "columns": "two columns, then a Lao page (TIFF)"}


def ocr_table() -> str:
    """The README's table of scans read by OCR, and the dev sets on the bundled report's scanned English, from
    the recorded run."""
    run = json.loads(OCR_RUN.read_text(encoding="utf-8"))
    lines = ["| scan | language | dpi | scanned | character error rate | Tesseract's confidence | pages/s |",
             "|---|---|---|---|---|---|---|"]
    for row in run["scans"]:
        confidence = " / ".join(f"{c:.0f}" for c in row["confidence"])
        lines.append(f"| {row['scan']} | {row['language']} | {row['dpi']} | {HOW_SCANNED[row['how']]} | {row['cer']:.2%} | "
                     f"{confidence} | {row['pages_per_s']:.2f} |")
    dev = run["dev"]
    first = {"en": "English", "lo": "Lao"}
    asked = "; ".join(f"the {first[q['language']]} question's passage is {_ordinal(q['rank'])}, cited at page {q['page']}"
                      for q in run["questions"])
    sets = dev["sets"]
    en, le = sets["laos-tip-2022.jsonl"], sets["laos-tip-2022-lo-en.jsonl"]
    lines += ["", f"Questions about a scanned PDF of the two 300 dpi pages among other reports: {asked}. The bundled "
              f"report with its English chapter printed and scanned at 300 dpi ({dev['scanned_pages']} A4 pages, read at "
              f"{dev['a4_pages_per_s']:.2f} pages/s; read again from the OCR cache in {dev['cached_read_s']:.1f} s, the same "
              f"text; rebuilt, {dev['rebuild']['embedded']} passages embedded): dev set hit@5 for English questions "
              f"{en['text_hit@5']['en']:.3f} as text, {en['scan_hit@5']['en']:.3f} scanned; all questions "
              f"{en['text_hit@5']['all']:.3f} / {en['scan_hit@5']['all']:.3f}; the Lao-to-English set "
              f"{le['text_hit@5']['all']:.3f} / {le['scan_hit@5']['all']:.3f}."]
    return "\n".join(lines)


def _ordinal(rank: int | None) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(rank, f"{rank}th") if rank else "not in the top 10"


LATENCY_RUN = SCALE_RUNS / "latency.json"  # bench/latency.py --repeat 3 --cold 3 --json bench/results/latency.json
ENGINE_ORDER = ("onnx-fp32", "onnx-int8", "torch")


def engines_table() -> str:
    """docs/model.md's table: each engine's ranking and speed on the dev set, from the recorded run."""
    run = json.loads(LATENCY_RUN.read_text(encoding="utf-8"))["engines"]
    lines = ["| engine | dev hit@5 / mrr@10 (all) | Lao questions | query encode + FAISS | default retriever (p90) "
             "| vs torch | one-shot `query` |", "|---|---|---|---|---|---|---|"]
    for engine in ENGINE_ORDER:
        e, q = run[engine], run[engine]["quality"]
        faster = f"{e['default_speedup_vs_torch']:.2f}× faster" if engine != "torch" else "1"
        name = f"`{engine}`" + (" (default)" if engine == IndexConfig.engine else "")
        lines.append(f"| {name} | {q['all']['hit@5']:.3f} / {q['all']['mrr@10']:.3f} | {q['lo']['hit@5']:.3f} / "
                     f"{q['lo']['mrr@10']:.3f} | {e['raw_p50_ms']:.1f} ms | {e['default_p50_ms']:.1f} ms "
                     f"({e['default_p90_ms']:.1f}) | {faster} | {e['cold_query_p50_ms'] / 1000:.1f} s |")
    return "\n".join(lines)


BUILD_RUNS = {"separate": SCALE_RUNS / "build-separate.json", "late": SCALE_RUNS / "build-late.json"}  # bench/build.py


def build_table() -> str:
    """docs/building.md's table: build throughput against a plain encode, per way of embedding sentences, recorded runs."""
    lines = ["| `build --sentence-vectors` | texts given to the model per passage | model tokens per passage token "
             "| build | plain encode | build / encode |", "|---|---|---|---|---|---|"]
    for mode, path in BUILD_RUNS.items():
        r = json.loads(path.read_text(encoding="utf-8"))
        name = f"`{mode}`" + (" (default)" if mode == IndexConfig.sentence_vectors else "")
        lines.append(f"| {name} | {r['texts_embedded_per_passage']:.2f} | {r['tokens_embedded_per_passage_token']:.2f} | "
                     f"{r['build_passages_per_s']:.1f} passages/s | {r['raw_encode_passages_per_s']:.1f} passages/s | "
                     f"{r['build_to_raw']:.2f} |")
    return "\n".join(lines)


def summary() -> str:
    """The README's short summary: the default retriever alone and in the dev library (hit@5, the answer box,
    search time) from the recorded library run, and the search time at the largest recorded scale."""
    run = library_run()
    row, builds, latency = run["retrievers"][DEFAULT_RETRIEVER], run["builds"], run["latency"]
    unanswerable = sum(1 for line in NO_ANSWER.read_text(encoding="utf-8").splitlines() if line.strip())
    dev, second = row["alone"]["dev"]["all"]["n"], row["alone"]["second"]["all"]["n"]
    rows = [(f"dev set, {dev} questions ({row['alone']['dev']['lo']['n']} in Lao): hit@5",
             lambda r: f"{r['dev']['all']['hit@5']:.3f}"),
            ("its Lao questions: hit@5", lambda r: f"{r['dev']['lo']['hit@5']:.3f}"),
            (f"second set, {second} Lao questions answered in English: hit@5", lambda r: f"{r['second']['all']['hit@5']:.3f}"),
            (f"answer box on the dev set: answers shown right / wrong ({dev} questions)",
             lambda r: f"{r['dev']['answer_box']['right']} / {r['dev']['answer_box']['wrong']}"),
            (f"unanswerable questions answered (of {unanswerable})", lambda r: str(len(r["unanswerable_answered"])))]
    lines = [f"| default retriever | the bundled report alone ({builds['alone']['passages']:,} passages) "
             f"| beside the dev library ({builds['library']['passages']:,} passages, {builds['library']['reports']} reports) |",
             "|---|---|---|"]
    lines += [f"| {label} | {cell(row['alone'])} | {cell(row['library'])} |" for label, cell in rows]
    for name in sorted(n for n in row["library"] if n.startswith("library-")):  # about the library's own reports
        run_ = row["library"][name]
        lines.append(f"| {name}, {run_['all']['n']} questions about the library's own reports ({run_['lo']['n']} in Lao): "
                     f"hit@5; answer box right / wrong | – | {run_['all']['hit@5']:.3f}; {run_['answer_box']['right']} / "
                     f"{run_['answer_box']['wrong']} |")
    lines.append(f"| search p50, one question | {latency['alone']['p50_ms']} ms | {latency['library']['p50_ms']} ms |")
    largest = _scale_runs()[-1]
    lines += ["", f"In a synthetic library of {largest['passages']:,} passages the search itself, the question's encoding "
                  f"aside, takes {largest['search_ms']['p50']:.1f} ms p50 ([docs/scaling.md](docs/scaling.md))."]
    return "\n".join(lines)


# Each file's blocks: made from the index (BLOCKS), from it and the plain model's index (PLAIN_BLOCKS),
# or from the runs recorded in bench/results/ (RECORDED_BLOCKS).
BLOCKS = {README: {"query-sample": query_sample},
          QUALITY: {"eval-table": eval_table, "eval-table-lo-en": eval_table_lo_en, "answer-threshold": answer_threshold_table},
          RETRIEVAL: {"ablation": ablation_table}}
PLAIN_BLOCKS = {MODEL: {"adapter": adapter_table}}
RECORDED_BLOCKS = {README: {"summary": summary},
                   QUALITY: {"library": library_table, "library-figures": library_figures},
                   API: {"serve": serve_table}, BUILDING: {"update": update_table, "build": build_table},
                   READING: {"pdf": pdf_table, "ocr": ocr_table}, MODEL: {"engines": engines_table},
                   SCALING: {"scale": scale_table, "scale-stages": scale_stages_table}}


def blocks_in(text: str) -> dict[str, str]:
    """A file's figure blocks, by name."""
    return {m.group(1): m.group(2).strip("\n") for m in re.finditer(r"<!-- readme:([\w-]+) -->\n(.*?)<!-- /readme:\1 -->", text, re.S)}


def rewrite(text: str, made: dict[str, str]) -> str:
    """``text`` with each named block replaced by its new content."""
    for name, content in made.items():
        text = re.sub(rf"(<!-- readme:{name} -->\n).*?(<!-- /readme:{name} -->)",
                      lambda m: m.group(1) + content + "\n" + m.group(2), text, flags=re.S)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=ROOT / ".index-readme",
                        help="an index of the bundled report alone (built here if missing)")
    parser.add_argument("--plain-index", type=Path, default=ROOT / ".index-plain",
                        help="an index of the bundled report alone with the plain model (built here if missing)")
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 if a block differs")
    parser.add_argument("--scale-only", action="store_true",
                        help="only the blocks made from the runs recorded in bench/results/ (no index, no eval run)")
    args = parser.parse_args()
    files = {}
    if not args.scale_only:
        searcher, plain = _searcher(args.index, IndexConfig()), _searcher(args.plain_index, IndexConfig(adapter=False))
        for path, blocks in BLOCKS.items():
            files.setdefault(path, {}).update({name: make(searcher) for name, make in blocks.items()})
        for path, blocks in PLAIN_BLOCKS.items():
            files.setdefault(path, {}).update({name: make(searcher, plain) for name, make in blocks.items()})
    for path, blocks in RECORDED_BLOCKS.items():
        files.setdefault(path, {}).update({name: make() for name, make in blocks.items()})
    texts = {path: path.read_text(encoding="utf-8") for path in files}
    names = [name for path, blocks in files.items() for name, content in blocks.items()
             if blocks_in(texts[path]).get(name) != content]
    if args.check:
        sys.exit(f"blocks out of date: {', '.join(names)}" if names else 0)
    for path, blocks in files.items():
        path.write_text(rewrite(texts[path], blocks), encoding="utf-8")
    print(f"rewrote {', '.join(names) or 'nothing (all current)'}")


def _searcher(index: Path, config: IndexConfig) -> Searcher:
    """A searcher of ``index``, built from the bundled report alone first when there is none (from a copy of it
    in ``INDEX-corpus``: the checkout's ``corpus/`` may hold a user's reports too). Exits when ``index`` holds
    other reports, naming them."""
    searcher = Searcher(index)
    try:
        held = set(searcher.index.manifest.documents)
    except (IndexNotFoundError, IndexFormatError):  # none yet, or of an older format: build it
        build_index(library_bench.corpus(index.parent / f"{index.name}-corpus", library=False), index, config=config)
        return Searcher(index)
    others = sorted(held - {library_bench.REPORT})
    if others:
        sys.exit(f"{index} holds {len(others)} report(s) besides the bundled one ({', '.join(others[:3])}"
                 f"{', …' if len(others) > 3 else ''}): the README's figures are of the bundled report alone; "
                 "give an --index of it alone, or a new folder (built there)")
    return searcher


if __name__ == "__main__":
    main()
