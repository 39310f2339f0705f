"""Citations in words: one format for the results, the source view and what users paste."""

from search.cite import Citation, format_citation, human_citation, place


def _cite(**kw) -> Citation:
    values = {"document": "laos-tip-2022-voa.txt", "title": "LAOS: TIER 2", "section": "PROSECUTION",
              "paragraph": 12, "start": 6326, "end": 6871, "page": None}
    return Citation(**{**values, **kw})


def test_a_citation_names_report_title_section_place_and_characters():
    assert format_citation(_cite()) == "laos-tip-2022-voa.txt · “LAOS: TIER 2” · PROSECUTION · ¶ 12 · chars 6326–6871"
    assert format_citation(_cite(page=3), title=False, chars=False) == "laos-tip-2022-voa.txt · PROSECUTION · p. 3 · ¶ 12"
    assert place(_cite(page=3)) == "p. 3 · ¶ 12" and place(_cite()) == "¶ 12"


def test_a_section_that_is_the_title_is_not_said_twice():
    same = _cite(section="LAOS: TIER 2")
    assert format_citation(same) == "laos-tip-2022-voa.txt · “LAOS: TIER 2” · ¶ 12 · chars 6326–6871"
    assert format_citation(same, title=False) == "laos-tip-2022-voa.txt · LAOS: TIER 2 · ¶ 12 · chars 6326–6871"
    assert human_citation(same) == "“LAOS: TIER 2” (laos-tip-2022-voa.txt), ¶ 12"


def test_a_long_title_is_cut_and_a_missing_one_is_the_file_name():
    long = _cite(title="ລາວ ຍັງຖືກຈັດເຂົ້າ ໃນກຸ່ມທີ່ຈະຕ້ອງຖືກຕິດຕາມສິ້ງຊອມ ເບິ່ງຢູ່ ໃນດ້ານການຄ້າມະນຸດ ປີ 2022 ນີ້")
    assert "…”" in format_citation(long) and len(format_citation(long).split(" · ")[1]) <= 62
    untitled = _cite(title="laos-tip-2022-voa.txt")
    assert human_citation(untitled) == "laos-tip-2022-voa.txt, PROSECUTION, ¶ 12"
    assert format_citation(untitled).startswith("laos-tip-2022-voa.txt · PROSECUTION")
