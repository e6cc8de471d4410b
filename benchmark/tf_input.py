"""TensorFlow's input pipeline for `fit`: one tf.data iterator for the whole fit, autotune off.

Given NumPy arrays, Keras 3's TensorFlow trainer builds its own tf.data pipeline
(`ArrayDataAdapter`: a `map` with `num_parallel_calls=AUTOTUNE`, then `prefetch(AUTOTUNE)`)
and, with `steps_per_epoch` unset, makes a new iterator every epoch (`EpochIterator`). Freeing
the previous epoch's iterator waits on tf.data's autotune thread: on these 2-core machines a
12-epoch CNN run lost about 30 s at 6 of its first 10 epoch boundaries.

`training_batches` replaces that pipeline on TensorFlow: the shuffled index batches are drawn
from an endless dataset (`repeat`) with autotune off, and `fit` gets `steps_per_epoch`, so the
`EpochIterator` keeps one iterator from the first epoch to the last. `validation_batches` is
the held-out data with autotune off (its iterator is still made anew each epoch, as Keras's
evaluation does; with autotune off freeing it does not wait). `emnist-bench bench-data
--epochs N` measures both pipelines, epoch by epoch.

The order of the images differs from Keras's pipeline (tf.data's `shuffle` with its own seed
instead of `tf.random.shuffle`), so a TensorFlow run records the pipeline it used
(config.json, "input_pipeline") and is not bit-identical to one made before it; JAX and
PyTorch never read these functions.
"""

from __future__ import annotations

import math

import numpy as np

PIPELINE = "tf.data, autotune off: one iterator per fit (augmented batches: one per epoch)"
BEFORE = "Keras's array adapter: a new iterator each epoch, autotune on"  # runs before this file


def used(backend: str) -> str | None:
    """The training input pipeline a run on `backend` uses (None: Keras's own, not tf.data)."""
    return PIPELINE if backend == "tensorflow" else None


def options():
    """tf.data options with autotune off (no background thread for freeing to wait on)."""
    import tensorflow as tf

    chosen = tf.data.Options()
    chosen.autotune.enabled = False
    return chosen


def steps(n: int, batch_size: int) -> int:
    """Batches in one epoch of n images (the last one partial)."""
    return math.ceil(n / batch_size)


def training_batches(x: np.ndarray, y: np.ndarray, batch_size: int, seed: int):
    """Endless shuffled batches of (x, y), reshuffled every epoch; give `fit`
    steps_per_epoch=steps(len(x), batch_size). Each epoch is one permutation of the images
    (the last batch partial), as with Keras's own pipeline."""
    import tensorflow as tf

    images, labels = tf.constant(x), tf.constant(y)
    dataset = (tf.data.Dataset.range(len(x))
               .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
               .batch(batch_size)
               .repeat()
               .map(lambda index: (tf.gather(images, index), tf.gather(labels, index)))
               .prefetch(2))
    return dataset.with_options(options())


def validation_batches(x: np.ndarray, y: np.ndarray, batch_size: int):
    """Held-out (x, y) in order, in batches, autotune off."""
    import tensorflow as tf

    return (tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size).prefetch(2)
            .with_options(options()))
