"""The README's figures are what a fresh clone prints: each block is made again from the session's real index."""

import importlib.util

import pytest

from conftest import ROOT

spec = importlib.util.spec_from_file_location("readme", ROOT / "bench" / "readme.py")
readme = importlib.util.module_from_spec(spec)
spec.loader.exec_module(readme)


@pytest.mark.parametrize("name", sorted(readme.BLOCKS))
def test_readme_block_matches_a_fresh_run(name, searcher):
    written = readme.blocks_in(readme.README.read_text(encoding="utf-8"))
    assert name in written, f"README.md has no <!-- readme:{name} --> block"
    assert written[name] == readme.BLOCKS[name](searcher), f"README block {name} is stale: run python bench/readme.py"


@pytest.mark.parametrize("name", sorted(readme.PLAIN_BLOCKS))
def test_readme_block_of_both_models_matches_a_fresh_run(name, searcher, plain_searcher):
    written = readme.blocks_in(readme.README.read_text(encoding="utf-8"))
    assert name in written, f"README.md has no <!-- readme:{name} --> block"
    assert written[name] == readme.PLAIN_BLOCKS[name](searcher, plain_searcher), (
        f"README block {name} is stale: run python bench/readme.py")


def test_rewrite_replaces_only_the_named_block():
    text = "a\n<!-- readme:x -->\nold\n<!-- /readme:x -->\nb\n<!-- readme:y -->\nkeep\n<!-- /readme:y -->\n"
    new = readme.rewrite(text, {"x": "new"})
    assert readme.blocks_in(new) == {"x": "new", "y": "keep"} and new.startswith("a\n") and "\nb\n" in new
