"""Training precision: float32, or Keras's mixed_bfloat16 where it is measurably faster.

`auto` (the command-line default of cv, tune, ablate and study) picks per backend and
architecture from `emnist-bench bench` figures on a CPU with native bfloat16 (AVX512_BF16 or
AMX): the convolutional models train in mixed_bfloat16 on TensorFlow and PyTorch, where bf16
convolutions are faster than fp32 (ResNet 1.9x on TensorFlow, 1.5x on torch); the MLP stays
float32 everywhere (its layers are too small for bf16 to pay for its casts) and so does JAX,
whose CPU bf16 convolutions were slower than fp32. The resolved value is what a run records,
so a run's configuration never says `auto`. The accuracy check of this default is in the README.
"""

from __future__ import annotations

from pathlib import Path

from benchmark.config import PRECISIONS

CHOICES = ("auto", *PRECISIONS)
# (backend, arch) pairs that train faster in mixed_bfloat16 on a bf16-capable CPU.
FASTER_IN_BF16 = {("tensorflow", "cnn"), ("tensorflow", "resnet"),
                  ("torch", "cnn"), ("torch", "resnet")}


def cpu_has_bf16() -> bool:
    """True when /proc/cpuinfo lists AVX512_BF16 or AMX_BF16 (native bfloat16 arithmetic)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            return bool(flags & {"avx512_bf16", "amx_bf16"})
    return False


def resolve(name: str, arch: str, backend: str) -> str:
    """The precision a run of `arch` on `backend` trains in; `auto` picks the fast one."""
    if name not in CHOICES:
        raise ValueError(f"unknown precision {name!r}; choose from {', '.join(CHOICES)}")
    if name != "auto":
        return name
    fast = (backend, arch) in FASTER_IN_BF16 and cpu_has_bf16()
    return "mixed_bfloat16" if fast else "float32"
