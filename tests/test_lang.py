from search.ingest.lang import detect_lang, detect_question_lang, fold_digits, lao_share, normalize_text


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


def test_document_tagger_gives_short_lines_their_documents_language():
    from search.ingest.lang import document_tagger

    english = [
        "Riverside Shelter Annual Note 2023",  # langdetect alone: "no"
        "The shelter received 48 women and girls referred by police and border officials during the year, "
        "and provided food, counselling, medical care and legal aid to all of them before they went home.",
        "ທີ່ພັກອາໄສໄດ້ຮັບແມ່ຍິງ 48 ຄົນ.",
        "2023",
    ]
    tag = document_tagger(english)
    assert [tag(t) for t in english] == ["en", "en", "lo", "und"]
    assert detect_lang(english[0]) != "en"  # what the tagger corrects


def test_document_tagger_knows_a_french_report_and_its_english_quote():
    from search.ingest.lang import document_tagger

    french = [
        "Rapport annuel du refuge",
        "Le refuge a accueilli quarante-huit femmes et filles orientées par la police et les agents des frontières, "
        "et leur a fourni de la nourriture, des conseils, des soins médicaux et une aide juridique pendant l'année.",
        "The shelter received forty-eight women and girls referred by police and border officials, and gave all of "
        "them food, counselling, medical care and legal aid during the whole of the year under review here, "
        "as the ministry's own annual report also states.",
    ]
    tag = document_tagger(french)
    assert [tag(t) for t in french] == ["fr", "fr", "en"]


def test_document_tagger_of_a_lao_only_document():
    from search.ingest.lang import document_tagger

    tag = document_tagger(["ລັດຖະບານລາວລະບຸຕົວຜູ້ເຄາະຮ້າຍ", "ໃນປີ 2021"])
    assert tag("ລັດຖະບານລາວລະບຸຕົວຜູ້ເຄາະຮ້າຍ") == "lo"


def test_document_tagger_keeps_to_the_index_languages_and_says_und_when_unsure():
    from search.ingest.lang import document_tagger

    french = ["Rapport annuel du refuge",
              "Le refuge a accueilli quarante-huit femmes et filles orientées par la police et les agents des frontières, "
              "et leur a fourni de la nourriture, des conseils, des soins médicaux et une aide juridique pendant l'année.",
              "The shelter received forty-eight women and girls referred by police and border officials, and gave all of "
              "them food, counselling, medical care and legal aid during the year before they went home to their villages.",
              "ທີ່ພັກອາໄສໄດ້ຮັບແມ່ຍິງ 48 ຄົນ."]
    tag = document_tagger(french, languages=("lo", "en"))
    assert [tag(t) for t in french] == ["und", "und", "en", "lo"]  # French is not an index language: unsure
    norwegian_looking = ["Riverside Shelter Annual Note 2023"]  # alone, langdetect says "no"
    assert document_tagger(norwegian_looking, languages=("lo", "en"))(norwegian_looking[0]) in ("en", "und")
    assert all(document_tagger(french, languages=("lo", "en"))(t) in ("lo", "en", "und") for t in french)


def test_a_question_in_neither_lao_nor_english_is_not_read_as_english():
    """With only Lao and English indexed, every question with a letter had been tagged English: French and Thai too."""
    ours = ("en", "lo")
    for question, lang in [("Combien de trafiquants ont été condamnés en 2021 ?", "fr"),
                           ("¿Cuántas víctimas identificó el gobierno en 2021?", "es"),
                           ("Wie viele Opfer wurden 2021 identifiziert?", "de"),
                           ("มีผู้ค้ามนุษย์กี่คนถูกตัดสินลงโทษในปี 2021", "th"), ("Сколько жертв было в 2021 году?", "ru"),
                           ("ມີຜູ້ຄ້າມະນຸດຈັກຄົນຖືກສານຕັດສິນລົງໂທດໃນປີ 2021?", "lo"),
                           ("How many traffickers were convicted in 2021?", "en"),
                           # short English questions langdetect alone reads as Catalan, German, Slovak, Tagalog
                           ("Article 215 penal code", "en"), ("Tier 2", "en"), ("Bokeo", "en"),
                           ("Luang Prabang hospitals", "en"), ("How do casinos in special economic zones lure Lao women?", "en")]:
        assert detect_question_lang(question, candidates=ours) == lang, question


def test_every_dev_question_keeps_its_language():
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "eval"
    for path in (root / "gold" / "laos-tip-2022.jsonl", root / "gold" / "laos-tip-2022-lo-en.jsonl", root / "no-answer.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            q = json.loads(line)
            assert detect_question_lang(q["question"], candidates=("en", "lo")) == q["lang"], q["id"]
