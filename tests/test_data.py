"""The NIST IDX reader, its validation errors, the cache, --limit and the fingerprint."""

from __future__ import annotations

import gzip
import struct
import time

import numpy as np
import pytest

from benchmark import data
from tests.synthetic import idx_images, idx_labels, make_images, write_nist

# Reads files or drives the app: the same on every backend, so CI runs it once.
pytestmark = pytest.mark.any_backend


def test_reads_synthetic_balanced_upright(nist_dir):
    ds = data.load("balanced", nist_dir)
    assert ds.x_train.shape == (47 * 6, 28, 28) and ds.x_train.dtype == np.uint8
    assert ds.x_test.shape == (47 * 2, 28, 28)
    assert ds.y_train.dtype == np.int32 and set(ds.y_train) == set(range(47))
    assert ds.classes[10] == "A" and ds.classes[-1] == "t" and len(ds.classes) == 47
    # The writer stores transposed images; the reader must give back exactly the upright ones.
    np.testing.assert_array_equal(ds.x_train, make_images(ds.y_train, seed=0))


def test_uncompressed_files_read_the_same(tmp_path):
    gz = data.load("balanced", write_nist(tmp_path / "gz", gz=True))
    plain = data.load("balanced", write_nist(tmp_path / "plain", gz=False))
    np.testing.assert_array_equal(gz.x_train, plain.x_train)
    np.testing.assert_array_equal(gz.y_test, plain.y_test)
    assert gz.fingerprint["sha256"] == plain.fingerprint["sha256"]


def test_files_in_a_subfolder_are_found(tmp_path):
    write_nist(tmp_path / "gzip")
    assert len(data.load("balanced", tmp_path).y_train) == 47 * 6


def test_letters_three_column_mapping_and_one_based_labels(tmp_path):
    folder = write_nist(tmp_path, split="letters", n_classes=26)
    ds = data.load("letters", folder)
    assert ds.classes[0] == "Aa" and ds.classes[25] == "Zz"
    assert ds.y_train.min() == 0 and ds.y_train.max() == 25


def test_fingerprint_flags_non_official_sizes(nist_dir):
    fp = data.load("balanced", nist_dir).fingerprint
    assert fp["matches_official_sizes"] is False
    assert fp["official_sizes"] == [112_800, 18_800]
    assert "NOT the official" in fp["note"]
    assert len(fp["sha256"]) == 64 and fp["n_train"] == 282 and fp["n_classes"] == 47


def test_limit_is_class_stratified(tmp_path):
    folder = write_nist(tmp_path, train_per_class=10)
    ds = data.load("balanced", folder, limit=94, seed=3)
    assert len(ds.y_train) == 94
    assert np.bincount(ds.y_train).tolist() == [2] * 47
    assert ds.fingerprint["n_train"] == 470 and ds.fingerprint["n_train_used"] == 94
    again = data.load("balanced", folder, limit=94, seed=3)
    np.testing.assert_array_equal(ds.x_train, again.x_train)


def test_second_load_comes_from_the_cache(nist_dir, monkeypatch):
    first = data.load("balanced", nist_dir)

    def boom(*args, **kwargs):
        raise AssertionError("decoded the files again instead of using the cache")

    monkeypatch.setattr(data, "_read_folder", boom)
    second = data.load("balanced", nist_dir)
    np.testing.assert_array_equal(first.x_train, second.x_train)
    assert first.fingerprint == second.fingerprint


def test_source_names_the_folder_not_this_machines_path(nist_dir, monkeypatch):
    """Results are committed and read elsewhere: the folder's name travels, its path does not."""
    monkeypatch.chdir(nist_dir.parent)
    for load in ("decoded", "cached"):
        ds = data.load("balanced", nist_dir.name)
        assert ds.source == f"local NIST files in a folder named {nist_dir.name}", load
        assert str(nist_dir.parent) not in ds.fingerprint["source"], load


def test_cache_notices_a_changed_file(nist_dir):
    first = data.load("balanced", nist_dir)
    labels = nist_dir / "emnist-balanced-test-labels-idx1-ubyte.gz"
    y = np.zeros(47 * 2, dtype=np.uint8)
    time.sleep(0.01)
    labels.write_bytes(gzip.compress(idx_labels(y)))
    second = data.load("balanced", nist_dir)
    assert (second.y_test == 0).all() and first.fingerprint["sha256"] != second.fingerprint["sha256"]


