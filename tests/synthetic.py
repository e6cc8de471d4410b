"""Tiny synthetic EMNIST written in NIST's release layout, so the real reader is exercised."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

BALANCED_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabdefghnqrt"


def idx_images(images: np.ndarray) -> bytes:
    """IDX3 bytes of upright uint8 images, transposed the way NIST stores them."""
    stored = np.ascontiguousarray(images.transpose(0, 2, 1))
    return struct.pack(">IIII", 2051, len(images), 28, 28) + stored.tobytes()


def idx_labels(labels: np.ndarray) -> bytes:
    return struct.pack(">II", 2049, len(labels)) + np.asarray(labels, dtype=np.uint8).tobytes()


def make_images(labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """Learnable upright images: a bright bar whose row encodes the class, plus noise.

    The bar is in the top rows for low labels, so a transposed read is detectable.
    """
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 40, size=(len(labels), 28, 28), dtype=np.uint8)
    for i, label in enumerate(labels):
        row = int(label) % 26
        col = (int(label) // 26) * 14
        images[i, row:row + 2, col:col + 14] = 255
    return images


def write_nist(folder: str | Path, *, split: str = "balanced", train_per_class: int = 6,
               test_per_class: int = 2, n_classes: int = 47, gz: bool = True,
               seed: int = 0) -> Path:
    """Write emnist-<split>-{train,test}-* IDX files plus a mapping into `folder`.

    Letters use NIST's conventions: labels 1..26 and a three-column mapping.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    letters = split == "letters"
    first = 1 if letters else 0
    raw = np.arange(first, first + n_classes)
    for part, per_class, offset in (("train", train_per_class, 0), ("test", test_per_class, 1)):
        labels = np.repeat(raw, per_class)
        np.random.default_rng(seed + offset).shuffle(labels)
        images = make_images(labels - first, seed=seed + offset)
        for kind, payload in (("images-idx3", idx_images(images)), ("labels-idx1", idx_labels(labels))):
            name = folder / f"emnist-{split}-{part}-{kind}-ubyte"
            if gz:
                (name.with_name(name.name + ".gz")).write_bytes(gzip.compress(payload, 1))
            else:
                name.write_bytes(payload)
    if letters:
        lines = [f"{i} {64 + i} {96 + i}" for i in raw]
    else:
        lines = [f"{i} {ord(BALANCED_CHARS[i])}" for i in raw]
    (folder / f"emnist-{split}-mapping.txt").write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return folder
