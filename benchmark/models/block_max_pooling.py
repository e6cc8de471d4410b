"""Keras's MaxPooling2D, with a gradient XLA:CPU computes elementwise, for JAX.

On JAX, Keras pools with `lax.reduce_window`, whose gradient XLA:CPU lowers to a
select-and-scatter over index tensors; `emnist-bench profile` found that to be 45% of the JAX
CNN's step time (129 ms per step against the plain PyTorch loop's 17 ms).

For windows that tile the image (pool size equal to the strides, "valid" padding, channels
last: the study's CNN pools 2x2 by 2), the same result is a reshape into blocks and, per block
axis, the first maximum picked by `argmax` as a one-hot mask. Its gradient is the mask times
the incoming gradient, elementwise, which XLA fuses; the forward values and the gradient are
exactly those of Keras's layer, ties included (both pick the first maximum in row-major
order). TensorFlow and PyTorch keep Keras's layer, which runs their own pooling kernels, and
so does JAX on a GPU, where this was never measured against XLA's own pooling.
"""

from __future__ import annotations

import keras
from keras import ops

from benchmark import devices


@keras.saving.register_keras_serializable(package="emnist_bench")
class BlockMaxPooling2D(keras.layers.MaxPooling2D):
    """MaxPooling2D that pools tiling windows as a reshape and masked sums on JAX."""

    def call(self, inputs):
        if not self._tiles(inputs):
            return super().call(inputs)
        (pool_h, pool_w), (_, height, width, channels) = self.pool_size, inputs.shape
        rows, cols = height // pool_h, width // pool_w
        # "valid" pooling drops the rows and columns a whole window does not cover.
        x = ops.reshape(inputs[:, :rows * pool_h, :cols * pool_w, :],
                        (-1, rows, pool_h, cols, pool_w, channels))
        for axis, size in ((4, pool_w), (2, pool_h)):
            first_max = ops.one_hot(ops.argmax(x, axis=axis), size, axis=axis, dtype=x.dtype)
            x = ops.sum(x * ops.stop_gradient(first_max), axis=axis)
        return x

    def _tiles(self, inputs) -> bool:
        """On JAX on a CPU, with windows that tile a channels-last image of known size."""
        return (keras.backend.backend() == "jax" and not devices.on_gpu("jax")
                and len(inputs.shape) == 4
                and tuple(self.pool_size) == tuple(self.strides) and self.padding.lower() == "valid"
                and self.data_format == "channels_last"
                and None not in tuple(inputs.shape[1:]))