# ---------------------------------------------------------------- broken data: one clear error


def _rewrite(path, payload, gz=True):
    path.write_bytes(gzip.compress(payload) if gz else payload)


def test_truncated_images(nist_dir):
    path = nist_dir / "emnist-balanced-train-images-idx3-ubyte.gz"
    _rewrite(path, gzip.decompress(path.read_bytes())[:-100])
    with pytest.raises(data.DataError, match="train-images.*truncated"):
        data.load("balanced", nist_dir)


def test_truncated_gzip_stream(nist_dir):
    path = nist_dir / "emnist-balanced-test-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(data.DataError, match="test-images"):
        data.load("balanced", nist_dir)


def test_wrong_magic(nist_dir):
    path = nist_dir / "emnist-balanced-train-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[:4] = struct.pack(">I", 2051)
    _rewrite(path, bytes(raw))
    with pytest.raises(data.DataError, match="train-labels.*magic number 2051, expected 2049"):
        data.load("balanced", nist_dir)


def test_wrong_image_size(nist_dir):
    path = nist_dir / "emnist-balanced-test-images-idx3-ubyte.gz"
    _rewrite(path, struct.pack(">IIII", 2051, 1, 32, 32) + bytes(32 * 32))
    with pytest.raises(data.DataError, match="32x32"):
        data.load("balanced", nist_dir)


def test_label_outside_the_mapping(nist_dir):
    path = nist_dir / "emnist-balanced-test-labels-idx1-ubyte.gz"
    labels = np.full(47 * 2, 60, dtype=np.uint8)
    _rewrite(path, idx_labels(labels))
    with pytest.raises(data.DataError, match="label 60 is not in emnist-balanced-mapping.txt"):
        data.load("balanced", nist_dir)


def test_count_mismatch(nist_dir):
    path = nist_dir / "emnist-balanced-train-labels-idx1-ubyte.gz"
    _rewrite(path, idx_labels(np.zeros(10, dtype=np.uint8)))
    with pytest.raises(data.DataError, match="10 labels for 282 images"):
        data.load("balanced", nist_dir)


def test_missing_test_files(nist_dir):
    (nist_dir / "emnist-balanced-test-images-idx3-ubyte.gz").unlink()
    with pytest.raises(data.DataError, match="test-images-idx3-ubyte.gz is missing"):
        data.load("balanced", nist_dir)


def test_missing_mapping(nist_dir):
    (nist_dir / "emnist-balanced-mapping.txt").unlink()
    with pytest.raises(data.DataError, match="mapping.txt is missing"):
        data.load("balanced", nist_dir)


@pytest.mark.parametrize("garbage", [b"", b"\x00\x01garbage", bytes(range(256)) * 5])
def test_garbage_bytes(nist_dir, garbage):
    path = nist_dir / "emnist-balanced-train-images-idx3-ubyte.gz"
    path.write_bytes(garbage)
    with pytest.raises(data.DataError, match="train-images"):
        data.load("balanced", nist_dir)


def test_garbage_gzip_member(nist_dir):
    path = nist_dir / "emnist-balanced-train-images-idx3-ubyte.gz"
    path.write_bytes(b"\x1f\x8b" + bytes(range(200)))
    with pytest.raises(data.DataError, match="not a readable gzip"):
        data.load("balanced", nist_dir)


def test_header_that_overstates_the_count_is_refused_before_allocating(nist_dir):
    path = nist_dir / "emnist-balanced-train-images-idx3-ubyte.gz"
    _rewrite(path, struct.pack(">IIII", 2051, 2**31, 28, 28) + bytes(784))
    with pytest.raises(data.DataError, match="header promises 2,147,483,648 images"):
        data.load("balanced", nist_dir)


