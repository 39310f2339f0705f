"""Scanned pages to text with Tesseract, in Lao and English: paragraphs, headings and a confidence per page.

A page image is given to Debian's ``tesseract`` (``-l lao+eng``), which answers with its words, each with its
box and its confidence (0-100), grouped into blocks, paragraphs and lines (TSV). Lines of a paragraph are joined
as a PDF's are (:func:`~search.ingest.pdf_layout.join_lines`: a hyphenated word joined again, Lao run on
without a space); a one-line paragraph set clearly larger than the page's body lines is a heading, written
``# heading`` as the PDF reader writes one. The page's confidence is its words' mean, weighted by their letters.

Each page's result is kept in a cache folder under the hash of its pixels (and of the OCR's settings), so a
report read again, or the same page in another report, is not OCR'd again. Tesseract runs single-threaded
(``OMP_THREAD_LIMIT=1``), so the same pixels give the same text.

Without Tesseract (or its Lao or English data) a page cannot be read: :func:`missing_engine` says which
packages to install.
"""

from __future__ import annotations

import contextvars
import csv
import functools
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from search.errors import DocumentError
from search.ingest.pdf_layout import join_lines
from search.ingest.tokenize import fold_lao_am

LANGUAGES = "lao+eng"
PACKAGES = "tesseract-ocr tesseract-ocr-lao tesseract-ocr-eng"
INSTALL = f"apt-get install {PACKAGES}"
LOW_CONFIDENCE = 70.0  # a page whose words' mean confidence is under this is flagged, and not answered from
HEADING_SIZE = 1.3  # a one-line paragraph this many times the body's line height is a heading
PARAGRAPH_GAP = 1.4  # a gap between lines this many times the page's line step starts a paragraph
SPECK = 0.45  # a line of three words or fewer under this share of the body's height is marks or specks, not text
SHORT_LINE = 0.85  # a line shorter than this share of its block's widest ends a paragraph where Tesseract says so
OCR_VERSION = 1  # bumped when the text made from Tesseract's words changes, so cached pages are made again

# Set by whoever reads (the bounded reader's child process, a test): told (done, total) after each page
# OCR'd, and the folder where pages' results are kept. Context variables, so that read_document's signature
# does not carry them through every format.
PAGE_PROGRESS: contextvars.ContextVar[Callable[[int, int], None] | None] = contextvars.ContextVar("ocr_progress", default=None)
CACHE_DIR: contextvars.ContextVar[Path | None] = contextvars.ContextVar("ocr_cache", default=None)


@dataclass(frozen=True)
class OcrPage:
    """One page read by Tesseract.

    Attributes:
        paragraphs: its paragraphs in reading order; a heading starts with ``# ``.
        confidence: its words' mean confidence (0-100), weighted by their letters; 0.0 on a page without words.
        words: each word as ``(text, left, top, width, height, line)`` in pixels of the page image, ``line``
            numbering the page's lines from 0.
        size: the page image's width and height in pixels.
    """

    paragraphs: tuple[str, ...]
    confidence: float
    words: tuple[tuple[str, int, int, int, int, int], ...] = ()
    size: tuple[int, int] = (0, 0)

    @property
    def low(self) -> bool:
        """Whether the page's confidence is under ``LOW_CONFIDENCE``."""
        return self.confidence < LOW_CONFIDENCE


def missing_engine() -> str | None:
    """Why pages cannot be OCR'd here (no ``tesseract``, or no Lao or English data), naming the packages to
    install; None when they can."""
    return _missing_engine(os.environ.get("PATH", ""))


