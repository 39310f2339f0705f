"""A PDF laid out as agency reports are, made with fpdf2, with the text it was made from.

Running header and footer with page numbers, a title and headings set larger and bold, paragraphs
wrapped over lines, a word hyphenated at a line's end, a paragraph running on to the next page, a
footnote in small type, a table, and a page in two columns. ``SOURCE`` holds what a reader should
give back: each body paragraph as one line of text, each heading, each table row with its columns' names.
"""

from __future__ import annotations

from pathlib import Path

HEADER = "Ministry of Labour and Social Welfare - Annual Inspection Report 2023"
TITLE = "Garment Factory Inspections in Savannakhet"
HEADINGS = ("LABOUR CONDITIONS", "REMEDIATION", "TWO DISTRICTS COMPARED")
FOOTNOTE = "1 Figures from the provincial labour office, December 2023."
WRAPPED = ("Inspectors visited twelve garment factories in the province during the year and interviewed "
           "workers about their hours, wages and contracts. Most workers reported working six days a week, "
           "and overtime was common during the peak export season, often without the premium the labour "
           "law requires.")
# Set line by line, so that the breaks fall where an agency's layout put them.
HYPHENATED_LINES = ("The provincial labour office recorded com-", "plaints from 212 workers about unpaid overtime and",
                    "deductions for uniforms and meals.")
HYPHENATED = ("The provincial labour office recorded complaints from 212 workers about unpaid overtime and "
              "deductions for uniforms and meals.")
RUN_ON_LINES = ("Two factories had not paid the 38 migrant workers",)
RUN_ON_NEXT = ("who had come from Salavan province for three months.",)
RUN_ON = ("Two factories had not paid the 38 migrant workers who had come from Salavan province for three "
          "months.")
TABLE = (("Factory", "Workers", "Fees repaid (kip)"), ("Kaysone Garments", "38", "12,000,000"),
         ("Xeno Textiles", "21", "6,500,000"))
LEFT = ("In Kaysone Phomvihane district the inspectors found written contracts for most workers and a clinic "
        "on site.")
RIGHT = ("In Xeno district half of the workers had no written contract and the nearest clinic was an hour "
         "away.")


def labelled(table) -> list[str]:
    """A table's rows after its header row as a reader should give them: each value after its column's name."""
    names = table[0]
    return [", ".join(f"{name}: {value}" for name, value in zip(names, row)) for row in table[1:]]


TABLE_ROWS = labelled(TABLE)  # "Factory: Kaysone Garments, Workers: 38, Fees repaid (kip): 12,000,000", ...
SOURCE = (TITLE, *HEADINGS, FOOTNOTE, WRAPPED, HYPHENATED, RUN_ON, LEFT, RIGHT, *TABLE_ROWS)
BODY = (WRAPPED, HYPHENATED, RUN_ON, FOOTNOTE, *TABLE_ROWS, LEFT, RIGHT)  # in reading order


def agency_pdf(path: Path) -> Path:
    """Write the PDF to ``path`` and return it."""
    import fpdf

    class Report(fpdf.FPDF):
        def header(self):
            self.set_font("helvetica", size=8)
            self.cell(0, 6, HEADER, align="C")
            self.ln(12)

        def footer(self):
            self.set_y(-15)
            self.set_font("helvetica", size=8)
            self.cell(0, 10, f"Page {self.page_no()}", align="C")

    pdf = Report(format="A4")
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.set_font("helvetica", "B", 18)
    pdf.multi_cell(0, 10, TITLE)
    pdf.ln(4)
    _heading(pdf, HEADINGS[0])
    pdf.set_font("helvetica", size=11)
    pdf.multi_cell(120, 6, WRAPPED)  # narrow: wrapped over several lines
    pdf.ln(5)
    _lines(pdf, HYPHENATED_LINES)
    pdf.ln(5)
    _lines(pdf, RUN_ON_LINES)
    pdf.set_y(-32)
    pdf.set_font("helvetica", size=8)
    pdf.cell(0, 5, FOOTNOTE)

    pdf.add_page()
    _lines(pdf, RUN_ON_NEXT)
    pdf.ln(5)
    _heading(pdf, HEADINGS[1])
    pdf.set_font("helvetica", size=11)
    for row in TABLE:
        for x, cell in zip((20, 90, 140), row):
            pdf.set_x(x)
            pdf.cell(45, 6, cell)
        pdf.ln(7)
    pdf.ln(5)
    _heading(pdf, HEADINGS[2])
    pdf.set_font("helvetica", size=11)
    top = pdf.get_y()
    pdf.set_xy(15, top)
    pdf.multi_cell(80, 6, LEFT)
    pdf.set_xy(115, top)
    pdf.multi_cell(80, 6, RIGHT)
    pdf.output(str(path))
    return path


