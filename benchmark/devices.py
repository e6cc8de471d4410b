"""The device a backend trains on: a CPU, or a GPU with what its tensor cores do fast.

This module imports nothing of the suite: the CPU probes (/proc/cpuinfo's flags and model name)
live here, and provenance, precision, backends and the custom layers read them.

`current(backend)` asks the backend itself (PyTorch's CUDA, JAX's devices, TensorFlow's GPU
list; the backend must be importable), once per process. What it returns goes into every run's
config.json ("device") and bench.csv ("accelerator"), and `--precision auto`
(benchmark/precision.py) and the custom layers (benchmark/models/) choose by it.
"""

from __future__ import annotations

import functools
import platform
from dataclasses import asdict, dataclass
from pathlib import Path

# The widest vector extension of a CPU, first match wins: what decides a CPU kernel's speed
# here more than the model name does (an AVX-512 Zen 5 and an AVX2-only EPYC both call
# themselves "AMD EPYC"), and whether bfloat16 is native or emulated.
VECTOR_ISAS = (("amx_bf16", "AMX"), ("avx512_bf16", "AVX-512 BF16"), ("avx512f", "AVX-512"),
               ("avx2", "AVX2"))


@functools.cache
def cpuinfo() -> str:
    """/proc/cpuinfo's text ("" where there is none), read once per process."""
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def cpuinfo_field(name: str) -> str | None:
    """The first value of `name` ("model name", "flags") in /proc/cpuinfo."""
    for line in cpuinfo().splitlines():
        if line.split(":", 1)[0].strip() == name:
            return line.split(":", 1)[1].strip()
    return None


def cpu_flags() -> set[str]:
    """The CPU's feature flags (empty where /proc/cpuinfo has none)."""
    return set((cpuinfo_field("flags") or "").split())


def cpu_model() -> str:
    """The CPU's model name, as the kernel reports it, and its widest vector extension:
    "AMD EPYC (AVX2)"."""
    name = cpuinfo_field("model name") or platform.processor() or platform.machine()
    flags = cpu_flags()
    isa = next((label for flag, label in VECTOR_ISAS if flag in flags), None)
    return f"{name} ({isa})" if isa else name



def cpu_has_bf16() -> bool:
    """True when /proc/cpuinfo lists AVX512_BF16 or AMX_BF16 (native bfloat16 arithmetic)."""
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
