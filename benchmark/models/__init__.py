"""Keras 3 model builders for EMNIST, looked up by architecture name.

The builders are plain functions (mlp.py, cnn.py, resnet.py); which name builds what is the
architecture registry's (benchmark/architectures.py).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import keras

from benchmark import architectures

# Importing the package registers the suite's custom layers with keras.saving: a model that
# holds them round-trips through Keras's serialisation (clone_model, model.save) here. The
# run's model.keras holds Keras's own layers instead (export.py) and needs no registration.
from benchmark.models import block_max_pooling, fused_batch_norm  # noqa: F401


def get(name: str) -> Callable[..., keras.Model]:
    """The builder of the architecture `name` (ValueError for an unknown one)."""
    return architectures.load(architectures.get(name).builder)


def build(name: str, **kwargs) -> keras.Model:
    """Build the architecture `name` with the builder's keyword arguments (uncompiled)."""
    return get(name)(**kwargs)


def names() -> list[str]:
    """Registered architecture names, in the registry's order."""
    return architectures.names()


def defaults(name: str) -> dict:
    """The builder's keyword defaults: the study's baseline for that architecture."""
    params = inspect.signature(get(name)).parameters.values()
    return {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}


__all__ = ["build", "defaults", "get", "names"]
