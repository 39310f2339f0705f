"""PDF reports to plain text, page by page, read by their layout (:mod:`search.ingest.pdf_layout`)."""

from __future__ import annotations

import io
import logging
import re
import warnings

from search.errors import DocumentError
from search.ingest.limits import DEFAULT_LIMITS, ReadLimits
from search.ingest.ocr import missing_engine
from search.ingest.pdf_layout import layout_pages
from search.ingest.pdf_lines import visitor
from search.ingest.scans import needs_ocr, ocr_pdf_pages, pages_text

_log = logging.getLogger(__name__)
BYTES_PER_CHAR = 4  # a page's content stream may inflate to this many bytes per allowed character of text
# pypdf's LimitReachedError is also a ToUnicode map, a width array or a page tree over its limits: only these
# messages are a stream inflating past what we allowed (see pypdf/filters.py and _reader.py)
_INFLATING = re.compile(r"(?i)decompress|declared size|stream length|decoding work")
_STREAM_LIMITS = ("zlib_maximum_output_length", "lzw_maximum_output_length", "run_length_maximum_output_length",
                  "brotli_maximum_output_length", "maximum_declared_stream_length",
                  "array_based_stream_maximum_output_length")


def pdf_text(data: bytes, doc_id: str, limits: ReadLimits = DEFAULT_LIMITS
             ) -> tuple[str, tuple[int, ...], tuple[tuple[int, float], ...]]:
    """Extract a PDF's text and where each page starts in it; pages without a text layer (scans) are OCR'd.

    Pages are separated by a blank line, so no paragraph spans two pages.

    Args:
        data: the PDF file's bytes.
        doc_id: the document's name, for error messages.
        limits: its pages and characters, and so how far a stream may inflate.

    Returns:
        The text, the offset of each page's first character, and ``(page, confidence)`` of each page OCR'd
        (:mod:`search.ingest.scans`).

    Raises:
        DocumentError: the PDF is damaged, encrypted, has no text even by OCR, needs OCR where Tesseract is not
            installed, or is over a limit (pages, pages to OCR, characters, or a stream that inflates past
            ``BYTES_PER_CHAR`` bytes a character allowed).
    """
    from pypdf import PdfReader, apply_configuration
    from pypdf.errors import LimitReachedError

    inflate = min(75_000_000, limits.max_chars * BYTES_PER_CHAR)  # pypdf's own default is 75 MB
    bounded = {name: inflate for name in _STREAM_LIMITS}

    pypdf_log = logging.getLogger("pypdf")
    level = pypdf_log.level
    pypdf_log.setLevel(logging.CRITICAL)  # a damaged PDF makes pypdf log a line per broken object
    try:
        with warnings.catch_warnings(), apply_configuration(**bounded):
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted:
                raise DocumentError(f"{doc_id}: the PDF is encrypted; save an unencrypted copy")
            limits.check(len(reader.pages), "max_pages", doc_id, "pages")
            pages, pieces, heights, widths, chars, fonts = [], [], [], [], 0, {}
            for page in reader.pages:
                pieces.append([])
                pages.append(page.extract_text(visitor_text=visitor(pieces[-1], fonts)) or "")
                heights.append(float(page.mediabox.height))
                widths.append(float(page.mediabox.width))
                chars += len(pages[-1])
                limits.check(chars, "max_chars", doc_id, "characters of text (at least)")
    except DocumentError:
        raise
    except LimitReachedError as exc:
        if _INFLATING.search(str(exc)):
            raise DocumentError(f"{doc_id}: a stream of this PDF inflates past {inflate // 2**20} MB, more than its "
                                f"text could need (--max-chars); it is refused as a decompression bomb") from exc
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise DocumentError(f"{doc_id}: this PDF is over a safety limit of the PDF reader ({reason}); it is refused. "
                            "Print it to a new PDF, or save it as text, and add that") from exc
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types on damaged files; each is one message here
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise DocumentError(f"{doc_id}: cannot read this PDF ({reason}); check that the file is a complete PDF") from exc
    finally:
        pypdf_log.setLevel(level)
    try:
        laid_out = layout_pages(pieces, heights, widths)
    except Exception:  # noqa: BLE001 - a layout this reader did not foresee: the plain text, not a lost report
        _log.warning("%s: its layout could not be read; indexed as plain text", doc_id, exc_info=True)
        laid_out = [[] for _ in pages]
        pieces = [[] for _ in pages]
    texts = [re.sub(r"[ \t]+\n", "\n", "\n\n".join(paragraphs) if drawn else text)
             for text, paragraphs, drawn in zip(pages, laid_out, pieces)]  # a page pypdf could not place: its plain text
    ocr = _scanned_pages(data, texts, doc_id, limits)
    full, starts, confidences = pages_text([ocr[i].paragraphs if i in ocr else text.split("\n\n") if ocr else [text]
                                            for i, text in enumerate(texts)], ocr)
    if not full.strip():
        raise DocumentError(f"{doc_id}: the PDF has no text, not even by OCR (blank pages?)")
    return full, starts, confidences


def _scanned_pages(data: bytes, texts: list[str], doc_id: str, limits: ReadLimits) -> dict:
    """The OCR of the pages whose text layer is empty or garbage (:func:`~search.ingest.scans.needs_ocr`), by
    index; a garbage layer is replaced only by an OCR of good confidence. Without Tesseract, a PDF with text on some pages keeps those; one with none is refused, in one line
    naming the packages to install."""
    scanned = [i for i, text in enumerate(texts) if needs_ocr(text)]
    if not scanned:
        return {}
    if len(scanned) < len(texts) and missing_engine():
        _log.warning("%s: %d of its pages have no text layer and are left out: %s", doc_id, len(scanned), missing_engine())
        return {}
    read = ocr_pdf_pages(data, scanned, doc_id, limits)
    # A garbage layer whose page does not read well either (Latin-1 letters drawn as they are coded, not Lao in a
    # legacy font) is kept, for check_unicode_lao to refuse with what to do.
    return {i: page for i, page in read.items() if not (texts[i].strip() and page.low)}
