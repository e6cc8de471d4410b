"""Training-time augmentation: random rotation, shift, zoom and shear, freshly drawn every epoch.

Two input pipelines give the same kinds and ranges of transform (TrainConfig's rotation_degrees,
shift, zoom and shear), zero fill outside the image, bilinear sampling:

- "tf.data": Keras's own augmentation layers (RandomRotation, RandomTranslation, RandomZoom,
  RandomShear) mapped over a tf.data pipeline. It needs TensorFlow, whatever the backend.
- "numpy": one affine warp per image in vectorised NumPy, served by a `keras.utils.PyDataset`,
  so it runs on any backend with or without TensorFlow. Each batch's randomness comes from
  (seed, epoch, batch index), so the batches are the same whichever thread draws them first.

`pipeline(backend)` picks the faster where both can run, from `emnist-bench bench-data
--augment` (the figures are in the README); without TensorFlow it is always "numpy". A run
records the pipeline it used (config.json, "augmentation"). The two draw different random
transforms from the same seed, so a run resumed under the other pipeline is not bit-identical.
Validation and test images are never augmented.
"""

from __future__ import annotations

import math

import keras
import numpy as np

from benchmark import tf_input
from benchmark.backends import installed
from benchmark.config import TrainConfig

PIPELINES = ("tf.data", "numpy")
# Measured with `emnist-bench bench-data --augment` (README, "Augmentation"): the pipeline each
# backend uses when TensorFlow is installed.
FASTER = {"tensorflow": "tf.data", "jax": "numpy", "torch": "numpy"}


def tensorflow_installed() -> bool:
    return installed("tensorflow")


def pipeline(backend: str) -> str:
    """The augmentation pipeline a run on `backend` uses: the measured faster one, or "numpy"
    where TensorFlow is not installed."""
    choice = FASTER.get(backend, "numpy")
    return choice if choice != "tf.data" or tensorflow_installed() else "numpy"


def batches(cfg: TrainConfig, x: np.ndarray, y: np.ndarray, seed: int, backend: str):
    """Shuffled, augmented training batches for `model.fit`, from the backend's pipeline."""
    if pipeline(backend) == "tf.data":
        return tf_batches(cfg, x, y, seed)
    return AugmentedBatches(cfg, x, y, seed)


# ------------------------------------------------------------------------------- NumPy


def random_affines(rng: np.random.Generator, n: int, cfg: TrainConfig,
                   side: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """n inverse affine maps (output pixel -> input pixel, about the image centre): matrices
    (n, 2, 2) and offsets (n, 2), in (row, column) order."""
    angle = np.deg2rad(rng.uniform(-cfg.rotation_degrees, cfg.rotation_degrees, n))
    zoom = 1 + rng.uniform(-cfg.zoom, cfg.zoom, (n, 2))  # > 1 samples wider: zooms out
    shear = rng.uniform(-cfg.shear, cfg.shear, (n, 2))
    shift = rng.uniform(-cfg.shift, cfg.shift, (n, 2)) * side
    cos, sin = np.cos(angle), np.sin(angle)
    rotation = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)
    shearing = np.ones((n, 2, 2))
    shearing[:, 0, 1], shearing[:, 1, 0] = shear[:, 0], shear[:, 1]
    scaling = np.zeros((n, 2, 2))
    scaling[:, 0, 0], scaling[:, 1, 1] = zoom[:, 0], zoom[:, 1]
    return rotation @ shearing @ scaling, shift


