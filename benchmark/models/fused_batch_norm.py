"""Keras's BatchNormalization, trained with the backend's own fused batch-norm kernel.

Keras 3 builds BatchNormalization's training step from primitive ops on every backend: cast
the input to float32, `moments` (mean, then squared difference and a second mean), then
`(x - mean) * rsqrt(var + eps) * gamma + beta`, and a cast back. XLA fuses those on JAX;
TensorFlow and PyTorch run them one kernel at a time, and `emnist-bench profile` found them to
be most of the gap to a plain PyTorch loop (CNN, mixed_bfloat16: 131 ms of elementwise ops per
step on Keras-torch against the peer's 4 ms; about 23 ms on TensorFlow). Both frameworks ship
a fused kernel for exactly this computation, the one their own layers use:
`FusedBatchNormV3` (tf.keras 2's BatchNormalization) and `torch.native_batch_norm`
(`torch.nn.BatchNorm2d`).

`FusedBatchNormalization` is Keras's layer with one change: in training, on TensorFlow and
PyTorch, the normalisation runs in that kernel, on the input as it arrives (bfloat16 under
mixed precision; both kernels keep the statistics in float32), instead of in Keras's ops on a
float32 copy. Everything else is Keras's: the weights, their initialisers and names, the moving
statistics (biased batch variance, as Keras keeps them, not PyTorch's unbiased one), the
inference path, the config and serialisation. JAX, masks, renorm, synchronized statistics,
inputs other than images or Dense outputs, channels-first images on TensorFlow (whose CPU
convolutions take channels-last only), and on TensorFlow Dense outputs too (see FUSED_RANKS)
use Keras's own code. So does a GPU: the kernels were measured faster on
CPUs only, and on a GPU Keras's own layer stays until a measurement there says otherwise.
"""

from __future__ import annotations

import keras
from keras import ops

from benchmark import devices

# The input ranks each backend's fused kernel takes. TensorFlow's is for images: a Dense
# layer's (batch, units) output reshaped to (batch, 1, 1, units) trained the MLP at about
# 40,000 images/s against 50,000 with Keras's ops, so 2-D inputs keep Keras's ops there.
FUSED_RANKS = {"tensorflow": (4,), "torch": (2, 4)}


def kernel(backend: str) -> str:
    """What trains a batch-norm layer on this backend, for the record of a run."""
    if devices.on_gpu(backend):
        return "Keras ops (on a GPU; the fused kernels are measured on CPUs only)"
    if backend == "tensorflow":
        return "FusedBatchNormV3 (tf.raw_ops) after convolutions, Keras ops after Dense layers"
    if backend == "torch":
        return "torch.native_batch_norm"
    return "Keras ops (fused by XLA)"


@keras.saving.register_keras_serializable(package="emnist_bench")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """BatchNormalization whose training step is one fused kernel on TensorFlow and PyTorch."""

    def call(self, inputs, training=None, mask=None):
        if not self._fusable(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        gamma = ops.cast(self.gamma, "float32") if self.scale else ops.ones(inputs.shape[-1])
        beta = ops.cast(self.beta, "float32") if self.center else ops.zeros(inputs.shape[-1])
        if keras.backend.backend() == "tensorflow":
            outputs, mean, variance = _tensorflow(inputs, gamma, beta, self.epsilon)
        else:
            outputs, mean, variance = _torch(inputs, gamma, beta, self.epsilon,
                                             channels_first=self._channels_first(inputs))
        for moving, batch in ((self.moving_mean, mean), (self.moving_variance, variance)):
            batch = ops.cast(ops.stop_gradient(batch), moving.dtype)
            moving.assign(moving * self.momentum + batch * (1.0 - self.momentum))
        return ops.cast(outputs, self.compute_dtype)

    def _fusable(self, inputs, training, mask) -> bool:
        """Training, on a fused backend, with nothing the fused kernels do not do."""
        rank = len(inputs.shape)
        return bool(training and self.trainable and mask is None and not self.renorm
                    and not self.synchronized
                    and rank in FUSED_RANKS.get(keras.backend.backend(), ())
                    and not devices.on_gpu(keras.backend.backend())
                    and (self.axis in (-1, rank - 1)
                         or (self._channels_first(inputs)
                             and keras.backend.backend() == "torch"))
                    and keras.backend.standardize_dtype(inputs.dtype)
                    in ("float32", "bfloat16", "float16"))

    def _channels_first(self, inputs) -> bool:
        """Normalising axis 1 of an image: channels first."""
        return len(inputs.shape) == 4 and self.axis == 1


def _tensorflow(inputs, gamma, beta, epsilon):
    """FusedBatchNormV3 in training mode on NHWC images; returns outputs, batch mean, biased
    batch variance."""
    import tensorflow as tf

    empty = tf.constant([], tf.float32)
    outputs, mean, variance, *_ = tf.raw_ops.FusedBatchNormV3(
        x=inputs, scale=gamma, offset=beta, mean=empty, variance=empty, epsilon=epsilon,
        data_format="NHWC", is_training=True)
    # In training mode the kernel returns the variance with Bessel's correction (n / (n - 1));
    # Keras keeps the biased one in its moving variance.
    count = tf.cast(tf.size(inputs) // inputs.shape[-1], tf.float32)
    return outputs, mean, variance * (count - 1.0) / tf.maximum(count, 1.0)


def _torch(inputs, gamma, beta, epsilon, *, channels_first: bool):
    """torch.native_batch_norm in training mode on a channels-first view of the input (the
    input itself when its channels come first already)."""
    import torch

    permute = inputs.dim() == 4 and not channels_first
    images = inputs.permute(0, 3, 1, 2) if permute else inputs
    outputs, mean, inverse_std = torch.native_batch_norm(images, gamma, beta, None, None, True,
                                                         0.0, epsilon)
    if permute:
        outputs = outputs.permute(0, 2, 3, 1)
    return outputs, mean, inverse_std.pow(-2) - epsilon
