"""How well scans are read by OCR: character error rate per language and resolution, pages a second, questions.

    python bench/ocr.py [--dev] [--work DIR] [--json OUT] [--tiny]

The scans are the tests' (tests/scan_files.py, tests/data/scans/): Lao and English pages at 300 and 150 dpi in
black and white, a Lao and an English page photographed with a phone (turned 2.5 degrees, grey, blurred, noisy,
JPEG), and a two-page TIFF whose first page has two columns. Each is read as a user's upload is
(:func:`search.ingest.read.read_document`, no cache) and compared with the text it was made from
(:func:`search.evaluation.fidelity.page_error_rate`); pages a second are the scan's pages over the seconds
its reading took (one Tesseract process at a time, single-threaded).

Then the question check: a scanned PDF of the English and Lao 300 dpi pages among the tests' small reports,
an English and a Lao question about it, and the rank and page of its passage. With ``--dev``, the bundled
report's English chapter is printed at 300 dpi (A4, 11 pt) into an image-only PDF, its Lao part kept as text,
and the dev sets are run on it and on the text report (hit@5, mrr@10, the questions that moved); its pages are
read alone twice (A4 pages a second; the second read from the OCR cache, which must give the same text), and
the index is built a second time (its vectors reused: ``embedded`` 0). ``--tiny``
reads two scans and skips the questions (the suite starts it so).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import scan_files  # noqa: E402
from PIL import Image  # noqa: E402

from search.evaluation.fidelity import page_error_rate  # noqa: E402
from search.index.publish import OCR_CACHE  # noqa: E402
from search.ingest import ocr  # noqa: E402
from search.ingest.read import read_document  # noqa: E402

QUESTIONS = [("en", "Could victims testify behind a curtain to protect their privacy?", 1, "behind a curtain"),
             ("lo", "ກົດໝາຍອະນຸຍາດໃຫ້ເດັກອາຍຸຈັກປີ ເຮັດວຽກເບົາໄດ້?", 2, "ອະນຸຍາດໃຫ້ເດັກອາຍຸ 14")]
REPORT = "laos-tip-2022-voa.txt"


def read_scans(names) -> list[dict]:
    """Each scan's error rate, confidence and pages a second."""
    rows = []
    for name in names:
        lang, dpi, how, _, _ = scan_files.SCAN_SET[name]
        start = time.perf_counter()
        doc = read_document(scan_files.SCANS / name)
        seconds = time.perf_counter() - start
        source = (scan_files.SCANS / (Path(name).stem + ".txt")).read_text(encoding="utf-8").splitlines()
        got = [doc.text[p.start:p.end] for p in doc.paragraphs]
        headings = [s for s in dict.fromkeys(p.section for p in doc.paragraphs) if s]
        rows.append({"scan": name, "language": "en + lo" if how == "columns" else lang, "dpi": dpi, "how": how,
                     "pages": len(doc.ocr), "cer": round(page_error_rate(headings + got, source), 4),
                     "confidence": [c for _, c in doc.ocr], "pages_per_s": round(len(doc.ocr) / seconds, 2)})
        print(json.dumps(rows[-1], ensure_ascii=False), file=sys.stderr)
    return rows


def question_check(work: Path, embedder) -> list[dict]:
    """The scanned page's passage's rank (in the top 10) and page, for an English and a Lao question."""
    from search import Searcher, build_index

    corpus = work / "questions-corpus"
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.copytree(ROOT / "tests/data/mini", corpus)
    scan_files.scanned_pdf([Image.open(scan_files.SCANS / "en-300.png"), Image.open(scan_files.SCANS / "lo-300.png")],
                           corpus / "field-report.pdf")
    build_index(corpus, work / "questions-index", embedder=embedder)
    searcher = Searcher(work / "questions-index", embedder=embedder)
    out = []
    for lang, question, page, evidence in QUESTIONS:
        hits = searcher.search(question, k=10).hits
        rank = next((h.rank for h in hits if h.citation.document == "field-report.pdf" and evidence in h.text), None)
        out.append({"language": lang, "question": question, "rank": rank,
                    "page": hits[rank - 1].citation.page if rank else None, "expected_page": page})
    return out


