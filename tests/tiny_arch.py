"""A fourth architecture as a user would add one, in a module of its own (README, "Adding an
architecture"): a builder, its presets, a search space, registered in the suite's registry.
Importing it registers it; tests/test_new_architecture.py loads it through EMNIST_BENCH_PLUGINS."""

from __future__ import annotations

from benchmark import architectures


def tiny(*, units: int = 8, num_classes: int = 47, input_shape=(28, 28)):
    """Rescale, flatten, one hidden Dense layer, softmax: keyword arguments only, defaults =
    the baseline, as every builder."""
    import keras

    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(units, activation="relu")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="tiny")


def tiny_space(hp) -> dict:
    """Two factors; the defaults are the baseline."""
    return {"units": hp.Choice("units", [8, 16], default=8),
            "optimizer": hp.Choice("optimizer", ["adam", "sgd"], default="adam")}


TINY = architectures.register(architectures.Architecture(
    name="tiny", label="Tiny",
    builder=f"{__name__}:tiny", space=f"{__name__}:tiny_space",
    presets={
        "baseline": {"model": {}, "training": {"optimizer": "adam", "learning_rate": 1e-3,
                                               "epochs": 2}},
        "best": {"model": {"units": 16}, "training": {"optimizer": "adam",
                                                      "learning_rate": 1e-3, "epochs": 2}},
    },
))
