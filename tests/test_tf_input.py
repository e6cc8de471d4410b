"""TensorFlow's input pipeline for fit (benchmark/tf_input.py): each epoch a new permutation
of every image, drawn from one iterator for the whole fit, autotune off everywhere."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark import augmentation, bench_data, provenance, tf_input
from benchmark.config import TrainConfig

pytestmark = pytest.mark.any_backend  # tf.data whatever the backend: one backend's run is enough


def epochs_drawn(pipeline: str, epochs: int = 3, n: int = 300, batch: int = 128):
    """The label batches of each epoch as fit draws them, and the iterator of each epoch."""
    ids = np.arange(n, dtype=np.int32)
    iterator = bench_data.epoch_iterator(ids[:, None], ids, batch, pipeline)
    drawn, iterators = [], []
    for _ in range(epochs):
        batches = []
        for _, _, current in iterator:
            batches.append(np.asarray(next(current)[1]))
        drawn.append(batches)
        iterators.append(iterator._current_iterator)  # Keras's EpochIterator keeps it here
    return drawn, iterators


def test_each_epoch_is_a_new_permutation_from_one_iterator():
    drawn, iterators = epochs_drawn("suite")
    for batches in drawn:
        assert [len(b) for b in batches] == [128, 128, 44]
        assert sorted(np.concatenate(batches).tolist()) == list(range(300))
    orders = [np.concatenate(batches).tolist() for batches in drawn]
    assert orders[0] != orders[1] != orders[2]
    assert iterators[0] is iterators[1] is iterators[2]
    # Keras's own pipeline from the arrays makes a new iterator every epoch: what stalled.
    _, theirs = epochs_drawn("keras")
    assert theirs[0] is not theirs[1]


def test_the_same_seed_gives_the_same_batches():
    x = np.arange(50, dtype=np.int32)

    def order(seed):
        return np.concatenate([np.asarray(b[1]) for b in
                               tf_input.training_batches(x, x, 16, seed).take(8)]).tolist()

    assert order(3) == order(3) != order(4)


def test_autotune_is_off_in_every_pipeline_fit_reads():
    x, y = np.zeros((10, 28, 28), np.uint8), np.zeros(10, np.int32)
    for dataset in (tf_input.training_batches(x, y, 4, 0), tf_input.validation_batches(x, y, 4),
                    augmentation.tf_batches(TrainConfig(augment=True), x, y, 0)):
        assert dataset.options().autotune.enabled is False


def test_validation_keeps_the_order_of_the_images():
    x = np.arange(10, dtype=np.int32)
    got = np.concatenate([np.asarray(b[1]) for b in tf_input.validation_batches(x, x, 4)])
    assert got.tolist() == list(range(10))


def test_a_run_records_its_input_pipeline():
    assert provenance.stamp("tensorflow")["input_pipeline"] == tf_input.PIPELINE
    assert provenance.stamp("jax")["input_pipeline"] is None


def test_a_tensorflow_run_resumed_under_another_pipeline_says_so(capsys):
    from benchmark import commands

    new = {"input_pipeline": tf_input.PIPELINE}
    commands.warn_pipeline_changed("cnn-best-tensorflow-1", {"backend": "tensorflow"}, new)
    assert tf_input.BEFORE in capsys.readouterr().err
    commands.warn_pipeline_changed("cnn-best-tensorflow-1", {"backend": "tensorflow", **new}, new)
    commands.warn_pipeline_changed("cnn-best-jax-1", {"backend": "jax"}, {"input_pipeline": None})
    assert capsys.readouterr().err == ""
