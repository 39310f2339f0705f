"""Scanned reports: image files (PNG, JPEG, TIFF with any number of pages) and scanned PDF pages, OCR'd.

Each page is read by :mod:`search.ingest.ocr`; the report's text is its pages' paragraphs, a blank line
between, as a PDF's is, so that a passage cites its page. A PDF page is OCR'd when its text layer is empty
or garbage (:func:`needs_ocr`): it is drawn by PDFium at ``DPI`` and read like a scan. How many pages one
report may have OCR'd is ``ReadLimits.max_ocr_pages`` (``--max-ocr-pages``); each page OCR'd gives the
bounded reader's child process ``--read-seconds`` more (:mod:`search.ingest.bounded`).
"""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

from search.errors import DocumentError
from search.ingest.limits import ReadLimits
from search.ingest.ocr import OcrPage, ocr_pages
from search.ingest.pdf_layout import join_lines, runs_on

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
DPI = 300  # a PDF page is drawn at this resolution for OCR, as scanners scan text
MAX_PIXELS = 60_000_000  # a page image may have this many pixels (an A0 sheet at 300 dpi is 140 million)
# What a text layer that is not text holds: the replacement character, private-use codes (a font's own), control
# characters, and Latin-1 letters and signs (Lao in a legacy font: search.ingest.read.check_unicode_lao).
_GARBAGE = re.compile(r"[\ufffd\ue000-\uf8ff\x00-\x08\x0b\x0e-\x1f\u00a1-\u00ff]")
GARBAGE_SHARE = 0.25


def needs_ocr(text: str) -> bool:
    """Whether a PDF page with this text layer is to be OCR'd: it has no text (fewer than 3 visible characters),
    or over ``GARBAGE_SHARE`` of its visible characters are codes no text holds."""
    visible = [ch for ch in text if not ch.isspace()]
    return len(visible) < 3 or len(_GARBAGE.findall(text)) > GARBAGE_SHARE * len(visible)


def image_text(data: bytes, doc_id: str, limits: ReadLimits) -> tuple[str, tuple[int, ...], tuple[tuple[int, float], ...]]:
    """OCR an image file, each of its frames (a multi-page TIFF's pages) a page.

    Returns:
        The text, the offset where each page starts in it, and ``(page, confidence)`` for each page.

    Raises:
        DocumentError: the file is not an image PIL can read, it has more pages than the limits allow, a page
            is too big, or Tesseract is not installed (one line naming the packages).
    """
    from PIL import Image, ImageSequence, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            pages = getattr(image, "n_frames", 1)
            limits.check(pages, "max_pages", doc_id, "pages")
            limits.check(pages, "max_ocr_pages", doc_id, "pages to OCR")
            frames = (_checked(frame, doc_id) for frame in ImageSequence.Iterator(image))
            read = ocr_pages(frames, doc_id, pages)
    except DocumentError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError, OSError,
            SyntaxError, ValueError) as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise DocumentError(f"{doc_id}: cannot read this image ({reason}); check that the file is a complete "
                            "PNG, JPEG or TIFF") from exc
    return pages_text([page.paragraphs for page in read], {i: page for i, page in enumerate(read)})


def _checked(frame, doc_id: str):
    if frame.width * frame.height > MAX_PIXELS:
        raise DocumentError(f"{doc_id}: a page of {frame.width} x {frame.height} pixels, over the "
                            f"{MAX_PIXELS // 1_000_000} million a page may have; scan it at 300 dpi")
    frame.load()
    return frame.copy()


def ocr_pdf_pages(data: bytes, indices: list[int], doc_id: str, limits: ReadLimits) -> dict[int, OcrPage]:
    """OCR the PDF pages at ``indices`` (from 0), drawn by PDFium at ``DPI``.

    Raises:
        DocumentError: over ``limits.max_ocr_pages``, Tesseract is missing, or PDFium cannot draw the file.
    """
    import pypdfium2 as pdfium

    limits.check(len(indices), "max_ocr_pages", doc_id, "pages to OCR")
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise DocumentError(f"{doc_id}: its scanned pages cannot be drawn ({exc}); check that the file is a "
                            "complete PDF") from exc
    try:
        images = (_drawn(pdf[i], doc_id) for i in indices)
        return dict(zip(indices, ocr_pages(images, doc_id, len(indices))))
    finally:
        pdf.close()


def _drawn(page, doc_id: str):
    width, height = page.get_size()
    scale = min(DPI / 72, (MAX_PIXELS / max(1.0, width * height)) ** 0.5)
    image = page.render(scale=scale, grayscale=True).to_pil()
    image.info["dpi"] = (round(72 * scale), round(72 * scale))
    page.close()
    return image


def page_image(path: Path, page: int, doc_id: str):
    """Page ``page`` (from 1) of a scanned report, as its OCR read it: a PDF page drawn by PDFium at ``DPI``, an
    image file's frame, the same pixels (so the OCR's cache finds the page by them).

    Raises:
        DocumentError: the report has no such page, or it cannot be drawn.
    """
    if Path(path).suffix.lower() == ".pdf":
        import pypdfium2 as pdfium

        try:
            pdf = pdfium.PdfDocument(str(path))
        except pdfium.PdfiumError as exc:
            raise DocumentError(f"{doc_id}: its pages cannot be drawn ({exc})") from exc
        try:
            if not 1 <= page <= len(pdf):
                raise DocumentError(f"{doc_id} has no page {page}")
            return _drawn(pdf[page - 1], doc_id)
        finally:
            pdf.close()
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings(), Image.open(path) as image:
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            if not 1 <= page <= getattr(image, "n_frames", 1):
                raise DocumentError(f"{doc_id} has no page {page}")
            image.seek(page - 1)
            return _checked(image, doc_id)
    except DocumentError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError, OSError,
            SyntaxError, ValueError) as exc:
        raise DocumentError(f"{doc_id}: its page {page} cannot be read ({type(exc).__name__})") from exc


def pages_text(pages: list, ocr: dict[int, OcrPage]) -> tuple[str, tuple[int, ...], tuple[tuple[int, float], ...]]:
    """Pages of paragraphs as one text, a blank line between paragraphs and pages.

    Args:
        pages: each page's paragraphs (a page of text may be given as one string, paragraphs apart by a
            blank line).
        ocr: the pages (by index from 0) that were OCR'd.

    Returns:
        The text, each page's start in it, and ``(page number from 1, confidence)`` of each OCR'd page.
    """
    pages = _joined_across_pages([[p.strip() for p in paragraphs if p.strip()] for paragraphs in pages], set(ocr))
    parts, starts, offset = [], [], 0
    for paragraphs in pages:
        text = "\n\n".join(paragraphs).strip() + "\n\n"
        starts.append(offset)
        parts.append(text)
        offset += len(text)
    return "".join(parts), tuple(starts), tuple((i + 1, page.confidence) for i, page in sorted(ocr.items()))


def _joined_across_pages(pages: list[list[str]], scanned: set[int]) -> list[list[str]]:
    """A paragraph that runs on from a scanned page to the next, or on to a scanned page (no sentence end, a
    lower-case start there), joined, as :mod:`~search.ingest.pdf_layout` joins a PDF's; it is cited at the page
    where it starts."""
    for i in range(len(pages) - 1):
        here, there = pages[i], pages[i + 1]
        if not {i, i + 1} & scanned or not here or not there or here[-1].startswith("# ") or there[0].startswith("# "):
            continue
        if runs_on(here[-1], there[0]):
            here[-1] = join_lines(here[-1], there.pop(0))
    return pages
