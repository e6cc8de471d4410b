"""KerasTuner HyperModels that call the plain builders and the training core.

`config(hp)` resolves the space's settings on top of the run's baseline configuration: the
RunConfig a trial cross-validates (tuners/search.py hands it to `benchmark.cv.cross_validate`).
`build(hp)` is `benchmark.cv.new_model` of that configuration (fresh Keras state, seeded, built,
compiled), what KerasTuner calls to register the space. Nothing here trains.
"""

from __future__ import annotations

import keras
import keras_tuner

from benchmark import cv, overrides
from benchmark.config import RunConfig
from tuners import spaces


class EmnistHyperModel(keras_tuner.HyperModel):
    """One architecture's search space over a base configuration (data, folds, epochs, seed).

    Args:
        base: the resolved baseline RunConfig of the architecture; the space's values replace
            its settings.
    """

    def __init__(self, base: RunConfig, **kwargs):
        super().__init__(name=f"emnist-{base.arch}", **kwargs)
        self.base = base
        self.space = spaces.get(base.arch)

    def config(self, hp: keras_tuner.HyperParameters) -> RunConfig:
        """The full RunConfig of a trial (Hyperband's "tuner/epochs" sets the epochs)."""
        config = overrides.apply(self.base, self.space(hp), label="tuned")
        epochs = hp.values.get("tuner/epochs")
        if epochs:
            config = overrides.apply(config, {"epochs": int(epochs)}, label="tuned")
        return config

    def build(self, hp: keras_tuner.HyperParameters, seed: int | None = None) -> keras.Model:
        config = self.config(hp)
        return cv.new_model(config, config.seed if seed is None else seed)
