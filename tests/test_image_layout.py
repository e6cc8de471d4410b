"""The convolutional models compute in Keras's image_data_format, channels last or first, with
the same result either way; EMNIST_BENCH_LAYOUT chooses it and results record it."""

from __future__ import annotations

import contextlib

import keras
import numpy as np
import pytest

from benchmark import backends, models, provenance
from benchmark.arguments import UsageError
from benchmark.models import layers

# TensorFlow's CPU convolutions take channels-last images only (backends.apply_layout).
RUNS_CHANNELS_FIRST = keras.backend.backend() != "tensorflow"


@contextlib.contextmanager
def image_data_format(layout: str):
    before = keras.config.image_data_format()
    keras.config.set_image_data_format(layout)
    try:
        yield
    finally:
        keras.config.set_image_data_format(before)


def small_resnet() -> keras.Model:
    return models.build("resnet", blocks=(1, 1), filters=(4, 8), kernel_size=3, dropout=0.0)


def test_convolutions_and_their_batch_norm_follow_the_layout():
    with image_data_format("channels_first"):
        model = small_resnet()
    assert model.get_layer("to_image").output.shape == (None, 1, 28, 28)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert convs and all(conv.data_format == "channels_first" for conv in convs)
    assert model.get_layer("stem_conv_bn").axis == 1
    # A projection where the channels change: read from axis 1, not the last (spatial) axis.
    assert model.get_layer("stage2_block1_proj").output.shape == (None, 8, 14, 14)
    with image_data_format("channels_last"):
        assert small_resnet().get_layer("stem_conv_bn").axis == -1


@pytest.mark.skipif(not RUNS_CHANNELS_FIRST, reason="TensorFlow's CPU convolutions are "
                    "channels-last only")
@pytest.mark.parametrize("training", [False, True])
def test_the_same_weights_give_the_same_outputs_in_either_layout(training):
    """Convolution kernels and batch-norm weights have the same shapes in both layouts, and a
    ResNet ends in global pooling, so one model's weights fit the other exactly."""
    with image_data_format("channels_last"):
        last = small_resnet()
    with image_data_format("channels_first"):
        first = small_resnet()
    rng = np.random.default_rng(0)
    first.set_weights([w + rng.normal(0, 0.05, w.shape).astype(w.dtype)
                       for w in last.get_weights()])
    last.set_weights(first.get_weights())
    x = rng.integers(0, 256, (8, 28, 28)).astype("uint8")
    got = keras.ops.convert_to_numpy(first(x, training=training))
    expected = keras.ops.convert_to_numpy(last(x, training=training))
    assert got.shape == (8, 47)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_the_cnns_flattened_features_follow_the_layout():
    with image_data_format("channels_first"):
        model = models.build("cnn")
    # The last conv layer's 64 channels come before the 7x7 image it pools to.
    assert tuple(model.get_layer("flatten").input.shape) == (None, 64, 7, 7)
    if RUNS_CHANNELS_FIRST:
        x = np.zeros((2, 28, 28), "uint8")
        assert keras.ops.convert_to_numpy(model(x)).shape == (2, 47)


def test_the_variable_sets_the_layout_and_results_record_it(monkeypatch):
    with image_data_format("channels_last"):
        monkeypatch.delenv(backends.LAYOUT_ENV, raising=False)
        backends.apply_layout("torch")  # unset: Keras's own setting stays
        assert provenance.settings()["image_data_format"] == "channels_last"
        monkeypatch.setenv(backends.LAYOUT_ENV, "channels_first")
        backends.apply_layout("torch")
        assert keras.config.image_data_format() == "channels_first"
        assert layers.channel_axis() == 1
        assert provenance.settings()["image_data_format"] == "channels_first"


@pytest.mark.parametrize("value, backend, message", [
    ("channels_middle", "torch", "is not one of channels_last, channels_first"),
    ("channels_first", "tensorflow", "channels-last images only"),
])
def test_a_layout_the_backend_cannot_run_is_refused_in_one_line(monkeypatch, value, backend,
                                                                message):
    monkeypatch.setenv(backends.LAYOUT_ENV, value)
    with image_data_format("channels_last"), pytest.raises(UsageError, match=message):
        backends.apply_layout(backend)
