"""How faithfully PDFs laid out as agencies lay them out are read: character error rate, headings, speed.

    python bench/pdf.py [--repeat 20] [--json OUT]

The documents are the tests' (tests/pdf_files.py): an English report made with fpdf2 here (running header
and footer, page numbers, headings, wrapped and hyphenated lines, a paragraph across a page break, a
footnote, a table, two columns), the committed Lao report (Phetsarath OT, lines broken between words), the
committed office report (a Word file exported by LibreOffice 7.4: header, page-number footer, heading
styles, justified and hyphenated English, Lao paragraphs, a table, a two-column section), and two made
here: a review in two justified columns with a 6 mm gutter (DejaVu Sans, running header and footer,
paragraphs across the column break and the page break, a table with a header row) and Lao shaped with
HarfBuzz (fpdf2's set_text_shaping in Phetsarath OT).
For each: the character error rate of its body paragraphs against the text it was made from, in reading
order; the share of its headings found as sections; lines of the running header or footer left in a
passage; and pages read a second (median of ``--repeat`` reads, in this process).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import pdf_files  # noqa: E402

from search.evaluation.fidelity import character_error_rate, heading_recall  # noqa: E402
from search.ingest.read import read_document  # noqa: E402


def measure(path: Path, body: list[str], headings: list[str], furniture: list[str], repeat: int) -> dict:
    doc = read_document(path)
    got = [doc.text[p.start:p.end] for p in doc.paragraphs]
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        read_document(path)
        seconds.append(time.perf_counter() - start)
    pages = max(p.page or 1 for p in doc.paragraphs)
    return {
        "document": path.name,
        "pages": pages,
        "cer": round(character_error_rate(got, body), 4),
        "heading_recall": round(heading_recall([p.section for p in doc.paragraphs], headings), 3),
        "furniture_in_passages": sum(any(f in text for f in furniture) for text in got),
        "pages_per_s": round(pages / statistics.median(seconds), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-pdf-"))
    english = pdf_files.agency_pdf(folder / "savannakhet-inspections.pdf")
    columns = pdf_files.columns_pdf(folder / "bolaven-review.pdf")
    shaped = pdf_files.lao_shaped_pdf(folder / "lao-shaped.pdf")
    lao_body = pdf_files.LAO_SOURCE.read_text(encoding="utf-8").splitlines()
    rows = [
        {"language": "en", **measure(english, list(pdf_files.BODY), list(pdf_files.HEADINGS),
                                     [pdf_files.HEADER, "Page 1", "Page 2"], args.repeat)},
        {"language": "lo", **measure(pdf_files.LAO_PDF, lao_body, [pdf_files.LAO_HEADING], [], args.repeat)},
        {"language": "en + lo", **measure(
            pdf_files.OFFICE_PDF,
            [*pdf_files.OFFICE_EN, *pdf_files.office_lao(), *pdf_files.TABLE_ROWS,
             *pdf_files.OFFICE_COLUMNS],
            list(pdf_files.OFFICE_SECTIONS), [pdf_files.OFFICE_HEADER, "Page 1", "Page 2"], args.repeat)},
        {"language": "en", **measure(columns, [*pdf_files.COLUMNS_TEXT, *pdf_files.labelled(pdf_files.COLUMNS_TABLE)],
                                     list(pdf_files.COLUMNS_HEADINGS),
                                     [pdf_files.COLUMNS_HEADER, pdf_files.COLUMNS_FOOTER.format("")], args.repeat)},
        {"language": "lo", **measure(shaped, pdf_files.shaped_lao(), [pdf_files.LAO_HEADING], [], args.repeat)},
    ]
    print(json.dumps(rows, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
