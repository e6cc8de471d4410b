"""Shared building blocks and argument checks for the model builders."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import keras

from benchmark.config import ACTIVATIONS
from benchmark.models.fused_batch_norm import FusedBatchNormalization

# How Dense and Conv2D weights start: Keras's defaults (glorot_uniform kernels, zero biases), or
# PyTorch's (nn.Linear / nn.Conv2d: kernel and bias both U(-1/sqrt(fan_in), 1/sqrt(fan_in))),
# the initialisation of the study's PyTorch code and of the data README's reference figures.
INITS = ("keras", "torch")

# The study trained with PyTorch, whose BatchNorm keeps 90% of the running statistics per step
# (momentum=0.1 there). Keras's default of 0.99 leaves the statistics far from the data after
# short runs (a few hundred steps), so inference-mode accuracy collapses; use PyTorch's values.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5


def channel_axis() -> int:
    """The channel axis of an image tensor in Keras's image_data_format (1 or -1)."""
    return 1 if keras.config.image_data_format() == "channels_first" else -1


def batch_norm_layer(name: str, *, axis: int = -1) -> keras.Layer:
    """BatchNormalization with the study's (PyTorch's) momentum and epsilon, trained in the
    backend's fused kernel where it has one (benchmark.models.fused_batch_norm).

    Args:
        name: the layer's name.
        axis: the feature axis: -1 after Dense layers, `channel_axis()` after convolutions.
    """
    return FusedBatchNormalization(axis=axis, momentum=BN_MOMENTUM, epsilon=BN_EPSILON,
                                   name=name)


def activation(name: str, *, leaky_slope: float, layer_name: str | None = None) -> keras.Layer:
    """An activation layer by name; leaky_relu takes its slope from `leaky_slope`.

    Args:
        name: one of "relu", "elu", "leaky_relu".
        leaky_slope: LeakyReLU's negative slope (ignored by the others).
        layer_name: the layer's name in the model.

    Returns:
        A Keras layer.
    """
    check_activation(name)
    if name == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=leaky_slope, name=layer_name)
    return keras.layers.Activation(name, name=layer_name)


def initializers(init: str, fan_in: int) -> dict:
    """The kernel and bias initialisers of a Dense or Conv2D layer, as its keyword arguments.

    Args:
        init: "keras" (Keras's defaults) or "torch" (PyTorch's, see INITS).
        fan_in: inputs per output unit: the input features of a Dense layer, kernel height x
            width x input channels of a convolution.
    """
    if init == "keras":
        return {}
    # PyTorch: kaiming_uniform_(a=sqrt(5)) on the kernel, whose bound sqrt(6 / ((1 + 5) fan_in))
    # is VarianceScaling's uniform sqrt(3 scale / fan_in) at scale 1/3; the same bound on biases.
    bound = 1.0 / float(fan_in) ** 0.5
    return {"kernel_initializer": keras.initializers.VarianceScaling(
                scale=1.0 / 3.0, mode="fan_in", distribution="uniform"),
            "bias_initializer": keras.initializers.RandomUniform(-bound, bound)}


def kernel_regularizer(l1: float, l2: float) -> keras.regularizers.Regularizer | None:
    """An L1L2 kernel regularizer, or None when both factors are zero.

    Args:
        l1: L1 factor.
        l2: L2 factor.

    Returns:
        The regularizer, or None.
    """
    if l1 == 0 and l2 == 0:
        return None
    return keras.regularizers.L1L2(l1=l1, l2=l2)


def rescale(
    input_shape: Sequence[int], *, image: bool
) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """The float32 input and its 0..1 rescaling; `image=True` adds the channel axis convs need,
    where Keras's image_data_format puts it (last, or first after the batch).

    Args:
        input_shape: (height, width) or (height, width, channels); the data is always
            channels-last, whatever layout the model computes in.
        image: reshape a (height, width) input to (height, width, 1), or (1, height, width)
            when channels come first.

    Returns:
        (inputs, x): the model input and the rescaled tensor.
    """
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    # Data stays uint8 in memory; scaling here means every backend and pipeline sees the same range.
    x = keras.layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    first = channel_axis() == 1
    if image and len(input_shape) == 2:
        shape = (1, *input_shape) if first else (*input_shape, 1)
        x = keras.layers.Reshape(shape, name="to_image")(x)
    elif image and first:
        x = keras.layers.Permute((3, 1, 2), name="to_channels_first")(x)
    return inputs, x