def _heading(pdf, text: str) -> None:
    pdf.set_font("helvetica", "B", 13)
    pdf.multi_cell(0, 8, text)
    pdf.ln(2)


def _lines(pdf, lines) -> None:
    pdf.set_font("helvetica", size=11)
    for line in lines:
        pdf.cell(0, 6, line)
        pdf.ln(6)


LAO_FONT = Path("/usr/share/fonts/truetype/lao/Phetsarath_OT.ttf")  # Debian's fonts-lao
LAO_PDF = Path(__file__).resolve().parent / "data" / "pdf" / "lao-report.pdf"  # made by lao_pdf, committed
LAO_SOURCE = LAO_PDF.with_suffix(".txt")  # its paragraphs, one a line
LAO_LINE = 60  # characters a line, about
LAO_TITLE = "ລາຍງານການຄ້າມະນຸດ"  # "report on human trafficking"
LAO_HEADING = "ການຕິດຕາມ ແລະ ການລາຍງານ"  # "monitoring and reporting", set larger before the third paragraph


def lao_pdf(source: Path, out: Path, *, font: Path = LAO_FONT) -> Path:
    """Set the Lao paragraphs of ``source`` (the bundled report) in a Unicode Lao font, as a Lao office's
    word processor would: each line broken between two words, never inside one, without a space at the
    break. Writes the PDF to ``out`` and its paragraphs to ``out`` with ``.txt``; CI has no Lao font, so the
    files are committed (``python tests/pdf_files.py`` makes them again)."""
    import fpdf
    from laonlp.tokenize import word_tokenize

    from search.ingest.lang import has_lao

    paragraphs = [" ".join(p.split()) for p in source.read_text(encoding="utf-8").split("\n\n")
                  if has_lao(p) and len(p) > 100][:4]
    pdf = fpdf.FPDF(format="A4")
    pdf.add_font("lao", "", str(font))
    pdf.add_page()
    pdf.set_font("lao", size=16)
    pdf.cell(0, 10, LAO_TITLE)
    pdf.ln(16)
    for i, paragraph in enumerate(paragraphs):
        if i == 2:
            pdf.set_font("lao", size=13)
            pdf.cell(0, 8, LAO_HEADING)
            pdf.ln(10)
        pdf.set_font("lao", size=11)
        for line in _lao_lines(paragraph, word_tokenize):
            pdf.cell(0, 7, line)
            pdf.ln(7)
        pdf.ln(5)
    out.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(out))
    out.with_suffix(".txt").write_text("\n".join(paragraphs) + "\n", encoding="utf-8")
    return out


def _lao_lines(paragraph: str, word_tokenize) -> list[str]:
    """The paragraph cut into lines of about LAO_LINE characters, each break between two Lao words."""
    from search.ingest.lang import has_lao

    lines, line = [], ""
    for word in word_tokenize(paragraph):
        fits = len(line) + len(word) <= LAO_LINE
        if line and not fits and has_lao(line[-1]) and has_lao(word[0]):  # between two Lao words, no space
            lines.append(line)
            line = word
        else:
            line += word
    return lines + [line] if line else lines


