from search.lang import detect_lang, fold_digits, lao_share, normalize_text


def test_lao_share_counts_letters_and_marks():
    assert lao_share("ສຶກສາ") == 1.0  # vowel marks are category Mn and still count as Lao
    assert lao_share("abc") == 0.0
    assert lao_share("123 !?") == 0.0
    assert 0.4 < lao_share("ABCD ສຶກສາ") < 0.7


def test_detect_lang_lao_first_then_langdetect():
    assert detect_lang("ລັດຖະບານລາວລະບຸຕົວຜູ້ເຄາະຮ້າຍ") == "lo"
    assert detect_lang("LGBTQI+ ຜູ້ເຄາະຮ້າຍ") == "lo"  # langdetect alone said "ca"
    assert detect_lang("The government identified 110 trafficking victims in 2021.") == "en"
    assert detect_lang("   ") == "und"
    assert detect_lang("2021") == "und"


def test_detect_lang_is_deterministic():
    text = "Authorities reported repatriating victims from Thailand."
    assert len({detect_lang(text) for _ in range(10)}) == 1


def test_candidates_fix_short_questions():
    assert detect_lang("Article 215 penal code") != "en"  # what langdetect says unaided
    assert detect_lang("Article 215 penal code", candidates=("en", "lo")) == "en"
    assert detect_lang("ມາດຕາ 215", candidates=("en", "lo")) == "lo"


def test_fold_digits_and_variants():
    assert fold_digits("໒໗ ທັນວາ ໒໐໒໔") == "27 ທັນວາ 2024"
    assert normalize_text("ຫຼາຍ") == normalize_text("ຫລາຍ")
    assert normalize_text("ໝາກ") == normalize_text("ຫມາກ")
    assert normalize_text("ໜ້າທີ່") == normalize_text("ຫນ້າທີ່")
    assert normalize_text("ປີ ໒໐໒໑") == "ປີ 2021"
