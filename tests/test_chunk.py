from search.ingest.chunk import ChunkSettings, chunk_spans, sentence_spans

EN = ("The U.S. report covers 2021. Article 215 prescribes five to 15 years! Was the law enforced? "
      "Officials said it was, in 3.5 percent of cases.")
LAO = ("ລັດຖະບານໄດ້ລະບຸຕົວ 110 ຄົນ ວ່າ ເປັນຜູ້ເຄາະຮ້າຍຈາກການຄ້າມະນຸດໃນປີ 2021. "
       "ຕາມລາຍງານ ຂອງ ກ.ຊ. ການຕ່າງປະເທດ ສຫລ ລາວຍັງຢູ່ໃນກຸ່ມທີ 2. ເດັກຍິງ 62 ຄົນ.")


def _texts(text, spans):
    return [text[a:b] for a, b in spans]


def test_english_sentences_respect_abbreviations_and_numbers():
    assert _texts(EN, sentence_spans(EN)) == [
        "The U.S. report covers 2021.",
        "Article 215 prescribes five to 15 years!",
        "Was the law enforced?",
        "Officials said it was, in 3.5 percent of cases.",
    ]


def test_lao_sentences_with_vowel_and_tone_marks():
    sentences = _texts(LAO, sentence_spans(LAO))
    assert sentences == [
        "ລັດຖະບານໄດ້ລະບຸຕົວ 110 ຄົນ ວ່າ ເປັນຜູ້ເຄາະຮ້າຍຈາກການຄ້າມະນຸດໃນປີ 2021.",
        "ຕາມລາຍງານ ຂອງ ກ.ຊ. ການຕ່າງປະເທດ ສຫລ ລາວຍັງຢູ່ໃນກຸ່ມທີ 2.",
        "ເດັກຍິງ 62 ຄົນ.",
    ]


def test_chunks_stay_within_limits_and_cover_all_sentences():
    text = " ".join([EN] * 12)
    settings = ChunkSettings(max_chars=300, max_words=50)
    spans = chunk_spans(text, settings)
    assert len(spans) > 1
    assert all(b - a <= 300 and len(text[a:b].split()) <= 50 for a, b in spans)
    assert "".join(_texts(text, spans)).replace(" ", "") == text.replace(" ", "")
    assert all(text[b - 1] in ".!?" for a, b in spans)  # cut at sentence ends


def test_long_lao_sentence_is_cut_at_spaces():
    text = "ຜູ້ເຄາະຮ້າຍ ໄດ້ຮັບການຊ່ວຍເຫຼືອ " * 40  # no sentence end at all
    spans = chunk_spans(text.strip(), ChunkSettings(max_chars=200))
    assert all(b - a <= 200 for a, b in spans)
    assert all(text.strip()[a:b].endswith(("ຍ", "ອ")) for a, b in spans)  # whole words


def test_token_limit_splits_further():
    text = "word " * 80
    spans = chunk_spans(text.strip(), ChunkSettings(max_chars=1000, max_words=200, max_tokens=30),
                        count_tokens=lambda s: len(s.split()))
    assert all(len(text.strip()[a:b].split()) <= 30 for a, b in spans)
    assert sum(len(text.strip()[a:b].split()) for a, b in spans) == 80


def test_empty_paragraph_has_no_chunks():
    assert chunk_spans("   ") == []
