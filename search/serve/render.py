"""The page's HTML: result cards, the answer box, the source view, the corpus summary, and their CSS and scripts.

Every piece of report text and every file name goes through ``html.escape`` (Markdown through :func:`md_text`).
Pure functions of search results; the page (``search/serve/page.py``) calls them.
"""

from __future__ import annotations

import html
import re
import urllib.parse
from typing import TYPE_CHECKING

from search.ingest.ocr import LOW_CONFIDENCE
from search.cite import format_citation, human_citation, place, short_path
from search.display import visible
from search.errors import SearchError
from search.serve.curate import WriteOutcome

if TYPE_CHECKING:
    from search.retrieve.engine import Searcher
    from search.serve.scanview import ScanPages, ScanView

EMPTY_QUESTION = ('<p class="notice" id="empty-question">Type a question first, in Lao or English. · '
                  'ກະລຸນາພິມຄຳຖາມກ່ອນ, ເປັນພາສາລາວ ຫຼື ອັງກິດ.</p>')
PAGE_MAX_K = 20  # results the page shows at most (its slider, ?k=); the APIs go to checks.MAX_K
LANG_NAMES = {"lo": "Lao · ລາວ", "en": "English · ອັງກິດ", "und": "unknown"}
LANG_FILTERS = {"All languages · ທຸກພາສາ": None, "Lao passages · ພາສາລາວ": "lo", "English passages · ພາສາອັງກິດ": "en"}
# Runs before each search: the address bar shows ?q=…&k=…&lang=…&doc=…, so the page can be bookmarked or shared.
ADDRESS_FOLLOWS = """(q, k, label, docs) => {
  const codes = %s;
  const url = new URL(window.location.href);
  url.search = "";
  if (q && q.trim()) {
    url.searchParams.set("q", q); url.searchParams.set("k", k); url.searchParams.set("lang", codes[label] || "all");
    for (const doc of docs || []) url.searchParams.append("doc", doc);
  }
  window.history.replaceState(null, "", url);
  return [q, k, label, docs];
}"""
# A "Copy citation" button copies the citation in words and the link, made absolute from the page's address.
COPY_CITATION = """
element.addEventListener("click", async (event) => {
  const button = event.target.closest("button.copy-cite");
  if (!button) return;
  const text = button.dataset.cite + " " + new URL(button.dataset.href, window.location.href).href;
  try { await navigator.clipboard.writeText(text); }
  catch (_) {  // no clipboard API over plain HTTP from another machine
    const area = document.createElement("textarea");
    area.value = text; document.body.appendChild(area); area.select(); document.execCommand("copy"); area.remove();
  }
  button.textContent = "Copied · ສຳເນົາແລ້ວ";
});
"""
# The source view opens scrolled to the cited passage.
SCROLL_TO_MARK = """
const show = () => {  // scroll the report's own box, so its title and the page's top stay in view
  const box = element.querySelector(".source-view .source-body"), mark = element.querySelector("#cited");
  if (box && mark) box.scrollTop = mark.offsetTop - box.clientHeight / 3;
  const scan = element.querySelector(".page-scan"), line = element.querySelector(".line-mark");
  if (scan && line)  // the scanned page beside it, scrolled to the passage's first line
    scan.scrollTop += line.getBoundingClientRect().top - scan.getBoundingClientRect().top - scan.clientHeight / 3;
};
watch("value", show);
show();
"""
CSS = """
.hit {border: 1px solid #d0d7de; border-radius: 8px; padding: 10px 14px; margin: 10px 0;}
.hit-head {font-weight: 600; display: flex; gap: 10px; align-items: baseline;}
.hit-head .score, .hit-head .lang, .hit-head .why {font-weight: 400; color: #57606a; font-size: 0.9em;}
.hit-head .why ul {margin: 4px 0 0 18px; padding: 0;}
.cite {color: #0550ae; font-size: 0.9em; margin: 4px 0 6px;}
.passage {line-height: 1.6; margin: 0; white-space: pre-wrap;}
.passage mark {background: #fff3b0; padding: 0 1px;}
.context {margin-top: 6px; font-size: 0.92em;}
.context p {color: #444; line-height: 1.55; white-space: pre-wrap;}
.context .this {background: #eef6ff;}
.answer {border: 2px solid #2da44e; border-radius: 8px; padding: 10px 14px; margin: 6px 0 12px; background: #f6fff8;}
.answer.none {border-color: #d0d7de; background: #f6f8fa; color: #57606a;}
.answer-label {font-weight: 600; color: #1a7f37;} .answer-label .from {font-weight: 400; color: #57606a;}
.answer-text {font-size: 1.1em; line-height: 1.6; margin: 4px 0;}
.copy-cite {font-size: 0.85em; margin-left: 6px; padding: 1px 8px; border: 1px solid #d0d7de; border-radius: 6px;
            background: #f6f8fa; cursor: pointer;}
.source-view {border: 1px solid #d0d7de; border-radius: 8px; padding: 10px 16px; margin-bottom: 12px;}
.source-view .source-body {max-height: 65vh; overflow-y: auto; position: relative;}
.source-view .src-p {line-height: 1.6; white-space: pre-wrap;}
.source-view .para {color: #57606a; font-size: 0.85em;}
.source-view .aside {color: #8c959f; font-size: 0.85em;}
.source-view mark.passage {background: #fff8c5;} .source-view mark.sentence {background: #ffd33d;}
.source-split {display: flex; gap: 16px; align-items: flex-start;} .source-split > * {flex: 1 1 0; min-width: 0;}
.page-scan {max-height: 65vh; overflow-y: auto;} .scan-note {color: #57606a; font-size: 0.85em; margin-bottom: 4px;}
.scan-frame {position: relative;} .scan-frame img {display: block; width: 100%; height: auto; border: 1px solid #d0d7de;}
.line-mark {position: absolute; background: #fff3b0; mix-blend-mode: multiply; outline: 2px solid #d4a72c;}
.line-mark.sentence {background: #ffd33d; outline: none;}
@media (max-width: 600px) { .stack-narrow {flex-direction: column !important;}
                             .stack-narrow > * {width: 100% !important; min-width: 100% !important;} }
"""



