import re

import pytest

from search.errors import CorpusError, DocumentError
from search.ingest.read import _standalone_heading, is_debris, list_corpus, read_document, split_paragraphs

from conftest import CORPUS, DATA, ROOT

LIBRARY = ROOT / "eval" / "library" / "reports"


@pytest.fixture(scope="module")
def tip():
    return read_document(CORPUS / "laos-tip-2022-voa.txt")


def test_bundled_report_sections_and_paragraphs(tip):
    sections = [p.section for p in tip.paragraphs]
    for name in ("PROSECUTION", "PROTECTION", "PREVENTION", "PROFILE"):
        assert name in sections
    prosecution = next(p for p in tip.paragraphs if p.section == "PROSECUTION")
    assert tip.text[prosecution.start:prosecution.end].startswith("PROSECUTION The government increased law enforcement")
    assert [p.number for p in tip.paragraphs] == list(range(1, len(tip.paragraphs) + 1))
    # the paragraph after PROSECUTION inherits the section of the heading before it
    follow = tip.paragraphs[tip.paragraphs.index(prosecution) + 2]
    assert follow.section == "PROTECTION"


def test_site_debris_and_repeated_caption_are_dropped(tip):
    texts = [tip.text[p.start:p.end] for p in tip.paragraphs]
    assert not any("XS" in t and "LG" in t for t in texts)
    caption = "ແຟ້ມພາບ - ພະນັກງານລັດ"
    assert sum(t.count(caption) for t in texts) == 1
    assert is_debris("XS\nSM\nMD\nLG") and is_debris("XS SM MD LG")
    assert not is_debris("ລັດຖະບານໄດ້ລະບຸຕົວ 110 ຄົນ")


def test_title_is_the_headline(tip):
    assert tip.title.startswith("ລາວ ຍັງຖືກຈັດເຂົ້າ")
    assert tip.content_hash and len(tip.content_hash) == 64


def test_markdown_headings_are_sections():
    doc = read_document(DATA / "mini" / "rice-report.md")
    assert doc.title == "Rice Harvest Report 2023"
    assert [p.section for p in doc.paragraphs] == ["Production", "Markets"]
    assert doc.text[doc.paragraphs[0].start:].startswith("Farmers in Savannakhet")


def test_lao_numbered_headings_are_sections():
    text = ("ກົດໝາຍວ່າດ້ວຍການຕ້ານ ແລະ ສະກັດກັ້ນການຄ້າມະນຸດ\n\n"
            "ລິ້ງ ສຳຫລັບເຂົ້າຫາ\n\n"  # a short unnumbered line: not a heading
            "ພາກທີ I\nບົດບັນຍັດທົ່ວໄປ\n\n"
            "ມາດຕາ ໑ ຈຸດປະສົງ\n\n"
            "ກົດໝາຍສະບັບນີ້ ກຳນົດຫຼັກການ ລະບຽບການ ແລະ ມາດຕະການ ກ່ຽວກັບການຕ້ານການຄ້າມະນຸດ.\n\n"
            "ມາດຕາ 2 ການຄ້າມະນຸດ\nການຄ້າມະນຸດ ແມ່ນ ການຈັດຫາ ການຂົນສົ່ງ ຫຼື ການຮັບເອົາບຸກຄົນ.\n\n"
            "ມາດຕາ 215 ຂອງກົດໝາຍອາຍາ ກຳນົດໂທດຕໍ່ຜູ້ກະທຳຜິດ ທີ່ໄດ້ຄ້າມະນຸດ ທັງພາຍໃນ ແລະ ຕ່າງປະເທດ ເຊິ່ງມີໂທດຕັດອິດສະລະພາບ.\n")
    paragraphs = split_paragraphs(text)
    found = [(text[p.start:p.end].split()[0], p.section) for p in paragraphs]
    assert found == [
        ("ກົດໝາຍວ່າດ້ວຍການຕ້ານ", None), ("ລິ້ງ", None),
        ("ກົດໝາຍສະບັບນີ້", "ພາກທີ I ບົດບັນຍັດທົ່ວໄປ › ມາດຕາ ໑ ຈຸດປະສົງ"),  # an article within its part
        ("ມາດຕາ", "ພາກທີ I ບົດບັນຍັດທົ່ວໄປ › ມາດຕາ 2 ການຄ້າມະນຸດ"),  # heading line over its text: kept, heads it
        ("ມາດຕາ", "ພາກທີ I ບົດບັນຍັດທົ່ວໄປ › ມາດຕາ 2 ການຄ້າມະນຸດ"),  # a sentence starting with a number heads nothing
    ]
    assert [h.text for h in _standalone_heading("ພາກທີ I\nບົດບັນຍັດທົ່ວໄປ", True)] == ["ພາກທີ I ບົດບັນຍັດທົ່ວໄປ"]
    assert [h.text for h in _standalone_heading("ມາດຕາ ໑໕", True)] == ["ມາດຕາ ໑໕"]
    assert _standalone_heading("ມາດຕາ 15 ກຳນົດໂທດຕັດອິດສະລະພາບ.", True) is None  # a sentence
    assert _standalone_heading("ພາກທີສອງ", True) is None  # no number


