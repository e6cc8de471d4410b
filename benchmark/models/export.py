"""A trained model as plain Keras: the suite's faster layers swapped for Keras's own.

FusedBatchNormalization and BlockMaxPooling2D are speed devices: subclasses of Keras's
BatchNormalization and MaxPooling2D that change how a step is computed, not what, with Keras's
config and weights unchanged. A model.keras that holds them loads only where this package
registers them; the same model rebuilt from Keras's own layers, with the same weights, loads and
predicts the same in any Keras 3, on any backend, with no `import benchmark`.
"""

from __future__ import annotations

import keras


def keras_class(layer: keras.Layer) -> type:
    """The nearest class of `layer` that Keras itself defines (its own class for Keras's layers).

    Raises:
        TypeError: when that class is Keras's bare Layer: a layer of ours with its own
            computation has no Keras equivalent to stand in for it.
    """
    own = next(cls for cls in type(layer).__mro__ if cls.__module__.split(".")[0] == "keras")
    if own is keras.layers.Layer and type(layer) is not keras.layers.Layer:
        raise TypeError(f"layer {layer.name!r} ({type(layer).__name__}) has no Keras equivalent")
    return own


def plain_keras(model: keras.Model) -> keras.Model:
    """A copy of `model` made of Keras's own layers only, with its weights and compile settings.

    Every layer is rebuilt from its config as `keras_class(layer)`; the suite's layers keep
    their parent's config, so the copy has the same weights, in the same order.

    Args:
        model: a built model (trained or not).

    Returns:
        A new model whose saved file needs nothing but Keras to load.
    """

    def rebuild(layer: keras.Layer) -> keras.Layer:
        return keras_class(layer).from_config(layer.get_config())

    copy = keras.models.clone_model(model, clone_function=rebuild)
    copy.set_weights(model.get_weights())
    if model.compiled:
        # A fresh optimizer of the same settings: the copy is for inference, so the training
        # state (moments, step count) is not carried, and its file stays Keras's alone.
        copy.compile_from_config(model.get_compile_config())
    return copy