# Refusals of a question, in Lao (the English is the error's own message): its pattern in the English, then the Lao.
_LAO_REFUSALS = (
    (re.compile(r"the question is ([\d,]+) characters long; the limit is ([\d,]+)"),
     "ຄຳຖາມຍາວ {0} ຕົວອັກສອນ, ເກີນຂີດຈຳກັດ {1} ຕົວອັກສອນ; ກະລຸນາຖາມເທື່ອລະເລື່ອງ."),
    (re.compile(r"invalid character at position (\d+)"), "ຄຳຖາມມີຕົວອັກສອນທີ່ໃຊ້ບໍ່ໄດ້ຢູ່ບ່ອນທີ {0}; ກະລຸນາພິມໃໝ່."),
)
_LAO_REFUSED = "ກະລຸນາແກ້ໄຂຄຳຖາມ ຫຼື ການເລືອກ ແລ້ວລອງໃໝ່."  # any other: correct the question or the choices, try again


def search_error_html(exc: Exception) -> str:
    """A refused search, shown in place of the old results, in both languages: the error's message, then its
    Lao (a known refusal's own words, or a general one)."""
    message = str(exc)
    lao = next((lao.format(*m.groups()) for pattern, lao in _LAO_REFUSALS if (m := pattern.search(message))), _LAO_REFUSED)
    return (f'<p class="notice" id="search-error">Cannot search · ຄົ້ນຫາບໍ່ໄດ້: {html.escape(message)}'
            f'<br><span lang="lo">{html.escape(lao)}</span></p>')


def card(hit, context) -> str:
    """One result as HTML. Every piece of report text goes through html.escape."""
    body = _marked(hit.text, [hit.highlight] if hit.highlight else [], "mark")
    paragraph = "".join(
        f'<p class="{"this" if p.passage_id == hit.passage_id else ""}">{html.escape(p.text)}</p>' for p in context)
    return (
        f'<div class="hit"><div class="hit-head"><span>#{hit.rank}</span>'
        f'<span class="lang">{html.escape(LANG_NAMES.get(hit.lang, hit.lang))}</span>{_why_html(hit)}</div>'
        f'<div class="cite">{_cite_links(hit.citation, hit.passage_id, hit.highlight)}</div>'
        + "".join(f'<div class="cite also">also in {html.escape(format_citation(c))}</div>' for c in hit.also_in) +
        f'<p class="passage">{body}</p>'
        f'<details class="context"><summary>Paragraph ¶ {hit.citation.paragraph} in full · ເບິ່ງທັງວັກ</summary>{paragraph}</details></div>'
    )



