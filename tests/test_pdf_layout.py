"""PDFs read by their layout: a report laid out as agencies lay them out gives back the text it was made from."""

from __future__ import annotations

import re

import pytest

from search.evaluation.fidelity import character_error_rate
from search.ingest.pdf_lines import Piece, page_lines
from search.ingest.read import read_document
from search.ingest.tokenize import fold_lao_am

pdf_files = pytest.importorskip("pdf_files")  # tests/pdf_files.py, made with fpdf2 (a test extra)


@pytest.fixture(scope="module")
def agency(tmp_path_factory):
    pytest.importorskip("fpdf")
    return read_document(pdf_files.agency_pdf(tmp_path_factory.mktemp("pdf") / "savannakhet-inspections.pdf"))


def _paragraphs(doc) -> list[str]:
    return [doc.text[p.start:p.end] for p in doc.paragraphs]


def test_every_paragraph_of_the_source_comes_back_whole(agency):
    """Lines joined into paragraphs, the hyphenated word whole, the run-on across the page break joined,
    the footnote apart from the body, table rows with their columns' names, the two columns one after the other."""
    got = _paragraphs(agency)
    body = [t for t in pdf_files.SOURCE if t != pdf_files.TITLE and t not in pdf_files.HEADINGS]
    assert [t for t in got if t in body] == [t for t in got]  # no fragment, nothing merged
    assert sorted(got) == sorted(body)  # so a character error rate of 0
    assert got.index(pdf_files.LEFT) + 1 == got.index(pdf_files.RIGHT)  # the left column, then the right


def test_headings_are_sections_and_pages_are_cited(agency):
    assert agency.title == pdf_files.TITLE
    section = {agency.text[p.start:p.end]: p.section for p in agency.paragraphs}
    page = {agency.text[p.start:p.end]: p.page for p in agency.paragraphs}
    assert section[pdf_files.HYPHENATED] == "LABOUR CONDITIONS" and page[pdf_files.HYPHENATED] == 1
    assert section[pdf_files.RUN_ON] == "LABOUR CONDITIONS" and page[pdf_files.RUN_ON] == 1  # cited where it starts
    assert section[pdf_files.TABLE_ROWS[0]] == "REMEDIATION" and page[pdf_files.TABLE_ROWS[0]] == 2
    assert section[pdf_files.RIGHT] == "TWO DISTRICTS COMPARED"


def test_running_headers_footers_and_page_numbers_stay_out(agency):
    assert pdf_files.HEADER not in agency.text and "Page 1" not in agency.text and "Page 2" not in agency.text


def test_a_lao_pdf_gives_back_its_lao_text(tmp_path):
    """Lao set in a Unicode Lao font (Phetsarath OT), each line broken between two words: the lines run on
    without a space, every paragraph comes back exactly (character error rate 0), the title is found."""
    doc = read_document(pdf_files.LAO_PDF)
    source = pdf_files.LAO_SOURCE.read_text(encoding="utf-8").splitlines()
    got = _paragraphs(doc)
    assert doc.title == pdf_files.LAO_TITLE
    assert len(got) == len(source) and character_error_rate(got, source) == 0.0
    assert [p.section for p in doc.paragraphs][2:] == [pdf_files.LAO_HEADING] * 2  # a Lao heading, by its size


