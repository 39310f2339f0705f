"""Word reports made as offices make them: a Title, heading styles (one a custom style built on Heading 1),
a running header and footer, a line break inside a paragraph, a table with a merged header cell, Lao text.
Built with python-docx, whose files Word and LibreOffice open."""

from __future__ import annotations

from pathlib import Path

TITLE = "Rice and Labour in Champasak 2023"
HEADER, FOOTER = "CONFIDENTIAL DRAFT · Ministry of Labour", "Champasak labour survey · page"
CONDITIONS = ("Plantation workers in Champasak reported recruitment fees of up to 12,000 baht.",
              "Most had signed no contract.")
LAO = "ແຮງງານ ໑໒໐ ຄົນ ໄດ້ຮັບເງິນຄືນແລ້ວ ໃນປີ 2023."  # 120 (in Lao digits) workers were repaid in 2023
REMEDY = "The provincial labour office ordered the plantation to repay the fees to 38 affected workers by March."
ROWS = [("Province", "Workers", "Fees repaid"), ("Champasak", "38", "12,000 baht"), ("Salavan", "12", "4,500 baht")]


def make_word_report(path: Path) -> Path:
    import docx
    from docx.enum.style import WD_STYLE_TYPE

    document = docx.Document()
    section = document.sections[0]
    section.header.paragraphs[0].text = HEADER
    section.footer.paragraphs[0].text = FOOTER
    document.add_heading(TITLE, level=0)  # the Title style
    document.add_heading("Labour conditions", level=1)
    paragraph = document.add_paragraph(CONDITIONS[0])
    paragraph.add_run().add_break()  # a line break (Shift+Enter) inside the paragraph
    paragraph.add_run(CONDITIONS[1])
    document.add_heading("ການຈ່າຍເງິນຄືນ", level=2)
    document.add_paragraph(LAO)
    chapter = document.styles.add_style("Chapter heading", WD_STYLE_TYPE.PARAGRAPH)
    chapter.base_style = document.styles["Heading 1"]
    document.add_paragraph("Remediation", style=chapter)
    document.add_paragraph(REMEDY)
    table = document.add_table(rows=len(ROWS) + 1, cols=3)
    merged = table.cell(0, 0).merge(table.cell(0, 2))
    merged.text = "Fees repaid by province"
    for r, row in enumerate(ROWS, 1):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_paragraph("")  # empty paragraphs, as Word leaves them, are not passages
    document.save(str(path))
    return path
