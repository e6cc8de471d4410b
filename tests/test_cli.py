"""`emnist-bench`: exit codes, one-line errors, the models listing, resume after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import keras
import pandas as pd
import pytest

from tests.conftest import REPO, run_cli
from tests.synthetic import write_nist

BACKEND = keras.backend.backend()


@pytest.fixture
def results_dir(tmp_path):
    return tmp_path / "results"


BAD_ARGUMENTS = [
    (["cv", "--arch", "transformer"], "unknown architecture"),
    (["cv", "--arch", "mlp", "--preset", "worst"], "unknown preset"),
    (["cv", "--arch", "mlp", "--split", "kanji"], "unknown split"),
    (["cv", "--arch", "mlp", "--folds", "1"], "--folds must be at least 2"),
    (["cv", "--arch", "mlp", "--folds", "7"], "smallest class has 6"),
    (["cv", "--arch", "mlp", "--epochs", "-1"], "--epochs must be at least 1"),
    (["cv", "--arch", "mlp", "--epochs", "0"], "--epochs must be at least 1"),
    (["cv", "--arch", "mlp", "--batch-size", "0"], "--batch-size"),
    (["cv", "--arch", "mlp", "--limit", "0"], "--limit"),
    (["cv", "--arch", "mlp", "--epochs", "many"], "--epochs"),
    (["cv", "--arch", "mlp", "--set", "colour=blue"], "--set colour: no such setting"),
    (["cv", "--arch", "mlp", "--set", "learning_rate"], "--set expects KEY=VALUE"),
    (["cv", "--arch", "mlp", "--set", "learning_rate=fast"], "--set learning_rate"),
    (["cv", "--arch", "mlp", "--set", "optimizer=adagrad"], "optimizer"),
    (["cv", "--arch", "mlp", "--set", "schedule=exponential"], "schedule"),
    (["cv", "--arch", "mlp", "--set", "activation=tanh"], "activation"),
    (["cv", "--arch", "mlp", "--set", "hidden_layers=2"], "dropout"),
    (["cv", "--arch", "cnn", "--preset", "best", "--set", "kernels=3,3"], "kernels"),
    (["cv", "--arch", "resnet", "--set", "blocks=2,2"], "blocks"),
    (["cv", "--arch", "mlp", "--run-id", "../elsewhere"], "run id"),
    (["cv", "--arch", "mlp", "--backend", "theano"], "--backend"),
    (["cv"], "--arch"),
    (["fly"], "invalid choice"),
    ([], "command"),
]


@pytest.mark.parametrize("argv, message", BAD_ARGUMENTS, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_bad_arguments_exit_2_with_one_line(capsys, nist_dir, results_dir, argv, message):
    extra = ["--data-dir", str(nist_dir), "--results-dir", str(results_dir)] if argv[:1] == ["cv"] and len(argv) > 1 else []
    code, out, err = run_cli(capsys, *argv, *extra)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("emnist-bench: error:"), err
    assert message.lower() in lines[0].lower()
    assert not results_dir.exists(), "nothing may be written for a refused command"


# A wrong name is refused from the registry and the builders' and spaces' source, before any
# backend is imported (importing Keras alone takes 5 to 15 s on a 2-core machine).
WRONG_NAMES = [
    (["cv", "--arch", "transformer"], "unknown architecture 'transformer'"),
    (["cv", "--arch", "mlp", "--preset", "worst"], "unknown preset 'worst' for mlp"),
    (["cv", "--arch", "cnn", "--set", "colour=blue"], "--set colour: no such setting for cnn"),
    (["cv", "--from-trial", "search", "--set", "colour=blue"], "--set colour: no such setting"),
    (["tune", "--arch", "vit"], "unknown architecture 'vit'"),
    (["ablate", "--arch", "cnn", "--factors", "activation,colour"], "'colour' is not a factor"),
    (["study", "--arch", "all", "--factors", "channels"], "'channels' is not a factor of the mlp"),
    (["study", "--arch", "vit"], "unknown architecture 'vit'"),
    (["spaces", "--arch", "vit"], "unknown architecture 'vit'"),
]


@pytest.mark.any_backend
def test_wrong_names_are_refused_before_any_backend_is_imported(tmp_path):
    (tmp_path / "r" / "search").mkdir(parents=True)  # a search folder for --from-trial
    (tmp_path / "r" / "search" / "config.json").write_text(json.dumps(
        {"kind": "tune", "arch": "mlp", "base": {"split": "balanced", "limit": None, "seed": 0}}))
    cases = [argv + (["--results-dir", str(tmp_path / "r")] if argv[0] != "spaces" else [])
             for argv, _ in WRONG_NAMES]
    check = ("import json, sys\n"
             "from benchmark import cli\n"
             "for argv in json.loads(sys.argv[1]):\n"
             "    code = cli.main(argv)\n"
             "    loaded = [m for m in ('keras', 'tensorflow', 'jax', 'torch', 'keras_tuner')\n"
             "              if m in sys.modules]\n"
             "    print(json.dumps([code, loaded]), flush=True)\n")
    done = subprocess.run([sys.executable, "-c", check, json.dumps(cases)], cwd=REPO,
                          env={**os.environ, "KERAS_BACKEND": BACKEND}, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    errors = done.stderr.strip().splitlines()
    assert len(errors) == len(WRONG_NAMES), done.stderr
    for (argv, message), line, error in zip(WRONG_NAMES, done.stdout.splitlines(), errors,
                                            strict=True):
        assert json.loads(line) == [2, []], (argv, line)
        assert error.startswith("emnist-bench: error:") and message in error, (argv, error)


def test_cv_help_says_arch_is_required_unless_from_trial(capsys):
    with pytest.raises(SystemExit):
        run_cli(capsys, "cv", "--help")
    usage = " ".join(capsys.readouterr().out.split())
    assert "(--arch ARCH | --from-trial TUNE_RUN[:TRIAL])" in usage
    assert "required unless --from-trial is given" in usage
    code, _, err = run_cli(capsys, "cv", "--arch", "mlp", "--from-trial", "search")
    assert code == 2 and "not allowed with argument" in err


BROKEN = {
    "wrong magic": lambda d: (d / "emnist-balanced-train-images-idx3-ubyte.gz").write_bytes(
        __import__("gzip").compress(b"\x00\x00\x08\x01" + bytes(40))),
    "missing test labels": lambda d: (d / "emnist-balanced-test-labels-idx1-ubyte.gz").unlink(),
    "garbage": lambda d: (d / "emnist-balanced-test-images-idx3-ubyte.gz").write_bytes(b"garbage!"),
}


@pytest.mark.parametrize("breakage", sorted(BROKEN))
def test_broken_data_exits_1_with_one_line(capsys, nist_dir, results_dir, breakage):
    BROKEN[breakage](nist_dir)
    code, _, err = run_cli(capsys, "cv", "--arch", "mlp", "--data-dir", str(nist_dir),
                           "--results-dir", str(results_dir))
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "emnist-balanced-" in lines[0], err


def test_models_lists_every_preset_with_parameters(capsys):
    code, out, _ = run_cli(capsys, "models")
    assert code == 0
    rows = [line.split() for line in out.splitlines()[1:]]
    assert {(r[0], r[1]) for r in rows} == {(a, p) for a in ("mlp", "cnn", "resnet")
                                           for p in ("baseline", "best")}
    params = {(r[0], r[1]): int(r[2].replace(",", "")) for r in rows}
    assert params["mlp", "baseline"] == 140_719  # 784*128+128 + 2*(128*128+128) + 3*4*128 + 128*47+47
    assert params["cnn", "best"] != params["cnn", "baseline"]


def test_models_keys_lists_every_set_key(capsys):
    code, out, _ = run_cli(capsys, "models", "--keys")
    assert code == 0
    for key in ("hidden_layers", "kernels", "blocks", "learning_rate", "schedule", "augment"):
        assert f"  {key} " in out


def test_cv_writes_a_run_and_a_rerun_resumes_to_completion(capsys, nist_dir, results_dir):
    argv = ["cv", "--arch", "mlp", "--folds", "2", "--epochs", "1", "--data-dir", str(nist_dir),
            "--results-dir", str(results_dir), "--run-id", "tiny"]
    code, out, err = run_cli(capsys, *argv)
    assert code == 0, err
    assert "fold 1/2" in err and "fold 2/2" in err and "test" in out
    run = results_dir / "tiny"
    folds = pd.read_csv(run / "folds.csv")
    assert folds["fold"].tolist() == [1, 2]
    config = json.loads((run / "config.json").read_text())
    assert config["backend"] == BACKEND
    assert config["data"]["matches_official_sizes"] is False
    assert config["run"]["training"]["epochs"] == 1
    assert 0 <= json.loads((run / "test.json").read_text())["accuracy"] <= 1
    index = pd.read_csv(results_dir / "runs.csv")
    assert index["run_id"].tolist() == ["tiny"]

    code, _, err = run_cli(capsys, *argv)
    assert code == 0 and "already complete" in err
    assert len(pd.read_csv(run / "folds.csv")) == 2

    code, _, err = run_cli(capsys, *argv[:-2], "--run-id", "tiny", "--set", "units=64")
    assert code == 2 and "already exists with another configuration" in err


def test_default_run_id_names_arch_preset_and_backend(capsys, nist_dir, results_dir):
    code, _, err = run_cli(capsys, "cv", "--arch", "mlp", "--folds", "2", "--epochs", "1",
                           "--data-dir", str(nist_dir), "--results-dir", str(results_dir))
    assert code == 0, err
    (run,) = [p.name for p in results_dir.iterdir() if p.is_dir()]
    assert run.startswith(f"mlp-baseline-{BACKEND}-")


def test_letters_split_gets_26_outputs(capsys, tmp_path, results_dir):
    folder = write_nist(tmp_path / "letters", split="letters", n_classes=26)
    code, _, err = run_cli(capsys, "cv", "--arch", "mlp", "--folds", "2", "--epochs", "1",
                           "--split", "letters", "--data-dir", str(folder),
                           "--results-dir", str(results_dir), "--run-id", "letters")
    assert code == 0, err
    config = json.loads((results_dir / "letters" / "config.json").read_text())
    assert config["run"]["model"]["num_classes"] == 26
    per_class = pd.read_csv(results_dir / "letters" / "per_class.csv")
    assert len(per_class) == 26 and per_class["char"].iloc[0] == "Aa"


# ------------------------------------------------------------------ whole processes


def _command(*argv):
    env = {**os.environ, "KERAS_BACKEND": BACKEND, "PYTHONUNBUFFERED": "1"}
    return [sys.executable, "-m", "benchmark.cli", *argv], env


@pytest.mark.slow
def test_broken_data_in_a_real_process_prints_no_traceback(nist_dir, tmp_path):
    path = nist_dir / "emnist-balanced-train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:30])
    cmd, env = _command("cv", "--arch", "mlp", "--data-dir", str(nist_dir),
                        "--results-dir", str(tmp_path / "r"))
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert "Traceback" not in done.stderr and "train-labels" in done.stderr


@pytest.mark.any_backend
@pytest.mark.slow
@pytest.mark.parametrize("kill_at", ["fold 1/3:", "fold 2/3 epoch 1/"])
def test_sigkill_then_rerun_gives_exactly_k_fold_rows(tmp_path, kill_at):
    """Kill -9 between folds (or inside one), rerun the same command: exactly 3 fold rows."""
    folder = write_nist(tmp_path / "nist", train_per_class=8)
    results = tmp_path / "results"
    cmd, env = _command("cv", "--arch", "mlp", "--folds", "3", "--epochs", "2",
                        "--data-dir", str(folder), "--results-dir", str(results), "--run-id", "k")
    env["EMNIST_BENCH_CACHE"] = str(tmp_path / "cache")
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            text=True)
    deadline = time.monotonic() + 300
    for line in proc.stderr:
        if kill_at in line:
            proc.send_signal(signal.SIGKILL)
            break
        assert time.monotonic() < deadline
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    before = pd.read_csv(results / "k" / "folds.csv") if (results / "k" / "folds.csv").exists() else None
    assert before is None or len(before) <= 2
    assert not (results / "k" / "test.json").exists()

    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    folds = pd.read_csv(results / "k" / "folds.csv")
    assert sorted(folds["fold"]) == [1, 2, 3]
    epochs = pd.read_csv(results / "k" / "epochs.csv")
    assert not epochs.duplicated(["fold", "epoch"]).any()
    assert (results / "k" / "test.json").exists()


@pytest.mark.slow
@pytest.mark.real_data
def test_real_sample_end_to_end(real_sample, tmp_path):
    cmd, env = _command("cv", "--arch", "mlp", "--preset", "best", "--folds", "2", "--epochs", "2",
                        "--limit", "2000", "--data-dir", str(real_sample),
                        "--results-dir", str(tmp_path / "r"), "--run-id", "real")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    run = tmp_path / "r" / "real"
    test = json.loads((run / "test.json").read_text())
    assert test["n_test"] == 304
    assert test["accuracy"] > 3 / 47  # clearly better than chance on real letters and digits
    config = json.loads((run / "config.json").read_text())
    assert config["data"]["n_train_used"] == 2000 and config["data"]["n_train"] == 9120
    assert "Traceback" not in done.stderr