@pytest.mark.parametrize("gz", [True, False])
def test_a_million_images_claimed_by_a_small_file_are_refused_before_allocating(tmp_path, gz):
    import tracemalloc

    path = tmp_path / ("images.gz" if gz else "images")
    _rewrite(path, struct.pack(">IIII", 2051, 10**6, 28, 28) + bytes(784 * 3), gz=gz)
    tracemalloc.start()
    try:
        with pytest.raises(data.DataError, match="header promises 1,000,000 images"):
            data.read_idx_images(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * 2**20  # 784 MB were promised; nothing near that was allocated


def test_decoding_holds_the_images_once_not_twice(tmp_path):
    import tracemalloc

    labels = np.arange(20_000) % 47
    path = tmp_path / "images.gz"
    _rewrite(path, idx_images(make_images(labels)))
    tracemalloc.start()
    try:
        images = data.read_idx_images(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert images.nbytes == 20_000 * 784
    assert peak < 1.25 * images.nbytes, (peak, images.nbytes)


def test_missing_folder(tmp_path):
    with pytest.raises(data.DataError, match="does not exist"):
        data.load("balanced", tmp_path / "nope")


def test_folder_without_the_split(nist_dir):
    with pytest.raises(data.DataError, match="no emnist-digits-"):
        data.load("digits", nist_dir)


def test_bad_mapping_line(nist_dir):
    (nist_dir / "emnist-balanced-mapping.txt").write_text("0 48\nzero forty-eight\n")
    with pytest.raises(data.DataError, match="line 2"):
        data.load("balanced", nist_dir)


def test_tfds_letters_are_upright_and_zero_based(tmp_path, monkeypatch):
    """TFDS keeps NIST's transposed images and 1..26 letter labels (its real builder, download
    and NIST order are tested in test_tfds.py; here only what letters add, with a faked read)."""
    import importlib.util

    if importlib.util.find_spec("tensorflow_datasets") is None:
        pytest.skip("tensorflow-datasets is not installed")
    import tensorflow_datasets as tfds
    from tensorflow_datasets.image_classification import mnist

    monkeypatch.delenv("EMNIST_BENCH_DATA", raising=False)
    monkeypatch.setenv("EMNIST_BENCH_TFDS_DIR", str(tmp_path / "tfds"))
    labels = np.arange(1, 27).repeat(2)
    upright = make_images(labels - 1)
    upright[upright < 255] = 0  # each image a function of its label: TFDS's order does not matter
    stored = upright.transpose(0, 2, 1)[..., None]
    monkeypatch.setattr(mnist.EMNIST, "is_prepared", lambda self: True)
    monkeypatch.setattr(mnist.EMNIST, "as_dataset",
                        lambda self, **kwargs: [(stored, labels), (stored, labels)])
    monkeypatch.setattr(tfds, "as_numpy", lambda x: x)
    ds = data.load("letters")
    np.testing.assert_array_equal(ds.x_train, upright[ds.y_train * 2])
    assert sorted(ds.y_train) == sorted(labels - 1) and ds.classes[0] == "Aa"
    assert ds.source == "tensorflow-datasets emnist/letters"


def test_unknown_split():
    with pytest.raises(data.DataError, match="unknown split"):
        data.load("kanji")


# ---------------------------------------------------------------- the real Balanced sample


@pytest.mark.real_data
def test_real_sample(real_sample):
    ds = data.load("balanced", real_sample)
    assert len(ds.y_train) == 9_120 and len(ds.y_test) == 304
    assert len(ds.classes) == 47 and set(ds.y_train) == set(range(47))
    assert ds.fingerprint["matches_official_sizes"] is False
    assert "NOT the official" in ds.fingerprint["note"]


@pytest.mark.real_data
def test_real_sample_is_upright(real_sample):
    """A handwritten '1' is taller than it is wide; transposed, it would be wider than tall."""
    ds = data.load("balanced", real_sample)
    ones = ds.x_train[ds.y_train == ds.classes.index("1")] > 128
    rows = ones.any(axis=2).sum(axis=1)
    cols = ones.any(axis=1).sum(axis=1)
    assert np.mean(rows > cols) > 0.9
    # 'L' is heavy at the bottom and on the left, '7' at the top and on the right; a transposed
    # read would swap top with left and bottom with right.
    for char, heavy, light in (("L", "bottom", "top"), ("7", "top", "bottom")):
        ink = ds.x_train[ds.y_train == ds.classes.index(char)].astype(float)
        half = {"top": ink[:, :14].mean(), "bottom": ink[:, 14:].mean()}
        assert half[heavy] > 1.2 * half[light], (char, half)
