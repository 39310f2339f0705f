"""Lao names of places, in English: countries, Lao provinces, nearby cities and regions, for the bridge.

laonlp's dictionary reads most of these as ordinary words (ລາວ "he, him"; ບໍ່ແກ້ວ "gem mine"; ກຳປູເຈຍ "crab,
fist"; ສະຫວັນນະເຂດ "paradise") or not at all (ມຽນມາ), so a question that names a place searched for other
words. A place is what makes a question about Laos differ from the same question about another country, and
names are rare words: in a library they carry weight (docs/library.md). Spellings are the common English ones
of reports on Laos; a name with two spellings lists both.
"""

from __future__ import annotations

import functools

from search.ingest.lang import normalize_text

PLACES = {
    # countries and groupings
    "ລາວ": ("Laos", "Lao"), "ສປປລາວ": ("Laos", "Lao PDR"), "ໄທ": ("Thailand", "Thai"),
    "ຈີນ": ("China", "PRC"), "ຫວຽດນາມ": ("Vietnam",), "ກຳປູເຈຍ": ("Cambodia",), "ມຽນມາ": ("Burma", "Myanmar"),
    "ມາເລເຊຍ": ("Malaysia",), "ສິງກະໂປ": ("Singapore",), "ອິນໂດເນເຊຍ": ("Indonesia",), "ຟີລິບປິນ": ("Philippines",),
    "ຍີ່ປຸ່ນ": ("Japan",), "ເກົາຫຼີ": ("Korea",), "ອິນເດຍ": ("India",), "ອາເມລິກາ": ("United States", "America"),
    "ສະຫະລັດ": ("United States",), "ອາຊຽນ": ("ASEAN",),
    # the provinces of Laos and its capital
    "ວຽງຈັນ": ("Vientiane",), "ນະຄອນຫຼວງວຽງຈັນ": ("Vientiane",), "ຜົ້ງສາລີ": ("Phongsaly", "Phongsali"),
    "ຫຼວງນ້ຳທາ": ("Luang Namtha",), "ອຸດົມໄຊ": ("Oudomxay", "Oudomxai"), "ບໍ່ແກ້ວ": ("Bokeo",),
    "ຫຼວງພະບາງ": ("Luang Prabang",), "ຫົວພັນ": ("Houaphanh", "Houaphan"), "ໄຊຍະບູລີ": ("Xayaboury", "Sainyabuli"),
    "ຊຽງຂວາງ": ("Xiangkhouang", "Xieng Khouang"), "ບໍລິຄຳໄຊ": ("Bolikhamxay", "Bolikhamsai"),
    "ຄຳມ່ວນ": ("Khammouane", "Khammouan"), "ສະຫວັນນະເຂດ": ("Savannakhet",), "ສາລະວັນ": ("Salavan", "Saravane"),
    "ເຊກອງ": ("Sekong", "Xekong"), "ຈຳປາສັກ": ("Champasak", "Champassak"), "ອັດຕະປື": ("Attapeu", "Attapu"),
    "ໄຊສົມບູນ": ("Xaisomboun", "Xaysomboun"),
    # cities and regions reports on Laos name
    "ບາງກອກ": ("Bangkok",), "ຮ່າໂນ້ຍ": ("Hanoi",), "ປັກກິ່ງ": ("Beijing",), "ຄຸນມິງ": ("Kunming",),
    "ສາມຫຼ່ຽມຄຳ": ("Golden Triangle",), "ແມ່ນ້ຳຂອງ": ("Mekong",),
}


@functools.lru_cache(maxsize=1)
def place_names() -> dict[str, tuple[str, ...]]:
    """``PLACES`` with the Lao written as the index writes it (``normalize_text``)."""
    return {normalize_text(name): forms for name, forms in PLACES.items()}
