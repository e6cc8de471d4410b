"""The code's one-way layout: nothing imports the command line."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

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
