"""BlockMaxPooling2D gives Keras's MaxPooling2D values and gradients, ties included."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from benchmark import models
from benchmark.models.block_max_pooling import BlockMaxPooling2D


@pytest.mark.skipif(keras.backend.backend() != "jax",
                    reason="only JAX pools in blocks; elsewhere the layer is Keras's")
@pytest.mark.parametrize("size", [6, 7])  # 7: "valid" drops the last row and column
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_values_and_gradients_match_keras_max_pooling(size, dtype):
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(0)
    # Small integers: many windows hold their maximum twice, where a pooling gradient must
    # choose one input (both layers choose the first in row-major order).
    x = jnp.asarray(rng.integers(0, 3, (2, size, size, 3)), dtype)
    weights = jnp.asarray(rng.normal(size=(2, size // 2, size // 2, 3)), dtype)
    results = []
    for layer in (keras.layers.MaxPooling2D(2), BlockMaxPooling2D(2)):
        value, grad = jax.value_and_grad(
            lambda inputs, layer=layer: jnp.sum(layer(inputs) * weights).astype("float32"))(x)
        results.append((np.asarray(layer(x), "float32"), np.asarray(grad, "float32"), value))
    (expected, expected_grad, _), (got, got_grad, _) = results
    assert got.shape == expected.shape == (2, size // 2, size // 2, 3)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got_grad, expected_grad)
    assert np.count_nonzero(got_grad) == got.size  # one input per window receives it


def test_the_cnn_pools_with_it_and_it_keeps_keras_config():
    pools = [layer for layer in models.build("cnn").layers
             if isinstance(layer, keras.layers.MaxPooling2D)]
    assert pools and all(isinstance(pool, BlockMaxPooling2D) for pool in pools)
    again = keras.layers.deserialize(keras.layers.serialize(pools[0]))
    assert isinstance(again, BlockMaxPooling2D) and again.pool_size == (2, 2)