def test_a_libreoffice_pdf_gives_back_its_text():
    """A Word file exported by LibreOffice (committed: CI has neither LibreOffice nor a Lao font). English,
    table and columns exactly. Lao with every letter, mark and space in order, but for the spaces where a
    line broke (the export draws none there; Lao lines also break between words, with no space to draw),
    and ຳ, drawn as ໍ + າ, written ຳ again."""
    doc = read_document(pdf_files.OFFICE_PDF)

    def under(section):
        return [doc.text[p.start:p.end] for p in doc.paragraphs if p.section == section]

    english, lao, table, columns = (under(section) for section in pdf_files.OFFICE_SECTIONS)
    assert doc.title == "Garment Factory Inspections in Savannakhet"
    assert english == list(pdf_files.OFFICE_EN) and columns == list(pdf_files.OFFICE_COLUMNS)
    assert table == pdf_files.TABLE_ROWS
    source = pdf_files.office_lao()
    assert [t.replace(" ", "") for t in lao] == [fold_lao_am(t).replace(" ", "") for t in source]
    assert "\u0ecd\u0eb2" not in "".join(lao) and "\u0eb3" in "".join(lao)
    assert character_error_rate(lao, source) < 0.01  # 3 spaces of 1,136 characters, each at a line's end
    assert pdf_files.OFFICE_HEADER not in doc.text and "Page 1" not in doc.text and "Page 2" not in doc.text


def test_a_space_after_a_mark_is_measured_from_its_letter():
    """A Lao tone mark is drawn on its own, left of where its letter ends, and advances nothing: pypdf puts a
    space after it when the next letter looks far from the mark. The gap is measured from the letter."""
    letter = Piece(100.0, 700, 10, False, "ກ", 6.0)  # ends at 106
    mark = Piece(104.0, 700.2, 10, False, "\u0ec8 ", 0.0)
    follows = Piece(106.1, 700, 10, False, "ຽວ", 8.0)
    apart = Piece(110.0, 700, 10, False, "ຽວ", 8.0)  # a word space (4 points) after the letter
    assert page_lines([letter, mark, follows])[0].text == "ກ\u0ec8ຽວ"
    assert page_lines([letter, mark, apart])[0].text == "ກ\u0ec8 ຽວ"


def test_a_subset_fonts_widths_are_found_through_its_unicode_map():
    """A subset font's own codes (LibreOffice's, Word's exports): its /ToUnicode map read backwards, then
    /Widths by code; bfrange lines as well as bfchar ones; a composite font's /W."""
    from search.ingest.pdf_fonts import _code_widths, _to_unicode

    cmap = ("2 beginbfchar\n<01> <0E81>\n<02> <0EC8>\nendbfchar\n"
            "2 beginbfrange\n<03> <04> <0041>\n<05> <06> [<0062> <0063>]\nendbfrange")
    assert _to_unicode(cmap) == {"ກ": 1, "\u0ec8": 2, "A": 3, "B": 4, "b": 5, "c": 6}
    assert _code_widths({"/FirstChar": 1, "/Widths": [600, 0, 700]}) == {1: 600.0, 2: 0.0, 3: 700.0}
    composite = {"/DescendantFonts": [{"/W": [1, [500, 510], 10, 12, 250]}]}
    assert _code_widths(composite) == {1: 500.0, 2: 510.0, 10: 250.0, 11: 250.0, 12: 250.0}


def test_the_office_pdfs_lao_font_has_its_widths():
    import pypdf

    from search.ingest.pdf_fonts import font_advances

    fonts = pypdf.PdfReader(pdf_files.OFFICE_PDF).pages[0]["/Resources"]["/Font"]
    lao = next(f.get_object() for f in fonts.values() if "Phetsarath" in f.get_object()["/BaseFont"])
    advance = font_advances(lao)
    assert advance["ກ"] > 0 and advance[" "] > 0 and set("ກາວ") <= set(advance)


def test_the_error_rate_counts_edits_and_missing_paragraphs():
    assert character_error_rate(["ລາວ", "abcd"], ["ລາວ", "abxd"]) == 1 / 7
    assert character_error_rate(["ab"], ["abc"]) == 1 / 3
    assert character_error_rate(["abc"], ["abc", "de"]) == 2 / 5
    assert character_error_rate(["ນຳ ຕ່ຳ"], ["ນໍາ ຕໍ່າ"]) == 0.0  # ຳ in either encoding is one letter
    assert character_error_rate(["ນາ"], ["ນໍາ"]) == 1 / 2  # but a lost mark is an error