def conv_bn(
    x: keras.KerasTensor,
    filters: int,
    kernel_size: int,
    *,
    strides: int = 1,
    batch_norm: bool,
    regularizer: keras.regularizers.Regularizer | None,
    init: str = "keras",
    name: str,
) -> keras.KerasTensor:
    """Conv2D ("same" padding) then optional BatchNormalization; no bias when BN follows."""
    x = keras.layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding="same",
        use_bias=not batch_norm,  # BN's beta makes a conv bias redundant
        kernel_regularizer=regularizer,
        name=name,
        **initializers(init, kernel_size * kernel_size * x.shape[channel_axis()]),
    )(x)
    if batch_norm:
        x = batch_norm_layer(f"{name}_bn", axis=channel_axis())(x)
    return x


def dense_bn_act(
    x: keras.KerasTensor,
    units: int,
    *,
    batch_norm: bool,
    activation_name: str,
    leaky_slope: float,
    regularizer: keras.regularizers.Regularizer | None,
    init: str = "keras",
    name: str,
) -> keras.KerasTensor:
    """Dense then optional BatchNormalization then the activation; no bias when BN follows."""
    x = keras.layers.Dense(
        units, use_bias=not batch_norm, kernel_regularizer=regularizer, name=name,
        **initializers(init, x.shape[-1]),
    )(x)
    if batch_norm:
        x = batch_norm_layer(f"{name}_bn")(x)
    return activation(activation_name, leaky_slope=leaky_slope, layer_name=f"{name}_act")(x)


def dropout(x: keras.KerasTensor, rate: float, *, name: str) -> keras.KerasTensor:
    """Dropout at `rate`, or `x` unchanged when the rate is 0 (no dead layer in the summary)."""
    return keras.layers.Dropout(rate, name=name)(x) if rate > 0 else x


def classifier(
    x: keras.KerasTensor,
    num_classes: int,
    *,
    regularizer: keras.regularizers.Regularizer | None,
    init: str = "keras",
) -> keras.KerasTensor:
    """Dense logits then a softmax pinned to float32."""
    x = keras.layers.Dense(num_classes, kernel_regularizer=regularizer, name="logits",
                           **initializers(init, x.shape[-1]))(x)
    # A separate float32 softmax keeps probabilities and the loss stable under mixed precision.
    return keras.layers.Activation("softmax", dtype="float32", name="softmax")(x)


def check_activation(name: str) -> None:
    """Raise ValueError unless `name` is a supported activation."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose from {', '.join(ACTIVATIONS)}")


def check_positive_int(name: str, value: object) -> None:
    """Raise ValueError unless `value` is an int >= 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def check_rate(name: str, value: object) -> None:
    """Raise ValueError unless 0 <= value < 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}")


def check_non_negative(name: str, value: object) -> None:
    """Raise ValueError unless `value` is a number >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")


def positive_ints(name: str, value: object) -> tuple[int, ...]:
    """A non-empty list or tuple of positive ints as a tuple; anything else is a ValueError."""
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(
            f"{name} must be a non-empty list or tuple of positive ints, got {value!r}"
        )
    for item in value:
        check_positive_int(f"every entry of {name}", item)
    return tuple(int(item) for item in value)


def check_common(
    *,
    activation_name: str,
    l1: float,
    l2: float,
    leaky_slope: float,
    num_classes: int,
    input_shape: Sequence[int],
    image: bool,
    init: str = "keras",
) -> None:
    """Checks shared by every builder; `image=True` needs a (h, w) or (h, w, c) input shape."""
    check_activation(activation_name)
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; choose from {', '.join(INITS)}")
    check_non_negative("l1", l1)
    check_non_negative("l2", l2)
    check_non_negative("leaky_slope", leaky_slope)
    check_positive_int("num_classes", num_classes)
    shape = positive_ints("input_shape", input_shape)
    if image and len(shape) not in (2, 3):
        raise ValueError(
            f"input_shape must be (height, width) or (height, width, channels), got {input_shape!r}"
        )
