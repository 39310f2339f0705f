"""The library's shape: stages in order, a lower stage never importing a higher one."""

import ast

from conftest import ROOT

STAGES = ("ingest", "model", "index", "retrieve", "evaluation", "serve")
BASE = ("errors", "cite", "fileio", "progress")  # used by every stage; they use none


def _imports(path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module, node.lineno
        elif isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)


def _stage_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "search" and len(parts) > 1 else None


def test_no_stage_imports_a_higher_one():
    upward = []
    for path in sorted((ROOT / "search").glob("*/**/*.py")):
        stage = path.relative_to(ROOT / "search").parts[0]
        if stage not in STAGES:
            continue
        for module, line in _imports(path):
            target = _stage_of(module)
            if target in STAGES and STAGES.index(target) > STAGES.index(stage):
                upward.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not upward, "\n".join(upward)


def test_the_base_modules_import_no_stage():
    found = [f"{name}.py:{line} imports {module}" for name in BASE
             for module, line in _imports(ROOT / "search" / f"{name}.py") if _stage_of(module) in STAGES]
    assert not found, "\n".join(found)


def test_the_check_sees_an_upward_import(tmp_path):
    """The walk above reads imports inside functions too (a lazy import is still a dependency)."""
    path = tmp_path / "m.py"
    path.write_text("def f():\n    from search.retrieve.bridge import read_as_thai\n", encoding="utf-8")
    assert [_stage_of(m) for m, _ in _imports(path)] == ["retrieve"]