def warp(images: np.ndarray, matrices: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Bilinear samples of uint8 images (n, h, w) at the inverse affine maps, zero outside;
    float32 in 0..255."""
    n, h, w = images.shape
    centre = np.array([(h - 1) / 2, (w - 1) / 2], np.float32)
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    grid = np.stack([rows, cols], -1).reshape(1, -1, 2).astype(np.float32) - centre
    # (n, h*w, 2) source coordinates; matmul, not einsum: 20x faster here
    source = grid @ matrices.transpose(0, 2, 1).astype(np.float32) + (centre + offsets[:, None, :])
    pad = 2  # zeros around the image: a sample more than a pixel outside reads only zeros
    side = w + 2 * pad
    padded = np.zeros((n, h + 2 * pad, side), np.float32)
    padded[:, pad:pad + h, pad:pad + w] = images
    r = np.clip(source[..., 0], -1.5, h + 0.5) + pad
    c = np.clip(source[..., 1], -1.5, w + 0.5) + pad
    r0, c0 = np.floor(r), np.floor(c)
    fr, fc = (r - r0).astype(np.float32), (c - c0).astype(np.float32)
    # Flat indices into the whole padded batch: one `take` per neighbour.
    base = (r0.astype(np.intp) * side + c0.astype(np.intp)
            + (np.arange(n, dtype=np.intp) * padded[0].size)[:, None])
    flat = padded.ravel()
    top = (1 - fc) * flat.take(base) + fc * flat.take(base + 1)
    bottom = (1 - fc) * flat.take(base + side) + fc * flat.take(base + side + 1)
    out = (1 - fr) * top + fr * bottom
    return out.reshape(n, h, w)


class AugmentedBatches(keras.utils.PyDataset):
    """Training batches for `fit` on any backend: shuffled every epoch, each image warped by
    its own random affine map (random_affines, warp). Float32 images in 0..255, integer labels."""

    def __init__(self, cfg: TrainConfig, x: np.ndarray, y: np.ndarray, seed: int):
        super().__init__()  # one worker: fit's own thread draws the batches
        self.cfg, self.x, self.y, self.seed = cfg, x, y, seed
        self.epoch = 0
        self.order = self._shuffled()

    def _shuffled(self) -> np.ndarray:
        return np.random.default_rng([self.seed, self.epoch]).permutation(len(self.x))

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.cfg.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        rows = self.order[index * self.cfg.batch_size:(index + 1) * self.cfg.batch_size]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        images = self.x[rows]
        matrices, offsets = random_affines(rng, len(rows), self.cfg, side=images.shape[1])
        return warp(images, matrices, offsets), self.y[rows]

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self.order = self._shuffled()


# ----------------------------------------------------------------------------- tf.data


def keras_layers(cfg: TrainConfig, seed: int) -> list:
    """Keras's random rotation, shift, zoom and shear of (N, 28, 28, 1) images in 0..255."""
    fill = {"fill_mode": "constant", "fill_value": 0.0}
    return [
        keras.layers.RandomRotation(cfg.rotation_degrees / 360.0, seed=seed + 1, **fill),
        keras.layers.RandomTranslation(cfg.shift, cfg.shift, seed=seed + 2, **fill),
        keras.layers.RandomZoom(cfg.zoom, cfg.zoom, seed=seed + 3, **fill),
        keras.layers.RandomShear(x_factor=cfg.shear, y_factor=cfg.shear, seed=seed + 4, **fill),
    ]


def tf_batches(cfg: TrainConfig, x: np.ndarray, y: np.ndarray, seed: int):
    """Shuffled training batches, each image freshly augmented every epoch, as a tf.data
    pipeline: Keras's preprocessing layers run on TensorFlow inside tf.data whatever the
    backend, in parallel with the training step (on JAX the same layers inside the model
    trained the MLP at ~360 images/s, this pipeline at ~15,000). The same seed gives the same
    batches, image for image."""
    import tensorflow as tf

    layers = keras_layers(cfg, seed)

    def augment(images, labels):
        images = tf.cast(images, "float32")[..., None]
        for layer in layers:
            images = layer(images, training=True)
        return images[..., 0], labels

    return (tf.data.Dataset.from_tensor_slices((x, y))
            .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
            .batch(cfg.batch_size)
            # One batch at a time: the layers draw from one random state, and parallel calls
            # would draw in a racing order, so a rerun (or a resumed fold) would differ.
            .map(augment)
            .prefetch(2)
            .with_options(tf_input.options()))  # autotune off: no stall between epochs
