"""The web app: ask the reports in Lao or English, get ranked passages with citations.

    python app.py [--host 127.0.0.1] [--port 7860] [--corpus corpus] [--index index] [--users FILE] [--read-only] [--engine …]

Builds the index from the corpus first when it is missing or stale. Besides the
page, it serves an API endpoint ``search`` (see README). Everything here calls
the ``search`` library; the rest of this file turns hits into HTML, escaping every
piece of report text and every file name.
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import os
import re
import sys
import threading
import urllib.parse
from pathlib import Path

import gradio as gr

from search import Embedder, Searcher, SearchError, build_index, index_is_stale
from search.serve.access import Users, allowed_hosts, is_loopback
from search.serve.curate import Curator, WriteOutcome
from search.serve.web import NoUploads, end_sessions, session_alive
from search.ingest.limits import DEFAULT_LIMITS, LIMIT_HELP, ReadLimits, option_name
from search.serve.startup import StartupPage
from search.cli import TerminalProgress, say
from search.model.embed import DEFAULT_ENGINE, ENGINES
from search.cite import format_citation, human_citation
from search.serve.export import ExportFolder, result_rows, write_csv, write_json
from search.errors import AccessError, IndexFormatError, IndexNotFoundError
from search.ingest.read import MAX_FILE_BYTES, SUPPORTED_SUFFIXES
from search.index.build import make_embedder
from search.index.store import IndexConfig, check_files, current_generation

log = logging.getLogger("report-search")
DEFAULT_MAX_UPLOAD_MB = MAX_FILE_BYTES // 2**20
DEFAULT_UPLOADS_PER_MINUTE = 10

EMPTY_QUESTION = ('<p class="notice" id="empty-question">Type a question first, in Lao or English. · '
                  'ກະລຸນາພິມຄຳຖາມກ່ອນ, ເປັນພາສາລາວ ຫຼື ອັງກິດ.</p>')
AUTH_MESSAGE = "Report search · ຄົ້ນຫາໃນບົດລາຍງານ: sign in with the account your team gave you · ເຂົ້າລະບົບ"
LANG_NAMES = {"lo": "Lao · ລາວ", "en": "English · ອັງກິດ", "und": "unknown"}
LANG_FILTERS = {"All languages · ທຸກພາສາ": None, "Lao passages · ພາສາລາວ": "lo", "English passages · ພາສາອັງກິດ": "en"}
EXAMPLES = (
    "ລັດຖະບານລາວລະບຸຕົວຜູ້ເຄາະຮ້າຍໄດ້ຈັກຄົນ ໃນປີ 2021?",
    "ມາດຕາ 215 ຂອງກົດໝາຍອາຍາ ກຳນົດໂທດຈຳຄຸກຈັກປີ?",
    "How many traffickers were convicted in 2021?",
    "Which groups lacked access to victim protection services?",
)
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
.source-view mark.passage {background: #fff8c5;} .source-view mark.sentence {background: #ffd33d;}
@media (max-width: 600px) { .stack-narrow {flex-direction: column !important;}
                             .stack-narrow > * {width: 100% !important; min-width: 100% !important;} }
"""


