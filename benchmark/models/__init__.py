"""Keras 3 model builders for EMNIST: MLP, CNN and ResNet, looked up by name."""

from benchmark.models import cnn, mlp, resnet  # noqa: F401  (importing registers the builders)
from benchmark.models.registry import build, defaults, get, names

__all__ = ["build", "defaults", "get", "names"]
