"""The device a backend trains on: a CPU, or a GPU with what its tensor cores do fast.

`current(backend)` asks the backend itself (PyTorch's CUDA, JAX's devices, TensorFlow's GPU
list; the backend must be importable), once per process. What it returns goes into every run's
config.json ("device") and bench.csv ("accelerator"), and `--precision auto`
(benchmark/precision.py) and the custom layers (benchmark/models/) choose by it.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass


def cpu_has_bf16() -> bool:
    """True when /proc/cpuinfo lists AVX512_BF16 or AMX_BF16 (native bfloat16 arithmetic)."""
    from benchmark.provenance import cpu_flags

    return bool(cpu_flags() & {"avx512_bf16", "amx_bf16"})


@dataclass(frozen=True)
class Device:
    kind: str  # "cpu" or "gpu"
    name: str  # the CPU's model name, or the GPU's (e.g. "NVIDIA H200")
    compute_capability: str | None = None  # CUDA's major.minor, GPUs only (e.g. "9.0")

    @property
    def bf16(self) -> bool:
        """Fast bfloat16: native AVX512_BF16 / AMX on a CPU, tensor cores from Ampere (8.0) on."""
        if self.kind == "cpu":
            return cpu_has_bf16()
        return _capability(self.compute_capability) >= (8, 0)

    @property
    def fp16(self) -> bool:
        """Fast float16: tensor cores from Volta (7.0) on; never on these CPUs."""
        return self.kind == "gpu" and _capability(self.compute_capability) >= (7, 0)

    def to_dict(self) -> dict:
        return {**asdict(self), "bf16": self.bf16, "fp16": self.fp16}


def _capability(text: str | None) -> tuple[int, int]:
    try:
        major, minor = (text or "0.0").split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        return (0, 0)


@functools.cache
def current(backend: str) -> Device:
    """The first device `backend` computes on (its default), as that backend reports it."""
    from benchmark.provenance import cpu_model

    try:
        if backend == "torch":
            import torch

            if torch.cuda.is_available():
                major, minor = torch.cuda.get_device_capability(0)
                return Device("gpu", torch.cuda.get_device_name(0), f"{major}.{minor}")
        elif backend == "jax":
            import jax

            device = jax.devices()[0]
            if device.platform == "gpu":
                return Device("gpu", device.device_kind,
                              getattr(device, "compute_capability", None))
        elif backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                details = tf.config.experimental.get_device_details(gpus[0])
                capability = details.get("compute_capability")
                return Device("gpu", details.get("device_name", gpus[0].name),
                              ".".join(map(str, capability)) if capability else None)
    except Exception:  # a probe must never stop a run: count it as the CPU
        pass
    return Device("cpu", cpu_model())


def on_gpu(backend: str) -> bool:
    return current(backend).kind == "gpu"