@functools.lru_cache(maxsize=8)
def _missing_engine(search_path: str) -> str | None:
    """:func:`missing_engine` for this ``PATH``, asked once per process."""
    engine = shutil.which("tesseract", path=search_path)
    if engine is None:
        return f"Tesseract is not installed; install it with: {INSTALL}"
    try:
        listed = subprocess.run([engine, "--list-langs"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return f"Tesseract does not run here; install it again with: {INSTALL}"
    missing = [lang for lang in LANGUAGES.split("+") if lang not in listed.split()]
    if missing:
        return f"Tesseract has no {' or '.join(missing)} data; install it with: {INSTALL}"
    return None


def require_engine(doc_id: str) -> None:
    """Raise when pages cannot be OCR'd here.

    Raises:
        DocumentError: in one line, naming the packages to install.
    """
    problem = missing_engine()
    if problem:
        raise DocumentError(f"{doc_id}: scanned pages need OCR, and {problem[0].lower()}{problem[1:]}")


def ocr_pages(images, doc_id: str, total: int) -> list[OcrPage]:
    """OCR page images one by one, telling :data:`PAGE_PROGRESS` after each; pages OCR'd before come from the
    cache (:data:`CACHE_DIR`), with or without Tesseract.

    Args:
        images: the pages as PIL images (an iterable, so that one page at a time is held).
        doc_id: the report's name, for errors.
        total: how many pages ``images`` holds, for the progress.

    Raises:
        DocumentError: Tesseract is missing or fails on a page.
    """
    tell = PAGE_PROGRESS.get()
    out = []
    for image in images:
        out.append(ocr_image(image, doc_id))
        if tell:
            tell(len(out), total)
    return out


def ocr_image(image, doc_id: str = "image") -> OcrPage:
    """OCR one page image (a PIL image), from the cache when these pixels were read before.

    Raises:
        DocumentError: Tesseract failed on it.
    """
    gray = image.convert("L")
    cache = CACHE_DIR.get()
    key = page_key(gray)
    cached = _cached(cache, key)
    if cached is not None:
        return cached
    require_engine(doc_id)
    png = io.BytesIO()
    gray.save(png, format="PNG")
    dpi = image.info.get("dpi", (0, 0))[0]
    command = ["tesseract", "stdin", "stdout", "-l", LANGUAGES, "--psm", "3"]
    if dpi and 70 <= dpi <= 1200:
        command += ["--dpi", str(round(dpi))]
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    done = subprocess.run([*command, "tsv"], input=png.getvalue(), capture_output=True, env=env)
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
        raise DocumentError(f"{doc_id}: Tesseract could not read a page ({reason[0][:200]})")
    page = page_from_tsv(done.stdout.decode("utf-8"), gray.size)
    _keep(cache, key, page)
    return page


def page_key(gray) -> str:
    """A page's name in the cache: the hash of its grey pixels (a PIL image in mode ``L``) and of the OCR's
    settings."""
    return hashlib.sha256(f"{LANGUAGES} {OCR_VERSION} {gray.size}".encode() + gray.tobytes()).hexdigest()


def cached_page(image, cache: Path) -> OcrPage | None:
    """What the OCR read on this page image before (kept in ``cache``), or None; nothing is OCR'd here."""
    return _cached(cache, page_key(image.convert("L")))


def page_from_tsv(tsv: str, size: tuple[int, int] = (0, 0)) -> OcrPage:
    """An :class:`OcrPage` from Tesseract's TSV output (its words with their boxes and confidences)."""
    lines: dict[tuple, list[dict]] = {}
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        if row.get("level") == "5" and (row.get("text") or "").strip():
            lines.setdefault((int(row["block_num"]), int(row["par_num"]), int(row["line_num"])), []).append(row)
    if not lines:
        return OcrPage((), 0.0, (), size)
    rows = [_Line(key, words) for key, words in lines.items()]
    body = statistics.median(line.height for line in rows)
    # Marks Tesseract read as a line of their own (Lao vowels and tone marks over a line, specks): a few
    # "words" far smaller than the body's.
    rows = [line for line in rows if line.height >= SPECK * body or len(line.words) > 3] or rows
    steps = sorted(b.top - a.top for a, b in zip(rows, rows[1:]) if b.top > a.top)
    step = steps[len(steps) // 4] if steps else 2 * body  # the common step between a paragraph's lines
    words_out, weighted, letters = [], 0.0, 0
    for number, line in enumerate(rows):
        for w in line.words:
            word = w["text"].strip()
            words_out.append((word, int(w["left"]), int(w["top"]), int(w["width"]), int(w["height"]), number))
            weighted += max(0.0, float(w["conf"])) * len(word)
            letters += len(word)
    return OcrPage(tuple(_paragraphs(rows, body, step)), round(weighted / max(1, letters), 1), tuple(words_out), size)


class _Line:
    """A line of Tesseract's words: its key (block, paragraph, line), text, top, height, left and right."""

    def __init__(self, key: tuple, words: list[dict]):
        self.key, self.words = key, words
        self.text = fold_lao_am(" ".join(w["text"].strip() for w in words))
        first = min(words, key=lambda w: int(w["left"]))  # where lines start, skew moves them alike
        self.top = int(first["top"]) + int(first["height"]) / 2
        self.height = statistics.median(int(w["height"]) for w in words)
        self.left = min(int(w["left"]) for w in words)
        self.right = max(int(w["left"]) + int(w["width"]) for w in words)


def _paragraphs(rows: list[_Line], body: float, step: float) -> list[str]:
    """The page's paragraphs. A line runs on from the one above unless the gap between them is wider than the
    page's line step (``PARAGRAPH_GAP``), it starts further left or right (a column, an indent), or Tesseract
    starts a paragraph after a short line (Tesseract alone makes each line of widely spaced Lao a block). A one-line paragraph set
    ``HEADING_SIZE`` times the body's height is a heading."""
    groups: list[list[_Line]] = []
    for i, line in enumerate(rows):
        above = rows[i - 1] if i else None
        if above is None or not 0 < line.top - above.top <= PARAGRAPH_GAP * step or abs(line.left - above.left) > 2 * body:
            groups.append([line])  # a wide gap, a new column, or an indented line
            continue
        column = max(r.right - r.left for r in rows if abs(r.left - above.left) <= 2 * body)
        if above.key[:2] == line.key[:2] or above.right - above.left >= SHORT_LINE * column:
            groups[-1].append(line)
        else:
            groups.append([line])
    out = []
    for group in groups:
        if len(group) == 1 and group[0].height >= HEADING_SIZE * body and len(group[0].text.split()) <= 12:
            out.append("# " + group[0].text)
            continue
        text = group[0].text
        for line in group[1:]:
            text = join_lines(text, line.text)
        out.append(text)
    return out


def _cached(cache: Path | None, key: str) -> OcrPage | None:
    if cache is None:
        return None
    try:
        data = json.loads((cache / f"{key}.json").read_text(encoding="utf-8"))
        return OcrPage(tuple(data["paragraphs"]), data["confidence"], tuple(tuple(w) for w in data["words"]),
                       tuple(data["size"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _keep(cache: Path | None, key: str, page: OcrPage) -> None:
    """Write a page's result into the cache, atomically; a cache that cannot be written is only not kept."""
    if cache is None:
        return
    try:
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=cache, suffix=".tmp", delete=False) as out:
            json.dump(asdict(page), out, ensure_ascii=False)
        os.replace(out.name, cache / f"{key}.json")
    except OSError:
        pass
