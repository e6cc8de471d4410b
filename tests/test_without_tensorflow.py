"""The suite without TensorFlow: on JAX, `cv` (augmentation included) and `report` run in a
process where `import tensorflow` fails as if it were not installed, and the one feature that
needs it, the tensorflow-datasets download, says so in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.any_backend  # spawns its own JAX process: one run covers it

# sitecustomize runs at interpreter start: the path finder stops seeing tensorflow, so
# importlib.util.find_spec("tensorflow") is None and `import tensorflow` raises
# ModuleNotFoundError, exactly as when the package is not installed.
NO_TENSORFLOW = '''
from importlib.machinery import PathFinder
_find_spec = PathFinder.find_spec.__func__
def _find_spec_without_tensorflow(cls, name, path=None, target=None):
    if name.split(".")[0] == "tensorflow":
        return None
    return _find_spec(cls, name, path, target)
PathFinder.find_spec = classmethod(_find_spec_without_tensorflow)
'''
CLI = "import sys; from benchmark.cli import main; sys.exit(main())"


@pytest.fixture
def without_tensorflow(tmp_path, monkeypatch):
    """Run `emnist-bench ARGV` on JAX in a process that cannot import TensorFlow."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(NO_TENSORFLOW)
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": f"{site}{os.pathsep}{REPO}"}
    env.pop("EMNIST_BENCH_DATA", None)

    def run(*argv: str, code: str = CLI) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", code, *argv], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=600)

    done = run(code="import tensorflow")
    assert done.returncode == 1 and "No module named 'tensorflow'" in done.stderr
    return run


def test_cv_with_augmentation_and_report_run_without_tensorflow(without_tensorflow, nist_dir,
                                                                 tmp_path):
    results = tmp_path / "results"
    done = without_tensorflow("cv", "--arch", "mlp", "--folds", "2", "--epochs", "1",
                              "--set", "augment=true", "--set", "units=16", "--run-id", "notf",
                              "--data-dir", str(nist_dir), "--results-dir", str(results))
    assert done.returncode == 0, done.stderr[-3000:]
    config = json.loads((results / "notf" / "config.json").read_text())
    assert config["backend"] == "jax" and config["augmentation"] == "numpy"
    assert config["run"]["training"]["augment"] is True
    assert json.loads((results / "notf" / "test.json").read_text())["accuracy"] >= 0
    done = without_tensorflow("report", "--results-dir", str(results))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "notf" in (results / "REPORT.md").read_text()


def test_the_tfds_download_says_it_needs_tensorflow(without_tensorflow, tmp_path):
    done = without_tensorflow("cv", "--arch", "mlp", "--folds", "2", "--epochs", "1",
                              "--results-dir", str(tmp_path / "results"))
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert "tensorflow-datasets needs TensorFlow, which is not installed" in line
    assert "--data-dir" in line
