"""What produced a result: code version, library versions, backend and machine."""

from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

# The environment variables that change how a backend computes on a CPU (kernels, fusions,
# threads): recorded where set, so two figures made with different settings are told apart.
SETTINGS = ("XLA_FLAGS", "TF_ENABLE_ONEDNN_OPTS", "TF_NUM_INTRAOP_THREADS",
            "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "ONEDNN_MAX_CPU_ISA")
PACKAGES = ("emnist-bench", "keras", "keras-tuner", "tensorflow-cpu", "tensorflow",
            "tensorflow-datasets", "jax", "jaxlib", "torch", "numpy", "pandas", "scikit-learn")


def versions() -> dict[str, str]:
    """Installed versions of the packages that can change a result."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


@functools.cache
def code_version() -> str:
    """`git describe` of the checkout the code runs from, '-dirty' when its code has changes."""
    try:
        return describe(Path(__file__).resolve().parent)
    except (OSError, subprocess.SubprocessError):
        return f"emnist-bench {versions().get('emnist-bench', 'unknown')} (no git)"


def describe(directory: Path) -> str:
    """`git describe` of the checkout holding `directory`, '-dirty' when a tracked file outside
    `results/` has changed: results are what the code writes, not code, so a run made while
    other runs wait to be committed still names a clean version.

    Raises:
        OSError, subprocess.SubprocessError: no git, or not a checkout.
    """
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=directory, capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()

    version = git("describe", "--always", "--tags")
    # no optional locks: a run's status check never contends with a commit in progress
    changed = git("--no-optional-locks", "status", "--porcelain", "--untracked-files=no", "--",
                  ":(top)", ":(top,exclude)results")
    return f"{version}-dirty" if changed else version


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


def settings() -> dict[str, str]:
    """The SETTINGS this process runs with (only those set), and, once Keras is imported, the
    image layout its models compute in (backends.LAYOUT_ENV)."""
    found = {name: os.environ[name] for name in SETTINGS if os.environ.get(name)}
    if "keras" in sys.modules:
        import keras

        found["image_data_format"] = keras.config.image_data_format()
    return found


def settings_text() -> str:
    """`settings()` as one bench.csv cell: "NAME=value; NAME=value", "" for none."""
    return "; ".join(f"{name}={value}" for name, value in settings().items())


def machine() -> dict:
    """A short description of the machine: CPU, cores, memory, OS."""
    import psutil

    return {"cpu": cpu_model(), "cores": os.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "platform": platform.platform(), "accelerator": accelerator()}


def accelerator() -> str:
    """'none' on a CPU-only machine, else the GPU the backend trains on."""
    from benchmark import devices

    device = devices.current(os.environ.get("KERAS_BACKEND", "tensorflow"))
    return device.name if device.kind == "gpu" else "none"


def stamp(backend: str) -> dict:
    """What every results folder records about how it was made."""
    from benchmark import augmentation, devices
    from benchmark.models import fused_batch_norm

    return {"backend": backend, "device": devices.current(backend).to_dict(),
            "batch_norm": fused_batch_norm.kernel(backend),
            "augmentation": augmentation.pipeline(backend),
            "settings": settings(), "versions": versions(), "code_version": code_version(),
            "machine": machine(), "command": "emnist-bench " + " ".join(sys.argv[1:]),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
