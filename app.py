"""The web app: ask the reports in Lao or English, get ranked passages with citations.

    python app.py [--host 127.0.0.1] [--port 7860] [--corpus corpus] [--index index] [--engine onnx-fp32|onnx-int8|torch]

Builds the index from the corpus first when it is missing or stale. Besides the
page, it serves an API endpoint ``search`` (see README). Everything here calls
the ``search`` library; the rest of this file turns hits into HTML, escaping every
piece of report text and every file name.
"""

from __future__ import annotations

import argparse
import html
import logging
import os
import threading
from pathlib import Path

import gradio as gr

from search import Embedder, Searcher, SearchError, build_index, index_is_stale
from search.cli import TerminalProgress, say
from search.embed import DEFAULT_ENGINE, ENGINES
from search.cite import format_citation
from search.corpus import add_report
from search.errors import DocumentError, IndexFormatError, IndexNotFoundError
from search.ingest import MAX_FILE_BYTES, SUPPORTED_SUFFIXES
from search.build import make_embedder
from search.store import IndexConfig, check_files, current_generation

log = logging.getLogger("report-search")
DEFAULT_MAX_UPLOAD_MB = MAX_FILE_BYTES // 2**20

EMPTY_QUESTION = ('<p class="notice" id="empty-question">Type a question first, in Lao or English. · '
                  'ກະລຸນາພິມຄຳຖາມກ່ອນ, ເປັນພາສາລາວ ຫຼື ອັງກິດ.</p>')
LANG_NAMES = {"lo": "Lao · ລາວ", "en": "English · ອັງກິດ", "und": "unknown"}
LANG_FILTERS = {"All languages · ທຸກພາສາ": None, "Lao passages · ພາສາລາວ": "lo", "English passages · ພາສາອັງກິດ": "en"}
EXAMPLES = (
    "ລັດຖະບານລາວລະບຸຕົວຜູ້ເຄາະຮ້າຍໄດ້ຈັກຄົນ ໃນປີ 2021?",
    "ມາດຕາ 215 ຂອງກົດໝາຍອາຍາ ກຳນົດໂທດຈຳຄຸກຈັກປີ?",
    "How many traffickers were convicted in 2021?",
    "Which groups lacked access to victim protection services?",
)
CSS = """
.hit {border: 1px solid #d0d7de; border-radius: 8px; padding: 10px 14px; margin: 10px 0;}
.hit-head {font-weight: 600; display: flex; gap: 10px; align-items: baseline;}
.hit-head .score, .hit-head .lang {font-weight: 400; color: #57606a; font-size: 0.9em;}
.cite {color: #0550ae; font-size: 0.9em; margin: 4px 0 6px;}
.passage {line-height: 1.6; margin: 0; white-space: pre-wrap;}
.passage mark {background: #fff3b0; padding: 0 1px;}
.context {margin-top: 6px; font-size: 0.92em;}
.context p {color: #444; line-height: 1.55; white-space: pre-wrap;}
.context .this {background: #eef6ff;}
"""


