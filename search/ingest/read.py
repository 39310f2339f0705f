"""Reading reports from corpus/: text extraction, paragraphs, section headings, titles.

Every format becomes one plain text (the *source text*) plus page boundaries for
PDFs. Paragraphs are spans of that text, so a citation's character span can be
checked against it: for ``.txt`` and ``.md`` the source text is the file itself.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from search.errors import CorpusError, DocumentError
from search.ingest.lang import has_lao
from search.ingest.limits import DEFAULT_LIMITS, TAGS_PER_PASSAGE, ReadLimits
from search.ingest.outline import LAO_HEADING_RE, MD_HEADING_RE, Heading, Outline, heading_line, label_rank, unleveled

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".docx", ".png", ".jpg", ".jpeg", ".tif", ".tiff")
MAX_FILE_BYTES = 50 * 1024 * 1024

_BLOCK_RE = re.compile(r"\S(?:.*?\S)?(?=\n[ \t]*\n|\s*\Z)", re.S)
# An all-capitals lead such as "PROSECUTION" or "LAOS: TIER 2" before a normal sentence.
_INLINE_HEADING_RE = re.compile(r"([A-Z][A-Z0-9 ,:&'’–-]*[A-Z0-9])[:.]?[ \t]+(?=[A-Z][a-z])")


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of a document: its number, its span in the source text, its section (the heading path in
    force, :mod:`search.ingest.outline`) and page."""

    number: int
    start: int
    end: int
    section: str | None = None
    page: int | None = None


@dataclass(frozen=True)
class Document:
    """A report read from the corpus.

    Attributes:
        doc_id: file name relative to the corpus folder, with ``/`` separators.
        title: a human title (first heading or headline), else the file name.
        text: the source text all spans refer to.
        paragraphs: content paragraphs in reading order.
        content_hash: SHA-256 of the file's bytes.
        ocr: ``(page, confidence)`` of each page read by OCR (:mod:`search.ingest.scans`).
    """

    doc_id: str
    title: str
    text: str
    paragraphs: tuple[Paragraph, ...]
    content_hash: str
    ocr: tuple[tuple[int, float], ...] = ()