OFFICE_PDF = LAO_PDF.parent / "office-report.pdf"  # made by office_docx and LibreOffice's PDF export, committed
OFFICE_HEADER = "Ministry of Labour and Social Welfare · Annual Inspection Report 2023"
OFFICE_SECTIONS = ("Labour conditions", "ການຕິດຕາມ ແລະ ການລາຍງານ", "Fees repaid", "Two districts compared")
OFFICE_EN = (
    "Inspectors visited twelve garment factories in Savannakhet province during the year and interviewed more "
    "than four hundred workers about their working hours, wages, deductions and employment contracts, and about "
    "the recruitment fees they had paid to brokers before they were hired.",
    "Most workers reported working six days a week during the peak export season, and overtime was common; in "
    "four factories the overtime premium required by the labour law was not paid, and in two of them workers "
    "were fined for refusing overtime on Sundays.",
    "The provincial labour office recorded complaints from 212 workers about unpaid overtime and about "
    "deductions for uniforms, meals and dormitory beds, which together amounted to about a fifth of a month's "
    "minimum wage for the lowest-paid workers.",
)
OFFICE_COLUMNS = (
    "In Kaysone Phomvihane district the inspectors found written contracts for most workers, a clinic on site "
    "and a grievance committee that met every month with elected worker representatives.",
    "In Xeno district half of the workers had no written contract, the nearest clinic was an hour away by road, "
    "and no worker interviewed knew how to raise a complaint with the company or the labour office.",
)


def office_lao() -> list[str]:
    """The Lao paragraphs of the office report: the third and fourth of the Lao report's."""
    return LAO_SOURCE.read_text(encoding="utf-8").splitlines()[2:4]


def office_docx(out: Path) -> Path:
    """A Word file as an office makes one: running header, page-number footer, title and heading styles,
    justified English with automatic hyphenation, Lao paragraphs in Phetsarath OT, a table, then a section
    in two columns. ``soffice --headless --convert-to pdf`` makes ``OFFICE_PDF`` of it."""
    import docx
    from docx.enum.section import WD_SECTION
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    document = docx.Document()
    hyphenate = OxmlElement("w:autoHyphenation")
    hyphenate.set(qn("w:val"), "true")
    document.settings.element.append(hyphenate)
    section = document.sections[0]
    section.header.paragraphs[0].text = OFFICE_HEADER
    section.header.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    page_field = OxmlElement("w:fldSimple")
    page_field.set(qn("w:instr"), "PAGE")
    footer.add_run("Page ")._r.addnext(page_field)
    document.add_heading("Garment Factory Inspections in Savannakhet", level=0)
    document.add_heading(OFFICE_SECTIONS[0], level=1)
    for text in OFFICE_EN:
        document.add_paragraph(text).alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    document.add_heading(OFFICE_SECTIONS[1], level=1)
    for text in office_lao():
        run = document.add_paragraph().add_run(text)
        run.font.name = "Phetsarath OT"
        run._r.get_or_add_rPr().find(qn("w:rFonts")).set(qn("w:cs"), "Phetsarath OT")  # Lao is a complex script
    document.add_heading(OFFICE_SECTIONS[2], level=1)
    table = document.add_table(rows=len(TABLE), cols=3)
    table.style = "Table Grid"
    for i, row in enumerate(TABLE):
        for j, cell in enumerate(row):
            table.cell(i, j).text = cell
    columns = document.add_section(WD_SECTION.CONTINUOUS)._sectPr
    cols = columns.xpath("./w:cols")[0] if columns.xpath("./w:cols") else columns.makeelement(qn("w:cols"), {})
    cols.set(qn("w:num"), "2")
    if cols.getparent() is None:
        columns.append(cols)
    document.add_heading(OFFICE_SECTIONS[3], level=1)
    for text in OFFICE_COLUMNS:
        document.add_paragraph(text).alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    document.save(str(out))
    return out


