"""Hostile reports made on the spot: small files that are a great deal of work to read (#25).

Shared by tests/test_faults.py (refused, by the right limit) and bench/hostile.py (how fast, in how
much memory, and what other users' searches see meanwhile).
"""

from __future__ import annotations

import zlib


def pdf(pages: int, content: bytes, *, shared: bool = True) -> bytes:
    """A valid PDF of ``pages`` pages, each drawing ``content`` (one stream shared by every page when ``shared``)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", None,
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    stream = zlib.compress(content, 9)
    objects.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream")
    kids = []
    for i in range(pages):
        contents = 4 if shared or i == 0 else len(objects) + 1
        kids.append(b"%d 0 R" % (len(objects) + 1))
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
                       b"/Contents %d 0 R >>" % contents)
    objects[1] = b"<< /Type /Pages /Count %d /Kids [" % pages + b" ".join(kids) + b"] >>"
    return _serialized(objects)


def text_ops(line: str, repeat: int = 1) -> bytes:
    """A content stream that writes ``line`` ``repeat`` times, a line each."""
    op = b"(" + line.encode("latin-1") + b") Tj T* "
    return b"BT /F1 10 Tf 12 TL 72 720 Td " + op * repeat + b"ET"


def many_pages(pages: int = 50_000) -> bytes:
    """The catalogue's 17 MB PDF, in spirit: ``pages`` one-line pages (one shared stream keeps it small)."""
    return pdf(pages, text_ops("Page text about ferries on the Mekong."))


def inflating(megabytes: int = 73, pages: int = 1) -> bytes:
    """A PDF of a few hundred KB whose stream inflates to ``megabytes`` MB of text operators, drawn by ``pages`` pages."""
    line = text_ops("Rice harvest figures for the southern provinces, again and again.")
    return pdf(pages, line * (megabytes * 2**20 // len(line)))


def many_paragraphs(paragraphs: int = 120_000) -> bytes:
    """An HTML page of ``paragraphs`` short ``<p>`` (about 5 MB)."""
    body = "".join(f"<p>Paragraph {i} about river ferries and their passengers.</p>\n" for i in range(paragraphs))
    return f"<html><head><title>Many paragraphs</title></head><body>{body}</body></html>".encode()


def tiny_tags(megabytes: int = 20) -> bytes:
    """HTML of nothing but tiny tags, ``megabytes`` MB of them."""
    return b"<html><body>" + b"<b></b>" * (megabytes * 2**20 // 7) + b"</body></html>"


def huge_to_unicode(codes: int = 200_000) -> bytes:
    """A one-page PDF whose font maps ``codes`` character codes to text (pypdf stops past 100,000: its own limit,
    which is no decompression bomb)."""
    cmap = (b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap 1 begincodespacerange <000000> <FFFFFF> "
            b"endcodespacerange 1 beginbfrange <000000> <%06X> <0041> endbfrange endcmap end end" % (codes - 1))
    page = pdf(1, text_ops("Rice harvest figures."))
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    stream = b"<< /Length %d >>\nstream\n" % len(cmap) + cmap + b"\nendstream"
    return _rebuilt(page.replace(font, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 6 0 R >>"),
                    stream)


def _serialized(objects: list[bytes]) -> bytes:
    """A PDF file of these objects, numbered from 1, with its cross-reference table and trailer."""
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _rebuilt(data: bytes, extra: bytes) -> bytes:
    """``data`` (a PDF made by :func:`pdf`) with one more object, ``extra``, and its cross-reference table made again."""
    import re

    bodies = [m.group(1) for m in re.finditer(rb"\d+ 0 obj\n(.*?)\nendobj\n", data, re.S)] + [extra]
    return _serialized(bodies)


def huge_docx(paragraphs: int = 400_000) -> bytes:
    """A Word file of about 130 KB whose document.xml is about 30 MB: more than a 256 MB read can parse."""
    import io
    import zipfile

    import docx

    blank = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("x")
    document.save(blank)
    source, out = zipfile.ZipFile(io.BytesIO(blank.getvalue())), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "word/document.xml":
                head, _, tail = data.partition(b"<w:body>")
                para = b"<w:p><w:r><w:t>River ferry passengers counted in March.</w:t></w:r></w:p>"
                data = head + b"<w:body>" + para * paragraphs + tail
            z.writestr(item, data)
    return out.getvalue()