def build_app(index_dir: Path, *, corpus_dir: Path = Path("corpus"), embedder: Embedder | None = None,
              refresh: bool = False, max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB, users: Users | None = None,
              read_only: bool = False, uploads_per_minute: int = DEFAULT_UPLOADS_PER_MINUTE,
              limits: ReadLimits = DEFAULT_LIMITS) -> gr.Blocks:
    """The Gradio app over ``index_dir``; the index and model are loaded here, once.

    Args:
        index_dir: the index folder (it must exist: see :func:`prepare_index`).
        corpus_dir: where reports live and uploads go.
        embedder: the model; made from the index's config when None.
        refresh: bring the index up to date with the corpus in the background,
            serving the current index meanwhile.
        max_upload_mb: the largest report an upload may be.
        users: who may sign in, and their roles; None serves one person on this machine, who may write.
        read_only: search only: no upload, remove or re-index component or endpoint exists.
        uploads_per_minute: uploads one user may make in any minute.
        limits: the work reading one report may take (pages, characters, passages, time, memory).
    """
    searcher = Searcher(index_dir, embedder=embedder)
    searcher.warm_up()  # load index and model now, not on the first question
    curator = Curator(searcher, corpus_dir, users=users, max_upload_bytes=max_upload_mb * 2**20,
                      uploads_per_minute=uploads_per_minute, limits=limits)
    if not read_only:
        for outcome in curator.recover():  # writes a crash interrupted: finished or undone, and recorded
            log.warning("a write interrupted by a crash: %s", outcome)
    if refresh:
        threading.Thread(target=_refresh, args=(curator,), daemon=True, name="index-refresh").start()

    def reader(request: gr.Request | None) -> None:
        """Searching needs a user the users file still lists, in a session begun since their password or role
        last changed: a session of a removed or changed user is refused (and ended)."""
        if users and users.role(_user(request)) is None:
            raise _user_error(AccessError("this account is no longer in the users file; ask an editor"))
        if users and not session_alive(app, request):
            raise _user_error(AccessError("this session has ended because the account's password or role changed; "
                                          "sign out and sign in again"))

    def run_search(question: str, k: float, lang_label: str, docs: list[str] | None, request: gr.Request):
        reader(request)
        searcher.follow()  # a build by the CLI while the app serves is served from the next search on
        if not (question or "").strip():  # not an error: say what to do, in both languages, and clear old results
            return "", "", EMPTY_QUESTION, gr.update(visible=False), gr.update(visible=False), ""
        try:
            result = searcher.search(question, k=int(k), lang=LANG_FILTERS.get(lang_label), highlight=True,
                                     docs=list(docs or ()) or None)
        except SearchError as exc:  # shown in place of the old results, in both languages; logged as one line
            log.warning("refused: %s", exc)
            notice = f'<p class="notice" id="search-error">Cannot search · ຄົ້ນຫາບໍ່ໄດ້: {html.escape(str(exc))}</p>'
            return "", "", notice, gr.update(visible=False), gr.update(visible=False), ""
        cards = "".join(_card(hit, searcher.context(hit)) for hit in result.hits)
        lang = f"Question language: **{LANG_NAMES.get(result.question_lang, result.question_lang)}**"
        csv_file, json_file = _export(result, request)
        return (lang, _answer_html(result), cards or "<p>No passage found.</p>",
                gr.update(value=csv_file, visible=True), gr.update(value=json_file, visible=True), "")

    def rerun(question: str, k: float, lang_label: str, docs: list[str] | None, request: gr.Request):
        """Search again when a filter or the number of results changes; nothing to do without a question."""
        if not (question or "").strip():
            return (gr.update(),) * 6
        return run_search(question, k, lang_label, docs, request)

    def from_url(request: gr.Request):
        """Open what the address asks: ``?q=…&lang=all|lo|en&k=N[&doc=REPORT…]`` runs that search;
        ``?source=ID&hl=A-B`` shows the passage in its report."""
        params = request.query_params
        if params.get("source"):
            reader(request)
            return (gr.update(),) * 9 + (_source_html(searcher, params["source"], params.get("hl")),)
        question = (params.get("q") or "").strip()
        if not question:
            return (gr.update(),) * 10
        k = _k_param(params.get("k"))
        label = next((name for name, code in LANG_FILTERS.items() if (code or "all") == params.get("lang", "all")),
                     next(iter(LANG_FILTERS)))
        docs = params.getlist("doc")  # a report no longer in the index is named in the notice, not dropped silently
        known = [d for d in docs if d in searcher.index.document_rows]
        return (question, k, label, known) + run_search(question, k, label, docs, request)

    def api_search(question: str, k: int = 5, lang: str = "all", docs: list[str] | None = None,
                   request: gr.Request = None) -> dict:
        """The answer sentence (or null) and the ranked passages with citations, as the CLI's --json prints them.
        lang: all, lo or en. docs: search only these reports (file names); all when empty."""
        reader(request)
        searcher.follow()
        try:
            result = searcher.search(question, k=k, lang=None if lang in ("all", "", None) else lang, highlight=True,
                                     docs=docs or None)  # a name, a number or a mapping is refused, not listed
        except SearchError as exc:
            raise _user_error(exc) from exc
        return result.to_dict()

    def written(write, progress) -> tuple:
        """Run one of the curator's writes; the page's message, then the refreshed corpus panel."""
        try:
            outcome = write(lambda stage, done, total: progress((done, total), desc=f"{stage} {done}/{total}"))
        except SearchError as exc:
            raise _user_error(exc) from exc
        except Exception as exc:
            raise gr.Error(f"the change failed, and the index is as it was: {exc}") from exc
        return _write_message(outcome), _summary(searcher), _report_choices(searcher), _scope_choices(searcher)

    def upload(file_path: str | None, request: gr.Request, progress=gr.Progress()):
        reader(request)
        if not file_path:
            raise gr.Error("Choose a file first (.txt, .md, .html or .pdf).", print_exception=False)
        return written(lambda bar: curator.add(_user(request), Path(file_path), Path(file_path).name, bar), progress)

    def remove(document: str | None, request: gr.Request, progress=gr.Progress()):
        reader(request)
        return written(lambda bar: curator.remove(_user(request), document or "", bar), progress)

    def reindex(request: gr.Request, progress=gr.Progress()):
        reader(request)
        return written(lambda bar: curator.rebuild(_user(request), bar), progress)

    def on_load(request: gr.Request):
        """A page opened now sees today's corpus (uploads since the app started), who is signed in, and
        the write panel if they may write (the curator refuses the others anyway)."""
        searcher.follow()
        corpus = [_summary(searcher), _scope_choices(searcher)] + ([] if read_only else [_report_choices(searcher)])
        if not users:
            return [gr.update(), gr.update()] + corpus
        role = users.role(_user(request))
        return [f"Signed in as **{_md_text(_user(request) or '')}** ({role or 'no longer a user'}) · [Sign out](logout)",
                gr.update(visible=role == "editor" and not read_only)] + corpus

    if users:
        users.on_change(lambda names: end_sessions(app, names))
    # delete_cache: Gradio's copies of exports and uploads go after an hour, like our own export files
    with gr.Blocks(title="Lao–English report search", delete_cache=(EXPORT_KEEP_S, EXPORT_KEEP_S)) as app:
        gr.Markdown("## Report search · ຄົ້ນຫາໃນບົດລາຍງານ\nAsk in Lao or English; every answer is a passage you can check.")
        signed_in = gr.Markdown(elem_id="signed-in")
        source = gr.HTML(elem_id="source", js_on_load=SCROLL_TO_MARK)  # a cited passage in its report (?source=…)
        with gr.Row(elem_id="question-row", elem_classes="stack-narrow"):
            question = gr.Textbox(label="Question · ຄຳຖາມ", scale=5, autofocus=True, max_lines=4, elem_id="question",
                                  placeholder="Ask in Lao or English… · ຖາມເປັນພາສາລາວ ຫຼື ອັງກິດ…")
            go = gr.Button("Search · ຄົ້ນຫາ", variant="primary", scale=1, elem_id="search-button")
        with gr.Row(elem_classes="stack-narrow"):
            k = gr.Slider(1, 20, value=5, step=1, label="Results · ຈຳນວນຜົນ", elem_id="k")
            lang = gr.Radio(list(LANG_FILTERS), value=next(iter(LANG_FILTERS)), label="Passage language · ພາສາ")
            scope = gr.Dropdown(list(searcher.index.document_rows), value=[], multiselect=True, elem_id="scope",
                                allow_custom_value=True,  # a report removed meanwhile: the search names it, nothing fails
                                label="Search only these reports (all when empty) · ຄົ້ນສະເພາະບົດລາຍງານເຫຼົ່ານີ້")
        with gr.Row():
            example_buttons = [gr.Button(text, size="sm", variant="secondary") for text in EXAMPLES]
        detected = gr.Markdown(elem_id="detected")
        answer = gr.HTML(elem_id="answer", js_on_load=COPY_CITATION)
        results = gr.HTML(elem_id="results", js_on_load=COPY_CITATION)
        with gr.Row():
            csv_button = gr.DownloadButton("Download CSV", visible=False, size="sm", elem_id="export-csv")
            json_button = gr.DownloadButton("Download JSON", visible=False, size="sm", elem_id="export-json")
        with gr.Accordion("Corpus · ຂໍ້ມູນ", open=False):
            stats = gr.Markdown(_summary(searcher), elem_id="corpus-stats")
            with gr.Column(visible=not (read_only or users), elem_id="corpus-edit") as editing:  # editors: see on_load
                if not read_only:  # read-only: no write component, and below, no write endpoint
                    upload_file = gr.File(label="Add a report (.txt, .md, .html, .pdf)", file_types=list(SUPPORTED_SUFFIXES),
                                          elem_id="upload")
                    add = gr.Button("Add report · ເພີ່ມບົດລາຍງານ", elem_id="add-report")
                    # allow_custom_value: the API checks a name against the choices of the page's first build, so a
                    # report uploaded since could not be removed by a fresh client; the curator checks every name
                    doomed = gr.Dropdown(list(searcher.index.manifest.documents), label="Remove a report · ເອົາບົດລາຍງານອອກ",
                                         elem_id="remove-choice", allow_custom_value=True)
                    drop = gr.Button("Remove the chosen report · ເອົາອອກ", variant="stop", elem_id="remove-report")
                    redo = gr.Button("Re-index the corpus folder · ສ້າງດັດຊະນີໃໝ່", size="sm", elem_id="rebuild")
                    status = gr.Markdown(elem_id="upload-status")

        inputs, outputs = [question, k, lang, scope], [detected, answer, results, csv_button, json_button, source]
        address = ADDRESS_FOLLOWS % json.dumps({name: code or "all" for name, code in LANG_FILTERS.items()})
        go.click(run_search, inputs, outputs, api_visibility="undocumented", js=address)
        question.submit(run_search, inputs, outputs, api_visibility="undocumented", js=address)
        # Results always match the controls. `input` fires for the mouse, the keyboard and the number box alike
        # (`release` only for the mouse); a drag's many steps run once each search is done, the last one only.
        for control in (lang, k, scope):
            control.input(rerun, inputs, outputs, api_visibility="private", js=address, trigger_mode="always_last")
        for button, text in zip(example_buttons, EXAMPLES):
            button.click(lambda t=text: t, None, question, api_visibility="private").then(
                run_search, inputs, outputs, api_visibility="private", js=address)
        app.load(from_url, None, inputs + outputs, api_visibility="private")
        gr.api(api_search, api_name="search")
        if not read_only:
            add.click(upload, upload_file, [status, stats, doomed, scope], api_visibility="undocumented")
            drop.click(remove, doomed, [status, stats, doomed, scope], api_visibility="undocumented")
            redo.click(reindex, None, [status, stats, doomed, scope], api_visibility="undocumented")
        app.load(on_load, None, [signed_in, editing, stats, scope] + ([] if read_only else [doomed]),
                 api_visibility="private")
    return app


