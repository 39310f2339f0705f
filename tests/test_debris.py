"""Chart labels inside a paragraph: cut out of its passages, cited where they stood, shown in the source view."""

from __future__ import annotations

import random

from search.ingest.chunk import ChunkSettings
from search.ingest.debris import label_runs, without_labels

CHART = "LAOS TIER RANKING BY YEAR 2015 2016 3 2WL 2 1 2017 2018 2019 2020 2021 2022 LAOS 342"


def test_a_charts_labels_are_found_and_prose_full_of_numbers_is_not():
    text = f"allegations in the {CHART} Golden Triangle SEZ in Bokeo in early 2022"
    assert [text[a:b] for a, b in label_runs(text)] == [CHART]
    prose = [
        "investigated 39 potential cases involving 77 suspected perpetrators from January to December 2021",
        "a fine of 10 million to 100 million Lao kip ($899 to $8,970); 18 U.S.C. 1589 1590 1591 1592",
        "The ATD, MOLSW, LWU, LFTU, ILO, IOM, UNODC and UNICEF met in 2019, 2020, 2021 and 2022.",
        "Kaysone Garments | 38 | 12,000,000 | 2021 | 2022 | 14 | 16 | 18",  # a table row read from a PDF
        "ກຳມະກອນ 212 ຄົນ ໃນປີ 2021 2022 ແລະ 2023 ໄດ້ ຮັບ 38 ລ້ານກີບ",  # Lao: no capitals, nothing found
    ]
    assert all(label_runs(t) == [] for t in prose)
    figure = "FIGURE 2 CASES BY YEAR 2019 2020 2021 2022 39 21"
    assert label_runs(f"see below. {figure} Cases rose.") == [(11, 11 + len(figure))]
    assert label_runs("see below. FIGURE 2 CASES BY YEAR 2019 2020 Cases rose.") == []  # 7 tokens: too few


def test_offsets_in_the_cleaned_text_find_the_source_again():
    paragraph = f"{CHART} The first sentence ends here. Officials opened an inquiry in the {CHART} Golden " \
                f"Triangle zone in early 2022; the work went on. Last words {CHART}"
    cleaned = without_labels(paragraph)
    assert "TIER" not in cleaned.text and "RANKING" not in cleaned.text and "  " not in cleaned.text
    assert cleaned.text.startswith("The first") and cleaned.text.endswith("Last words")
    assert "inquiry in the Golden Triangle" in cleaned.text
    words = [(m, len(m)) for m in cleaned.text.split()]
    at = 0
    for word, n in words:  # every word of the cleaned text stands at its mapped place in the source
        start = cleaned.text.index(word, at)
        a, b = cleaned.source_offset(start), cleaned.source_offset(start + n, end=True)
        assert paragraph[a:b] == word
        at = start + n
    assert cleaned.source_offset(0) == len(CHART) + 1  # a passage starting at the first word starts after the run
    assert cleaned.source_offset(len(cleaned.text), end=True) == len(paragraph) - len(CHART) - 1


def test_each_cut_is_shown_by_exactly_one_passage():
    rng = random.Random(3)
    sentences = [f"Sentence {i} has some words in it and ends." for i in range(40)]
    for i in rng.sample(range(40), 6):
        sentences[i] = sentences[i][:-1] + f" before the {CHART} after."
    cleaned = without_labels(" ".join(sentences))
    from search.ingest.chunk import chunk_spans

    spans = chunk_spans(cleaned.text, ChunkSettings(max_chars=200, max_words=40))
    shown = [aside for i, (a, b) in enumerate(spans)
             for aside in cleaned.asides(a, spans[i - 1][1] if i else -1, b if i + 1 < len(spans) else len(cleaned.text))]
    assert len(shown) == len(cleaned.cuts) == 6 and all(labels == CHART for _, labels in shown)


def test_the_bundled_reports_chart_stays_out_of_its_passage_and_in_its_citation():
    from pathlib import Path

    from search.index.build import document_passages
    from search.ingest.read import read_document

    doc = read_document(Path(__file__).resolve().parents[1] / "corpus" / "laos-tip-2022-voa.txt")
    passages = document_passages(doc, None, ChunkSettings())
    with_chart = [p for p in passages if p.asides]
    assert len(with_chart) == 1 and all("2WL" not in p.text for p in passages)
    p = with_chart[0]
    offset, labels = p.asides[0]
    assert labels == CHART and p.text[offset - 19:offset + 15] == "allegations in the Golden Triangle"
    assert doc.text[p.citation.start:p.citation.end].replace(CHART + " ", "") == p.text  # the source, labels and all
    assert all(doc.text[q.citation.start:q.citation.end] == q.text for q in passages if not q.asides)
