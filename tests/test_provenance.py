"""The code version a result records: a checkout's commit, '-dirty' only when code changed (a
changed results table is not a code change), and a plain answer where there is no checkout."""

from __future__ import annotations

import subprocess

import pytest

from benchmark import provenance

pytestmark = pytest.mark.any_backend


def git(repo, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo,
                          capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def checkout(tmp_path):
    """A checkout with a code file and a results table, both committed."""
    git(tmp_path, "init", "-q")
    (tmp_path / "benchmark").mkdir()
    (tmp_path / "benchmark" / "cv.py").write_text("x = 1\n")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "runs.csv").write_text("run_id\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "first")
    return tmp_path


def test_a_clean_checkout_names_its_commit(checkout):
    head = git(checkout, "rev-parse", "--short", "HEAD")
    assert provenance.describe(checkout / "benchmark") == head


def test_changed_results_leave_the_version_clean(checkout):
    head = git(checkout, "rev-parse", "--short", "HEAD")
    (checkout / "results" / "runs.csv").write_text("run_id\nmlp-best\n")
    (checkout / "results" / "new-run").mkdir()
    (checkout / "results" / "new-run" / "folds.csv").write_text("fold\n")
    (checkout / "notes.txt").write_text("untracked, as git describe --dirty ignores it\n")
    assert provenance.describe(checkout / "benchmark") == head


def test_changed_code_is_dirty(checkout):
    head = git(checkout, "rev-parse", "--short", "HEAD")
    (checkout / "benchmark" / "cv.py").write_text("x = 2\n")
    assert provenance.describe(checkout / "benchmark") == f"{head}-dirty"
    git(checkout, "add", "-A")  # staged counts too
    assert provenance.describe(checkout) == f"{head}-dirty"


def test_outside_a_checkout_it_raises(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    with pytest.raises(subprocess.CalledProcessError):
        provenance.describe(tmp_path)
