"""The layout is the architecture (docs/architecture.md): layers hold, no import cycles, modules stay small.

The layer contract lives in pyproject.toml ([tool.importlinter]) and is checked by import-linter's own
``lint-imports``; cycles are found with grimp (the graph library import-linter is built on), not by hand.
"""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "grader"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def test_the_layer_contract_holds():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache", "--config", str(ROOT / "pyproject.toml")], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_no_module_imports_one_that_imports_it_back():
    graph = grimp.build_graph("grader", include_external_packages=False, cache_dir=None)
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            chain = graph.find_shortest_chain(importer=imported, imported=module)
            if chain:
                cycles.append(" -> ".join((module, *chain)))
    assert not cycles, "\n".join(cycles)


def test_every_module_imports_alone_in_a_fresh_interpreter():
    """Each module on its own (no help from modules imported before it), so no hidden import-order cycle."""
    modules = sorted(".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                     for p in PACKAGE.rglob("*.py") if p.name != "__main__.py")
    script = ("import importlib, subprocess, sys\n"
              "bad = []\n"
              "for m in sys.argv[1:]:\n"
              "    r = subprocess.run([sys.executable, '-c', f'import {m}'], capture_output=True, text=True)\n"
              "    if r.returncode: bad.append(m + ': ' + (r.stderr.strip().splitlines() or ['?'])[-1])\n"
              "print('\\n'.join(bad)); sys.exit(1 if bad else 0)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", script, *modules], capture_output=True, text=True, env=env,
                            timeout=600)
    assert result.returncode == 0, result.stdout


def _python_files():
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", _python_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_and_functions_stay_small(path):
    """No module over 500 lines; no function over 80 unless its docstring says why it is long."""
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_MODULE_LINES, f"{path}: {len(text.splitlines())} lines"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            start = min([d.lineno for d in node.decorator_list] + [node.lineno])
            length = node.end_lineno - start + 1
            why = (ast.get_docstring(node) or "").lower()
            assert length <= MAX_FUNCTION_LINES or "long because" in why, \
                f"{path}:{node.lineno} {node.name} is {length} lines"


def test_every_subpackage_says_what_lives_there_and_what_it_may_import():
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        if init.parent.name in ("data",):
            continue
        tree = ast.parse(init.read_text(encoding="utf-8"))
        doc = ast.get_docstring(tree) or ""
        assert "may import" in doc.lower(), f"{init}: the docstring should say what the package may import"
        assert any(isinstance(n, (ast.Assign, ast.AnnAssign)) and "__all__" in ast.unparse(n) for n in tree.body), \
            f"{init}: no __all__"


def test_the_public_api_is_where_it_was():
    from grader import Grader, QuestionReport, __version__
    from grader.transcripts import Transcript, Turn, read_transcript

    assert callable(Grader.grade) and callable(Grader.grade_many)
    assert QuestionReport.__name__ == "QuestionReport" and __version__
    assert Transcript.__name__ == "Transcript" and Turn.__name__ == "Turn" and callable(read_transcript)


def test_the_readme_layout_and_the_architecture_page_match_the_tree():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("## Layout"):]
    layout = layout[:layout.index("```", layout.index("```") + 3)]
    architecture = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    packages = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py") if p.parent.name != "data")
    for name in packages:
        assert f"grader/{name}/" in architecture, f"docs/architecture.md does not place grader/{name}/"
    for name in ("bank", "transcripts", "metrics", "scoring", "reports", "mentor", "cli"):
        assert f"  {name}/" in layout, f"the README layout does not list grader/{name}/"
    import re

    for entry in re.findall(r"^  ([a-z_]+(?:/|\.py))", layout, flags=re.M):
        assert (PACKAGE / entry.rstrip("/")).exists(), f"the README layout lists grader/{entry}, which is gone"
    for module in re.findall(r"`grader/([a-z_/]+\.py)`", architecture):
        assert (PACKAGE / module).exists(), f"docs/architecture.md names grader/{module}, which is gone"


def test_every_package_ships_in_the_wheel():
    """setuptools' explicit package list must name each subpackage, or an installed grader lacks it."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
                 ["packages"])
    for init in PACKAGE.rglob("__init__.py"):
        name = ".".join(init.parent.relative_to(ROOT).parts)
        assert name in listed, f"{name} is not in pyproject.toml's [tool.setuptools] packages"
