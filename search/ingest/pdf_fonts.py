"""How far a PDF font advances for each character: what tells a word space from letters drawn apart.

pypdf hands over text already mapped to Unicode; the widths are by the font's own codes. A simple font in a
standard encoding has its characters as codes. A subset (LibreOffice's and Word's exports, Lao fonts among
them) has codes of its own, found by reading its ``/ToUnicode`` map backwards.
"""

from __future__ import annotations

import re

MAX_CODES = 65_536  # a font has at most this many codes (two bytes); a hostile map's ranges are cut there


def font_advances(font_dict) -> dict[str, float] | None:
    """Each character's advance in a font, in thousandths of an em, or None when it cannot be known.

    A simple font in a standard encoding: its ``/Widths`` by the character's code. A subset with its own
    codes (LibreOffice's and Word's exports, Lao fonts among them): the codes found from its ``/ToUnicode``
    map, then ``/Widths`` (a simple font) or the descendant's ``/W`` (a composite one).
    """
    try:
        font = _resolved(font_dict)
        if font is None:
            return None
        if "/Widths" not in font and "/DescendantFonts" not in font:
            return _core_font(font)
        if str(font.get("/Encoding")) in ("/WinAnsiEncoding", "/MacRomanEncoding", "/StandardEncoding") \
                and "/ToUnicode" not in font:
            codes = {chr(code): code for code in range(32, 256)}
        elif "/ToUnicode" in font:
            codes = _to_unicode(_resolved(font["/ToUnicode"]).get_data().decode("latin-1"))
        else:
            return None
        widths = _code_widths(font)
        return {ch: widths[code] for ch, code in codes.items() if code in widths} or None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return None


def _core_font(font) -> dict[str, float] | None:
    """One of the 14 standard fonts (Helvetica, Times, Courier…), drawn without widths of its own (fpdf2's core
    fonts, many older exports): the widths every reader knows, from pypdf's copy of Adobe's metrics."""
    try:
        from pypdf._codecs.core_font_metrics import CORE_FONT_METRICS
    except ImportError:  # a private module of pypdf: without it, the widths stay unknown (half an em a letter)
        return None
    metrics = CORE_FONT_METRICS.get(str(font.get("/BaseFont", "")).lstrip("/"))
    if metrics is None:
        return None
    return {ch: float(width) for ch, width in metrics.character_widths.items() if len(ch) == 1} or None


def _resolved(obj):
    return obj.get_object() if hasattr(obj, "get_object") else obj


def _code_widths(font) -> dict[int, float]:
    """A font's advance by character code: ``/Widths`` from ``/FirstChar``, or a composite font's ``/W``."""
    if "/Widths" in font:
        first = int(font["/FirstChar"])
        return {first + i: float(w) for i, w in enumerate(_resolved(font["/Widths"]))}
    descendant = _resolved(_resolved(font["/DescendantFonts"])[0])
    spec, out, i = list(_resolved(descendant.get("/W", []))), {}, 0
    while i < len(spec):  # [c [w w ...]] or [c_first c_last w]
        first, nxt = int(spec[i]), _resolved(spec[i + 1])
        if isinstance(nxt, list):
            out.update({first + k: float(w) for k, w in enumerate(nxt)})
            i += 2
        else:
            out.update({code: float(spec[i + 2]) for code in range(max(first, 0), min(int(nxt) + 1, MAX_CODES))})
            i += 3
        if len(out) > MAX_CODES:
            raise ValueError("more widths than a font has codes")
    return out


_HEX = re.compile(r"<([0-9A-Fa-f]+)>")


def _to_unicode(cmap: str) -> dict[str, int]:
    """A ``/ToUnicode`` CMap read backwards: each character drawn by one code, to that code."""
    out: dict[str, int] = {}

    def put(code: int, hex_text: str):
        if len(hex_text) % 2:
            return  # a range run past its digits' width: no character
        text = bytes.fromhex(hex_text).decode("utf-16-be", errors="ignore")
        if len(text) == 1:
            out.setdefault(text, code)
        if len(out) > MAX_CODES:
            raise ValueError("more characters than a font has codes")

    for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.DOTALL):
        pairs = _HEX.findall(block)
        for src, dst in zip(pairs[::2], pairs[1::2]):
            put(int(src, 16), dst)
    for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.DOTALL):
        for line in block.strip().splitlines():
            values = _HEX.findall(line)
            if len(values) < 3:
                continue
            low, high = int(values[0], 16), int(values[1], 16)
            if "[" in line:
                for code, dst in zip(range(low, high + 1), values[2:]):
                    put(code, dst)
            elif high - low < MAX_CODES:
                base = int(values[2], 16)
                for code in range(low, high + 1):
                    put(code, f"{base + code - low:0{len(values[2])}X}")
    return out