def test_heading_lines_in_a_row_are_headings_with_a_path():
    text = ("# Title 22— FOREIGN RELATIONS\n### CHAPTER 78— TRAFFICKING VICTIMS PROTECTION\n"
            "#### § 7103. Interagency Task Force to Monitor and Combat Trafficking\n##### (c) Chairman\n\n"
            "The Task Force shall be chaired by the Secretary of State.\n\n"
            "#### § 7103. Interagency Task Force to Monitor and Combat Trafficking\n"
            "###### (d) Activities of the Task Force\n"
            "(1) Coordinate the implementation of this chapter.\n\n"
            "(13)\n\n(A) The terms mean what they say.\n\n(14) The term “person” means a person.\n\n"
            "§ 7104.\n\nThe President shall establish and carry out programs.\n")
    paragraphs = split_paragraphs(text, title="Title 22— FOREIGN RELATIONS")
    found = [(text[p.start:p.end], p.section.split(" › ")[1:]) for p in paragraphs]
    task_force = "§ 7103. Interagency Task Force to Monitor and Combat Trafficking"
    assert found == [
        ("The Task Force shall be chaired by the Secretary of State.", [task_force, "(c) Chairman"]),
        ("(1) Coordinate the implementation of this chapter.", [task_force, "(d) Activities of the Task Force"]),
        ("(A) The terms mean what they say.", [task_force, "(d) Activities of the Task Force", "(13)"]),
        ("(14) The term “person” means a person.", [task_force, "(d) Activities of the Task Force"]),  # ends (13)
        ("The President shall establish and carry out programs.", ["§ 7104."]),
    ]
    assert paragraphs[0].section.startswith("CHAPTER 78— TRAFFICKING VICTIMS PROTECTION › ")  # the title left out
    # a list's short item and a sentence that starts with an article's number are no headings
    items = split_paragraphs("(a) Apples\n\nArticle 215 of the penal code criminalized trafficking.\n", markdown=False)
    assert [p.section for p in items] == [None, None] and len(items) == 2


def test_us_code_file_holds_no_heading_passage():
    from search.index.build import document_passages
    from search.ingest.chunk import ChunkSettings

    doc = read_document(LIBRARY / "us-code-title-18-ch77.md")
    assert doc.title == "Title 18— CRIMES AND CRIMINAL PROCEDURE"
    passages = document_passages(doc, None, ChunkSettings())
    assert len(passages) > 50
    for p in passages:
        assert not re.search(r"^#+\s", p.text, re.M), p.text  # no heading line is a passage
        assert "§" in (p.citation.section or ""), p.text  # every passage's citation names its section
        assert p.citation.section.startswith("CHAPTER 77— PEONAGE")
    sections = {p.citation.section.split(" › ")[1] for p in passages}
    assert "§\u202f1583. Enticement into slavery" in sections
    enticement = [p for p in passages if "1583" in p.citation.section]
    assert [p.citation.section.split(" › ")[-1][:3] for p in enticement] == ["(a)"] * 3 + ["(b)"] * 2  # heading repeated
    assert "Whoever violates this section" in enticement[-1].citation.section  # a lead-in kept whole in the path


