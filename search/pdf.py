"""PDF reports to plain text, page by page."""

from __future__ import annotations

import io
import re

from .errors import DocumentError


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
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise DocumentError(f"{doc_id}: the PDF is encrypted; save an unencrypted copy")
        pages = [(page.extract_text() or "") for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise DocumentError(f"{doc_id}: cannot read this PDF ({exc}); check that the file is a complete PDF") from exc
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