def _user_error(exc: Exception) -> gr.Error:
    """A user's mistake: shown on the page, logged as one line (no traceback)."""
    log.warning("refused: %s", exc)
    return gr.Error(str(exc), print_exception=False)


def _refresh(curator: Curator) -> None:
    """Bring a stale index up to date in the background, then serve it; the old one serves until then."""
    try:
        report = curator.refresh()
        log.warning("index brought up to date: %d report(s), %d passages (%d embedded)",
                    len(report.documents), report.passages, report.embedded)
    except SearchError as exc:
        log.warning("the index could not be brought up to date (%s); still serving the previous one", exc)


def _card(hit, context) -> str:
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


WHY_LISTS = {"dense": "meaning of the passage", "sentences": "meaning of its best sentence", "bm25": "words (BM25)"}


def _why_html(hit) -> str:
    """'Why this passage': its rank in each list, the words and translated words it holds, the answer type."""
    why = hit.why
    if why is None:
        return f'<span class="score">score {hit.score:.3f}</span>'
    ranks = "".join(f"<li>{WHY_LISTS.get(name, name)}: " + (f"#{rank}" if rank else "not among the candidates") + "</li>"
                    for name, rank in why.ranks.items())
    words = [("question words found", why.question_words), ("translated words found (the bridge)", why.translations)]
    words_html = "".join(f"<li>{label}: {html.escape(', '.join(found))}</li>" for label, found in words if found)
    number = "" if why.states_number is None else (
        f"<li>the question asks for a number: this passage {'states one' if why.states_number else 'states none'}</li>")
    return (f'<details class="why"><summary>Why this passage · ເປັນຫຍັງ</summary><ul>{ranks}{words_html}{number}'
            f'<li class="score">fused score {hit.score:.3f} (reciprocal rank fusion of the lists)</li></ul></details>')