def dev_check(work: Path, embedder) -> dict:
    """The dev sets on the bundled report as text and with its English chapter scanned."""
    from search import Searcher, build_index
    from search.evaluation.evaluate import evaluate
    from search.evaluation.gold import load_gold
    from search.retrieve.engine import DEFAULT_RETRIEVER

    blocks = [b.strip() for b in (ROOT / "corpus" / REPORT).read_text(encoding="utf-8").split("\n\n") if b.strip()]
    first_english = next(i for i, b in enumerate(blocks) if b.startswith("TRAFFICKING IN PERSON"))
    text_corpus, scan_corpus = work / "dev-text", work / "dev-scan"
    for folder in (text_corpus, scan_corpus):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    shutil.copy(ROOT / "corpus" / REPORT, text_corpus / REPORT)
    (scan_corpus / "laos-tip-2022-lo.txt").write_text("\n\n".join(blocks[:first_english]) + "\n", encoding="utf-8")
    pages = scan_files.set_pages(blocks[first_english:], 300)
    pdf = scan_files.scanned_pdf(pages, scan_corpus / "laos-tip-2022-en-scan.pdf")
    shutil.rmtree(work / "dev-scan-index", ignore_errors=True)
    token = ocr.CACHE_DIR.set(work / "dev-scan-index" / OCR_CACHE)  # the build below finds these pages read
    seconds, texts = [], []
    for _ in range(2):  # OCR'd, then from the cache
        start = time.perf_counter()
        texts.append(read_document(pdf).text)
        seconds.append(time.perf_counter() - start)
    ocr.CACHE_DIR.reset(token)
    build_index(scan_corpus, work / "dev-scan-index", embedder=embedder)
    start = time.perf_counter()
    again = build_index(scan_corpus, work / "dev-scan-index", embedder=embedder)
    again_seconds = time.perf_counter() - start
    build_index(text_corpus, work / "dev-text-index", embedder=embedder)
    out = {"scanned_pages": len(pages), "a4_pages_per_s": round(len(pages) / seconds[0], 3),
           "cached_read_s": round(seconds[1], 2), "same_text_twice": texts[0] == texts[1],
           "rebuild": {"embedded": again.embedded, "seconds": round(again_seconds, 1)}, "sets": {}}
    for gold in ("laos-tip-2022.jsonl", "laos-tip-2022-lo-en.jsonl"):
        questions, problems = load_gold(ROOT / "eval/gold" / gold)
        runs = {name: evaluate(Searcher(work / f"dev-{name}-index", embedder=embedder), questions, problems=problems,
                               retriever=DEFAULT_RETRIEVER) for name in ("text", "scan")}
        ranks = {name: {row["id"]: row["rank"] for row in run.questions} for name, run in runs.items()}
        moved = [(qid, rank, ranks["scan"].get(qid)) for qid, rank in ranks["text"].items() if ranks["scan"].get(qid) != rank]
        out["sets"][gold] = {
            **{f"{name}_{key}": {lang: round(m[key], 3) for lang, m in [("all", run.overall), *run.by_lang.items()]}
               for name, run in runs.items() for key in ("hit@5", "mrr@10")},
            "moved": moved, "problems_scan": [p.id for p in runs["scan"].problems],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", action="store_true", help="also the dev sets on the bundled report's scanned English")
    parser.add_argument("--work", type=Path, default=None, help="folder for the indexes (a temporary one by default)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--tiny", action="store_true", help="two scans, no questions (the suite's run)")
    args = parser.parse_args()
    names = ["en-150.png", "lo-150.png"] if args.tiny else list(scan_files.SCAN_SET)
    result = {"scans": read_scans(names)}
    if not args.tiny:
        from search.index.build import make_embedder
        from search.index.records import IndexConfig

        work = args.work or Path(tempfile.mkdtemp(prefix="bench-ocr-"))
        embedder = make_embedder(IndexConfig())
        result["questions"] = question_check(work, embedder)
        if args.dev:
            result["dev"] = dev_check(work, embedder)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
