"""The code's one-way layout: nothing imports the command line, no import circle, and every
backend's special case where the README says."""

from __future__ import annotations

import ast
import graphlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import benchmark
import benchmark.models
import tuners
from tests.conftest import REPO


@pytest.mark.any_backend
def test_no_module_imports_the_cli():
    modules = [f"{package.__name__}.{info.name}" for package in (benchmark, tuners)
               for info in pkgutil.iter_modules(package.__path__) if info.name != "cli"]
    modules += ["benchmark.models." + info.name
                for info in pkgutil.iter_modules(benchmark.models.__path__)]
    # A fresh interpreter, so that nothing imported by this test process hides an import.
    check = ("import importlib, sys\n"
             f"for name in {modules!r}:\n"
             "    importlib.import_module(name)\n"
             "    assert 'benchmark.cli' not in sys.modules, name\n"
             "print(len(sys.modules))")
    done = subprocess.run([sys.executable, "-c", check], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


def _modules() -> dict[str, Path]:
    """Every module of the suite (benchmark/, tuners/, app.py) by its dotted name."""
    found = {"app": REPO / "app.py"}
    for folder in ("benchmark", "tuners"):
        for path in (REPO / folder).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The suite's modules that `path` imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            # a submodule where it is one ("from benchmark import cv"), else the module itself
            names = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules
                     else node.module for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


@pytest.mark.any_backend
def test_imports_run_one_way():
    """No import circle, hidden inside a function or not: every module sits on a layer above
    all it imports, so the suite reads from data up to the app and the report."""
    modules = _modules()
    graph = {name: _imports(path, modules) - {name} for name, path in modules.items()}
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:
        pytest.fail(f"import circle: {' -> '.join(error.args[1])}")
    assert set(order) == set(modules)


BACKEND_NAMES = {"tensorflow", "jax", "torch"}


def _names_a_backend(node: ast.AST) -> bool:
    """A comparison with a backend's name, or a dict keyed by two or more of them."""
    if isinstance(node, ast.Compare):
        parts = [node.left, *node.comparators]
        text = ast.unparse(node)
        return "backend" in text.lower() and any(
            isinstance(part, ast.Constant) and part.value in BACKEND_NAMES for part in parts)
    if isinstance(node, ast.Dict):
        keys = {key.value for key in node.keys if isinstance(key, ast.Constant)}
        return len(keys & BACKEND_NAMES) >= 2
    return False


@pytest.mark.any_backend
def test_every_backend_special_case_is_in_the_readme():
    """README's "Adding a backend" names every module that decides something per backend."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("### Adding a backend", 1)[1].split("\n## ", 1)[0]
    for name, path in _modules().items():
        if name == "app" or name.startswith("benchmark.app"):
            continue  # pages that show each backend's figures decide nothing
        tree = ast.parse(path.read_text())
        if any(_names_a_backend(node) for node in ast.walk(tree)):
            short = str(path.relative_to(REPO / "benchmark" if name.startswith("benchmark")
                                         else REPO))
            assert f"`{short}`" in section, f"{short} has a backend's special case"