def test_a_layout_the_reader_did_not_foresee_falls_back_to_the_plain_text(agency, monkeypatch, tmp_path):
    import search.ingest.pdf

    def broken(*args):
        raise ZeroDivisionError("a page of no height")
    monkeypatch.setattr(search.ingest.pdf, "layout_pages", broken)
    doc = read_document(pdf_files.agency_pdf(tmp_path / "odd.pdf"))
    assert pdf_files.HYPHENATED_LINES[0] in doc.text  # pypdf's own lines: the report is kept, not lost


def test_a_number_alone_in_the_body_stays_a_page_number_at_the_foot_goes():
    from search.ingest.pdf_layout import layout_pages

    page = [Piece(50, 700, 11, False, "Workers repaid in full:"), Piece(50, 600, 11, False, "38"),
            Piece(290, 30, 9, False, "7")]
    assert layout_pages([page], [842.0], [595.0]) == [["Workers repaid in full:", "38"]]


def test_pieces_on_one_baseline_are_one_line_and_three_cells_a_table_row():
    pieces = [Piece(50, 700, 11, False, "Salaries were"), Piece(118, 700.4, 11, False, "paid late."),
              Piece(50, 680, 11, False, "Province"), Piece(200, 680, 11, False, "Workers"), Piece(330, 680, 11, False, "Fees")]
    lines = page_lines(pieces)
    assert [line.text for line in lines] == ["Salaries were paid late.", "Province | Workers | Fees"]
    assert lines[1].cells == ["Province", "Workers", "Fees"]


def test_a_hostile_fonts_maps_are_cut_at_what_a_font_can_hold():
    """A /W range or a ToUnicode map claiming billions of codes costs no more than a font's 65,536."""
    from search.ingest.pdf_fonts import _code_widths, _to_unicode, font_advances

    assert len(_code_widths({"/DescendantFonts": [{"/W": [0, 2**31, 500]}]})) == 65_536
    cmap = "beginbfrange\n" + "<0000> <FFFF> <0041>\n" * 50 + "endbfrange"
    assert len(_to_unicode(cmap)) <= 65_536
    assert font_advances({"/ToUnicode": None}) is None  # a broken font: widths unknown, not an error


def test_a_fonts_widths_are_read_once_a_document_not_once_a_page(agency, monkeypatch, tmp_path):
    """Every page of a report uses the same few fonts: their maps are read once (a 300-page report read them
    300 times, each up to 65,536 codes)."""
    import search.ingest.pdf_lines

    read = []
    real = search.ingest.pdf_lines.font_advances
    monkeypatch.setattr(search.ingest.pdf_lines, "font_advances", lambda font: read.append(font) or real(font))
    doc = read_document(pdf_files.agency_pdf(tmp_path / "twice.pdf"))
    assert max(p.page for p in doc.paragraphs) == 2
    names = [str(font.get("/BaseFont")) for font in read]
    assert read and len(names) == len(set(names))  # each font once, though both pages draw with them


def _sentences(paragraphs) -> list[str]:
    return [s for p in paragraphs for s in re.split(r"(?<=[.])\s+(?=[A-Z])", p)]


def _first_x(path, page: int, text: str) -> float:
    """Where pypdf says the line holding ``text`` starts on ``page`` (0-based)."""
    import pypdf

    found = []
    pypdf.PdfReader(path).pages[page].extract_text(
        visitor_text=lambda t, cm, tm, font, size: found.append(tm[4]) if text in " ".join(t.split()) else None)
    assert found, f"{text!r} not drawn on page {page + 1}"
    return found[0]


@pytest.fixture(scope="module", params=["J", "L"])
def columns(request, tmp_path_factory):
    """The two-column review, justified (``J``, where the gutter is narrower than two ems and every line of the
    left column ends at it) and ragged right (``L``)."""
    pytest.importorskip("fpdf")
    path = pdf_files.columns_pdf(tmp_path_factory.mktemp("columns") / f"review-{request.param}.pdf", align=request.param)
    return path, read_document(path)


