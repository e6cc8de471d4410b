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

from benchmark import backends, devices

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


def framework_version(backend: str, found: dict[str, str]) -> str | None:
    """The version of the framework under `backend` ("tensorflow", "jax", "torch") in a
    `versions()` record: TensorFlow's CPU build where that is what is installed."""
    if backend == "tensorflow":
        return found.get("tensorflow-cpu") or found.get("tensorflow")
    return found.get(backend)


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

    return {"cpu": devices.cpu_model(), "cores": os.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "platform": platform.platform(), "accelerator": accelerator()}


def accelerator() -> str:
    """'none' on a CPU-only machine, else the GPU the backend trains on."""
    device = devices.current(backends.current())
    return device.name if device.kind == "gpu" else "none"


def stamp(backend: str) -> dict:
    """What every results folder records about how it was made."""
    from benchmark import augmentation, tf_input
    from benchmark.models import fused_batch_norm

    return {"backend": backend, "device": devices.current(backend).to_dict(),
            "batch_norm": fused_batch_norm.kernel(backend),
            "augmentation": augmentation.pipeline(backend),
            "input_pipeline": tf_input.used(backend),
            "settings": settings(), "versions": versions(), "code_version": code_version(),
            "machine": machine(), "command": "emnist-bench " + " ".join(sys.argv[1:]),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
