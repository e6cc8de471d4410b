"""The study's multilayer perceptron: Dense -> BN -> activation -> Dropout per hidden layer."""

from __future__ import annotations

from collections.abc import Sequence

import keras

from benchmark.models import layers


def mlp(
    *,
    hidden_layers: int = 3,
    units: int = 128,
    activation: str = "relu",
    batch_norm: bool = True,
    dropout: float | Sequence[float] = (0.25, 0.25, 0.0),
    l1: float = 1e-5,
    l2: float = 0.0,
    leaky_slope: float = 0.1,
    init: str = "torch",
    num_classes: int = 47,
    input_shape: Sequence[int] = (28, 28),
) -> keras.Model:
    """Build the MLP; the defaults are the study's baseline (3 x 128, ReLU, BN, L1 1e-5).

    Args:
        hidden_layers: number of hidden Dense layers.
        units: neurons per hidden layer.
        activation: "relu", "elu" or "leaky_relu".
        batch_norm: BatchNormalization after every hidden Dense.
        dropout: one rate for every hidden layer, or a list with one rate per layer (0 = none).
        l1: L1 factor on every kernel.
        l2: L2 factor on every kernel.
        leaky_slope: negative slope when activation is "leaky_relu".
        init: how Dense and Conv2D weights start: "torch" (the study's: PyTorch's
            U(+-1/sqrt(fan_in)) on kernels and biases) or "keras" (glorot_uniform kernels,
            zero biases).
        num_classes: output classes.
        input_shape: shape of one uint8 image.

    Returns:
        An uncompiled keras.Model named "mlp" that outputs float32 class probabilities.
    """
    layers.check_positive_int("hidden_layers", hidden_layers)
    layers.check_positive_int("units", units)
    layers.check_common(
        activation_name=activation,
        l1=l1,
        l2=l2,
        leaky_slope=leaky_slope,
        num_classes=num_classes,
        input_shape=input_shape,
        init=init,
        image=False,
    )
    rates = _dropout_rates(dropout, hidden_layers)
    regularizer = layers.kernel_regularizer(l1, l2)

    inputs, x = layers.rescale(input_shape, image=False)
    x = keras.layers.Flatten(name="flatten")(x)
    for i, rate in enumerate(rates, start=1):
        x = layers.dense_bn_act(
            x,
            units,
            batch_norm=batch_norm,
            activation_name=activation,
            leaky_slope=leaky_slope,
            regularizer=regularizer,
            init=init,
            name=f"dense_{i}",
        )
        x = layers.dropout(x, rate, name=f"dropout_{i}")
    outputs = layers.classifier(x, num_classes, regularizer=regularizer, init=init)
    return keras.Model(inputs, outputs, name="mlp")


def _dropout_rates(dropout: float | Sequence[float], hidden_layers: int) -> tuple[float, ...]:
    """One dropout rate per hidden layer from a single rate or a per-layer list."""
    if isinstance(dropout, (list, tuple)):
        if len(dropout) != hidden_layers:
            raise ValueError(
                f"dropout has {len(dropout)} rates but hidden_layers={hidden_layers}; "
                "give one rate per layer or a single float"
            )
        rates = tuple(dropout)
    else:
        rates = (dropout,) * hidden_layers
    for rate in rates:
        layers.check_rate("dropout", rate)
    return tuple(float(rate) for rate in rates)
