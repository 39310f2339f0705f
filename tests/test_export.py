"""Exports a reader keeps: Lao stays Lao, and a spreadsheet never runs a cell as a formula."""

import csv
import json

from search.serve.export import COLUMNS, result_rows, write_csv, write_json


def test_exports_keep_lao_and_defuse_formulas(searcher, tmp_path):
    result = searcher.search("ລັດຖະບານລາວລະບຸຕົວຜູ້ເຄາະຮ້າຍໄດ້ຈັກຄົນ ໃນປີ 2021?", k=3, highlight=True)
    rows = result_rows(result, lambda pid, span: f"http://host/?source={pid}")
    rows.append({**rows[0], "text": "=HYPERLINK(\"http://evil\")", "section": "@SUM(A1)", "rank": 4})
    path = write_csv(tmp_path / "r.csv", rows)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: spreadsheets read UTF-8
    read = list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()))
    assert list(read[0]) == list(COLUMNS) and read[0]["question"] == result.question
    assert read[3]["text"] == "'=HYPERLINK(\"http://evil\")" and read[3]["section"] == "'@SUM(A1)"
    data = json.loads(write_json(tmp_path / "r.json", result, rows).read_text(encoding="utf-8"))
    assert data["results"][3]["text"] == "=HYPERLINK(\"http://evil\")"  # JSON keeps texts exactly
    assert "ລະບຸຕົວ" in (tmp_path / "r.json").read_text(encoding="utf-8")  # Lao as Lao, not \\u escapes
