"""PDF reports to plain text, page by page."""

from __future__ import annotations

import io
import logging
import re
import warnings

from search.errors import DocumentError


def pdf_text(data: bytes, doc_id: str) -> tuple[str, tuple[int, ...]]:
    """Extract a PDF's text and where each page starts in it.

    Pages are separated by a blank line, so no paragraph spans two pages.

    Args:
        data: the PDF file's bytes.
        doc_id: the document's name, for error messages.

    Returns:
        The text and the offset of each page's first character.

    Raises:
        DocumentError: the PDF is damaged, encrypted or has no text layer.
    """
    from pypdf import PdfReader

    pypdf_log = logging.getLogger("pypdf")
    level = pypdf_log.level
    pypdf_log.setLevel(logging.CRITICAL)  # a damaged PDF makes pypdf log a line per broken object
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted:
                raise DocumentError(f"{doc_id}: the PDF is encrypted; save an unencrypted copy")
            pages = [(page.extract_text() or "") for page in reader.pages]
    except DocumentError:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types on damaged files; each is one message here
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise DocumentError(f"{doc_id}: cannot read this PDF ({reason}); check that the file is a complete PDF") from exc
    finally:
        pypdf_log.setLevel(level)
    parts, starts, offset = [], [], 0
    for text in pages:
        text = re.sub(r"[ \t]+\n", "\n", text).strip() + "\n\n"
        starts.append(offset)
        parts.append(text)
        offset += len(text)
    full = "".join(parts)
    if not full.strip():
        raise DocumentError(f"{doc_id}: the PDF has no text layer (scanned images?); OCR it first")
    return full, tuple(starts)
