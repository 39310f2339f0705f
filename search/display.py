"""Names and free text as a person or a log sees them: invisible characters made visible, bounded, one line.

A report's file name is chosen by whoever uploads it. A right-to-left override (U+202E) makes
``photo\\u202egpj.txt`` read as ``phototxt.jpg``; a zero-width space makes two names look alike. Where a name is
shown (citations, the page, the terminal, exports, the audit log) :func:`visible` writes such characters as
``\\u202e``; the name itself, as stored and as an id, is unchanged. :func:`bounded` keeps what reaches a log
line to a size.
"""

from __future__ import annotations

import json
import re
import unicodedata

NAME_MAX_BYTES = 255  # a file name's limit on the usual file systems (ext4, XFS, APFS, NTFS in UTF-16 units)
LOG_FIELD_CHARS = 1_000  # a name or a message in one log line
# Format characters (bidi controls, zero-width spaces and joiners, the BOM, soft hyphens…), line and paragraph
# separators, and C0/C1 controls: none is visible, each can make a name read as another.
_INVISIBLE = frozenset({"Cf", "Zl", "Zp", "Cc", "Cs"})  # Cs: a lone surrogate (an undecodable file name)
_ESCAPED = re.compile(r"\\(\\|x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8})")


def _escape(c: str) -> str:
    code = ord(c)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def visible(text: str) -> str:
    r"""``text`` with each invisible character written as its escape (``\u202e``, ``\x0a``), for a reader."""
    if text.isprintable():  # the usual case, at C speed: no character of these categories
        return text
    return "".join(_escape(c) if unicodedata.category(c) in _INVISIBLE else c for c in text)


def escape(text: str) -> str:
    r"""One line that :func:`unescape` turns back into ``text`` exactly: :func:`visible`, with ``\`` as ``\\``."""
    return visible(text.replace("\\", "\\\\"))


def unescape(text: str) -> str:
    """The text :func:`escape` was given."""
    return _ESCAPED.sub(lambda m: "\\" if m.group(1) == "\\" else chr(int(m.group(1)[1:], 16)), text)


def bounded(text: object, limit: int = LOG_FIELD_CHARS) -> str:
    """``text`` made :func:`visible`, its first ``limit`` characters only, saying how many more there were."""
    text = str(text)
    if len(text) <= limit:
        return visible(text)
    return f"{visible(text[:limit])}… ({len(text) - limit:,} more characters)"


def name_too_long(name: str) -> str | None:
    """Why ``name`` cannot be a report's file name because of its length, or None when it can."""
    size = len(name.encode("utf-8", "surrogatepass"))
    if size <= NAME_MAX_BYTES:
        return None
    return (f"a report's name is at most {NAME_MAX_BYTES} bytes (the file system's limit); "
            f"{bounded(name, 60)} is {size:,}: rename the file")


_BREAKS_IN_JSON = re.compile("[\x85\u2028\u2029\ud800-\udfff]")


def json_line(value: object, indent: int | None = None) -> str:
    """``value`` as JSON, Lao as Lao, one line unless ``indent``: ``json.dumps`` leaves U+0085, U+2028 and U+2029 raw
    (lines to ``str.splitlines``) and lone surrogates raw (not UTF-8); here they are ``\\uXXXX``, which JSON reads back."""
    text = json.dumps(value, ensure_ascii=False, indent=indent)
    return _BREAKS_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