# Each ranked list in plain words: what it compares with the question.
WHY_LISTS = {"dense": "by the meaning of the whole passage", "sentences": "by the meaning of its closest sentence",
             "bm25": "by the words it shares with the question",
             "raw": "first by the model's plain closeness to the question, before the language adjustment"}



def _why_html(hit) -> str:
    """'Why this passage': its rank in each list, the words and translated words it holds, the answer type."""
    why = hit.why
    if why is None:
        return f'<span class="score">score {hit.score:.3f}</span>'
    ranks = "".join(f"<li>ranked {WHY_LISTS.get(name, name)}: " + (f"#{rank}" if rank else "not near the top") + "</li>"
                    for name, rank in why.ranks.items() if rank or name != "raw")  # the raw list names one passage
    words = [("words of the question it holds", why.question_words),
             ("words of the question it holds in translation (Lao ↔ English)", why.translations)]
    words_html = "".join(f"<li>{label}: {html.escape(', '.join(found))}</li>" for label, found in words if found)
    number = "" if why.states_number is None else (
        f"<li>the question asks for a number: this passage {'states one' if why.states_number else 'states none'}</li>")
    return (f'<details class="why"><summary>Why this passage · ເປັນຫຍັງ</summary><ul>{ranks}{words_html}{number}'
            f'<li class="score">score {hit.score:.3f}: the rankings above combined, higher the nearer the top of each '
            '</li></ul></details>')



