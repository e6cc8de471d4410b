"""Shared fixtures: a private decode cache per test, synthetic NIST files, the real sample."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from benchmark import cli
from tests.synthetic import write_nist

REPO = Path(__file__).resolve().parents[1]
SHARED_SAMPLE = REPO.parent / "shared" / "data" / "emnist-balanced-sample"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Never touch the user's ~/.cache from a test."""
    monkeypatch.setenv("EMNIST_BENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(autouse=True)
def _float32_policy():
    """A test that trained in mixed precision (`--precision auto` on a CPU with bf16) leaves
    Keras's global dtype policy set; the next test starts from float32 again."""
    yield
    if "keras" in sys.modules:
        sys.modules["keras"].mixed_precision.set_global_policy("float32")


@pytest.fixture
def nist_dir(tmp_path):
    """A folder of tiny synthetic Balanced files in NIST's gzip IDX layout."""
    return write_nist(tmp_path / "nist")


@pytest.fixture(scope="module")
def nist_dataset(tmp_path_factory):
    """The same synthetic files, loaded once per module (with a cache of its own)."""
    from benchmark import data

    folder = write_nist(tmp_path_factory.mktemp("nist"))
    return data.load("balanced", folder, cache_dir=tmp_path_factory.mktemp("cache"))


def real_sample_dir() -> Path | None:
    """The real Balanced sample: $EMNIST_BENCH_DATA if it holds one, else ../shared's copy."""
    for candidate in (os.environ.get("EMNIST_BENCH_DATA"), SHARED_SAMPLE):
        if candidate and Path(candidate, "emnist-balanced-mapping.txt").is_file():
            return Path(candidate)
    return None


@pytest.fixture
def real_sample():
    folder = real_sample_dir()
    if folder is None:
        pytest.skip("real EMNIST Balanced sample not found (set EMNIST_BENCH_DATA or place "
                    "../shared/data/emnist-balanced-sample beside the repository)")
    return folder


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    """`emnist-bench ARGV` in this process: exit code, stdout and stderr."""
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err