def test_html_drops_scripts_and_keeps_headings():
    doc = read_document(DATA / "mini" / "school-report.html")
    assert doc.title == "School Enrolment Survey"
    assert "alert" not in doc.text and "color:red" not in doc.text
    first = doc.paragraphs[0]
    assert first.section == "Primary schools"
    assert doc.text[first.start:first.end] == "Primary school enrolment reached 98 percent of children aged six to ten."


ARTICLE = ("Inspectors visited twelve garment factories in Savannakhet during the year.",
           "Half of the workers in Xeno district had no written contract.")
FURNITURE = ("Vientiane Times", "Home Politics Economy", "Related: rice prices climb", "Share this story",
             "© 2024 Vientiane Times. All rights reserved.")


def test_html_drops_the_pages_header_footer_navigation_and_asides(tmp_path):
    """A news page: the site's banner, menu, related links and footer are not the report; the article's own
    <header> (its headline) is."""
    page = tmp_path / "factories.html"
    page.write_text(f"""<html><head><title>Factories</title></head><body>
<header><p>{FURNITURE[0]}</p><nav><a>Home</a> <a>Politics</a> <a>Economy</a></nav></header>
<div role="navigation"><a>Home</a> <a>Politics</a> <a>Economy</a></div>
<main><article><header><h1>Garment factories inspected</h1></header>
<p>{ARTICLE[0]}</p><aside><p>{FURNITURE[2]}</p></aside><p>{ARTICLE[1]}</p>
<footer><p>{FURNITURE[3]}</p></footer></article></main>
<footer><p>{FURNITURE[4]}</p></footer></body></html>""", encoding="utf-8")
    doc = read_document(page)
    texts = [doc.text[p.start:p.end] for p in doc.paragraphs]
    assert texts == list(ARTICLE) and doc.title == "Garment factories inspected"
    assert {p.section for p in doc.paragraphs} == {"Garment factories inspected"}
    assert not any(f in doc.text for f in FURNITURE)


def test_html_heading_levels_make_a_path(tmp_path):
    page = tmp_path / "levels.html"
    page.write_text("<html><body><h1>Labour Report</h1><h2>Labour</h2><h3>Fees</h3>"
                    "<p>Workers paid recruitment fees of 12,000 baht each.</p><h2>Health</h2>"
                    "<p>Clinics opened in three districts this year.</p></body></html>", encoding="utf-8")
    doc = read_document(page)
    assert doc.title == "Labour Report"
    assert [p.section for p in doc.paragraphs] == ["Labour › Fees", "Health"]


def test_pdf_pages(tmp_path):
    fpdf = pytest.importorskip("fpdf")
    pdf = fpdf.FPDF()
    for words in ("Budget allocations for district hospitals rose sharply.", "Rural roads were repaired after the floods."):
        pdf.add_page()
        pdf.set_font("helvetica", size=12)
        pdf.multi_cell(0, 10, words)
    path = tmp_path / "budget.pdf"
    pdf.output(str(path))
    doc = read_document(path)
    assert [p.page for p in doc.paragraphs] == [1, 2]
    assert "Rural roads" in doc.text[doc.paragraphs[1].start:doc.paragraphs[1].end]


@pytest.mark.parametrize("name, data, message", [
    ("binary.txt", b"\x00\x01\x02PK\x03\x04" * 20, "binary"),
    ("latin1.txt", "Café report".encode("latin-1"), "UTF-8"),
    ("empty.md", b"   \n\n  ", "no readable text"),
    ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "cannot read this PDF"),
    ("notes.doc", b"PK", "unsupported file type"),
])
def test_bad_files_give_clear_errors(tmp_path, name, data, message):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(DocumentError, match=message) as info:
        read_document(path)
    assert name in str(info.value)


