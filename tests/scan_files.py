"""Scanned pages made as users make them, with the texts they were made from (tests/data/scans/).

Pages are set with PIL and libraqm (HarfBuzz shaping, so Lao vowels and tone marks stack as they print), in
Phetsarath OT (Debian's fonts-lao) for Lao and DejaVu Sans for English, 11 pt body and 15 pt headings, then
"scanned": 300 and 150 dpi in black and white, one photographed with a phone (skewed, grey, noisy, JPEG),
and a two-column page with a second page in one multi-page TIFF. Lao lines break between words (laonlp's),
as Lao is set. ``python tests/scan_files.py`` writes the committed set again; it is deterministic.

The Lao text is the dev library's child-labour report (eval/library/reports/lo-report-child-labour.txt,
written by the project); the English is the bundled report's (corpus/laos-tip-2022-voa.txt).
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

ROOT = Path(__file__).resolve().parents[1]
SCANS = Path(__file__).resolve().parent / "data" / "scans"
LAO_FONT = Path("/usr/share/fonts/truetype/lao/Phetsarath_OT.ttf")
LATIN_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
LATIN_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
_LAO = re.compile(r"[\u0e80-\u0eff]")

# name: (language, dpi, how it was scanned, the source file's paragraphs by index, heading)
SCAN_SET = {
    "en-300.png": ("en", 300, "flat", ("corpus", (16,)), "PROTECTION"),
    "en-150.png": ("en", 150, "flat", ("corpus", (16,)), "PROTECTION"),
    "lo-300.png": ("lo", 300, "flat", ("lao", (1, 2, 3, 4)), "ແຮງງານເດັກ ແລະ ການອອກໂຮງຮຽນກາງຄັນ"),
    "lo-150.png": ("lo", 150, "flat", ("lao", (1, 2, 3, 4)), "ແຮງງານເດັກ ແລະ ການອອກໂຮງຮຽນກາງຄັນ"),
    "lo-phone.jpg": ("lo", 200, "phone", ("lao", (5,)), None),
    "en-phone.jpg": ("en", 200, "phone", ("corpus", (21,)), None),
    "two-columns.tif": ("en", 300, "columns", ("corpus", (25, 17)), None),
}


def source_paragraphs(source: str) -> list[str]:
    """The paragraphs of the Lao report (``lao``) or of the bundled report (``corpus``), by blank lines."""
    path = (ROOT / "eval/library/reports/lo-report-child-labour.txt" if source == "lao"
            else ROOT / "corpus/laos-tip-2022-voa.txt")
    return [b.strip() for b in path.read_text(encoding="utf-8").split("\n\n") if b.strip()]


def expected(name: str) -> list[str]:
    """What a reader should give back for a scan of the set: its heading (if any) and paragraphs, in order."""
    lang, dpi, how, (source, picks), heading = SCAN_SET[name]
    paragraphs = source_paragraphs(source)
    body = [_unheaded(paragraphs[i]) for i in picks]
    return ([heading] if heading else []) + body


def _unheaded(paragraph: str) -> str:
    """The bundled report's English paragraphs start with their section's name in capitals ("PROSECUTION The
    government..."); on the page that name is set as a heading instead."""
    return re.sub(r"^[A-Z][A-Z ]{4,}:? (?=[A-Z][a-z])", "", paragraph)


def _font(path: Path, points: float, dpi: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), round(points * dpi / 72), layout_engine=ImageFont.Layout.RAQM)


def _units(text: str) -> list[str]:
    """Where a line may break: at spaces, and between Lao words."""
    from laonlp.tokenize import word_tokenize

    out = []
    for piece in re.split(r"(\s+)", text):
        if _LAO.search(piece):
            out.extend(word_tokenize(piece))
        elif piece:
            out.append(piece)
    return out


def wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """``text`` broken into lines no wider than ``width`` pixels, at spaces or between Lao words."""
    lines, line = [], ""
    for unit in _units(text):
        if line and font.getlength((line + unit).rstrip()) > width:
            lines.append(line.rstrip())
            line = unit.lstrip()
        else:
            line += unit
    if line.strip():
        lines.append(line.rstrip())
    return lines


