"""The Keras backends the suite runs on, and choosing one before Keras is imported."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import sys

from benchmark import devices
from benchmark.arguments import UsageError

BACKENDS = ("tensorflow", "jax", "torch")
DEFAULT = "tensorflow"  # Keras's own default, when neither --backend nor KERAS_BACKEND says
# Environment settings the suite starts a backend with unless the user set them. TensorFlow
# turns its oneDNN kernels on by itself only on CPUs with AVX512_VNNI, AVX512_BF16 or AMX; the
# README ("CPU settings the suite sets") has the figures that made this the default.
CPU_DEFAULTS = {"TF_ENABLE_ONEDNN_OPTS": "1"}
# Where the models put an image's channels: Keras's image_data_format (its keras.json), unless
# this variable says "channels_last" or "channels_first". Results record what ran.
LAYOUT_ENV = "EMNIST_BENCH_LAYOUT"
LAYOUTS = ("channels_last", "channels_first")


def installed(module: str) -> bool:
    """Whether `module` can be imported here (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package that is missing, or half-imported
        return False


def current() -> str:
    """The backend this process runs (or will run) Keras on: KERAS_BACKEND, else DEFAULT."""
    return os.environ.get("KERAS_BACKEND") or DEFAULT


def choose_backend(name: str | None) -> str:
    """Set KERAS_BACKEND before Keras is imported; refuse a switch once it has been."""
    backend = name or current()
    if "keras" in sys.modules:
        import keras

        if keras.backend.backend() != backend:
            raise UsageError(f"Keras already runs on {keras.backend.backend()}; "
                             f"start a new process for {backend}")
    os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    apply_cpu_defaults()
    with native_stderr_silenced():
        # TensorFlow's C++ start-up lines ignore TF_CPP_MIN_LOG_LEVEL. Keras's data adapters and
        # tensorflow-datasets import TensorFlow on every backend sooner or later, so do it here.
        if installed("tensorflow"):
            import tensorflow  # noqa: F401
        import keras  # noqa: F401
    # tf.function retracing notices between folds are expected (one new model per fold).
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    apply_layout(backend)
    return backend


def apply_layout(backend: str) -> None:
    """Set Keras's image_data_format from EMNIST_BENCH_LAYOUT, if set; refuse a layout the
    backend cannot train on this machine."""
    import keras

    layout = os.environ.get(LAYOUT_ENV)
    if layout:
        if layout not in LAYOUTS:
            raise UsageError(f"{LAYOUT_ENV}={layout!r} is not one of {', '.join(LAYOUTS)}")
        keras.config.set_image_data_format(layout)
    if (keras.config.image_data_format() == "channels_first" and backend == "tensorflow"
            and not devices.on_gpu(backend)):
        raise UsageError("TensorFlow's CPU convolutions take channels-last images only; "
                         f"set {LAYOUT_ENV}=channels_last (or another backend)")


def apply_cpu_defaults() -> None:
    """Set each CPU_DEFAULTS variable the user has not set, while TensorFlow is not imported
    yet (it reads them once). Results record what ran (provenance.settings)."""
    if "tensorflow" not in sys.modules:
        for name, value in CPU_DEFAULTS.items():
            os.environ.setdefault(name, value)


@contextlib.contextmanager
def native_stderr_silenced():
    """Send file descriptor 2 to /dev/null for the duration (Python exceptions still propagate)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
