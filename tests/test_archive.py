"""`emnist-bench pack` / `unpack`: results made elsewhere (an offline GPU) come home in one
archive, without clobbering what is here, and a hostile archive is refused."""

from __future__ import annotations

import io
import json
import shutil
import tarfile

import pandas as pd
import pytest

from tests.conftest import REPO, run_cli

pytestmark = pytest.mark.any_backend  # files only

RUNS = ["mlp-best-jax-b9f69f00", "cnn-best-jax-8e932b4a"]  # committed, suite-written runs


@pytest.fixture
def there(tmp_path):
    """A results folder as another machine leaves it: two runs, a saved model, a lock, and
    bench.csv with two rows."""
    root = tmp_path / "there"
    for run in RUNS:
        shutil.copytree(REPO / "results" / run, root / run)
    (root / RUNS[0] / "model.keras").write_bytes(b"a model")
    (root / RUNS[0] / ".lock").write_text("")
    pd.read_csv(REPO / "results" / "bench.csv").head(2).to_csv(root / "bench.csv", index=False)
    return root


def test_pack_then_unpack_adds_replaces_keeps_and_refuses(capsys, there, tmp_path):
    archive = tmp_path / "gpu.tar.gz"
    code, _, err = run_cli(capsys, "pack", str(archive), "--results-dir", str(there))
    assert code == 0, err
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "bench.csv" in names and f"{RUNS[0]}/config.json" in names
    assert not [n for n in names if n.endswith(("model.keras", ".lock"))]

    here = tmp_path / "here"
    # RUNS[0] is here already, the same run stopped earlier: fewer files, same digest.
    shutil.copytree(there / RUNS[0], here / RUNS[0],
                    ignore=shutil.ignore_patterns("test.json", "misclassified*", "model.keras"))
    # A run of another configuration under the name of RUNS[1].
    (here / RUNS[1]).mkdir(parents=True)
    (here / RUNS[1] / "config.json").write_text(json.dumps({"digest": "something-else"}))
    code, _, err = run_cli(capsys, "unpack", str(archive), "--results-dir", str(here))
    assert code == 1  # one folder left out: said, and the rest done
    assert "1 replaced" in err and "left out " + RUNS[1] in err
    assert (here / RUNS[0] / "test.json").is_file()  # the further run won
    assert json.loads((here / RUNS[1] / "config.json").read_text()) == {"digest": "something-else"}
    assert len(pd.read_csv(here / "bench.csv")) == 2
    assert RUNS[0] in pd.read_csv(here / "runs.csv")["run_id"].tolist()  # the index rebuilt
    assert [p.name for p in here.iterdir() if p.name.startswith("emnist-bench-")] == []

    shutil.rmtree(here / RUNS[1])
    code, _, err = run_cli(capsys, "unpack", str(archive), "--results-dir", str(here))
    assert code == 0, err
    assert "1 added" in err and "0 bench row(s)" in err  # rows already there are not doubled
    assert sorted(pd.read_csv(here / "runs.csv")["run_id"]) == sorted(RUNS)
    assert len(pd.read_csv(here / "bench.csv")) == 2


def test_an_archive_that_reaches_out_of_the_folder_is_refused(capsys, tmp_path):
    archive = tmp_path / "bad.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        data = b"x"
        info = tarfile.TarInfo("../outside.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    code, _, err = run_cli(capsys, "unpack", str(archive), "--results-dir", str(tmp_path / "r"))
    assert code == 2 and "cannot read" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "outside.txt").exists()
    code, _, err = run_cli(capsys, "pack", str(tmp_path / "x.tar.gz"), "--results-dir",
                           str(tmp_path / "none"))
    assert code == 2 and "no results folder" in err
