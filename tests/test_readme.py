"""The figures of the README and docs/ are what a fresh clone prints: each block is made again from the session's real index."""

import importlib.util
import re

import pytest

from conftest import BUNDLED, ROOT

STALE = ("README block {} differs from a fresh run over the bundled report alone (reports added to corpus/ play no "
         "part): the code's results changed since the README was written; python bench/readme.py rewrites it")

spec = importlib.util.spec_from_file_location("readme", ROOT / "bench" / "readme.py")
readme = importlib.util.module_from_spec(spec)
spec.loader.exec_module(readme)


def _placed(blocks: dict) -> list:
    """``(file, block name)`` pairs of one of the script's maps, for parametrize."""
    return [(path, name) for path, named in blocks.items() for name in named]


def _id(value):
    return getattr(value, "name", value)


@pytest.mark.parametrize("path, name", _placed(readme.BLOCKS), ids=_id)
def test_readme_block_matches_a_fresh_run(path, name, searcher):
    written = readme.blocks_in(path.read_text(encoding="utf-8"))
    assert name in written, f"{path.name} has no <!-- readme:{name} --> block"
    assert written[name] == readme.BLOCKS[path][name](searcher), STALE.format(f"{path.name} {name}")


@pytest.mark.parametrize("path, name", _placed(readme.PLAIN_BLOCKS), ids=_id)
def test_readme_block_of_both_models_matches_a_fresh_run(path, name, searcher, plain_searcher):
    written = readme.blocks_in(path.read_text(encoding="utf-8"))
    assert name in written, f"{path.name} has no <!-- readme:{name} --> block"
    assert written[name] == readme.PLAIN_BLOCKS[path][name](searcher, plain_searcher), STALE.format(f"{path.name} {name}")


def test_the_figures_are_of_the_bundled_report_alone(searcher, plain_searcher):
    """The session's indexes hold the bundled report and nothing the checkout's corpus/ gained since."""
    assert set(searcher.index.manifest.documents) == set(plain_searcher.index.manifest.documents) == {BUNDLED.name}


def test_readme_refuses_an_index_holding_other_reports(shelf):
    """An index with a user's reports in it (the app's, after uploads) is refused, naming them."""
    with pytest.raises(SystemExit) as info:
        readme._searcher(shelf["index"], readme.IndexConfig())
    assert "besides the bundled one" in str(info.value) and "rice-report.md" in str(info.value)


def test_rewrite_replaces_only_the_named_block():
    text = "a\n<!-- readme:x -->\nold\n<!-- /readme:x -->\nb\n<!-- readme:y -->\nkeep\n<!-- /readme:y -->\n"
    new = readme.rewrite(text, {"x": "new"})
    assert readme.blocks_in(new) == {"x": "new", "y": "keep"} and new.startswith("a\n") and "\nb\n" in new


@pytest.mark.parametrize("path, name", _placed(readme.RECORDED_BLOCKS), ids=_id)
def test_scale_tables_are_the_recorded_bench_runs(path, name):
    written = readme.blocks_in(path.read_text(encoding="utf-8"))
    assert name in written, f"{path.name} has no <!-- readme:{name} --> block"
    assert written[name] == readme.RECORDED_BLOCKS[path][name](), f"{path.name} block {name} is stale: run python bench/readme.py"


def test_recorded_scale_runs_hold_what_the_issue_asks_for():
    runs = readme._scale_runs()
    assert [run["passages"] >= size for run, size in zip(runs, (10_000, 100_000, 1_000_000))] == [True] * 3
    for run in runs:
        assert set(run["search_ms"]) == {"p50", "p95"} and set(run["stages_ms"]) >= {"bm25", "dense", "sentences", "bridge", "fusion"}
        assert {"ann_recall_at_100", "rss_bytes_per_passage", "disk_bytes_per_passage", "build_s_without_embedding",
                "rss_searched_bytes_per_passage", "anon_searched_bytes_per_passage", "mapped_bytes_per_passage"} <= set(run)


def test_the_recorded_library_run_alone_is_what_a_fresh_run_gives(searcher):
    """The table alone and in the library is recorded (the library takes minutes to build); its "alone" half,
    every question's rank and answer box of the default retriever, must be what today's code gives."""
    recorded = readme.library_run()["retrievers"][readme.DEFAULT_RETRIEVER]["alone"]
    fresh = readme.library_bench.measure(searcher, readme.DEFAULT_RETRIEVER)
    for name in readme.library_bench.SETS:
        assert fresh[name]["ranks"] == recorded[name]["ranks"], f"{name}: rerun python bench/library.py (see bench/README.md)"
        assert fresh[name]["answers"] == recorded[name]["answers"]
    assert fresh["unanswerable_answered"] == recorded["unanswerable_answered"]
    assert readme.library_run()["builds"]["library"]["passages"] > 6000  # the dev library, not a run on the bundled report alone


DOCUMENTS = [readme.README, *sorted(readme.DOCS.glob("*.md"))]


@pytest.mark.parametrize("path", DOCUMENTS, ids=_id)
def test_every_figure_block_is_made_by_the_script(path):
    """A block no map names would be checked by nothing and rot by hand."""
    made = {name for blocks in (readme.BLOCKS, readme.PLAIN_BLOCKS, readme.RECORDED_BLOCKS) for name in blocks.get(path, {})}
    assert set(readme.blocks_in(path.read_text(encoding="utf-8"))) == made


@pytest.mark.parametrize("path", DOCUMENTS, ids=_id)
def test_links_stay_in_the_repository_and_lead_somewhere(path):
    """A clone has only the repository: a link to a sibling folder or another site is dead for its reader
    (the local app's own address is fine); every link to a file names one the repository holds."""
    text = path.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r"https?://[^\s)>`\"']+", text)
    assert targets or path != readme.README
    for target in targets:
        if re.match(r"https?://", target):
            assert re.match(r"https?://(127\.0\.0\.1|localhost)[:/]", target), f"{path.name} links outside: {target}"
            continue
        file, _, anchor = target.partition("#")
        resolved = (path.parent / file).resolve() if file else path
        assert resolved.is_relative_to(ROOT) and resolved.exists(), f"{path.name}: {target} is not in the repository"
        if anchor and resolved.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", resolved.read_text(encoding="utf-8"), re.M)
            slugs = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}
            assert anchor in slugs, f"{path.name}: {target} names no heading of {resolved.name}"
    assert "../shared" not in text.replace("\n", " "), f"{path.name} names ../shared/, which a clone does not have"


def test_the_readme_stays_short():
    """Issue 42: a newcomer reads it in ten minutes; the long material lives in docs/."""
    assert len(readme.README.read_text(encoding="utf-8").splitlines()) <= 300