def md_text(text: str) -> str:
    """Text shown inside Markdown: invisible characters shown (``\u202e``), HTML-escaped, and with Markdown's own
    signs neutralised."""
    return html.escape(visible(text)).replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_").replace("[", "\\[").replace("`", "\\`")



def _count(n: int, noun: str) -> str:
    """``1 report``, ``3 reports``."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"



def _marked(text: str, spans, tag: str, attrs: str = "") -> str:
    """``text`` HTML-escaped, with each of ``spans`` (sorted, not overlapping) wrapped in ``tag``."""
    out, at = [], 0
    for start, end in spans:
        if start < at:
            continue
        out += [html.escape(text[at:start]), f"<{tag}{attrs}>", html.escape(text[start:end]), f"</{tag}>"]
        at = end
    return "".join(out) + html.escape(text[at:])



def source_link(passage_id: str, span) -> str:
    """The page's own address of a passage in its report (relative: it works under any host or path)."""
    query = {"source": passage_id, **({"hl": f"{span[0]}-{span[1]}"} if span else {})}
    return "?" + urllib.parse.urlencode(query)



def _cite_links(citation, passage_id: str, span) -> str:
    """The citation as a link to the source, and a button that copies it in words with its link."""
    link = html.escape(source_link(passage_id, span))
    return (f'<a class="source-link" href="{link}" target="_blank" rel="noopener">{html.escape(format_citation(citation))}</a> '
            f'<button class="copy-cite" type="button" data-cite="{html.escape(human_citation(citation))}" '
            f'data-href="{link}">Copy citation · ສຳເນົາ</button>')



def answer_html(result) -> str:
    """The answer box: the sentence that answers, numbers in bold for a "how many" question; or a plain no."""
    answer = result.answer
    if answer is None and result.hits and not result.supported:
        return ('<div class="answer none" id="no-answer">No answer: questions are answered in Lao and English only; '
                'the passages below are the closest. · ບໍ່ມີຄຳຕອບ: ຕອບສະເພາະຄຳຖາມພາສາລາວ ແລະ ອັງກິດ; '
                'ເບິ່ງຂໍ້ຄວາມລຸ່ມນີ້.</div>')
    if answer is None and result.hits and result.withheld:
        return ('<div class="answer none" id="no-answer">No answer: the closest passage does not speak of what the '
                f'question names ({html.escape(result.withheld)}); read the passages below. · ບໍ່ມີຄຳຕອບ: ຂໍ້ຄວາມທີ່ໃກ້ທີ່ສຸດ'
                'ບໍ່ກ່າວເຖິງ ປີ, ຕົວເລກ ຫຼື ສະຖານທີ່ ທີ່ຄຳຖາມລະບຸ; ເບິ່ງຂໍ້ຄວາມລຸ່ມນີ້.</div>')
    if answer is None:
        return "" if not result.hits else (
            '<div class="answer none" id="no-answer">No sentence answers this confidently; the passages below are '
            'the closest. · ບໍ່ພົບປະໂຫຍກທີ່ຕອບໄດ້ຢ່າງໝັ້ນໃຈ; ເບິ່ງຂໍ້ຄວາມລຸ່ມນີ້.</div>')
    return (f'<div class="answer"><div class="answer-label">Answer · ຄຳຕອບ <span class="from">(from result '
            f'#{answer.rank})</span></div><p class="answer-text">{_marked(answer.text, answer.numbers, "strong")}</p>'
            f'<div class="cite">{_cite_links(answer.citation, answer.passage_id, answer.span)}</div></div>')



def question_language(result) -> str:
    """The detected language of the question (Markdown), and, for one the answer box does not answer, that it is
    not supported, in English and Lao."""
    line = f"Question language: **{LANG_NAMES.get(result.question_lang, result.question_lang)}**"
    if result.supported:
        return line
    return (f"{line}: not supported, ask in Lao or English; the passages are the closest found. · "
            "ບໍ່ຮອງຮັບພາສານີ້: ກະລຸນາຖາມເປັນພາສາລາວ ຫຼື ອັງກິດ.")


def k_param(value: str | None) -> int:
    """The number of results an address asks for, from 1 to PAGE_MAX_K; 5 when it says none or nothing usable
    (``int()`` alone would fail on "²", which ``isdigit`` accepts, and on thousands of digits)."""
    if not value or not re.fullmatch(r"[0-9]{1,6}", value):
        return 5
    return min(PAGE_MAX_K, max(1, int(value)))



def source_html(searcher: Searcher, passage_id: str, highlight: str | None, scans: ScanPages | None = None) -> str:
    """A passage in its report, marked (``<mark>``), with the passages around it and their sections; for a
    passage read by OCR (``scans`` given), its scanned page beside them, the passage's lines marked."""
    try:
        passages, here, first = searcher.source(passage_id)
    except SearchError as exc:
        return f'<p class="notice" id="source-missing">{html.escape(str(exc))}</p>'
    cited = passages[here]
    span = None
    if highlight and re.fullmatch(r"[0-9]{1,9}-[0-9]{1,9}", highlight):  # ASCII digits: "²" and 5,000 nines too
        a, b = map(int, highlight.split("-"))
        span = (a, b) if 0 <= a < b <= len(cited.text) else None
    c = cited.citation
    head = (f'<div class="source-head"><a href="./">← Search · ຄົ້ນຫາ</a><h3>{html.escape(visible(c.title))}</h3>'
            f'<div class="cite">{html.escape(format_citation(c, title=False, chars=False))}'
            f' · passages {first + 1}–{first + len(passages)} shown</div></div>')
    body, section = [], None
    for i, p in enumerate(passages):
        if p.citation.section and p.citation.section != section:
            section = p.citation.section
            body.append(f"<h4>{html.escape(visible(short_path(section)))}</h4>")
        label = f'<span class="para">{html.escape(place(p.citation))}</span> '
        inner = _source_text(p, [span] if span and i == here else [])
        if i == here:
            body.append(f'<p class="src-p cited" id="cited">{label}<mark class="passage">{inner}</mark></p>')
        else:
            body.append(f'<p class="src-p">{label}{inner}</p>')
    text = f'<div class="source-body">{"".join(body)}</div>'
    scan = scans.view(cited, span) if scans is not None else None
    if scan is not None:
        text = f'<div class="source-split stack-narrow">{_scan_html(scan, c.document)}{text}</div>'
    return f'<div class="source-view">{head}{text}</div>'


def _scan_html(scan: ScanView, document: str) -> str:
    """The scanned page, each line of the passage marked over it (its sentence's darker), placed in shares of
    the page so that the image may be shown at any size."""
    width, height = scan.size

    def marks(boxes, kind: str) -> str:
        return "".join(f'<span class="line-mark {kind}" style="left:{100 * x / width:.3f}%;top:{100 * y / height:.3f}%;'
                       f'width:{100 * w / width:.3f}%;height:{100 * h / height:.3f}%"></span>' for x, y, w, h in boxes)

    name = html.escape(visible(document))
    return (f'<div class="page-scan" data-size="{width},{height}"><div class="scan-note">p. {scan.page} as scanned, the '
            f'passage’s lines marked · ໜ້າ {scan.page} ທີ່ສະແກນ, ແຖວຂອງຂໍ້ຄວາມນີ້ຖືກໝາຍໄວ້</div>'
            f'<div class="scan-frame"><img class="page-image" src="{html.escape(scan.src)}" width="{width}" '
            f'height="{height}" alt="Page {scan.page} of {name}, as scanned">'
            f'{marks(scan.lines, "passage")}{marks(scan.sentence, "sentence")}</div></div>')



def _source_text(passage, marks) -> str:
    """A passage's text, HTML-escaped, ``marks`` (spans of it) in ``<mark class="sentence">``, and each run of
    chart labels cut out of it (search/ingest/debris.py) shown where it stood, set apart: the report whole."""
    out, at = [], 0
    for offset, labels in (*passage.asides, (len(passage.text), None)):
        clipped = [(max(a, at) - at, min(b, offset) - at) for a, b in marks if a < offset and b > at]
        out.append(_marked(passage.text[at:offset], clipped, "mark", ' class="sentence"'))
        if labels is not None:
            before = " " if offset and not passage.text[offset - 1].isspace() else ""
            after = " " if offset < len(passage.text) and not passage.text[offset].isspace() else ""
            out.append(f'{before}<span class="aside" title="{_ASIDE_TITLE}">{html.escape(labels)}</span>{after}')
        at = offset
    return "".join(out)


_ASIDE_TITLE = "Chart labels: not searched · ປ້າຍຂອງແຜນວາດ: ບໍ່ໄດ້ຄົ້ນຫາ"



def write_message(outcome: WriteOutcome) -> str:
    """What the page says after a write (and, if so, that the audit log could not record it)."""
    name = md_text(outcome.file)
    if outcome.action == "upload":
        said = f"Added **{name}**: {_count(outcome.passages, 'passage')}, searchable now ({outcome.embedded} embedded)."
    elif outcome.action == "remove":
        said = f"Removed **{name}** from the index; its file is kept in {md_text(str(outcome.moved_to.parent))}."
    else:
        said = f"Index up to date: {_count(outcome.reports, 'report')}, {_count(outcome.embedded, 'passage')} embedded."
    return said + (f" Warning: {md_text(outcome.unrecorded)}; tell whoever runs the app." if outcome.unrecorded else "")



def _scanned(pages: dict[int, float] | None) -> str:
    """What the corpus panel says of a report read by OCR: its pages OCR'd, and those read with low
    confidence (kept and searched, but never the answer box's source), flagged."""
    if not pages:
        return ""
    low = [f"p. {page} ({confidence:.0f})" for page, confidence in sorted(pages.items()) if confidence < LOW_CONFIDENCE]
    flag = (f" · ⚠ low OCR confidence · ຄວາມໝັ້ນໃຈ OCR ຕ່ຳ: {', '.join(low)}; not used for the answer"
            if low else "")
    return f" · scanned, {_count(len(pages), 'page')} read by OCR{flag}"


def summary(searcher: Searcher) -> str:
    s = searcher.index.summary()
    reports = "\n".join(f"- {md_text(r['document'])}: {' · '.join(md_text(t) for t in r['parts'])} "
                        f"({_count(r['passages'], 'passage')}){_scanned(r.get('ocr'))}" for r in s["reports"])
    langs = ", ".join(f"{LANG_NAMES.get(lang, lang)}: {n}" for lang, n in s["passages_by_lang"].items())
    skipped = f"\n\nNot indexed (unreadable): {md_text(', '.join(s['skipped']))}" if s["skipped"] else ""
    return (f"**{_count(len(s['reports']), 'report')}, {_count(s['passages'], 'passage')}** ({langs})\n\n{reports}\n\n"
            f"Model: `{s['model']}` · index built {s['built']}{skipped}")