def _md_text(text: str) -> str:
    """Text shown inside Markdown: HTML-escaped and with Markdown's own signs neutralised."""
    return html.escape(text).replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_").replace("[", "\\[").replace("`", "\\`")


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


def _source_link(passage_id: str, span) -> str:
    """The page's own address of a passage in its report (relative: it works under any host or path)."""
    query = {"source": passage_id, **({"hl": f"{span[0]}-{span[1]}"} if span else {})}
    return "?" + urllib.parse.urlencode(query)


def _cite_links(citation, passage_id: str, span) -> str:
    """The citation as a link to the source, and a button that copies it in words with its link."""
    link = html.escape(_source_link(passage_id, span))
    return (f'<a class="source-link" href="{link}" target="_blank" rel="noopener">{html.escape(format_citation(citation))}</a> '
            f'<button class="copy-cite" type="button" data-cite="{html.escape(human_citation(citation))}" '
            f'data-href="{link}">Copy citation · ສຳເນົາ</button>')


def _answer_html(result) -> str:
    """The answer box: the sentence that answers, numbers in bold for a "how many" question; or a plain no."""
    answer = result.answer
    if answer is None:
        return "" if not result.hits else (
            '<div class="answer none" id="no-answer">No sentence answers this confidently; the passages below are '
            'the closest. · ບໍ່ພົບປະໂຫຍກທີ່ຕອບໄດ້ຢ່າງໝັ້ນໃຈ; ເບິ່ງຂໍ້ຄວາມລຸ່ມນີ້.</div>')
    return (f'<div class="answer"><div class="answer-label">Answer · ຄຳຕອບ <span class="from">(from result '
            f'#{answer.rank})</span></div><p class="answer-text">{_marked(answer.text, answer.numbers, "strong")}</p>'
            f'<div class="cite">{_cite_links(answer.citation, answer.passage_id, answer.span)}</div></div>')


def _k_param(value: str | None) -> int:
    """The number of results an address asks for, from 1 to 20; 5 when it says none or nothing usable
    (``int()`` alone would fail on "²", which ``isdigit`` accepts, and on thousands of digits)."""
    if not value or not re.fullmatch(r"[0-9]{1,6}", value):
        return 5
    return min(20, max(1, int(value)))


def _env(name: str) -> str | None:
    """An environment variable's value; None when unset or empty (``VAR=""`` means unset, not "this folder")."""
    value = os.environ.get(name, "").strip()
    return value or None


def _env_int(parser: argparse.ArgumentParser, name: str, default: int | None) -> int | None:
    """An environment variable read as a whole number (``default`` when unset or empty); a clear error otherwise."""
    value = _env(name)
    if value is None:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", value):
        parser.error(f"{name}={value!r} is not a whole number")
    return int(value)


def _source_html(searcher: Searcher, passage_id: str, highlight: str | None) -> str:
    """A passage in its report, marked (``<mark>``), with the passages around it and their sections."""
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
    head = (f'<div class="source-head"><a href="./">← Search · ຄົ້ນຫາ</a><h3>{html.escape(c.title)}</h3>'
            f'<div class="cite">{html.escape(c.document)} · ¶ {c.paragraph}'
            + (f" · {html.escape(c.section)}" if c.section else "") + (f" · p. {c.page}" if c.page is not None else "")
            + f' · passages {first + 1}–{first + len(passages)} shown</div></div>')
    body, section = [], None
    for i, p in enumerate(passages):
        if p.citation.section and p.citation.section != section:
            section = p.citation.section
            body.append(f"<h4>{html.escape(section)}</h4>")
        label = f'<span class="para">¶ {p.citation.paragraph}' + (f" · p. {p.citation.page}" if p.citation.page is not None else "") + "</span> "
        if i == here:
            inner = _marked(p.text, [span] if span else [], "mark", ' class="sentence"')
            body.append(f'<p class="src-p cited" id="cited">{label}<mark class="passage">{inner}</mark></p>')
        else:
            body.append(f'<p class="src-p">{label}{html.escape(p.text)}</p>')
    return f'<div class="source-view">{head}<div class="source-body">{"".join(body)}</div></div>'


def _export(result, request: gr.Request | None) -> tuple[str, str]:
    """The results as CSV and JSON files, each link absolute (from the page's own address)."""
    page = (request.headers.get("referer") if request is not None else None) or ""
    base = page.split("?")[0] if page.startswith("http") else ""
    rows = result_rows(result, lambda pid, span: base + _source_link(pid, span))
    folder = _EXPORTS.new()
    return str(write_csv(folder / "search-results.csv", rows)), str(write_json(folder / "search-results.json", result, rows))


EXPORT_KEEP_S = 3600  # a search's files are fetched at once
_EXPORTS = ExportFolder(keep_seconds=EXPORT_KEEP_S)


def _user(request: gr.Request | None) -> str | None:
    """The signed-in user's name (None without sign-in)."""
    return getattr(request, "username", None)


def _write_message(outcome: WriteOutcome) -> str:
    """What the page says after a write (and, if so, that the audit log could not record it)."""
    name = _md_text(outcome.file)
    if outcome.action == "upload":
        said = f"Added **{name}**: {_count(outcome.passages, 'passage')}, searchable now ({outcome.embedded} embedded)."
    elif outcome.action == "remove":
        said = f"Removed **{name}** from the index; its file is kept in {_md_text(str(outcome.moved_to.parent))}."
    else:
        said = f"Index up to date: {_count(outcome.reports, 'report')}, {_count(outcome.embedded, 'passage')} embedded."
    return said + (f" Warning: {_md_text(outcome.unrecorded)}; tell whoever runs the app." if outcome.unrecorded else "")


def _scope_choices(searcher: Searcher) -> dict:
    """The reports a search may be limited to (choices only: a user's choice stays, less removed reports)."""
    return gr.update(choices=list(searcher.index.document_rows))


def _report_choices(searcher: Searcher) -> dict:
    """The reports a user may remove, for the dropdown."""
    return gr.update(choices=list(searcher.index.manifest.documents), value=None)


def _summary(searcher: Searcher) -> str:
    s = searcher.index.summary()
    reports = "\n".join(f"- {_md_text(r['document'])}: {' · '.join(_md_text(t) for t in r['parts'])} "
                        f"({_count(r['passages'], 'passage')})" for r in s["reports"])
    langs = ", ".join(f"{LANG_NAMES.get(lang, lang)}: {n}" for lang, n in s["passages_by_lang"].items())
    skipped = f"\n\nNot indexed (unreadable): {_md_text(', '.join(s['skipped']))}" if s["skipped"] else ""
    return (f"**{_count(len(s['reports']), 'report')}, {_count(s['passages'], 'passage')}** ({langs})\n\n{reports}\n\n"
            f"Model: `{s['model']}` · index built {s['built']}{skipped}")


def prepare_index(corpus_dir: Path, index_dir: Path, cache_dir: Path | None, *, engine: str = DEFAULT_ENGINE,
                  threads: int | None = None, say=say, progress=None, limits: ReadLimits = DEFAULT_LIMITS) -> tuple[Embedder, bool]:
    """Make sure there is an index to serve; return the model it uses and whether it is stale.

    With no usable index (none, damaged, another format), it is built now, with a
    progress bar. A usable but stale one (reports added, changed or removed) is
    served as it is, and :func:`build_app` brings it up to date in the background.
    ``say`` is told each long step (the model's conversion, a build), ``progress``
    a build's counts (default: bars on the console).
    """
    progress = progress or TerminalProgress()
    manifest = None
    try:
        generation, manifest = current_generation(index_dir)
        check_files(generation, manifest)  # sizes, and checksums up to a size: damage is repaired now
        embedder = make_embedder(manifest.config, cache_dir=cache_dir, threads=threads, progress=say)
        if embedder.model_id != manifest.model_id:  # a new model or adapter: the old vectors cannot answer
            raise IndexFormatError(f"it was built with model {manifest.model_id}, this program uses {embedder.model_id}")
    except (IndexNotFoundError, IndexFormatError) as exc:
        why = "" if isinstance(exc, IndexNotFoundError) else f" (the one there cannot be used: {str(exc).split('; ')[0]})"
        say(f"Building the index of {corpus_dir} into {index_dir}{why}")
        config = manifest.config if manifest is not None else IndexConfig(engine=engine)  # keep the index's settings
        embedder = make_embedder(config, cache_dir=cache_dir, threads=threads, progress=say)
        report = build_index(corpus_dir, index_dir, config=config, embedder=embedder, progress=progress, limits=limits)
        say(f"Indexed {len(report.documents)} report(s), {report.passages} passages")
        return embedder, False
    stale = index_is_stale(corpus_dir, index_dir)
    if stale:
        print(f"The reports in {corpus_dir} changed: serving the current index while it is brought up to date.", flush=True)
    return embedder, stale


def main() -> None:
    parser = argparse.ArgumentParser(description="Lao–English report search, in the browser.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--allowed-host", action="append", default=[n for n in (_env("REPORT_SEARCH_ALLOWED_HOSTS") or "").split(",") if n],
                        help="a name browsers use to reach the app, beyond this machine's own (repeatable; "
                             "env REPORT_SEARCH_ALLOWED_HOSTS, comma-separated); other Host headers get 400")
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    parser.add_argument("--index", type=Path, default=Path("index"))
    parser.add_argument("--model-cache", type=Path, default=_env("REPORT_SEARCH_CACHE"))
    parser.add_argument("--users", type=Path, default=_env("REPORT_SEARCH_USERS"),
                        help="users file: everyone must sign in; readers search, editors also add and remove reports "
                             "(make it with: python -m search users add NAME --role editor --users FILE)")
    parser.add_argument("--read-only", action="store_true",
                        help="search only: no upload, remove or re-index, for anyone")
    parser.add_argument("--uploads-per-minute", type=int, default=DEFAULT_UPLOADS_PER_MINUTE,
                        help=f"uploads one user may make in any minute (default {DEFAULT_UPLOADS_PER_MINUTE})")
    parser.add_argument("--max-upload-mb", type=int, default=_env_int(parser, "REPORT_SEARCH_MAX_UPLOAD_MB", DEFAULT_MAX_UPLOAD_MB),
                        help=f"largest report an upload may be, in MB (default {DEFAULT_MAX_UPLOAD_MB})")
    parser.add_argument("--engine", choices=ENGINES, default=_env("REPORT_SEARCH_ENGINE") or DEFAULT_ENGINE,
                        help=f"how the default model runs in a new index (default {DEFAULT_ENGINE})")
    parser.add_argument("--threads", type=int, default=_env_int(parser, "REPORT_SEARCH_THREADS", None) or None,
                        help="threads for embedding batches (default: every core); a question uses one")
    for name, help_text in LIMIT_HELP.items():
        default = getattr(DEFAULT_LIMITS, name)
        parser.add_argument(option_name(name), dest=name, type=type(default), default=default,
                            help=f"{help_text} (default {default:,})")
    args = parser.parse_args()
    limits = ReadLimits(**{name: getattr(args, name) for name in LIMIT_HELP})
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    if not args.users and not args.read_only and not is_loopback(args.host):
        raise SystemExit(f"error: refusing to serve {args.host} with no sign-in: anyone who reaches the port could add and "
                         "remove reports. Add users (python -m search users add NAME --role editor --users users.txt, then "
                         "--users users.txt), or serve search only with --read-only.")
    page = StartupPage(args.host, args.port, echo=say, detail=is_loopback(args.host))  # answers while getting ready
    try:
        page.start()
    except OSError as exc:
        raise SystemExit(f"error: cannot serve on {args.host}:{args.port} ({exc.strerror}): another program has it; "
                         "choose another --port") from exc
    print(f"Getting ready; progress at http://{args.host}:{args.port}/", file=sys.stderr, flush=True)
    terminal = TerminalProgress()
    try:
        users = Users(args.users) if args.users else None
        embedder, stale = prepare_index(args.corpus, args.index, args.model_cache, engine=args.engine, threads=args.threads,
                                        say=page.say, progress=lambda *count: (terminal(*count), page.progress(*count)),
                                        limits=limits)
        page.say("Loading the index and the model")
        app = build_app(args.index, corpus_dir=args.corpus, embedder=embedder, refresh=stale, max_upload_mb=args.max_upload_mb,
                        users=users, read_only=args.read_only, uploads_per_minute=args.uploads_per_minute, limits=limits)
    except SearchError as exc:
        raise SystemExit(f"error: {exc}") from exc
    finally:
        page.stop()
    hosts = allowed_hosts(args.host, tuple(args.allowed_host))
    app.launch(server_name=args.host, server_port=args.port, css=CSS,
               **launch_options(users, args.read_only, args.max_upload_mb, hosts))


def launch_options(users: Users | None, read_only: bool, max_upload_mb: int, hosts: list[str] | None = None) -> dict:
    """``launch()``'s sign-in, upload and host settings: Gradio's sign-in page checks the users file;
    read-only refuses every file upload (0 bytes), even into Gradio's own temporary folder; a request
    whose ``Host`` is not in ``hosts`` (see :func:`allowed_hosts`) is answered 400."""
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    options = {"auth": users.authenticate if users else None, "auth_message": AUTH_MESSAGE if users else None,
               "max_file_size": 0 if read_only else f"{max_upload_mb}mb"}
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=hosts)] if hosts else []
    if read_only:
        middleware.append(Middleware(NoUploads))
    if middleware:
        options["app_kwargs"] = {"middleware": middleware}
    return options


if __name__ == "__main__":
    main()
