"""Augmentation: both input pipelines move training images, differently every epoch, the same
for the same seed; the NumPy warp is checked against transforms worked out by hand."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from benchmark import augmentation, cv, overrides, training
from benchmark.config import TrainConfig

CFG = TrainConfig(augment=True, batch_size=4)
PIPELINES = [
    "numpy",
    pytest.param("tf.data", marks=pytest.mark.skipif(
        not augmentation.tensorflow_installed(), reason="the tf.data pipeline needs TensorFlow")),
]


def bars(n: int = 4) -> tuple[np.ndarray, np.ndarray]:
    images = np.zeros((n, 28, 28), "uint8")
    images[:, 8:20, 12:16] = 255
    return images, np.arange(n)


def epoch_of(batches) -> list[tuple[np.ndarray, np.ndarray]]:
    """One epoch of (images, labels) as NumPy, from a tf.data dataset or a PyDataset."""
    if isinstance(batches, keras.utils.PyDataset):
        out = [tuple(map(np.asarray, batches[i])) for i in range(len(batches))]
        batches.on_epoch_end()
        return out
    return [(a.numpy(), b.numpy()) for a, b in batches]


def make(pipeline: str, x, y, seed: int):
    if pipeline == "tf.data":
        return augmentation.tf_batches(CFG, x, y, seed)
    return augmentation.AugmentedBatches(CFG, x, y, seed)


@pytest.mark.parametrize("pipeline", PIPELINES)
def test_images_move_differently_each_epoch_and_the_same_for_a_seed(pipeline):
    images, labels = bars()
    batches = make(pipeline, images, labels, seed=0)
    (first,), (second,) = epoch_of(batches), epoch_of(batches)
    assert first[0].shape == (4, 28, 28) and first[0].dtype == np.float32
    assert sorted(first[1]) == [0, 1, 2, 3]  # every image once, shuffled
    assert not np.allclose(first[0][np.argsort(first[1])], images)  # moved
    assert not np.allclose(first[0][np.argsort(first[1])], second[0][np.argsort(second[1])])
    assert 0 <= first[0].min() and first[0].max() <= 255 + 1e-3  # bilinear, float rounding
    # The same seed gives the same epoch, batch for batch (a resumed fold relies on it).
    many, many_labels = np.repeat(images, 8, axis=0), np.repeat(labels, 8)
    a, b = epoch_of(make(pipeline, many, many_labels, 7)), epoch_of(make(pipeline, many, many_labels, 7))
    assert all(np.array_equal(p[0], q[0]) and np.array_equal(p[1], q[1])
               for p, q in zip(a, b, strict=True))


def test_the_warp_matches_transforms_worked_by_hand():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    identity = np.broadcast_to(np.eye(2), (3, 2, 2))
    assert np.array_equal(augmentation.warp(images, identity, np.zeros((3, 2))), images)
    # Sampling one row further down moves the picture up a row; the last row fills with zeros.
    up = augmentation.warp(images, identity, np.tile([1.0, 0.0], (3, 1)))
    assert np.array_equal(up[:, :-1], images[:, 1:]) and not up[:, -1].any()
    # Half a pixel to the right: the mean of neighbours (bilinear).
    half = augmentation.warp(images, identity, np.tile([0.0, 0.5], (3, 1)))
    assert np.allclose(half[:, :, :-1], (images[:, :, :-1] / 2 + images[:, :, 1:] / 2))
    # A quarter turn about the centre is np.rot90.
    quarter = np.broadcast_to(np.array([[0.0, 1.0], [-1.0, 0.0]]), (3, 2, 2))
    turned = augmentation.warp(images, quarter, np.zeros((3, 2)))
    assert np.allclose(turned, np.rot90(images, 1, axes=(1, 2)), atol=1e-3)


def test_random_maps_stay_within_the_configured_ranges():
    rng = np.random.default_rng(1)
    cfg = TrainConfig(rotation_degrees=10, shift=0.1, zoom=0.1, shear=0.0)
    matrices, offsets = augmentation.random_affines(rng, 10_000, cfg)
    assert np.abs(offsets).max() <= 2.8 and np.abs(offsets).max() > 2.7  # 0.1 x 28 pixels
    scale = np.sqrt(np.abs(np.linalg.det(matrices)))  # rotation keeps area; zoom scales it
    assert 0.9 <= scale.min() and scale.max() <= 1.1
    angles = np.degrees(np.arctan2(matrices[:, 1, 0], matrices[:, 0, 0]))
    assert np.abs(angles).max() <= 10.0 + 1e-6 and np.abs(angles).max() > 9.9
    none = augmentation.random_affines(rng, 5, TrainConfig(rotation_degrees=0, shift=0,
                                                                zoom=0, shear=0))
    assert np.allclose(none[0], np.eye(2)) and not none[1].any()


def test_without_tensorflow_every_backend_uses_numpy(monkeypatch):
    monkeypatch.setattr(augmentation, "tensorflow_installed", lambda: False)
    assert {augmentation.pipeline(b) for b in ("tensorflow", "jax", "torch")} == {"numpy"}
    monkeypatch.setattr(augmentation, "tensorflow_installed", lambda: True)
    assert augmentation.pipeline("tensorflow") == augmentation.FASTER["tensorflow"]


def test_fit_trains_on_augmented_batches_of_this_backend():
    images, labels = bars()
    config = overrides.resolve("mlp", "best", {"units": "16", "augment": "true"}, folds=2,
                             epochs=2)
    result = training.fit(cv.new_model(config, 0), config.training, images, labels,
                          validation=(images, labels), epochs=2, stream=None)
    assert [row["epoch"] for row in result.history] == [1, 2]
    assert all(np.isfinite(row["val_loss"]) for row in result.history)
