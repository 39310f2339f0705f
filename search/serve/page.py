"""The web page: ask the reports in Lao or English, get ranked passages with citations.

:func:`build_app` makes the Gradio app over an index (the index and model loaded once); :func:`launch_options`
gives ``launch()`` its sign-in, upload, host and JSON API settings. ``report-search serve`` (search/cli.py) and the
top-level ``app.py`` start it. Everything here calls the ``search`` library; the HTML is made in render.py.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from pathlib import Path

import gradio as gr

from search.display import visible
from search.errors import AccessError, SearchError
from search.ingest.limits import DEFAULT_LIMITS, ReadLimits
from search.ingest.read import SUPPORTED_SUFFIXES
from search.model.embed import Embedder
from search.retrieve.engine import Searcher
from search.serve.access import Users
from search.serve.api import DEFAULT_SEARCH_CONCURRENCY, json_api
from search.serve.curate import DEFAULT_MAX_UPLOAD_MB, DEFAULT_UPLOADS_PER_MINUTE, Curator
from search.serve.examples import SHOWN, Examples
from search.serve.guard import Guard
from search.serve.export import ExportFolder, result_rows, write_csv, write_json
from search.serve.render import (ADDRESS_FOLLOWS, COPY_CITATION, EMPTY_QUESTION, LANG_FILTERS, PAGE_MAX_K,
                                 SCROLL_TO_MARK, answer_html, card, k_param, md_text, question_language, search_error_html,
                                 source_html, source_link, summary, write_message)
from search.serve.requestlog import RequestLog, already_logged
from search.serve.scanview import ScanPages
from search.serve.web import NoUploads, end_sessions, session_alive, session_user

log = logging.getLogger(__name__)
# Gradio's sign-in form labels its fields in the browser's language, and it has no Lao; its sign-in page takes no
# translations of ours. The message above the form names each field in Lao beside its English label.
AUTH_MESSAGE = ("Report search · ຄົ້ນຫາໃນບົດລາຍງານ: sign in with the account your team gave you · "
                "ເຂົ້າລະບົບດ້ວຍບັນຊີທີ່ທີມຂອງທ່ານໃຫ້. Username · ຊື່ຜູ້ໃຊ້, Password · ລະຫັດຜ່ານ, Login · ເຂົ້າລະບົບ")

def build_app(index_dir: Path, *, corpus_dir: Path = Path("corpus"), embedder: Embedder | None = None,
              refresh: bool = False, max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB, users: Users | None = None,
              read_only: bool = False, uploads_per_minute: int = DEFAULT_UPLOADS_PER_MINUTE,
              limits: ReadLimits = DEFAULT_LIMITS, requests: RequestLog | None = None,
              search_concurrency: int = DEFAULT_SEARCH_CONCURRENCY, thai_words: bool = False) -> gr.Blocks:
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
        requests: the request log (a line per search; see requestlog.py); one without question text when None.
        search_concurrency: searches run at once, from the page and each API alike (more wait their turn);
            writes (add, remove, re-index) run one at a time.
        thai_words: when the Lao dictionary's words are not yet embedded for this model on this machine, embed
            them in the background at the lowest priority (:meth:`Searcher.prepare_thai_words`); searches meanwhile
            embed a Lao question's words as they come.
    """
    searcher = Searcher(index_dir, embedder=embedder)
    requests = requests or RequestLog()
    searcher.warm_up()  # load index and model now, not on the first question
    curator = Curator(searcher, corpus_dir, users=users, max_upload_bytes=max_upload_mb * 2**20,
                      uploads_per_minute=uploads_per_minute, limits=limits)
    examples = Examples(searcher, corpus_dir)  # about the reports the index holds (search/serve/examples.py)
    if not read_only:
        for outcome in curator.recover():  # writes a crash interrupted: finished or undone, and recorded
            log.warning("a write interrupted by a crash: %s", outcome)
    scans = ScanPages(searcher, corpus_dir)
    if refresh:
        threading.Thread(target=_refresh, args=(curator,), daemon=True, name="index-refresh").start()
    if thai_words and not searcher.has_thai_words:
        threading.Thread(target=_prepare_thai_words, args=(searcher,), daemon=True, name="thai-words").start()

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
            result = requests.search(searcher, question, endpoint="page", user=_user(request), k=int(k),
                                     lang=LANG_FILTERS.get(lang_label), docs=list(docs or ()))
        except SearchError as exc:  # shown in place of the old results, in both languages; the request log has it
            return "", "", search_error_html(exc), gr.update(visible=False), gr.update(visible=False), ""
        cards = "".join(card(hit, searcher.context(hit)) for hit in result.hits)
        lang = question_language(result)
        csv_file, json_file = _export(result, request)
        return (lang, answer_html(result), cards or "<p>No passage found.</p>",
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
            return (gr.update(),) * 9 + (source_html(searcher, params["source"], params.get("hl"), scans),)
        question = (params.get("q") or "").strip()
        if not question:
            return (gr.update(),) * 10
        k = k_param(params.get("k"))
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
            result = requests.search(searcher, question, endpoint="gradio-api", user=_user(request), k=k,
                                     lang=None if lang in ("all", "", None) else lang,
                                     docs=docs)  # a name, a number or a mapping is refused, not listed
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
        return (write_message(outcome), summary(searcher), _report_choices(searcher), _scope_choices(searcher),
                *_example_updates(examples))

    def upload(file_path: str | None, request: gr.Request, progress=gr.Progress()):
        reader(request)
        if not file_path:
            raise gr.Error("Choose a file first (.txt, .md, .html, .pdf, .docx, or a scan: .png, .jpg, .tif).", print_exception=False)
        done = written(lambda bar: curator.add(_user(request), Path(file_path), Path(file_path).name, bar), progress)
        return done + (None,)  # the file box empties: a second click cannot add the file again

    def confirm_remove(document: str | None, request: gr.Request):
        """The first click on Remove only asks: which report, and what happens to its file."""
        reader(request)
        if not document:
            raise gr.Error("Choose the report to remove first.", print_exception=False)
        try:
            curator.check_name(document)
        except SearchError as exc:
            raise _user_error(exc) from exc
        return gr.update(visible=True), (f"Remove **{md_text(document)}** from the library? Searches stop finding it; "
                                         "its file moves to `corpus/.removed/`. · ເອົາບົດລາຍງານນີ້ອອກບໍ?")

    def remove(document: str | None, request: gr.Request, progress=gr.Progress()):
        reader(request)
        done = written(lambda bar: curator.remove(_user(request), document or "", bar), progress)
        return done + (gr.update(visible=False),)

    def reindex(request: gr.Request, progress=gr.Progress()):
        reader(request)
        return written(lambda bar: curator.rebuild(_user(request), bar), progress)

    def on_load(request: gr.Request):
        """A page opened now sees today's corpus (uploads since the app started), who is signed in, and
        the write panel if they may write (the curator refuses the others anyway)."""
        searcher.follow()
        corpus = ([summary(searcher), _scope_choices(searcher), *_example_updates(examples)]
                  + ([] if read_only else [_report_choices(searcher)]))
        if not users:
            return [gr.update(), gr.update()] + corpus
        role = users.role(_user(request))
        return [f"Signed in as **{md_text(_user(request) or '')}** ({role or 'no longer a user'}) · [Sign out](logout)",
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
            k = gr.Slider(1, PAGE_MAX_K, value=5, step=1, label="Results · ຈຳນວນຜົນ", elem_id="k")
            lang = gr.Radio(list(LANG_FILTERS), value=next(iter(LANG_FILTERS)), label="Passage language · ພາສາ")
            scope = gr.Dropdown(_labelled(searcher.index.document_rows), value=[], multiselect=True, elem_id="scope",
                                allow_custom_value=True,  # a report removed meanwhile: the search names it, nothing fails
                                label="Search only these reports (all when empty) · ຄົ້ນສະເພາະບົດລາຍງານເຫຼົ່ານີ້")
        with gr.Row(elem_id="examples"):  # their questions are set by _example_updates, on load and after a change
            example_buttons = [gr.Button(q, visible=bool(q), size="sm", variant="secondary", elem_classes="example")
                               for q in _example_questions(examples)]
        detected = gr.Markdown(elem_id="detected")
        answer = gr.HTML(elem_id="answer", js_on_load=COPY_CITATION)
        results = gr.HTML(elem_id="results", js_on_load=COPY_CITATION)
        with gr.Row():
            csv_button = gr.DownloadButton("Download CSV", visible=False, size="sm", elem_id="export-csv")
            json_button = gr.DownloadButton("Download JSON", visible=False, size="sm", elem_id="export-json")
        with gr.Accordion("Corpus · ຂໍ້ມູນ", open=False):
            stats = gr.Markdown(summary(searcher), elem_id="corpus-stats")
            with gr.Column(visible=not (read_only or users), elem_id="corpus-edit") as editing:  # editors: see on_load
                if not read_only:  # read-only: no write component, and below, no write endpoint
                    upload_file = gr.File(label="Add a report (.txt, .md, .html, .pdf, .docx, or a scan: .png, .jpg, .tif)", file_types=list(SUPPORTED_SUFFIXES),
                                          elem_id="upload")
                    add = gr.Button("Add report · ເພີ່ມບົດລາຍງານ", elem_id="add-report")
                    # allow_custom_value: the API checks a name against the choices of the page's first build, so a
                    # report uploaded since could not be removed by a fresh client; the curator checks every name
                    doomed = gr.Dropdown(_labelled(searcher.index.manifest.documents), label="Remove a report · ເອົາບົດລາຍງານອອກ",
                                         elem_id="remove-choice", allow_custom_value=True)
                    drop = gr.Button("Remove the chosen report · ເອົາອອກ", variant="stop", elem_id="remove-report")
                    with gr.Column(visible=False, elem_id="remove-confirm") as confirming:
                        asking = gr.Markdown(elem_id="remove-question")
                        with gr.Row():
                            yes = gr.Button("Yes, remove it · ແມ່ນ, ເອົາອອກ", variant="stop", elem_id="remove-yes")
                            no = gr.Button("Cancel · ຍົກເລີກ", elem_id="remove-cancel")
                    redo = gr.Button("Re-index the corpus folder · ສ້າງດັດຊະນີໃໝ່", size="sm", elem_id="rebuild")
                    status = gr.Markdown(elem_id="upload-status")
        # in place of Gradio's footer link to its own endpoints: the JSON API's page (search/serve/apidocs.py)
        gr.HTML('<a href="api/docs" target="_blank">Use via API · JSON API (curl, R, Python)</a>', elem_id="api-link")

        inputs, outputs = [question, k, lang, scope], [detected, answer, results, csv_button, json_button, source]
        address = ADDRESS_FOLLOWS % json.dumps({name: code or "all" for name, code in LANG_FILTERS.items()})
        searching = {"concurrency_id": "search"}  # every search, from any event, shares one limit (see app.queue)
        go.click(run_search, inputs, outputs, api_visibility="undocumented", js=address, **searching)
        question.submit(run_search, inputs, outputs, api_visibility="undocumented", js=address, **searching)
        # Results always match the controls. `input` fires for the mouse, the keyboard and the number box alike
        # (`release` only for the mouse); a drag's many steps run once each search is done, the last one only.
        for control in (lang, k, scope):
            control.input(rerun, inputs, outputs, api_visibility="private", js=address, trigger_mode="always_last",
                          **searching)
        for button in example_buttons:  # a button's question is its label, whatever the library's examples now are
            button.click(lambda text: text, button, question, api_visibility="private").then(
                run_search, inputs, outputs, api_visibility="private", js=address, **searching)
        app.load(from_url, None, inputs + outputs, api_visibility="private", **searching)
        gr.api(api_search, api_name="search", **searching)
        if not read_only:
            writes = {"api_visibility": "undocumented", "concurrency_id": "write", "concurrency_limit": 1}
            add.click(upload, upload_file, [status, stats, doomed, scope, *example_buttons, upload_file], **writes)
            drop.click(confirm_remove, doomed, [confirming, asking], api_visibility="private")
            for cancel in (no.click, doomed.change):  # another choice: ask again, never remove what was not named
                cancel(lambda: gr.update(visible=False), None, confirming, api_visibility="private")
            yes.click(remove, doomed, [status, stats, doomed, scope, *example_buttons, confirming], api_name="remove",
                      **writes)
            redo.click(reindex, None, [status, stats, doomed, scope, *example_buttons], **writes)
        app.load(on_load, None, [signed_in, editing, stats, scope, *example_buttons] + ([] if read_only else [doomed]),
                 api_visibility="private")
    # Gradio runs each event one call at a time unless told: 8 clients got 1.2x one client's throughput
    app.queue(default_concurrency_limit=search_concurrency)  # "search" and the light events alike
    # the page images of the source view (scanned pages), for whoever may search: signed in on the page, if users
    scans.allowed = (lambda request: users.role(session_user(app, request)) is not None) if users else None
    app.json_api = json_api(searcher, curator, users=users, read_only=read_only, requests=requests,
                            search_concurrency=search_concurrency)  # served by launch_options(app=)
    app.scan_pages = scans  # its route too
    return app


def _user_error(exc: Exception) -> gr.Error:
    """A user's mistake: shown on the page, logged as one line (no traceback), once."""
    if not already_logged(exc):
        log.warning("refused: %s", exc)
    return gr.Error(visible(str(exc)), print_exception=False)



def _refresh(curator: Curator) -> None:
    """Bring a stale index up to date in the background, then serve it; the old one serves until then."""
    try:
        report = curator.refresh()
        log.warning("index brought up to date: %d report(s), %d passages (%d embedded)",
                    len(report.documents), report.passages, report.embedded)
    except SearchError as exc:
        log.warning("the index could not be brought up to date (%s); still serving the previous one", exc)


def _prepare_thai_words(searcher: Searcher) -> None:
    """Embed the Lao dictionary's words once for this model, in the background, on this thread alone at the
    lowest CPU priority (Linux; its batches stay on the calling thread): searches go first."""
    with contextlib.suppress(OSError, AttributeError):  # AttributeError: no per-thread priority on this system
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    log.warning("embedding the Lao dictionary's words read as Thai, once for this model on this machine (a few "
                "minutes, in the background): Lao questions are faster after")
    try:
        count = searcher.prepare_thai_words()
    except (OSError, SearchError) as exc:
        log.warning("the dictionary's words were not embedded (%s): a Lao question's words are embedded as it comes",
                    exc)
        return
    log.warning("%d dictionary words embedded: a Lao question's words are looked up from now on", count)



def _export(result, request: gr.Request | None) -> tuple[str, str]:
    """The results as CSV and JSON files, each link absolute (from the page's own address)."""
    page = (request.headers.get("referer") if request is not None else None) or ""
    base = page.split("?")[0] if page.startswith("http") else ""
    rows = result_rows(result, lambda pid, span: base + source_link(pid, span))
    folder = _EXPORTS.new()
    return str(write_csv(folder / "search-results.csv", rows)), str(write_json(folder / "search-results.json", result, rows))



EXPORT_KEEP_S = 3600  # a search's files are fetched at once
_EXPORTS = ExportFolder(keep_seconds=EXPORT_KEEP_S)



def _user(request: gr.Request | None) -> str | None:
    """The signed-in user's name (None without sign-in)."""
    return getattr(request, "username", None)



def _scope_choices(searcher: Searcher) -> dict:
    """The reports a search may be limited to (choices only: a user's choice stays, less removed reports)."""
    return gr.update(choices=_labelled(searcher.index.document_rows))



def _report_choices(searcher: Searcher) -> dict:
    """The reports a user may remove, for the dropdown."""
    return gr.update(choices=_labelled(searcher.index.manifest.documents), value=None)



def _example_questions(examples: Examples) -> list[str]:
    """The example buttons' questions now, one a button; "" for a button left hidden."""
    shown = [e.question for e in examples.current()]
    return shown + [""] * (SHOWN - len(shown))



def _example_updates(examples: Examples) -> list[dict]:
    """The example buttons as they should be now."""
    return [gr.update(value=q, visible=bool(q)) for q in _example_questions(examples)]



def _labelled(names) -> list[tuple[str, str]]:
    """Report names as dropdown choices: each shown with its invisible characters made visible, chosen as is."""
    return [(visible(name), name) for name in names]



def page_words() -> gr.I18n:
    """Words Gradio's page says itself that it lacks: when a change (an upload) finishes, its status line for
    screen readers announced the untranslated key "common.complete", and it showed as stray text."""
    return gr.I18n(en={"common.complete": "Done · ສຳເລັດ"})


def launch_options(users: Users | None, read_only: bool, max_upload_mb: int, hosts: list[str] | None = None, *,
                   app: gr.Blocks | None = None) -> dict:
    """``launch()``'s sign-in, upload, host and JSON API settings: Gradio's sign-in page checks the users file;
    read-only refuses every file upload (0 bytes), even into Gradio's own temporary folder; a request
    whose ``Host`` is not in ``hosts`` (see :func:`allowed_hosts`) is answered 400; ``app``'s JSON API
    (made by :func:`build_app`) is served under ``/api/``, before Gradio's own routes; and every request
    passes :class:`~search.serve.guard.Guard` first (no cross-site writes, no request ending in a traceback)."""
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    options = {"auth": users.authenticate if users else None, "auth_message": AUTH_MESSAGE if users else None,
               "max_file_size": 0 if read_only else f"{max_upload_mb}mb", "i18n": page_words(),
               "footer_links": ["gradio", "settings"]}  # Gradio's "Use via API": the page's own link is ours
    middleware = [Middleware(Guard, blocks=app)]  # first: its checks and one-line failures cover the rest
    if hosts:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=hosts))
    if read_only:
        middleware.append(Middleware(NoUploads))
    app_kwargs = {"middleware": middleware}
    if app is not None:
        from starlette.responses import RedirectResponse
        from starlette.routing import Route

        app_kwargs["routes"] = [*app.json_api.routes, *app.scan_pages.routes, Route("/docs", lambda _: RedirectResponse("api/docs"))]
    options["app_kwargs"] = app_kwargs
    return options
