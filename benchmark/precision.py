"""Training precision: float32, or a Keras mixed policy where the device does it measurably faster.

`auto` (the command-line default of cv, tune, ablate and study) chooses by the device the
backend trains on (benchmark/devices.py):

- **A GPU** runs its matrix units in half precision: from Ampere on (compute capability 8.0:
  A100, H100, H200) bfloat16 tensor cores, so `mixed_bfloat16`, for every architecture and
  backend; on Volta and Turing (7.x) only float16 tensor cores, so `mixed_float16`, where Keras
  scales the loss (compile wraps the optimizer in a LossScaleOptimizer) because float16's range
  cannot hold small gradients; older GPUs `float32`.
- **A CPU** with native bfloat16 (AVX512_BF16 or AMX): `mixed_bfloat16` only for the
  (backend, architecture) pairs that `emnist-bench bench` measured faster, kept as each
  architecture's `faster_in_bf16` (benchmark/architectures.py): the convolutional models on
  TensorFlow and PyTorch (ResNet 1.9x on TensorFlow, 1.5x on torch); the MLP stays float32
  everywhere (its layers are too small for bf16 to pay for its casts) and so does JAX, whose
  CPU bf16 convolutions were slower than fp32. Without native bf16, where bf16 is emulated and
  slow, `float32`.

The resolved value is what a run records (with the device, in config.json), so a run's
configuration never says `auto`. The accuracy check of the CPU default is in the README.
"""

from __future__ import annotations

from benchmark import architectures
from benchmark.config import PRECISIONS
from benchmark.devices import Device

CHOICES = ("auto", *PRECISIONS)


def resolve(name: str, arch: str, backend: str, device: Device | None = None) -> str:
    """The precision a run of `arch` on `backend` trains in; `auto` picks the fast one for
    `device` (default: the one `backend` trains on)."""
    if name not in CHOICES:
        raise ValueError(f"unknown precision {name!r}; choose from {', '.join(CHOICES)}")
    if name != "auto":
        return name
    if device is None:
        from benchmark import devices

        device = devices.current(backend)
    if device.kind == "gpu":
        return fastest(device)
    fast = backend in architectures.get(arch).faster_in_bf16 and device.bf16
    return "mixed_bfloat16" if fast else "float32"


def fastest(device: Device) -> str:
    """The fastest arithmetic the device has, whatever the model: bfloat16 where it is native
    (bf16 tensor cores, AVX512_BF16 / AMX), else float16 tensor cores, else float32. What
    `bench --precision auto` measures."""
    if device.bf16:
        return "mixed_bfloat16"
    return "mixed_float16" if device.fp16 else "float32"