if __name__ == "__main__":
    import subprocess
    import sys
    import tempfile

    lao_pdf(Path(__file__).resolve().parents[1] / "corpus" / "laos-tip-2022-voa.txt", LAO_PDF)
    print(f"wrote {LAO_PDF} and {LAO_SOURCE}")
    if "--office" in sys.argv:  # needs LibreOffice (Debian's libreoffice-writer-nogui) and fonts-lao
        folder = Path(tempfile.mkdtemp())
        source = office_docx(folder / OFFICE_PDF.with_suffix(".docx").name)
        subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(OFFICE_PDF.parent), str(source)],
                       check=True)
        print(f"wrote {OFFICE_PDF}")


# A review laid out in two justified columns (fpdf2's text_columns, align "J", a 6 mm gutter) in a TrueType
# font, a running header and footer on each page, paragraphs that run on across the column break and the page
# break, then a table with a header row. COLUMNS_BODY is what a reader should give back.
COLUMNS_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # Debian's fonts-dejavu-core
COLUMNS_HEADER = "Bolaven Coffee Producers' Association - Annual Review 2024"
COLUMNS_FOOTER = "Annual Review 2024 - page {}"
COLUMNS_TITLE = "Coffee on the Bolaven Plateau"
COLUMNS_HEADINGS = ("HARVEST AND SALES", "VILLAGES")
COLUMNS_TEXT = (
    "The association's forty-one cooperatives on the Bolaven Plateau sold 2,340 tonnes of green coffee from the "
    "2024 harvest, a fifth more than in the year before. Most of the increase came from villages in Paksong "
    "district, where new washing stations shortened the time between picking and pulping.",
    "Buyers from three importing countries visited the plateau in January and cupped samples from every "
    "cooperative. The buyers paid a premium of 8 percent for lots that scored above 84 points in their cupping, "
    "and two cooperatives sold their whole harvest as specialty coffee for the first time.",
    "Prices at the farm gate rose during the season as world prices climbed after poor harvests elsewhere. "
    "Members who sold cherries to the cooperatives' stations were paid on the day of delivery, while those who "
    "sold to traders on the road were often paid weeks later and at lower rates.",
    "Women made up almost half of the members who attended the association's training on picking only ripe "
    "cherries, and in eleven villages women now keep the records of each family's deliveries. The association "
    "plans to train a record keeper in every village by the end of next year.",
    "Rainfall in the wet season was close to the average of the last decade, but a dry spell in September "
    "stressed young trees on the eastern slopes. Cooperatives there lost about a tenth of their expected yield "
    "and asked the association for help with drip irrigation.",
    "The association lent money for drying beds and storage to nine cooperatives, and every loan from the "
    "previous years was repaid on time. Repayments were deducted from the payments for the cherries each member "
    "delivered, so no member had to find cash before the harvest was sold.",
    "Child labour was not found on any of the farms that the association's monitors visited during the picking "
    "season. Children of school age helped their families at weekends in some villages, which the monitors "
    "recorded and discussed with the parents and the village heads.",
    "Seasonal pickers came from Salavan and Sekong provinces as in earlier years, and the cooperatives paid them "
    "by the basket at rates agreed with the district labour office. Pickers who stayed for the whole season were "
    "given a bonus of two days' pay and a bag of rice when the last cherries had been delivered.",
    "Transport remained the largest cost after labour. The road from Paksong to the river port was repaired in "
    "the dry season, which cut the time a truck needed for the journey from six hours to four and lowered the "
    "fees that the haulers charged the cooperatives for each tonne.",
    "Roasters in Vientiane bought more coffee from the plateau than in any year before, most of it of the "
    "robusta variety grown on the lower slopes. Their orders kept the smaller cooperatives busy in the months "
    "when the export buyers had finished their purchases and gone home.",
    "Next year the association will certify another twelve cooperatives as organic, build two more washing "
    "stations and open an office in Pakse, where buyers can taste samples without travelling to the plateau.",
)
COLUMNS_TABLE = (("Village", "Households", "Washing stations", "Buyers"), ("Ban Thakho", "210", "2", "6"),
                 ("Ban Nong Luang", "145", "1", "4"), ("Ban Lak Sip", "98", "1", "3"))


