"""`--precision auto` by device, the device probe, and what changes on a GPU (the fused layers
step aside, the peer and the timing wait for the device), with the device reported as each kind:
CI has no GPU, so the kinds are stood in for."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from benchmark import bench_worker, cv, devices, overrides, precision
from benchmark.devices import Device
from benchmark.models import block_max_pooling, fused_batch_norm

BACKEND = keras.backend.backend()
H200 = Device("gpu", "NVIDIA H200", "9.0")
A100 = Device("gpu", "NVIDIA A100-SXM4-80GB", "8.0")
V100 = Device("gpu", "Tesla V100-SXM2-16GB", "7.0")
T4 = Device("gpu", "Tesla T4", "7.5")
P100 = Device("gpu", "Tesla P100-PCIE-16GB", "6.0")


@pytest.fixture
def on_gpu(monkeypatch):
    """This process's backend reported as running on an H200."""
    monkeypatch.setattr(devices, "current", lambda backend: H200)


@pytest.mark.parametrize("device, expected", [
    (H200, "mixed_bfloat16"), (A100, "mixed_bfloat16"),  # bf16 tensor cores
    (V100, "mixed_float16"), (T4, "mixed_float16"),  # float16 tensor cores only
    (P100, "float32"), (Device("gpu", "unknown", None), "float32"),
])
def test_auto_on_a_gpu_is_what_its_tensor_cores_do_fast(device, expected):
    for backend in ("tensorflow", "jax", "torch"):
        for arch in ("mlp", "cnn", "resnet"):
            assert precision.resolve("auto", arch, backend, device) == expected
    assert precision.fastest(device) == expected


@pytest.mark.parametrize("has_bf16", [True, False])
def test_auto_on_a_cpu_is_bf16_only_where_measured_faster(monkeypatch, has_bf16):
    monkeypatch.setattr(devices, "cpu_has_bf16", lambda: has_bf16)
    cpu = Device("cpu", "some CPU")
    for backend in ("tensorflow", "jax", "torch"):
        for arch in ("mlp", "cnn", "resnet"):
            fast = has_bf16 and backend != "jax" and arch != "mlp"
            assert precision.resolve("auto", arch, backend, cpu) == (
                "mixed_bfloat16" if fast else "float32")
            for name in ("float32", "mixed_bfloat16", "mixed_float16"):
                assert precision.resolve(name, arch, backend, cpu) == name
    assert precision.fastest(cpu) == ("mixed_bfloat16" if has_bf16 else "float32")
    with pytest.raises(ValueError, match="unknown precision 'half'"):
        precision.resolve("half", "cnn", "torch", cpu)


def test_the_device_probe_reports_this_cpu_and_records_what_it_can_do():
    device = devices.current(BACKEND)  # CI has no GPU
    assert device.kind == "cpu" and device.name and device.compute_capability is None
    assert device.to_dict() == {"kind": "cpu", "name": device.name, "compute_capability": None,
                                "bf16": devices.cpu_has_bf16(), "fp16": False}
    assert devices._capability("9.0") == (9, 0) and devices._capability(None) == (0, 0)


ZEN5 = "model name\t: AMD EPYC\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16\n"
EPYC_AVX2 = "model name\t: AMD EPYC\nflags\t\t: fpu sse2 avx2 fma\n"


@pytest.mark.parametrize("cpuinfo, name, bf16", [
    (ZEN5, "AMD EPYC (AVX-512 BF16)", True),
    (EPYC_AVX2, "AMD EPYC (AVX2)", False),
    ("model name\t: Neoverse\nFeatures\t: fp asimd\n", "Neoverse", False),
])
def test_the_recorded_cpu_name_tells_apart_machines_that_share_a_model_name(
        monkeypatch, cpuinfo, name, bf16):
    """Both machine kinds here call themselves "AMD EPYC"; their vector extensions differ,
    and with them every CPU figure and whether bfloat16 is native."""
    monkeypatch.setattr(devices, "cpuinfo", lambda: cpuinfo)
    assert devices.cpu_model() == name
    assert devices.cpu_has_bf16() is bf16


def test_mixed_float16_scales_the_loss():
    config = overrides.resolve("mlp", "best", {"units": "8"}, precision="mixed_float16")
    model = cv.new_model(config, 0)
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    x = np.zeros((8, 28, 28), "uint8")
    model.fit(x, np.arange(8), epochs=1, verbose=0)
    keras.mixed_precision.set_global_policy("float32")


def test_on_a_gpu_the_custom_layers_step_aside(on_gpu):
    assert "GPU" in fused_batch_norm.kernel(BACKEND)
    layer = fused_batch_norm.FusedBatchNormalization()
    images = keras.ops.zeros((2, 4, 4, 3))
    layer.build(images.shape)
    assert not layer._fusable(images, True, None)
    pooling = block_max_pooling.BlockMaxPooling2D(2)
    assert not pooling._tiles(images)


def test_on_a_cpu_the_custom_layers_are_used_where_measured_faster():
    images = keras.ops.zeros((2, 4, 4, 3))
    layer = fused_batch_norm.FusedBatchNormalization()
    layer.build(images.shape)
    assert layer._fusable(images, True, None) == (BACKEND in fused_batch_norm.FUSED_RANKS)
    assert block_max_pooling.BlockMaxPooling2D(2)._tiles(images) == (BACKEND == "jax")


def test_timing_waits_for_a_gpu_and_reads_its_peak_memory(monkeypatch):
    torch = pytest.importorskip("torch")
    from benchmark import torch_peer

    synced = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a: synced.append(a))
    torch_peer.synchronize(torch.device("cpu"))
    assert synced == []  # a CPU step is done when it returns
    torch_peer.synchronize(torch.device("cuda"))
    assert len(synced) == 1
    assert bench_worker.device_peak_mb("torch") is None  # no GPU here: no device figure
    monkeypatch.setattr(devices, "current", lambda backend: H200)
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda *a: 3 * 2**20)
    assert bench_worker.device_peak_mb("torch") == 3.0
    bench_worker.wait_for_device("torch", None)
    assert len(synced) == 2
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert torch_peer.device().type == "cuda"  # the peer trains where Keras does


def test_the_peer_steps_in_each_precision_on_its_device():
    pytest.importorskip("torch")
    import torch

    from benchmark import torch_peer

    model = torch_peer.build("mlp").to(torch_peer.device())
    for name in ("float32", "mixed_bfloat16", "mixed_float16"):
        step = torch_peer.make_step("mlp", model, name)
        before = [p.detach().clone() for p in model.parameters()]
        step(torch.randint(0, 255, (16, 28, 28), dtype=torch.uint8),
             torch.randint(0, 47, (16,)))
        assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(),
                                                        strict=True)), name