def _under(doc, section: str) -> list[str]:
    return [doc.text[p.start:p.end] for p in doc.paragraphs if p.section == section]


def test_two_justified_columns_are_read_one_after_the_other(columns):
    """Nothing of one column stitched into the other: each paragraph read is a piece of one paragraph of the
    source, in the source's order. The gutter is found as the edge where the right column's lines start,
    shared down the page, not as one line's gap (justified lines end at the gutter, which is narrower than the
    two ems a gap must be)."""
    _, doc = columns
    got = _under(doc, pdf_files.COLUMNS_HEADINGS[0])
    where = [next((i for i, source in enumerate(pdf_files.COLUMNS_TEXT) if text in source), None) for text in got]
    assert None not in where and where == sorted(where), got


def test_running_header_and_footer_of_the_columns_stay_out(columns):
    _, doc = columns
    assert not any("Annual Review 2024" in text for text in _paragraphs(doc))


def test_a_justified_lines_wide_word_space_is_not_a_gutter():
    """Words drawn one by one (as some writers draw justified text): a line of three words spread over the
    column, between two lines that run across its wide gaps, is one line; the same gaps with nothing above
    and below are a table row's."""
    full = [Piece(50, 700, 10, False, "Members who sold cherries to the stations", 240.0),
            Piece(50, 688, 10, False, "were paid on the day of their delivery and", 240.0)]
    sparse = [Piece(50, 676, 10, False, "Transport", 45.0), Piece(140, 676, 10, False, "remained", 40.0),
              Piece(250, 676, 10, False, "costly", 40.0)]
    below = [Piece(50, 664, 10, False, "the road from Paksong to the port was repaired", 240.0)]
    lines = page_lines(full + sparse + below)
    assert [line.text for line in lines][2] == "Transport remained costly" and not lines[2].cells
    assert page_lines(sparse)[0].cells == ["Transport", "remained", "costly"]


def test_the_standard_fonts_have_their_widths():
    """The 14 standard fonts (fpdf2's core fonts, older exports) are drawn without widths of their own: every
    reader knows them, and so does this one, so that where a line ends is known."""
    from search.ingest.pdf_fonts import font_advances

    helvetica = font_advances({"/Type": "/Font", "/Subtype": "/Type1", "/BaseFont": "/Helvetica",
                                "/Encoding": "/WinAnsiEncoding"})
    assert helvetica["W"] == 944 and helvetica["i"] == 222 and helvetica[" "] == 278
    assert font_advances({"/Type": "/Font", "/Subtype": "/Type1", "/BaseFont": "/NoSuchFont"}) is None


def test_a_paragraph_broken_by_a_column_or_a_page_is_one_paragraph(columns):
    """The sixth paragraph runs on from the foot of the left column to the top of the right one, the last from
    the foot of page 1 to page 2: each is read as one paragraph, cited at page 1, and every sentence is whole."""
    path, doc = columns
    middle = 105 * 72 / 25.4  # the middle of an A4 page, in points
    assert _first_x(path, 0, "loan from the previous") < middle < _first_x(path, 0, "time. Repayments")
    assert _first_x(path, 1, "without travelling to the plateau.") < middle
    assert _under(doc, pdf_files.COLUMNS_HEADINGS[0]) == list(pdf_files.COLUMNS_TEXT)
    got = _paragraphs(doc)
    assert all(any(sentence in text for text in got) for sentence in _sentences(pdf_files.COLUMNS_TEXT))
    assert {p.page for p in doc.paragraphs if p.section == pdf_files.COLUMNS_HEADINGS[0]} == {1}


