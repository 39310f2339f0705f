"""Lao text read as Thai: most Lao words are spelt letter for letter like their Thai cognates
(ຊາຍແດນ, ชายแดน: border), and the model saw far more Thai than Lao. The bridge reads questions and their
words so (search/retrieve/bridge.py); the index embeds its Lao terms so at build time (search/index/terms.py)."""

from __future__ import annotations

from search.ingest.lang import fold_digits

# Unicode laid the Lao block out parallel to the Thai one: U+0E80 + n is the Lao
# counterpart of U+0E00 + n. These letters differ from that rule: ຍ and ຮ match Thai
# ย and ร in cognates; ໍ (as in ບໍ່) is the vowel Thai writes อ; ົ is silent in Thai
# (ຄົນ, คน) except in ົວ (ຕົວ, ตัว); ຼ is a subscript ລ; ຽ is the vowel Thai writes ีย.
_LAO_TO_THAI = {
    "ຍ": "ย", "ຮ": "ร", "ໍ": "อ", "ົວ": "ัว", "ົ": "", "ຼ": "ล", "ຽ": "ีย", "ໜ": "หน", "ໝ": "หม",
    # ບໍ່ may be typed with ໍ before the tone mark; Thai puts the tone on the consonant: บ่อ.
    **{"ໍ" + tone: thai + "อ" for tone, thai in zip("່້໊໋", "่้๊๋")},
}


def read_as_thai(text: str) -> str:
    """Lao text spelt letter for letter in Thai script (other characters unchanged); Lao digits as ASCII, as
    the model reads them in Lao text (``normalize_text``; spelt in Thai they would be Thai digits).

    >>> read_as_thai("ຊາຍແດນ ໒໑໕")
    'ชายแดน 215'
    """
    text, out, i = fold_digits(text), [], 0
    while i < len(text):
        pair = text[i:i + 2]
        if pair in _LAO_TO_THAI:
            out.append(_LAO_TO_THAI[pair])
            i += 2
            continue
        ch = text[i]
        if ch in _LAO_TO_THAI:
            out.append(_LAO_TO_THAI[ch])
        elif "\u0e80" <= ch <= "\u0edf":
            out.append(chr(ord(ch) - 0x80))
        else:
            out.append(ch)
        i += 1
    return "".join(out)
