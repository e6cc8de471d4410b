"""The study's CNN: Conv -> BN -> activation -> MaxPool per layer, then a Dense head."""

from __future__ import annotations

from collections.abc import Sequence

import keras

from benchmark.models import layers
from benchmark.models.block_max_pooling import BlockMaxPooling2D


def cnn(
    *,
    filters: Sequence[int] = (32, 64),
    kernels: int | Sequence[int] = (3, 3),
    activation: str = "relu",
    batch_norm: bool = True,
    dropout: float = 0.5,
    l1: float = 0.0,
    l2: float = 0.0,
    leaky_slope: float = 0.1,
    dense_units: int = 128,
    init: str = "torch",
    num_classes: int = 47,
    input_shape: Sequence[int] = (28, 28),
) -> keras.Model:
    """Build the CNN; the defaults are the study's baseline ([32, 64] channels, 3x3, ReLU, BN).

    Args:
        filters: output channels of each conv layer; its length is the number of conv layers.
        kernels: one kernel size for every conv layer, or a list with one size per layer.
        activation: "relu", "elu" or "leaky_relu".
        batch_norm: BatchNormalization after every conv and the hidden Dense.
        dropout: rate before the output layer (0 = none).
        l1: L1 factor on every kernel.
        l2: L2 factor on every kernel.
        leaky_slope: negative slope when activation is "leaky_relu".
        dense_units: neurons in the hidden Dense layer.
        init: how Dense and Conv2D weights start: "torch" (the study's: PyTorch's
            U(+-1/sqrt(fan_in)) on kernels and biases) or "keras" (glorot_uniform kernels,
            zero biases).
        num_classes: output classes.
        input_shape: shape of one uint8 image.

    Returns:
        An uncompiled keras.Model named "cnn" that outputs float32 class probabilities.
    """
    filters = layers.positive_ints("filters", filters)
    if isinstance(kernels, (list, tuple)):
        kernels = layers.positive_ints("kernels", kernels)
        if len(kernels) != len(filters):
            raise ValueError(
                f"kernels {list(kernels)} has {len(kernels)} sizes but filters has "
                f"{len(filters)} layers"
            )
    else:
        layers.check_positive_int("kernels", kernels)
        kernels = (int(kernels),) * len(filters)
    layers.check_rate("dropout", dropout)
    layers.check_positive_int("dense_units", dense_units)
    layers.check_common(
        activation_name=activation,
        l1=l1,
        l2=l2,
        leaky_slope=leaky_slope,
        num_classes=num_classes,
        input_shape=input_shape,
        init=init,
        image=True,
    )
    regularizer = layers.kernel_regularizer(l1, l2)

    inputs, x = layers.rescale(input_shape, image=True)
    for i, (n, k) in enumerate(zip(filters, kernels, strict=True), start=1):
        x = layers.conv_bn(
            x, n, k, batch_norm=batch_norm, regularizer=regularizer, init=init,
            name=f"conv_{i}",
        )
        x = layers.activation(activation, leaky_slope=leaky_slope, layer_name=f"conv_{i}_act")(x)
        x = BlockMaxPooling2D(2, name=f"pool_{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = layers.dense_bn_act(
        x,
        dense_units,
        batch_norm=batch_norm,
        activation_name=activation,
        leaky_slope=leaky_slope,
        regularizer=regularizer,
        init=init,
        name="dense",
    )
    x = layers.dropout(x, dropout, name="dropout")
    outputs = layers.classifier(x, num_classes, regularizer=regularizer, init=init)
    return keras.Model(inputs, outputs, name="cnn")