def test_a_table_row_is_read_with_its_columns_names_alike_from_pdf_and_word(columns, tmp_path):
    """'Ban Thakho | 210 | 2 | 6' alone answers nothing; each row stands alone with the header row's names, and
    a Word file of the same table reads the same."""
    import docx

    _, doc = columns
    rows = _under(doc, pdf_files.COLUMNS_HEADINGS[1])
    assert rows == ["Village: Ban Thakho, Households: 210, Washing stations: 2, Buyers: 6",
                    "Village: Ban Nong Luang, Households: 145, Washing stations: 1, Buyers: 4",
                    "Village: Ban Lak Sip, Households: 98, Washing stations: 1, Buyers: 3"]
    word = docx.Document()
    word.add_heading(pdf_files.COLUMNS_HEADINGS[1], level=1)
    table = word.add_table(rows=len(pdf_files.COLUMNS_TABLE), cols=len(pdf_files.COLUMNS_TABLE[0]))
    for i, values in enumerate(pdf_files.COLUMNS_TABLE):
        for j, value in enumerate(values):
            table.cell(i, j).text = value
    word.save(tmp_path / "villages.docx")
    assert _under(read_document(tmp_path / "villages.docx"), pdf_files.COLUMNS_HEADINGS[1]) == rows


def test_a_table_without_a_header_row_keeps_its_cells_and_a_header_carries_over_a_page():
    from search.ingest.tables import header_of, row_texts

    figures = [["Ban Thakho", "210", "2", "6"], ["Ban Lak Sip", "98", "1", "3"]]
    assert row_texts(figures) == ["Ban Thakho | 210 | 2 | 6", "Ban Lak Sip | 98 | 1 | 3"]  # no names to give
    names = header_of([list(pdf_files.COLUMNS_TABLE[0]), figures[0]])
    assert row_texts(figures[1:], names) == ["Village: Ban Lak Sip, Households: 98, Washing stations: 1, Buyers: 3"]
    assert row_texts([["Province", "2022", "2023"], ["Salavan", "12", "15"]]) == ["Province: Salavan, 2022: 12, 2023: 15"]


def _spaces(got: str, source: str) -> tuple[int, int]:
    """Spaces ``got`` has that ``source`` has not, and the other way round, letters aligned (ຳ in either form)."""
    import difflib

    def letters(text):
        out, spaces, n = [], [], 0
        for ch in fold_lao_am(text):
            if ch == " ":
                n += 1
            else:
                out.append(ch)
                spaces.append(n)
                n = 0
        return out, spaces

    (a, a_spaces), (b, b_spaces) = letters(got), letters(source)
    extra = lost = 0
    for block in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks():
        for i, j in zip(range(block.a + 1, block.a + block.size), range(block.b + 1, block.b + block.size)):
            extra += a_spaces[i] > 0 and b_spaces[j] == 0
            lost += a_spaces[i] == 0 and b_spaces[j] > 0
    return extra, lost


def test_shaped_lao_gets_no_space_after_its_tone_marks(tmp_path):
    """HarfBuzz-shaped Lao (fpdf2's set_text_shaping): pypdf writes a space after a tone mark drawn by its own
    offset (ກຸ່ ມ, ແມ່ ຍິງ: 88 of them in these 2,062 letters). None is left, and the writer's spaces after marks
    stay (a real one shows as two); only spaces where a line broke go, as in every Lao PDF."""
    import pypdf

    pytest.importorskip("fpdf")
    path = pdf_files.lao_shaped_pdf(tmp_path / "shaped.pdf")
    doc = read_document(path)
    got, source = _paragraphs(doc), pdf_files.shaped_lao()
    assert len(got) == len(source)
    extra, lost = (sum(n) for n in zip(*(_spaces(g, s) for g, s in zip(got, source))))
    breaks = sum(len(page.extract_text().splitlines()) for page in pypdf.PdfReader(path).pages) - len(source)
    assert extra == 0 and lost <= breaks  # before: 88 spaces inside words
    assert "ແມ່ຍິງ" in got[-1] and "ກຸ່ມ" in got[0]