def set_page(blocks: list[tuple[str, bool]], dpi: int, *, columns: int = 1, width_in: float = 8.27,
             margin_in: float = 0.8) -> Image.Image:
    """A white page ``width_in`` inches wide, as tall as its text, with ``blocks`` (text, is it a heading) set
    in one or more columns, black on white, in grey levels."""
    width = round(width_in * dpi)
    margin, gap = round(margin_in * dpi), round(0.3 * dpi)
    column = (width - 2 * margin - (columns - 1) * gap) // columns
    placed, heights = [[] for _ in range(columns)], [0] * columns
    for i, (text, heading) in enumerate(blocks):
        lao = bool(_LAO.search(text))
        font = _font(LAO_FONT if lao else LATIN_BOLD if heading else LATIN_FONT, 15 if heading else 11, dpi)
        step = round(font.size * (1.9 if lao else 1.45))
        c = min(i * columns // len(blocks), columns - 1)
        for line in wrap(text, font, column):
            placed[c].append((line, font, heights[c]))
            heights[c] += step
        heights[c] += step // 2
    page = Image.new("L", (width, max(heights) + 2 * margin), 255)
    draw = ImageDraw.Draw(page)
    for c, lines in enumerate(placed):
        for line, font, y in lines:
            draw.text((margin + c * (column + gap), margin + y), line, font=font, fill=0)
    return page


def set_pages(paragraphs: list[str], dpi: int, *, height_in: float = 11.69, width_in: float = 8.27,
              margin_in: float = 0.8) -> list[Image.Image]:
    """``paragraphs`` set on as many A4 pages as they take, a paragraph running on to the next page where
    the page ends, in black and white, as a long report is printed and scanned."""
    width, height = round(width_in * dpi), round(height_in * dpi)
    margin = round(margin_in * dpi)
    pages, y = [], height
    for text in paragraphs:
        lao = bool(_LAO.search(text))
        font = _font(LAO_FONT if lao else LATIN_FONT, 11, dpi)
        step = round(font.size * (1.9 if lao else 1.45))
        for line in wrap(text, font, width - 2 * margin):
            if y + step > height - margin:
                pages.append(Image.new("L", (width, height), 255))
                draw, y = ImageDraw.Draw(pages[-1]), margin
            draw.text((margin, y), line, font=font, fill=0)
            y += step
        y += step // 2
    return [page.convert("1") for page in pages]


def scan(name: str) -> list[Image.Image]:
    """The pages of scan ``name`` as they are written to tests/data/scans."""
    lang, dpi, how, _, heading = SCAN_SET[name]
    texts = expected(name)
    blocks = [(t, heading is not None and i == 0) for i, t in enumerate(texts)]
    if how == "columns":
        first = set_page(blocks, dpi, columns=2)
        second = set_page([(t, False) for t in source_paragraphs("lao")[6:7]], dpi)
        return [first.convert("1"), second.convert("1")]
    page = set_page(blocks, dpi)
    if how == "flat":
        return [page.convert("1")]
    return [_photographed(page, seed=len(name))]


def _photographed(page: Image.Image, seed: int) -> Image.Image:
    """A page as a phone photographs it: turned 2.5 degrees, grey paper with uneven light, blurred, noisy."""
    rng = random.Random(seed)
    page = page.rotate(2.5, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    shade = Image.linear_gradient("L").resize(page.size).point(lambda v: 200 + v // 6)
    page = Image.composite(page, shade, page.point(lambda v: 255 - v))  # ink stays, paper greys
    page = page.filter(ImageFilter.GaussianBlur(0.8))
    noise = Image.effect_noise(page.size, 18)
    page = Image.blend(page, noise, 0.12)
    return page.point(lambda v: max(0, min(255, v + rng.randint(-2, 2))))


def write_scan_set(folder: Path = SCANS) -> None:
    """Write the scan set and each scan's source text (``name.txt``: one paragraph a line) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, (lang, dpi, how, _, _) in SCAN_SET.items():
        pages = scan(name)
        path = folder / name
        if name.endswith(".jpg"):
            pages[0].save(path, quality=55, dpi=(dpi, dpi), optimize=True)
        elif name.endswith(".tif"):
            pages[0].save(path, compression="group4", dpi=(dpi, dpi), save_all=True, append_images=pages[1:])
        else:
            pages[0].save(path, dpi=(dpi, dpi), optimize=True)
        text = expected(name) + ([source_paragraphs("lao")[6]] if how == "columns" else [])
        (folder / (Path(name).stem + ".txt")).write_text("\n".join(text) + "\n", encoding="utf-8")


def scanned_pdf(images: list[Image.Image], path: Path, dpi: int = 300) -> Path:
    """An image-only PDF of ``images`` (no text layer), as a scanner writes one."""
    images[0].save(path, "PDF", resolution=dpi, save_all=True, append_images=images[1:])
    return path


if __name__ == "__main__":
    write_scan_set()