def test_list_corpus_skips_other_types_with_a_reason(tmp_path):
    (tmp_path / "a.txt").write_text("Some report text here.", encoding="utf-8")
    (tmp_path / "slides.pptx").write_bytes(b"PK")  # a scan (.png, .tif) is read, by OCR
    (tmp_path / ".hidden.txt").write_text("x", encoding="utf-8")
    files, skipped = list_corpus(tmp_path)
    assert [f.name for f in files] == ["a.txt"]
    assert skipped[0][0] == "slides.pptx" and "unsupported" in skipped[0][1]
    with pytest.raises(CorpusError, match="does not exist"):
        list_corpus(tmp_path / "missing")


def test_each_part_of_a_report_has_its_own_title():
    from search.index.build import part_titles

    langs = ["lo", "lo", "en", "lo", "lo", "en", "en", "en"]
    sections = [None, None, "Quote", "Quote", None, "LAOS: TIER 2", "LAOS: TIER 2", "PROSECUTION"]
    # one quoted English paragraph is not a part; the English chapter from its heading on is
    assert part_titles("ຂ່າວ", "lo", langs, sections) == ["ຂ່າວ"] * 5 + ["LAOS: TIER 2"] * 3
    assert part_titles("Report", "en", ["en", "en"], ["A", "B"]) == ["Report", "Report"]


def test_the_english_chapter_is_not_cited_under_the_lao_headline(searcher):
    hits = searcher.search("How many traffickers were convicted in 2021?", k=3).hits
    assert hits[0].lang == "en" and hits[0].citation.title == "LAOS: TIER 2"
    lao = searcher.search("ລັດຖະບານລາວລະບຸຕົວຜູ້ເຄາະຮ້າຍໄດ້ຈັກຄົນ ໃນປີ 2021?", k=3, lang="lo").hits
    assert lao[0].citation.title.startswith("ລາວ ຍັງຖືກຈັດເຂົ້າ")
    parts = searcher.index.summary()["reports"][0]["parts"]
    assert parts == [lao[0].citation.title, "LAOS: TIER 2"]


def test_a_newer_way_of_reading_reads_reports_again_but_keeps_their_vectors(mini_corpus, tmp_path, embedder, monkeypatch):
    import search.index.freshness
    from search import build_index, index_is_stale, load_index

    index = tmp_path / "index"
    build_index(mini_corpus, index, embedder=embedder)
    before = load_index(index)
    monkeypatch.setattr(search.index.freshness, "READING", search.index.freshness.READING + 1)
    assert index_is_stale(mini_corpus, index)  # the app brings it up to date in the background
    report = build_index(mini_corpus, index, embedder=embedder)
    assert not index_is_stale(mini_corpus, index)
    after = load_index(index)
    assert report.embedded == 0 and {d["reading"] for d in after.manifest.documents.values()} == {search.index.freshness.READING}
    assert [p.text for p in after.passages] == [p.text for p in before.passages]
    assert (after.vectors == before.vectors).all()


def test_a_word_report_reads_as_paragraphs_sections_and_table_rows(tmp_path):
    from word_files import CONDITIONS, FOOTER, HEADER, LAO, REMEDY, ROWS, TITLE, make_word_report

    doc = read_document(make_word_report(tmp_path / "champasak.docx"))
    texts = [doc.text[p.start:p.end] for p in doc.paragraphs]
    assert doc.title == TITLE
    assert texts[0] == "\n".join(CONDITIONS)  # the line break kept inside one paragraph
    # Heading 2 within Heading 1: a path; a style built on Heading 1 is at its level
    assert [p.section for p in doc.paragraphs][:3] == ["Labour conditions", "Labour conditions › ການຈ່າຍເງິນຄືນ", "Remediation"]
    assert texts[1] == LAO and texts[2] == REMEDY  # Lao as Lao, its digits as written
    assert texts[3:] == ["Fees repaid by province"] + [  # the merged cell once, then each row with its columns' names
        ", ".join(f"{name}: {value}" for name, value in zip(ROWS[0], row)) for row in ROWS[1:]]
    assert not any(HEADER in t or FOOTER in t for t in texts) and HEADER not in doc.text  # no running header