def list_corpus(corpus_dir: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """List the readable report files of a corpus folder, recursively, sorted.

    Returns:
        The supported files, and ``(name, reason)`` for each file skipped for its type.

    Raises:
        CorpusError: the folder does not exist.
    """
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus folder {corpus_dir} does not exist; create it and put reports (.txt, .md, .html, .pdf, .docx) in it")
    root = corpus_dir.resolve()
    files, skipped = [], []
    for path in sorted(corpus_dir.rglob("*")):
        name = path.relative_to(corpus_dir).as_posix()
        if any(part.startswith(".") for part in Path(name).parts):
            continue
        if path.is_dir() and not path.is_symlink():
            continue  # rglob walks into it; a linked folder is not walked, and is named below
        problem = _unsafe_entry(path, name, root)
        if problem:
            skipped.append((printable_name(name), problem))
        elif path.suffix.lower() in SUPPORTED_SUFFIXES:
            files.append(path)
        else:
            skipped.append((name, f"unsupported file type {path.suffix or '(none)'}; supported: {', '.join(SUPPORTED_SUFFIXES)}"))
    return files, skipped


def _unsafe_entry(path: Path, name: str, root: Path) -> str | None:
    """Why a corpus entry must not be read (a link out of the corpus, a device, a bad name), or None."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "the file name is not valid UTF-8; rename the file"
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return "a broken or looping link"
    if not real.is_relative_to(root):
        return "a link that leads outside the corpus folder; copy the report into the folder instead"
    if real.is_dir():
        return "a link to a folder, which is not followed; its reports inside the corpus are read where they are"
    if not real.is_file():
        return "not a regular file"
    return None


def printable_name(name: str) -> str:
    """A file name that can be printed and stored as UTF-8 (undecodable bytes shown as ``\\xNN``)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def read_document(path: Path, doc_id: str | None = None, limits: ReadLimits = DEFAULT_LIMITS) -> Document:
    """Read one report into a :class:`Document`.

    Args:
        path: a ``.txt``, ``.md``, ``.html``/``.htm``, ``.pdf`` or ``.docx`` file, or a scan (``.png``, ``.jpg``,
            ``.tif``), OCR'd.
        doc_id: the id to give it; the file name when None.
        limits: the pages, characters and paragraphs it may have (time and memory are bounded by
            :mod:`search.ingest.bounded`, which calls this in a child process).

    Raises:
        DocumentError: the type is unsupported, the file is binary, not UTF-8, damaged or empty, or over a limit.
    """
    path = Path(path)
    doc_id = doc_id or path.name
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(f"{doc_id}: unsupported file type {suffix or '(none)'}; supported: {', '.join(SUPPORTED_SUFFIXES)}")
    check_size(path, doc_id)
    data = path.read_bytes()
    ocr = ()
    if suffix == ".pdf":
        from search.ingest.pdf import pdf_text

        text, page_starts, ocr = pdf_text(data, doc_id, limits)
        check_unicode_lao(text, doc_id)
    elif suffix in (".png", ".jpg", ".jpeg", ".tif", ".tiff"):
        from search.ingest.scans import image_text

        text, page_starts, ocr = image_text(data, doc_id, limits)
    elif suffix == ".docx":
        from search.ingest.docx import docx_text

        text, page_starts = docx_text(data, doc_id), ()
        check_unicode_lao(text, doc_id)
    else:
        text, page_starts = _decode(data, doc_id), ()
        if suffix in (".html", ".htm"):
            from search.ingest.html import html_text

            limits.check(text.count("<"), "max_passages", doc_id, "tags", per=TAGS_PER_PASSAGE)  # before parsing them
            text = html_text(text)
    limits.check(len(text), "max_chars", doc_id, "characters of text")
    title = find_title(text, doc_id)
    paragraphs = tuple(split_paragraphs(text, page_starts=page_starts, markdown=suffix != ".txt", title=title))
    limits.check(len(paragraphs), "max_passages", doc_id, "paragraphs")
    if not paragraphs:
        raise DocumentError(f"{doc_id}: no readable text found")
    return Document(doc_id, title, text, paragraphs, hashlib.sha256(data).hexdigest(), ocr)


# Lao set in a legacy (pre-Unicode) font is stored as the codes that font drew Lao glyphs at: Latin-1
# letters and signs (Saysettha Lao, Lao Souk...) or Thai letters. Extracted, such text is garbage that no
# question matches, so it is refused with what to do. A share this high is not French or Vietnamese (a few
# accented letters in a hundred), nor a Lao report quoting a Thai name.
_LATIN1_GLYPHS = re.compile(r"[\u00a1-\u00ff]")
_THAI = re.compile(r"[\u0e01-\u0e5b]")
LEGACY_SHARE = 0.25
# A report in Thai is Thai letters too. Cut into words by pythainlp's dictionary, Thai prose is dictionary words
# throughout (1.0 on a trafficking report's sentences); Lao typed in a font drawn at Thai codes is not, though
# the languages share many words (0.73 on the bundled Lao article so shifted), and it holds codes Thai never uses.
THAI_WORDS = 0.9
_THAI_RUN = re.compile(r"[\u0e01-\u0e5b]+")


def check_unicode_lao(text: str, doc_id: str) -> None:
    """Raise when a PDF's or Word file's text looks like Lao in a legacy, non-Unicode font.

    Raises:
        DocumentError: over ``LEGACY_SHARE`` of the text's visible characters are Latin-1 letters and signs,
            or Thai letters with no Lao ones that do not read as Thai words (``THAI_WORDS``).
    """
    visible = sum(1 for ch in text if not ch.isspace())
    if visible < 20:
        return
    latin1, thai = len(_LATIN1_GLYPHS.findall(text)), len(_THAI.findall(text))
    legacy_thai = thai > LEGACY_SHARE * visible and not has_lao(text) and thai_word_share(text) < THAI_WORDS
    if latin1 > LEGACY_SHARE * visible or legacy_thai:
        seen = "Latin-1 letters and signs" if latin1 >= thai else "Thai letters"
        raise DocumentError(f"{doc_id}: the text layer is not Unicode Lao (it reads as {seen}: a legacy Lao font?); "
                            "export it again with a Unicode Lao font (Phetsarath OT, Saysettha OT, Noto Sans Lao) "
                            "or OCR it")


def thai_word_share(text: str, sample: int = 3000) -> float:
    """The share of the Thai letters of ``text`` (its first ``sample``) that stand in words of pythainlp's Thai
    dictionary, words of two letters or more; 0.0 when a code Thai does not use appears."""
    from pythainlp.corpus import thai_words
    from pythainlp.tokenize import word_tokenize

    runs = " ".join(_THAI_RUN.findall(text))[:sample]
    if re.search(r"[\u0e3b-\u0e3e\u0e5c-\u0e7f]", runs):
        return 0.0
    words, known, letters = thai_words(), 0, 0
    for word in word_tokenize(runs, engine="newmm", keep_whitespace=False):
        letters += len(word)
        known += len(word) if len(word) > 1 and word in words else 0
    return known / letters if letters else 0.0


def check_size(path: Path, doc_id: str) -> None:
    """Raise before reading a file over ``MAX_FILE_BYTES``.

    Raises:
        DocumentError: the file is too big, or cannot be examined.
    """
    try:
        size = Path(path).stat().st_size
    except OSError as exc:
        raise DocumentError(f"{doc_id}: cannot read file ({exc.strerror})") from exc
    if size > MAX_FILE_BYTES:
        raise DocumentError(f"{doc_id}: file is {size // 2**20} MiB, over the {MAX_FILE_BYTES // 2**20} MiB limit; split it")


# Byte order marks of the Unicode encodings other than UTF-8 (UTF-32's first: it begins like UTF-16's).
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def _decode(data: bytes, doc_id: str) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return _text_only(data.decode(encoding), doc_id)
            except UnicodeDecodeError as exc:
                raise DocumentError(f"{doc_id}: starts as {encoding.upper()} text but is damaged at byte {exc.start}; re-save it as UTF-8") from exc
    if b"\x00" in data[:8192]:
        raise DocumentError(f"{doc_id}: looks like a binary file, not text; save it as UTF-8 text (.txt, .md, .html), PDF or .docx")
    try:
        return _text_only(data.decode("utf-8-sig"), doc_id)
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{doc_id}: not valid UTF-8 text (byte {exc.start}); re-save the file as UTF-8") from exc


# Control characters that text does not hold (tab, line feed, form feed and carriage return are text).
_BINARY = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _text_only(text: str, doc_id: str) -> str:
    """``text``, unless it holds binary data anywhere: a NUL, or control characters in more than one in a
    thousand characters (a text file with binary data appended is not indexed as text)."""
    controls = _BINARY.findall(text)
    if "\x00" in controls or len(controls) > len(text) / 1000:
        where = _BINARY.search(text).start()
        raise DocumentError(f"{doc_id}: holds binary data (from character {where + 1}), not only text; save it as "
                            "UTF-8 text (.txt, .md, .html), PDF or .docx")
    return text


def split_paragraphs(text: str, *, page_starts: tuple[int, ...] = (), markdown: bool = True,
                     title: str | None = None) -> list[Paragraph]:
    """Split a source text into content paragraphs with their heading paths and pages.

    Paragraphs are blocks separated by blank lines; a line repeated right after
    itself (a photo caption printed twice) starts no new paragraph. Headings
    (:mod:`search.ingest.outline`: Markdown lines of any level, several in a row,
    legal numbering standing alone, capitals, Lao numbering) are no paragraphs:
    they set the heading path of what follows. Site debris (a few letters, menu
    tokens such as ``XS SM MD LG``) is dropped.

    Args:
        text: the source text.
        page_starts: the offset at which each page starts, for PDFs.
        markdown: whether ``#`` lines are headings.
        title: the document's title, left out of the paths (it is shown apart).

    Returns:
        The paragraphs, numbered from 1; each one's ``section`` is its heading path.
    """
    out, outline = [], Outline(title)
    for piece in _pieces(text, markdown):
        if isinstance(piece, Heading):
            outline.enter(piece)
            continue
        start, end = piece
        block = text[start:end]
        if is_debris(block):
            continue
        inline = _INLINE_HEADING_RE.match(block)
        if inline and sum(ch.isupper() for ch in inline.group(1)) >= 5:
            outline.enter(unleveled(inline.group(1).strip()))
        elif LAO_HEADING_RE.match(block) and "\n" in block and len(first := block.split("\n", 1)[0]) <= 100:
            outline.enter(unleveled(first.strip()))  # "ມາດຕາ 3 ...\n<the article's text>": the first line heads it
        else:
            outline.close_numbered(label_rank(block))  # "(14) The term …" ends the "(13)" standing over "(A) …"
        out.append(Paragraph(len(out) + 1, start, end, outline.path(), _page_of(start, page_starts)))
    return out


def _blocks(text: str):
    """Yield (start, end) of blank-line separated blocks, cutting at an immediately repeated line."""
    for match in _BLOCK_RE.finditer(text):
        start, previous = match.start(), None
        pos = start
        for line in match.group().split("\n"):
            stripped = line.strip()
            if stripped and stripped == previous:
                yield start, text.rfind(previous, start, pos) + len(previous)
                start = None
                break
            previous = stripped or previous
            pos += len(line) + 1
        if start is not None:
            yield start, match.end()


def _pieces(text: str, markdown: bool):
    """The text's headings (:class:`Heading`) and paragraph spans ``(start, end)``, in reading order.

    In Markdown every ``#`` line is a heading, blank line or not around it; the lines between headings
    are a paragraph. A block that is a heading as a whole (capitals, Lao numbering, a label standing
    alone) is one too.
    """
    for start, end in _blocks(text):
        spans, pos, run = [], start, None
        for line in text[start:end].split("\n"):
            heading = heading_line(line, markdown=True) if markdown and line.lstrip().startswith("#") else None
            if heading:
                if run:
                    spans.append(run)
                spans.append(heading)
                run = None
            elif line.strip():
                run = (run[0] if run else pos + len(line) - len(line.lstrip()), pos + len(line.rstrip()))
            pos += len(line) + 1
        if run:
            spans.append(run)
        for piece in spans:
            if isinstance(piece, Heading):
                yield piece
            else:
                yield from _standalone_heading(text[piece[0]:piece[1]], markdown) or [piece]


def _standalone_heading(block: str, markdown: bool) -> list[Heading] | None:
    """The headings a block is as a whole, or None: Lao numbering over at most one more line (its name),
    a line of capitals, or legal numbering standing alone (``§ 7103.``, ``(a)``)."""
    lines = [line.strip() for line in block.split("\n")]
    if len(block) <= 100 and LAO_HEADING_RE.match(block) and len(lines) <= 2 and not block.endswith((".", "!", "?", ":")):
        return [unleveled(" ".join(lines))]  # "ພາກທີ I" over "ບົດບັນຍັດທົ່ວໄປ" (its name) is one heading
    if len(lines) > 1:
        return None
    legal = heading_line(block, markdown=markdown)
    if legal:
        return [legal]
    letters = [ch for ch in block if ch.isalpha()]
    if len(block) <= 100 and len(letters) >= 4 and all(ch.isupper() for ch in letters) and not block.endswith("."):
        return [unleveled(block.strip())]
    return None


def is_debris(block: str) -> bool:
    """True for text with no content: fewer than 6 letters, or only short menu tokens (``XS SM MD LG``)."""
    letters = sum(unicodedata.category(ch).startswith("L") for ch in block)
    tokens = block.split()
    menu = all(len(tok) <= 3 and not any(ch.isdigit() for ch in tok) for tok in tokens) and len(tokens) <= 8
    return letters < 6 or menu


def find_title(text: str, fallback: str) -> str:
    """Return a document's title: its first heading or headline, else ``fallback``.

    A headline is a one-line block of 30–200 characters that does not end like a
    sentence, among the first five blocks.
    """
    for i, (start, end) in enumerate(_blocks(text)):
        block = text[start:end]
        md = MD_HEADING_RE.fullmatch(block.split("\n", 1)[0].strip())
        if md:
            return md.group(2).strip()
        if "\n" not in block and 30 <= len(block) <= 200 and not block.rstrip().endswith((".", "!", "?", ":")):
            return block.strip()
        if i >= 4:
            break
    return fallback


def _page_of(offset: int, page_starts: tuple[int, ...]) -> int | None:
    if not page_starts:
        return None
    return sum(1 for s in page_starts if s <= offset)