def build_app(index_dir: Path, *, corpus_dir: Path = Path("corpus"), embedder: Embedder | None = None,
              refresh: bool = False, max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB) -> gr.Blocks:
    """The Gradio app over ``index_dir``; the index and model are loaded here, once.

    Args:
        index_dir: the index folder (it must exist: see :func:`prepare_index`).
        corpus_dir: where reports live and uploads go.
        embedder: the model; made from the index's config when None.
        refresh: bring the index up to date with the corpus in the background,
            serving the current index meanwhile.
        max_upload_mb: the largest report an upload may be.
    """
    searcher = Searcher(index_dir, embedder=embedder)
    searcher.warm_up()  # load index and model now, not on the first question
    if refresh:
        threading.Thread(target=_refresh, args=(searcher, corpus_dir), daemon=True, name="index-refresh").start()

    def run_search(question: str, k: float, lang_label: str):
        if not (question or "").strip():  # not an error: say what to do, in both languages, and clear old results
            return "", EMPTY_QUESTION
        try:
            result = searcher.search(question, k=int(k), lang=LANG_FILTERS.get(lang_label), highlight=True)
        except SearchError as exc:
            raise _user_error(exc) from exc
        cards = "".join(_card(hit, searcher.context(hit)) for hit in result.hits)
        lang = f"Question language: **{LANG_NAMES.get(result.question_lang, result.question_lang)}**"
        return lang, cards or "<p>No passage found.</p>"

    def rerun(question: str, k: float, lang_label: str):
        """Search again when the filter or the number of results changes; nothing to do without a question."""
        if not (question or "").strip():
            return gr.update(), gr.update()
        return run_search(question, k, lang_label)

    def api_search(question: str, k: int = 5, lang: str = "all") -> list[dict]:
        """Ranked passages with citations, as the CLI's --json prints them. lang: all, lo or en."""
        try:
            hits = searcher.search(question, k=k, lang=None if lang in ("all", "", None) else lang, highlight=True).hits
        except SearchError as exc:
            raise _user_error(exc) from exc
        return [h.to_dict() for h in hits]

    def upload(file_path: str | None, progress=gr.Progress()):
        if not file_path:
            raise gr.Error("Choose a file first (.txt, .md, .html or .pdf).", print_exception=False)
        size = Path(file_path).stat().st_size
        if size > max_upload_mb * 2**20:
            raise _user_error(DocumentError(f"{Path(file_path).name} is {size / 2**20:.1f} MB; the limit is {max_upload_mb} MB"))
        try:
            added = add_report(corpus_dir, Path(file_path), Path(file_path).name)
        except SearchError as exc:
            raise _user_error(exc) from exc
        try:
            report = build_index(corpus_dir, index_dir, config=searcher.index.manifest.config, embedder=searcher.embedder,
                                 progress=lambda stage, done, total: progress((done, total), desc=f"{stage} {done}/{total}"))
        except Exception as exc:  # whatever failed, the corpus goes back to what the index holds
            added.unlink(missing_ok=True)
            if isinstance(exc, SearchError):
                raise _user_error(exc) from exc
            raise gr.Error(f"indexing {added.name} failed: {exc}") from exc
        searcher.reload()
        count = searcher.index.manifest.documents.get(added.name, {}).get("passages", 0)
        return f"Added **{_md_text(added.name)}**: {count} passages, searchable now ({report.embedded} embedded).", _summary(searcher)

    with gr.Blocks(title="Lao–English report search") as app:
        gr.Markdown("## Report search · ຄົ້ນຫາໃນບົດລາຍງານ\nAsk in Lao or English; every answer is a passage you can check.")
        with gr.Row():
            question = gr.Textbox(label="Question · ຄຳຖາມ", scale=5, autofocus=True, max_lines=4, elem_id="question",
                                  placeholder="Ask in Lao or English… · ຖາມເປັນພາສາລາວ ຫຼື ອັງກິດ…")
            go = gr.Button("Search · ຄົ້ນຫາ", variant="primary", scale=1, elem_id="search-button")
        with gr.Row():
            k = gr.Slider(1, 20, value=5, step=1, label="Results · ຈຳນວນຜົນ")
            lang = gr.Radio(list(LANG_FILTERS), value=next(iter(LANG_FILTERS)), label="Passage language · ພາສາ")
        with gr.Row():
            example_buttons = [gr.Button(text, size="sm", variant="secondary") for text in EXAMPLES]
        detected = gr.Markdown(elem_id="detected")
        results = gr.HTML(elem_id="results")
        with gr.Accordion("Corpus · ຂໍ້ມູນ", open=False):
            stats = gr.Markdown(_summary(searcher), elem_id="corpus-stats")
            upload_file = gr.File(label="Add a report (.txt, .md, .html, .pdf)", file_types=list(SUPPORTED_SUFFIXES),
                                  elem_id="upload")
            add = gr.Button("Add report · ເພີ່ມບົດລາຍງານ", elem_id="add-report")
            added = gr.Markdown(elem_id="upload-status")

        inputs, outputs = [question, k, lang], [detected, results]
        go.click(run_search, inputs, outputs, api_visibility="undocumented")
        question.submit(run_search, inputs, outputs, api_visibility="undocumented")
        lang.input(rerun, inputs, outputs, api_visibility="private")  # results always match the controls
        k.release(rerun, inputs, outputs, api_visibility="private")
        for button, text in zip(example_buttons, EXAMPLES):
            button.click(lambda t=text: t, None, question, api_visibility="private").then(
                run_search, inputs, outputs, api_visibility="private")
        add.click(upload, upload_file, [added, stats], api_visibility="undocumented")
        gr.api(api_search, api_name="search")
    return app


def _user_error(exc: Exception) -> gr.Error:
    """A user's mistake: shown on the page, logged as one line (no traceback)."""
    log.warning("refused: %s", exc)
    return gr.Error(str(exc), print_exception=False)


def _refresh(searcher: Searcher, corpus_dir: Path) -> None:
    """Rebuild the index from the corpus, then serve the new one; the old one serves until then."""
    try:
        report = build_index(corpus_dir, searcher.index_dir, config=searcher.index.manifest.config, embedder=searcher.embedder)
        searcher.reload()
        log.warning("index brought up to date: %d report(s), %d passages (%d embedded)",
                    len(report.documents), report.passages, report.embedded)
    except SearchError as exc:
        log.warning("the index could not be brought up to date (%s); still serving the previous one", exc)


