"""KerasTuner HyperModels that call the plain builders and the training core.

`build(hp)` resolves the space's settings on top of the run's baseline configuration and
returns `benchmark.cv.new_model` (fresh Keras state, seeded, built, compiled); `fit` is
`benchmark.training.fit` with the chosen optimizer, schedule, augmentation and batch size.
Nothing here trains on its own.
"""

from __future__ import annotations

import keras
import keras_tuner

from benchmark import cv, presets, training
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
        config = presets.apply(self.base, self.space(hp), label="tuned")
        epochs = hp.values.get("tuner/epochs")
        if epochs:
            config = presets.apply(config, {"epochs": int(epochs)}, label="tuned")
        return config

    def build(self, hp: keras_tuner.HyperParameters, seed: int | None = None) -> keras.Model:
        config = self.config(hp)
        return cv.new_model(config, config.seed if seed is None else seed)

    def fit(self, hp, model, x, y, validation_data=None, **kwargs) -> training.FitResult:
        return training.fit(model, self.config(hp).training, x, y, validation_data, **kwargs)