@pytest.mark.parametrize("data, message", [
    (b"PK\x03\x04 a damaged archive", "cannot read this Word file"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, r"an old \.doc"),
])
def test_a_bad_word_file_is_refused_in_one_line(tmp_path, data, message):
    path = tmp_path / "notes.docx"
    path.write_bytes(data)
    with pytest.raises(DocumentError, match=message) as info:
        read_document(path)
    assert "notes.docx" in str(info.value) and "\n" not in str(info.value)


LEGACY_LAO = "ÃÒ§ÒÁ »ÐªÒ¡ÍÃ ¨Ó¹Ç¹ ¹ÑºÇèÒ Á×Íè ¹Õé ä´é ÃÑº ¡Ò¹ª×ÍÂ"  # Lao typed in a legacy font, as extracted
FRENCH = "Le rapport décrit la situation des travailleurs à Vientiane; leurs employeurs ont été sanctionnés."


def _pdf(path, text):
    fpdf = pytest.importorskip("fpdf")
    pdf = fpdf.FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)  # a core font: Latin-1, as the legacy font's codes are
    pdf.multi_cell(0, 10, text)
    pdf.output(str(path))
    return path


def test_lao_in_a_legacy_font_is_refused_with_what_to_do_and_french_is_not(tmp_path):
    with pytest.raises(DocumentError, match="not Unicode Lao.*Latin-1.*Unicode Lao font.*OCR") as info:
        read_document(_pdf(tmp_path / "legacy-lao.pdf", (LEGACY_LAO + "\n\n") * 3))
    assert "legacy-lao.pdf" in str(info.value)
    assert "travailleurs" in read_document(_pdf(tmp_path / "rapport.pdf", FRENCH)).text


def test_a_word_file_in_a_legacy_lao_font_is_refused_too(tmp_path):
    import docx

    document = docx.Document()
    for _ in range(3):
        document.add_paragraph(LEGACY_LAO)
    document.save(str(tmp_path / "legacy.docx"))
    with pytest.raises(DocumentError, match="not Unicode Lao"):
        read_document(tmp_path / "legacy.docx")


THAI = ("รัฐบาลไทยได้ดำเนินการสอบสวนคดีการค้ามนุษย์เพิ่มขึ้นในปีที่ผ่านมา "
        "และให้ความช่วยเหลือแก่ผู้เสียหายจำนวนมาก")  # a Thai report's sentence


def test_a_thai_report_is_read_and_lao_drawn_at_thai_codes_is_refused():
    """Thai letters alone are Thai when they read as Thai words; Lao typed in a font drawn at Thai codes (the
    bundled Lao article, shifted to the Thai block as such fonts are laid out) is refused, though the two
    languages share many words."""
    from search.ingest.lang import has_lao
    from search.ingest.read import check_unicode_lao, thai_word_share

    check_unicode_lao("\n\n".join([THAI] * 3), "thai.pdf")  # no error
    lao = [p for p in CORPUS.joinpath("laos-tip-2022-voa.txt").read_text(encoding="utf-8").split("\n\n")
           if has_lao(p)][3]
    shifted = "".join(chr(ord(c) - 0x80) if "\u0e80" <= c <= "\u0eff" else c for c in lao)
    assert thai_word_share(THAI) == 1.0 and thai_word_share(shifted) < 0.9
    with pytest.raises(DocumentError, match="not Unicode Lao.*Thai letters"):
        check_unicode_lao(shifted, "old-font.pdf")
    assert thai_word_share(shifted.replace("\u0e3b", "").replace("\u0e3d", "")) < 0.9  # by its words, too
