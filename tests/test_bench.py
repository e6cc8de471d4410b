"""`emnist-bench bench`: records, bench.csv, the peer's twin models; speed is never asserted."""

from __future__ import annotations

import json

import keras
import pandas as pd
import pytest

from benchmark import architectures, bench, bench_worker, cli, config, data, models, overrides
from benchmark.backends import BACKENDS

BACKEND = keras.backend.backend()
TINY = ["--seconds", "0.2", "--warmup-seconds", "0"]


def run_bench(capsys, *argv):
    code = cli.main(["bench", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("arch", architectures.names())
def test_peer_matches_the_keras_model(arch):
    """Same parameter count (BN running statistics counted as Keras counts them) and FLOPs."""
    torch_peer = pytest.importorskip("benchmark.torch_peer")
    model = models.build(arch, **overrides.resolve(arch, "best").model)
    peer = torch_peer.build(arch)
    assert torch_peer.param_count(peer) == model.count_params()
    assert torch_peer.forward_flops(peer) == bench_worker.forward_flops(model)


def test_forward_flops_of_the_mlp_by_hand():
    model = models.build("mlp", **overrides.resolve("mlp", "best").model)
    assert bench_worker.forward_flops(model) == 2 * (784 * 128 + 128 * 128 * 2 + 128 * 47)


def test_plan_steps_keeps_whole_equal_epochs_within_a_real_epoch():
    assert bench_worker.plan_steps(1.0, 10.0, None, 128) == (2, 5)  # 10 steps over 2 epochs
    assert bench_worker.plan_steps(10.0, 1.0, None, 128) == (2, 2)  # MIN_STEPS = 3, rounded up
    epochs, per_epoch = bench_worker.plan_steps(1e-4, 10.0, None, 128)
    assert per_epoch * 128 <= bench_worker.EPOCH_IMAGES and epochs * per_epoch >= 100_000
    assert bench_worker.plan_steps(1.0, 10.0, 7, 128) == (2, 4)  # --steps wins over --seconds


def test_timing_stops_on_the_budget_or_the_asked_steps():
    done = bench_worker.timing_done
    assert not done(1, 99.0, 5, 10.0, None)  # two timed epochs at the least
    assert not done(4, 9.0, 2, 10.0, None)  # the budget, not the estimate, decides
    assert done(2, 10.5, 5, 10.0, None)
    assert not done(2, 99.0, 3, 10.0, 7) and done(3, 0.1, 3, 10.0, 7)


def test_precisions_both_and_auto_are_planned_as_asked():
    assert bench.resolve_precisions("float32") == ["float32"]
    assert bench.resolve_precisions("both") == ["float32", "mixed_bfloat16"]
    assert bench.resolve_precisions("auto") == ["auto"]  # each worker resolves it on its device


def test_each_rule_is_read_from_its_one_home():
    """Precisions from config (bench adds auto and both), the 47 classes and 112,800 training
    images from data, the peer's optimizers and autocast dtypes checked against config."""
    assert bench.PRECISIONS == (*config.PRECISIONS, "auto", "both")
    assert bench_worker.NUM_CLASSES == len(data.CLASS_CHARS["balanced"]) == 47
    assert bench_worker.EPOCH_IMAGES == data.OFFICIAL_SIZES["balanced"][0] == 112_800
    torch_peer = pytest.importorskip("benchmark.torch_peer")
    assert torch_peer.NUM_CLASSES == 47
    assert set(torch_peer.OPTIMIZERS) == set(config.OPTIMIZERS)  # a PyTorch twin for each
    assert [torch_peer.compute_dtype(p) for p in config.PRECISIONS] == [
        "float32", "bfloat16", "float16"]


@pytest.mark.any_backend
def test_the_parser_imports_no_worker():
    """Building every command's parser imports neither bench's worker nor NumPy."""
    import subprocess
    import sys

    from tests.conftest import REPO

    check = ("import sys\n"
             "from benchmark import cli\n"
             "cli.build_parser()\n"
             "print(sorted({'benchmark.bench_worker', 'numpy'} & set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", check], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("argv, message", [
    (["--arch", "transformer"], "--arch"),
    (["--arch", "mlp", "--seconds", "0"], "--seconds"),
    (["--arch", "mlp", "--seconds", "inf"], "--seconds"),
    (["--arch", "mlp", "--warmup-seconds", "-1"], "--warmup-seconds"),
    (["--arch", "mlp", "--batch-size", "0"], "--batch-size"),
    (["--arch", "mlp", "--precision", "float16"], "--precision"),
    (["--arch", "mlp", "--backend", "theano"], "--backend"),
    ([], "--arch"),
])
def test_bad_arguments_are_one_line(capsys, argv, message):
    code, out, err = run_bench(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err


def test_a_failed_worker_is_reported_and_the_rest_kept(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "spawn", lambda spec, folder: {"error": "RuntimeError: boom"})
    code, out, err = run_bench(capsys, "--arch", "mlp", "--backend", BACKEND, *TINY,
                               "--results-dir", str(tmp_path))
    assert code == 1
    assert "failed: mlp/" in out and "boom" in err
    assert not (tmp_path / "bench.csv").exists()


def test_both_precisions_in_one_invocation_pair_each_with_its_own_peer(capsys, tmp_path,
                                                                       monkeypatch):
    """--precision both plans every configuration once per precision; each ratio is to the
    peer of the same precision (the workers are replaced: this checks the plan and the rows)."""
    speeds = {("pytorch", "float32"): 100.0, (BACKEND, "float32"): 150.0,
              ("pytorch", "mixed_bfloat16"): 200.0, (BACKEND, "mixed_bfloat16"): 100.0}
    asked = []

    def fake_spawn(spec, folder):
        asked.append((spec["backend"], spec["precision"]))
        return {"kind": spec["kind"], "arch": spec["arch"], "backend": spec["backend"],
                "precision": spec["precision"], "batch_size": spec["batch_size"],
                "images_per_second": speeds[spec["backend"], spec["precision"]],
                "ms_per_step": 1.0, "epoch_seconds": 1.0, "peak_memory_mb": 1.0,
                "gflops_per_second": 1.0, "machine": {"cpu": "test", "cores": 2}}

    monkeypatch.setattr(bench, "spawn", fake_spawn)
    code, out, err = run_bench(capsys, "--arch", "mlp", "--backend", BACKEND, "--precision",
                               "both", "--peer", *TINY, "--json", "--results-dir", str(tmp_path))
    assert code == 0, err
    assert asked == [("pytorch", "float32"), (BACKEND, "float32"),
                     ("pytorch", "mixed_bfloat16"), (BACKEND, "mixed_bfloat16")]
    ratios = {(r["backend"], r["precision"]): r["vs_peer"] for r in json.loads(out)}
    assert ratios[BACKEND, "float32"] == 1.5 and ratios[BACKEND, "mixed_bfloat16"] == 0.5
    assert len(pd.read_csv(tmp_path / "bench.csv")) == 4
    assert "--precision both" in pd.read_csv(tmp_path / "bench.csv")["command"][0]


def check_records(records: list[dict], csv_path, backends: set[str]) -> pd.DataFrame:
    assert {r["backend"] for r in records} == backends
    for record in records:
        assert record["images_per_second"] > 0 and record["ms_per_step"] > 0
        assert record["peak_memory_mb"] > 0 and record["gflops_per_second"] > 0
        assert record["train_flops"] == (bench_worker.TRAIN_FLOPS_PER_FORWARD
                                         * record["forward_flops"])
    table = pd.read_csv(csv_path)
    assert list(table.columns) == bench.COLUMNS
    assert len(table) == len(records) and (table["images_per_second"] > 0).all()
    assert table["cpu"].notna().all() and table["code_version"].notna().all()
    assert table["other_cpu"].between(0, 1).all()  # how busy the machine was, for the reader
    return table


def test_bench_current_backend_with_peer(capsys, tmp_path, monkeypatch):
    """Keras on this process's backend plus the plain-PyTorch peer, each in its own worker."""
    pytest.importorskip("torch")
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "ALL")  # oneDNN's default: recorded, no effect
    code, out, err = run_bench(capsys, "--arch", "mlp", "--backend", BACKEND, "--peer", *TINY,
                               "--json", "--results-dir", str(tmp_path))
    assert code == 0, err
    records = json.loads(out)
    table = check_records(records, tmp_path / "bench.csv", {BACKEND, bench.PEER})
    assert set(table["precision"]) == {"float32"} and set(table["batch_size"]) == {128}
    keras_row = next(r for r in records if r["backend"] == BACKEND)
    assert keras_row["vs_peer"] > 0 and keras_row["params"] == 140_719
    assert f"mlp with Keras on {BACKEND}" in err  # progress lines go to stderr
    assert all("ONEDNN_MAX_CPU_ISA=ALL" in r["settings"] for r in records)  # each worker's

    # A second invocation appends to bench.csv; rows already there are kept, and a file
    # written before a column existed gains it, the columns in the order of COLUMNS.
    older = pd.read_csv(tmp_path / "bench.csv").drop(columns=["settings"])
    older.to_csv(tmp_path / "bench.csv", index=False)
    bench.append_rows(tmp_path / "bench.csv", records)
    both = pd.read_csv(tmp_path / "bench.csv")
    assert len(both) == 2 * len(records) and list(both.columns) == bench.COLUMNS
    assert both["settings"].isna().sum() == len(records)


@pytest.mark.slow
@pytest.mark.any_backend  # it spawns every backend itself: one pass, whichever, runs it
def test_bench_all_backends_mixed_bfloat16_table(capsys, tmp_path):
    code, out, err = run_bench(capsys, "--arch", "mlp", "--backend", "all", "--precision",
                               "mixed_bfloat16", "--steps", "2", "--warmup-seconds", "0",
                               "--results-dir", str(tmp_path))
    assert code == 0, err
    table = pd.read_csv(tmp_path / "bench.csv")
    assert set(table["backend"]) == set(BACKENDS)
    assert set(table["compute_dtype"]) == {"bfloat16"}  # the policy reached the layers
    assert "img/s" in out and all(b in out for b in BACKENDS)


def test_bench_data_times_decode_cache_and_pipeline(capsys, nist_dir, tmp_path):
    from benchmark import cli

    code = cli.main(["bench-data", "--data-dir", str(nist_dir), "--repeats", "2", "--json",
                     "--results-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads(out)
    assert report["n_train"] == 282 and report["backend"] == keras.backend.backend()
    assert report["decode_seconds"] > 0 and report["cached_load_seconds_best"] > 0
    assert report["pipeline_images_per_second"] > 0
    assert report["pipeline_images"] == 282  # one whole epoch went through the adapter
    assert report["fastest_training"] is None  # no bench.csv in this results folder

    code = cli.main(["bench-data", "--data-dir", str(nist_dir), "--repeats", "1", "--json",
                     "--augment", "--results-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads(out)
    assert report["augmentation"]["numpy"] > 0
    assert set(report["augmentation"]) <= {"numpy", "tf.data"}
    assert report["augmentation_used"] in report["augmentation"]


HLO = """HloModule jit_train_step, is_scheduled=true

%wrapped_iota_computation () -> s32[4,8,8,2] {
  ROOT %iota.1 = s32[4,8,8,2]{3,2,1,0} iota(), iota_dimension=0
}

%fused_computation.40 (param_0: f32[4,8,8,1], param_1: f32[5,5,1,2]) -> f32[4,8,8,2] {
  %param_0 = f32[4,8,8,1]{3,2,1,0} parameter(0)
  %param_1 = f32[5,5,1,2]{3,2,1,0} parameter(1)
  ROOT %conv.2 = f32[4,8,8,2]{3,2,1,0} convolution(%param_0, %param_1), window={size=5x5}
}

%add_computation (a: f32[], b: f32[]) -> f32[] {
  %a = f32[] parameter(0)
  %b = f32[] parameter(1)
  ROOT %sum = f32[] add(%a, %b)
}

%fused_computation.41 (param_0.1: f32[4,8,8,2], param_1.1: f32[]) -> f32[2] {
  %param_0.1 = f32[4,8,8,2]{3,2,1,0} parameter(0)
  %param_1.1 = f32[] parameter(1)
  ROOT %reduce.3 = f32[2]{0} reduce(%param_0.1, %param_1.1), dimensions={0,1,2}, to_apply=%add_computation
}

%fused_computation.42 (param_0.2: f32[4,8,8,2], param_1.2: s32[4,8,8,2]) -> (f32[4,4,4,2], s32[4,4,4,2]) {
  %param_0.2 = f32[4,8,8,2]{3,2,1,0} parameter(0)
  %param_1.2 = s32[4,8,8,2]{3,2,1,0} parameter(1)
  ROOT %reduce-window.1 = (f32[4,4,4,2]{3,2,1,0}, s32[4,4,4,2]{3,2,1,0}) reduce-window(%param_0.2, %param_1.2), window={size=1x2x2x1}, to_apply=%add_computation
}

%fused_computation.43 (param_0.3: f32[4,8,8,2]) -> bf16[4,8,8,2] {
  %param_0.3 = f32[4,8,8,2]{3,2,1,0} parameter(0)
  ROOT %convert.1 = bf16[4,8,8,2]{3,2,1,0} convert(%param_0.3)
}

ENTRY %main.9 (x: f32[4,8,8,1], w: f32[5,5,1,2], z: f32[]) -> f32[2] {
  %x = f32[4,8,8,1]{3,2,1,0} parameter(0)
  %w = f32[5,5,1,2]{3,2,1,0} parameter(1)
  %z = f32[] parameter(2)
  %ynn_fusion.40 = f32[4,8,8,2]{3,2,1,0} fusion(%x, %w), kind=kCustom, calls=%fused_computation.40
  %wrapped_iota = s32[4,8,8,2]{3,2,1,0} fusion(), kind=kLoop, calls=%wrapped_iota_computation
  %wrapped_reduce-window = (f32[4,4,4,2]{3,2,1,0}, s32[4,4,4,2]{3,2,1,0}) fusion(%ynn_fusion.40, %wrapped_iota), kind=kLoop, calls=%fused_computation.42
  %convert_fusion = bf16[4,8,8,2]{3,2,1,0} fusion(%ynn_fusion.40), kind=kLoop, calls=%fused_computation.43
  ROOT %reduce_fusion = f32[2]{0} fusion(%ynn_fusion.40, %z), kind=kInput, calls=%fused_computation.41
}
"""


def test_jax_thunks_are_kinded_by_what_their_fusions_compute():
    from benchmark import profiling, traces

    kinds = traces.hlo_kinds(HLO)
    assert kinds["ynn_fusion.40"] == "convolution"
    assert kinds["reduce_fusion"] == "reduce"  # its scalar add (to_apply) does not count
    assert kinds["wrapped_reduce-window"] == "reduce-window"
    assert kinds["wrapped_iota"] == "reduce-window"  # indices used only by the pooling
    assert kinds["convert_fusion"] == "convert"
    assert [profiling.group_of(kinds[k]) for k in ("ynn_fusion.40", "reduce_fusion",
                                                 "wrapped_iota", "convert_fusion")] == [
        "convolution", "reductions", "pooling", "elementwise and casts"]
    # The same groups from torch's and TensorFlow's names.
    assert profiling.group_of("_MklNativeConv2DBackpropFilter") == "convolution"
    assert profiling.group_of("aten::addmm") == profiling.group_of("MatMul") == "matrix multiply"
    assert profiling.group_of("Mean") == profiling.group_of("aten::sum") == "reductions"
    assert profiling.group_of("SquaredDifference") == profiling.group_of("aten::copy_") == (
        "elementwise and casts")
    assert profiling.group_of("_MklNativeMaxPoolGrad") == "pooling"
    assert profiling.group_of("ReadVariableOp") == "other"


@pytest.mark.slow
def test_profile_splits_both_sides_by_operator_group(tmp_path):
    """Keras on this pass's backend, under its own profiler, beside the plain PyTorch peer."""
    import os
    import subprocess
    import sys

    pytest.importorskip("torch")
    if BACKEND != "torch":
        pytest.importorskip("xprof")
    done = subprocess.run([sys.executable, "-m", "benchmark.cli", "profile", "--arch", "mlp",
                           "--precision", "float32", "--steps", "2", "--backend", BACKEND,
                           "--results-dir", str(tmp_path)], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "KERAS_BACKEND": BACKEND})
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(tmp_path / "profiles" / "mlp-float32.csv")
    assert set(table["side"]) == {f"keras ({BACKEND})", "plain PyTorch"}
    for side, ops in table.groupby("side"):
        assert (ops["group"] == "matrix multiply").any(), side  # the MLP's Dense/Linear layers
        assert (ops["ms_per_step"] >= 0).all() and ops["ms_per_step"].sum() > 0
        assert (ops["wall_ms_per_step"] > 0).all()
    assert "wall time per step" in done.stdout and "matrix multiply" in done.stdout
    assert table["code_version"].notna().all() and (table["steps"] == 2).all()
    assert table["framework_version"].notna().all()
