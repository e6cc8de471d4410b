"""A ResNet of basic blocks (ResNet-18 style) adapted to 28x28 characters."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import keras

from benchmark.models import layers


def resnet(
    *,
    blocks: Sequence[int] = (2, 2, 2),
    filters: Sequence[int] = (64, 128, 256),
    kernel_size: int = 5,
    activation: str = "leaky_relu",
    batch_norm: bool = True,
    dropout: float = 0.0,
    l1: float = 0.0,
    l2: float = 0.0,
    leaky_slope: float = 0.1,
    init: str = "torch",
    num_classes: int = 47,
    input_shape: Sequence[int] = (28, 28),
) -> keras.Model:
    """Build the ResNet; the defaults are the study's baseline (and best): [2, 2, 2] x [64, 128, 256].

    Args:
        blocks: basic blocks in each stage.
        filters: channels of each stage; one entry per stage.
        kernel_size: kernel size of the blocks' convs (the stem uses 3).
        activation: "relu", "elu" or "leaky_relu".
        batch_norm: BatchNormalization after every conv.
        dropout: rate before the output layer (0 = none).
        l1: L1 factor on every kernel.
        l2: L2 factor on every kernel.
        leaky_slope: negative slope when activation is "leaky_relu".
        init: how Dense and Conv2D weights start: "torch" (the study's: PyTorch's
            U(+-1/sqrt(fan_in)) on kernels and biases) or "keras" (glorot_uniform kernels,
            zero biases).
        num_classes: output classes.
        input_shape: shape of one uint8 image.

    Returns:
        An uncompiled keras.Model named "resnet" that outputs float32 class probabilities.
    """
    blocks = layers.positive_ints("blocks", blocks)
    filters = layers.positive_ints("filters", filters)
    if len(blocks) != len(filters):
        raise ValueError(
            f"blocks {list(blocks)} has {len(blocks)} stages but filters {list(filters)} has "
            f"{len(filters)}; give one filter count per stage"
        )
    layers.check_positive_int("kernel_size", kernel_size)
    layers.check_rate("dropout", dropout)
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
    conv = functools.partial(layers.conv_bn, batch_norm=batch_norm, regularizer=regularizer,
                             init=init)

    def act(name: str) -> keras.Layer:
        return layers.activation(activation, leaky_slope=leaky_slope, layer_name=name)

    inputs, x = layers.rescale(input_shape, image=True)
    x = act("stem_act")(conv(x, filters[0], 3, name="stem_conv"))
    for s, (count, width) in enumerate(zip(blocks, filters, strict=True), start=1):
        for b in range(1, count + 1):
            # 28x28 is small: downsample only where a later stage begins (28 -> 14 -> 7).
            strides = 2 if s > 1 and b == 1 else 1
            name = f"stage{s}_block{b}"
            shortcut = x
            if strides != 1 or x.shape[layers.channel_axis()] != width:
                shortcut = conv(x, width, 1, strides=strides, name=f"{name}_proj")
            x = conv(x, width, kernel_size, strides=strides, name=f"{name}_conv1")
            x = act(f"{name}_act1")(x)
            x = conv(x, width, kernel_size, name=f"{name}_conv2")
            x = keras.layers.Add(name=f"{name}_add")([x, shortcut])
            x = act(f"{name}_out")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.dropout(x, dropout, name="dropout")
    outputs = layers.classifier(x, num_classes, regularizer=regularizer, init=init)
    return keras.Model(inputs, outputs, name="resnet")