def columns_pdf(path: Path, *, align: str = "J", font: Path = COLUMNS_FONT) -> Path:
    """Write the two-column review to ``path`` and return it (``align="L"`` sets it ragged right)."""
    import fpdf

    class Review(fpdf.FPDF):
        def header(self):
            self.set_font("body", size=8)
            self.cell(0, 6, COLUMNS_HEADER, align="C")
            self.ln(12)

        def footer(self):
            self.set_y(-15)
            self.set_font("body", size=8)
            self.cell(0, 10, COLUMNS_FOOTER.format(self.page_no()), align="C")

    pdf = Review(format="A4")
    pdf.add_font("body", "", str(font))
    pdf.add_font("body", "B", str(font.with_name(font.stem + "-Bold.ttf")))
    pdf.add_page()
    pdf.set_font("body", "B", 18)
    pdf.multi_cell(0, 10, COLUMNS_TITLE)
    pdf.ln(2)
    pdf.set_font("body", "B", 13)
    pdf.multi_cell(0, 8, COLUMNS_HEADINGS[0])
    pdf.ln(2)
    pdf.set_font("body", size=11)
    with pdf.text_columns(ncols=2, gutter=6, text_align=align, line_height=1.3) as columns:
        for i, paragraph in enumerate(COLUMNS_TEXT):
            columns.write(paragraph)
            columns.ln()
            if i < len(COLUMNS_TEXT) - 1:
                columns.ln()
    pdf.ln(6)
    pdf.set_font("body", "B", 13)
    pdf.multi_cell(0, 8, COLUMNS_HEADINGS[1])
    pdf.ln(2)
    pdf.set_font("body", size=11)
    with pdf.table(text_align="LEFT", first_row_as_headings=False) as table:
        for values in COLUMNS_TABLE:
            row = table.row()
            for value in values:
                row.cell(value)
    pdf.output(str(path))
    return path


def shaped_lao() -> list[str]:
    """The Lao paragraphs of the shaped report: the Lao report's, and the bundled report's that speaks of women
    (ແມ່ຍິງ, a word a shaped tone mark was seen to split)."""
    corpus = Path(__file__).resolve().parents[1] / "corpus" / "laos-tip-2022-voa.txt"
    women = next(" ".join(p.split()) for p in corpus.read_text(encoding="utf-8").split("\n\n") if "ແມ່ຍິງ" in p)
    return LAO_SOURCE.read_text(encoding="utf-8").splitlines() + [women]


def lao_shaped_pdf(path: Path, *, font: Path = LAO_FONT) -> Path:
    """The Lao paragraphs of ``shaped_lao`` set in Phetsarath OT with HarfBuzz shaping (fpdf2's
    ``set_text_shaping``, which needs uharfbuzz): each glyph placed by itself, a tone mark by its own offset;
    ``LAO_HEADING`` set larger before the third."""
    import fpdf

    pdf = fpdf.FPDF(format="A4")
    pdf.add_font("lao", "", str(font))
    pdf.set_text_shaping(True)
    pdf.add_page()
    pdf.set_font("lao", size=11)
    for i, paragraph in enumerate(shaped_lao()):
        if i == 2:
            pdf.set_font("lao", size=13)
            pdf.multi_cell(0, 8, LAO_HEADING)
            pdf.ln(4)
            pdf.set_font("lao", size=11)
        pdf.multi_cell(0, 7, paragraph)
        pdf.ln(8)
    pdf.output(str(path))
    return path
