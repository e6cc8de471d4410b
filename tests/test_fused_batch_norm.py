"""FusedBatchNormalization trains exactly like Keras's BatchNormalization, in one fused kernel."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from benchmark import models
from benchmark.models import fused_batch_norm
from benchmark.models.fused_batch_norm import FusedBatchNormalization

RANKS = fused_batch_norm.FUSED_RANKS.get(keras.backend.backend(), ())


# (rank, image layout): Dense outputs, channels-last images, and channels-first images, which
# only PyTorch's kernel takes (TensorFlow's CPU convolutions are channels-last only).
CASES = [(2, None), (4, "channels_last"), (4, "channels_first")]


def _model(layer_class, rank: int, layout: str | None, seed: int) -> keras.Model:
    """A conv (rank 4) or dense (rank 2) layer, the batch norm under test, and a classifier."""
    keras.utils.set_random_seed(seed)
    first = layout == "channels_first"
    inputs = keras.Input(((3, 6, 6) if first else (6, 6, 3)) if rank == 4 else (12,))
    x = (keras.layers.Conv2D(5, 3, use_bias=False, data_format=layout)(inputs) if rank == 4
         else keras.layers.Dense(5, use_bias=False)(inputs))
    x = layer_class(axis=1 if first else -1, momentum=0.9, epsilon=1e-5, name="bn")(x)
    x = keras.layers.Flatten()(keras.layers.Activation("relu")(x))
    outputs = keras.layers.Dense(4, activation="softmax", dtype="float32")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(0.5),
                  loss="sparse_categorical_crossentropy")
    return model


@pytest.mark.parametrize("rank, layout", CASES)
@pytest.mark.parametrize("policy, tolerance", [("float32", 1e-5), ("mixed_bfloat16", 2e-2)])
def test_training_steps_match_keras_batch_normalization(rank, layout, policy, tolerance,
                                                         monkeypatch):
    """Same outputs, same gradients (hence weights after SGD steps), same moving statistics."""
    backend = keras.backend.backend()
    if rank not in RANKS or (layout == "channels_first" and backend != "torch"):
        pytest.skip(f"{backend} trains rank-{rank} {layout or ''} inputs with Keras's own ops: "
                    "nothing to compare")
    calls = []
    kernel = f"_{backend}"
    original = getattr(fused_batch_norm, kernel)
    monkeypatch.setattr(fused_batch_norm, kernel,
                        lambda *args, **kwargs: calls.append(1) or original(*args, **kwargs))
    rng = np.random.default_rng(0)
    shape = {2: (16, 12), 4: (16, 3, 6, 6) if layout == "channels_first" else (16, 6, 6, 3)}
    x = rng.normal(2.0, 3.0, shape[rank]).astype("float32")
    y = rng.integers(0, 4, 16)
    gamma, beta = rng.uniform(0.5, 1.5, 5), rng.uniform(-0.5, 0.5, 5)
    trained = []
    try:
        keras.mixed_precision.set_global_policy(policy)
        for layer_class in (keras.layers.BatchNormalization, FusedBatchNormalization):
            model = _model(layer_class, rank, layout, seed=1)
            bn = model.get_layer("bn")
            bn.gamma.assign(gamma.astype("float32"))
            bn.beta.assign(beta.astype("float32"))
            for _ in range(3):
                model.train_on_batch(x, y)
            trained.append(model)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert calls, "the fused kernel was never called"
    keras_model, fused_model = trained
    for expected, got in zip(keras_model.weights, fused_model.weights, strict=True):
        assert expected.path.split("/")[-1] == got.path.split("/")[-1]
        np.testing.assert_allclose(keras.ops.convert_to_numpy(got),
                                   keras.ops.convert_to_numpy(expected),
                                   rtol=tolerance, atol=tolerance, err_msg=got.path)
    moving = keras.ops.convert_to_numpy(fused_model.get_layer("bn").moving_variance)
    assert not np.allclose(moving, 1.0), "the moving variance never moved"


def test_inference_uses_the_moving_statistics():
    """Outside training the layer is Keras's: (x - moving mean) / sqrt(moving var + eps)."""
    layer = FusedBatchNormalization(epsilon=1e-5)
    x = np.arange(24, dtype="float32").reshape(2, 2, 2, 3)
    layer.build(x.shape)
    layer.moving_mean.assign([1.0, 2.0, 3.0])
    layer.moving_variance.assign([4.0, 4.0, 4.0])
    got = keras.ops.convert_to_numpy(layer(x, training=False))
    np.testing.assert_allclose(got, (x - [1.0, 2.0, 3.0]) / np.sqrt(4.0 + 1e-5), rtol=1e-6)


def test_models_train_their_batch_norm_in_the_fused_layer():
    for name in models.names():
        bns = [layer for layer in models.build(name).layers
               if isinstance(layer, keras.layers.BatchNormalization)]
        assert bns and all(isinstance(bn, FusedBatchNormalization) for bn in bns), name


def test_a_model_with_the_layer_serialises_and_loads(tmp_path):
    model = models.build("mlp")
    path = tmp_path / "mlp.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert any(isinstance(layer, FusedBatchNormalization) for layer in loaded.layers)
    x = np.random.default_rng(0).integers(0, 256, (4, 28, 28)).astype("uint8")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x)),
                               keras.ops.convert_to_numpy(model(x)), rtol=1e-5, atol=1e-6)