def _card(hit, context) -> str:
    """One result as HTML. Every piece of report text goes through html.escape."""
    text, span = hit.text, hit.highlight
    body = html.escape(text) if span is None else (
        html.escape(text[:span[0]]) + "<mark>" + html.escape(text[span[0]:span[1]]) + "</mark>" + html.escape(text[span[1]:]))
    paragraph = "".join(
        f'<p class="{"this" if p.passage_id == hit.passage_id else ""}">{html.escape(p.text)}</p>' for p in context)
    return (
        f'<div class="hit"><div class="hit-head"><span>#{hit.rank}</span>'
        f'<span class="score">score {hit.score:.3f}</span><span class="lang">{html.escape(LANG_NAMES.get(hit.lang, hit.lang))}</span></div>'
        f'<div class="cite">{html.escape(format_citation(hit.citation))}</div>'
        + "".join(f'<div class="cite also">also in {html.escape(format_citation(c))}</div>' for c in hit.also_in) +
        f'<p class="passage">{body}</p>'
        f'<details class="context"><summary>Paragraph ¶ {hit.citation.paragraph} in full · ເບິ່ງທັງວັກ</summary>{paragraph}</details></div>'
    )


def _md_text(text: str) -> str:
    """Text shown inside Markdown: HTML-escaped and with Markdown's own signs neutralised."""
    return html.escape(text).replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_").replace("[", "\\[").replace("`", "\\`")


def _count(n: int, noun: str) -> str:
    """``1 report``, ``3 reports``."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _summary(searcher: Searcher) -> str:
    s = searcher.index.summary()
    reports = "\n".join(f"- {_md_text(r['document'])}: {_md_text(r['title'])} ({_count(r['passages'], 'passage')})" for r in s["reports"])
    langs = ", ".join(f"{LANG_NAMES.get(lang, lang)}: {n}" for lang, n in s["passages_by_lang"].items())
    skipped = f"\n\nNot indexed (unreadable): {_md_text(', '.join(s['skipped']))}" if s["skipped"] else ""
    return (f"**{_count(len(s['reports']), 'report')}, {_count(s['passages'], 'passage')}** ({langs})\n\n{reports}\n\n"
            f"Model: `{s['model']}` · index built {s['built']}{skipped}")


def prepare_index(corpus_dir: Path, index_dir: Path, cache_dir: Path | None, *, engine: str = DEFAULT_ENGINE,
                  threads: int | None = None) -> tuple[Embedder, bool]:
    """Make sure there is an index to serve; return the model it uses and whether it is stale.

    With no usable index (none, damaged, another format), it is built now, with a
    progress bar. A usable but stale one (reports added, changed or removed) is
    served as it is, and :func:`build_app` brings it up to date in the background.
    """
    try:
        generation, manifest = current_generation(index_dir)
        check_files(generation, manifest)  # sizes, and checksums up to a size: damage is repaired now
        embedder = make_embedder(manifest.config, cache_dir=cache_dir, threads=threads, progress=say)
    except (IndexNotFoundError, IndexFormatError) as exc:
        why = "" if isinstance(exc, IndexNotFoundError) else f" (the one there cannot be used: {str(exc).split('; ')[0]})"
        print(f"Building the index of {corpus_dir} into {index_dir}{why} …", flush=True)
        config = IndexConfig(engine=engine)
        embedder = make_embedder(config, cache_dir=cache_dir, threads=threads, progress=say)
        report = build_index(corpus_dir, index_dir, config=config, embedder=embedder, progress=TerminalProgress())
        print(f"Indexed {len(report.documents)} report(s), {report.passages} passages.", flush=True)
        return embedder, False
    stale = index_is_stale(corpus_dir, index_dir)
    if stale:
        print(f"The reports in {corpus_dir} changed: serving the current index while it is brought up to date.", flush=True)
    return embedder, stale


def main() -> None:
    parser = argparse.ArgumentParser(description="Lao–English report search, in the browser.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    parser.add_argument("--index", type=Path, default=Path("index"))
    parser.add_argument("--model-cache", type=Path, default=os.environ.get("REPORT_SEARCH_CACHE"))
    parser.add_argument("--max-upload-mb", type=int, default=int(os.environ.get("REPORT_SEARCH_MAX_UPLOAD_MB", DEFAULT_MAX_UPLOAD_MB)),
                        help=f"largest report an upload may be, in MB (default {DEFAULT_MAX_UPLOAD_MB})")
    parser.add_argument("--engine", choices=ENGINES, default=os.environ.get("REPORT_SEARCH_ENGINE", DEFAULT_ENGINE),
                        help=f"how the default model runs in a new index (default {DEFAULT_ENGINE})")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("REPORT_SEARCH_THREADS", 0)) or None,
                        help="threads for embedding batches (default: every core); a question uses one")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    try:
        embedder, stale = prepare_index(args.corpus, args.index, args.model_cache, engine=args.engine, threads=args.threads)
        app = build_app(args.index, corpus_dir=args.corpus, embedder=embedder, refresh=stale, max_upload_mb=args.max_upload_mb)
    except SearchError as exc:
        raise SystemExit(f"error: {exc}") from exc
    app.launch(server_name=args.host, server_port=args.port, css=CSS, max_file_size=f"{args.max_upload_mb}mb")


if __name__ == "__main__":
    main()
