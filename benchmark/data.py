"""EMNIST in memory: NIST's IDX release files (or tensorflow-datasets), validated, upright, cached.

Sources, in order: a folder of NIST release files (`--data-dir` or $EMNIST_BENCH_DATA), then
tensorflow-datasets `emnist/<split>` (NIST's gzip.zip, downloaded once). Images stay uint8
(N, 28, 28); models scale them.
Every `Dataset` carries a fingerprint (split, counts, checksum, whether the sizes are the
official ones) that goes into every result, so a partial or derived copy is never mistaken
for the official split.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import shutil
import socket
import struct
import sys
import tempfile
import urllib.parse
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IMAGE_MAGIC = 2051
LABEL_MAGIC = 2049
SIDE = 28

# Official (train, test) sizes of NIST's EMNIST release.
OFFICIAL_SIZES = {
    "balanced": (112_800, 18_800),
    "byclass": (697_932, 116_323),
    "bymerge": (697_932, 116_323),
    "digits": (240_000, 40_000),
    "letters": (124_800, 20_800),
    "mnist": (60_000, 10_000),
}
SPLITS = tuple(OFFICIAL_SIZES)

_DIGITS = "0123456789"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_MERGED_LOWER = "abdefghnqrt"
# Class characters per split, used when the data comes from tensorflow-datasets (no mapping file).
CLASS_CHARS = {
    "balanced": tuple(_DIGITS + _UPPER + _MERGED_LOWER),
    "bymerge": tuple(_DIGITS + _UPPER + _MERGED_LOWER),
    "byclass": tuple(_DIGITS + _UPPER + _UPPER.lower()),
    "digits": tuple(_DIGITS),
    "mnist": tuple(_DIGITS),
    "letters": tuple(u + u.lower() for u in _UPPER),
}

# A decoded gzip member is never allowed to be larger than this (a 28x28 image file of the
# largest split is ~550 MB); garbage that claims more is refused before it is read.
_MAX_DECODED_BYTES = 2 * 1024**3


class DataError(Exception):
    """The data is missing or broken; the message is one sentence naming the file."""


@dataclass(frozen=True)
class Dataset:
    """One EMNIST split in memory: uint8 images (N, 28, 28), upright; int32 labels 0..C-1."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]
    split: str
    source: str
    fingerprint: dict


# --------------------------------------------------------------------------- IDX reading


_CHUNK_IMAGES = 1024  # images per read (~0.8 MB): bounds the extra memory of decoding


class _Reader:
    """A binary stream over an IDX file, gunzipping when it is gzip (by magic, not by name).

    `decoded_size` is the decoded length as far as it can be known without reading: the file
    size for a plain file, the gzip trailer's ISIZE (length mod 2**32) for a gzip file. Every
    read error becomes a DataError naming the file.
    """

    def __init__(self, path: Path):
        self.path = path
        self._file = open(path, "rb")
        head = self._file.read(2)
        size = os.fstat(self._file.fileno()).st_size
        self.gzipped = head == b"\x1f\x8b"
        if self.gzipped:
            if size < 18:
                self.close()
                raise DataError(f"{path}: not a readable gzip file (only {size} bytes)")
            self._file.seek(-4, os.SEEK_END)
            self.decoded_size = int.from_bytes(self._file.read(4), "little")
            self._file.seek(0)
            self._stream = gzip.GzipFile(fileobj=self._file)
        else:
            self._file.seek(0)
            self.decoded_size = size
            self._stream = self._file

    def read_into(self, buffer: memoryview) -> int:
        """Fill `buffer` as far as the data goes; return the bytes read."""
        done = 0
        try:
            while done < len(buffer):
                n = self._stream.readinto(buffer[done:])
                if not n:
                    break
                done += n
        except (OSError, EOFError, zlib.error) as error:
            raise DataError(f"{self.path}: not a readable gzip file ({error})") from None
        return done

    def read(self, n: int) -> bytes:
        buffer = bytearray(n)
        return bytes(buffer[: self.read_into(memoryview(buffer))])

    def at_end(self) -> bool:
        return self.read(1) == b""

    def check_size(self, expected: int, what: str) -> None:
        """Refuse a header whose promised size the file cannot hold, before allocating it."""
        if expected > _MAX_DECODED_BYTES:
            raise DataError(f"{self.path}: header promises {what} ({expected:,} bytes), more "
                            f"than the {_MAX_DECODED_BYTES:,} any EMNIST file needs")
        known = expected % 2**32 if self.gzipped else expected
        if self.decoded_size != known:
            holds = "decodes to" if self.gzipped else "holds"
            raise DataError(f"{self.path}: header promises {what} ({expected:,} bytes) but the "
                            f"file {holds} {self.decoded_size:,} bytes (truncated or padded)")

    def close(self) -> None:
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read_idx_images(path: str | os.PathLike) -> np.ndarray:
    """Images from an IDX3 file (gzipped or not), transposed back to upright, uint8 (N, 28, 28).

    The file is decoded in chunks straight into the result, so a file costs its own size in
    memory once, not twice.

    Raises:
        DataError: wrong magic number, wrong image size, or a file shorter/longer than its header.
    """
    path = Path(path)
    with _Reader(path) as reader:
        header = reader.read(16)
        if len(header) < 16:
            raise DataError(f"{path}: too short for an IDX image header ({len(header)} bytes)")
        magic, count, rows, cols = struct.unpack(">IIII", header)
        if magic != IMAGE_MAGIC:
            raise DataError(f"{path}: magic number {magic}, expected {IMAGE_MAGIC} for IDX images")
        if (rows, cols) != (SIDE, SIDE):
            raise DataError(f"{path}: images are {rows}x{cols}, expected {SIDE}x{SIDE}")
        reader.check_size(16 + count * rows * cols, f"{count:,} images")
        images = np.empty((count, SIDE, SIDE), dtype=np.uint8)
        chunk = np.empty((min(count, _CHUNK_IMAGES), SIDE, SIDE), dtype=np.uint8)
        for start in range(0, count, _CHUNK_IMAGES):
            n = min(_CHUNK_IMAGES, count - start)
            got = reader.read_into(memoryview(chunk[:n].reshape(-1)))
            if got != n * SIDE * SIDE:
                raise DataError(f"{path}: ends after {start + got // (SIDE * SIDE):,} of the "
                                f"{count:,} images its header promises (truncated)")
            # NIST stores every EMNIST image transposed; turn it upright once, here.
            images[start:start + n] = chunk[:n].transpose(0, 2, 1)
        if not reader.at_end():
            raise DataError(f"{path}: holds more than the {count:,} images its header promises")
    return images


def read_idx_labels(path: str | os.PathLike) -> np.ndarray:
    """Labels from an IDX1 file (gzipped or not) as int32.

    Raises:
        DataError: wrong magic number or a file shorter/longer than its header.
    """
    path = Path(path)
    with _Reader(path) as reader:
        header = reader.read(8)
        if len(header) < 8:
            raise DataError(f"{path}: too short for an IDX label header ({len(header)} bytes)")
        magic, count = struct.unpack(">II", header)
        if magic != LABEL_MAGIC:
            raise DataError(f"{path}: magic number {magic}, expected {LABEL_MAGIC} for IDX labels")
        reader.check_size(8 + count, f"{count:,} labels")
        labels = reader.read(count)
        if len(labels) != count:
            raise DataError(f"{path}: ends after {len(labels):,} of the {count:,} labels its "
                            "header promises (truncated)")
        if not reader.at_end():
            raise DataError(f"{path}: holds more than the {count:,} labels its header promises")
    return np.frombuffer(labels, dtype=np.uint8).astype(np.int32)


def read_mapping(path: str | os.PathLike) -> dict[int, str]:
    """NIST's mapping file: `label ascii` per line, or `label upper lower` (Letters).

    Returns:
        {raw label: display characters}, e.g. {10: "A"} or, for Letters, {1: "Aa"}.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("ascii")
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text mapping file") from None
    mapping: dict[int, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        try:
            values = [int(v) for v in fields]
            if len(values) < 2:
                raise ValueError
            chars = "".join(dict.fromkeys(chr(v) for v in values[1:]))
        except (ValueError, OverflowError):
            raise DataError(f"{path}: line {number} is not 'label ascii-code': {line.strip()!r}") from None
        mapping[values[0]] = chars
    if not mapping:
        raise DataError(f"{path}: the mapping file is empty")
    return mapping


# --------------------------------------------------------------------------- files on disk


def find_files(split: str, folder: str | os.PathLike) -> dict[str, Path]:
    """The five NIST release files of `split` in `folder` (or in one of its subfolders).

    Returns:
        {"train_images", "train_labels", "test_images", "test_labels", "mapping": path}.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"data folder {folder} does not exist")
    stems = {
        "train_images": f"emnist-{split}-train-images-idx3-ubyte",
        "train_labels": f"emnist-{split}-train-labels-idx1-ubyte",
        "test_images": f"emnist-{split}-test-images-idx3-ubyte",
        "test_labels": f"emnist-{split}-test-labels-idx1-ubyte",
    }
    candidates = [folder] + sorted(p for p in folder.iterdir() if p.is_dir())
    for place in candidates:
        if not any((place / (stem + ext)).exists() for stem in stems.values() for ext in ("", ".gz")):
            continue
        files: dict[str, Path] = {}
        for key, stem in stems.items():
            found = [place / (stem + ext) for ext in (".gz", "") if (place / (stem + ext)).is_file()]
            if not found:
                raise DataError(f"{place / (stem + '.gz')} is missing (neither gzipped nor plain)")
            files[key] = found[0]
        mapping = place / f"emnist-{split}-mapping.txt"
        if not mapping.is_file():
            raise DataError(f"{mapping} is missing")
        files["mapping"] = mapping
        return files
    raise DataError(f"no emnist-{split}-* IDX files in {folder}; expected NIST's release files "
                    f"such as emnist-{split}-train-images-idx3-ubyte.gz")


def _read_folder(split: str, folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                     np.ndarray, tuple[str, ...], str]:
    files = find_files(split, folder)
    mapping = read_mapping(files["mapping"])
    raw_labels = sorted(mapping)
    classes = tuple(mapping[k] for k in raw_labels)
    index = {raw: i for i, raw in enumerate(raw_labels)}
    arrays = {}
    for part in ("train", "test"):
        images = read_idx_images(files[f"{part}_images"])
        labels = read_idx_labels(files[f"{part}_labels"])
        if len(images) != len(labels):
            raise DataError(f"{files[f'{part}_labels']}: {len(labels):,} labels for "
                            f"{len(images):,} images in {files[f'{part}_images'].name}")
        unknown = np.setdiff1d(np.unique(labels), raw_labels)
        if unknown.size:
            raise DataError(f"{files[f'{part}_labels']}: label {int(unknown[0])} is not in "
                            f"{files['mapping'].name} (which covers {raw_labels[0]}..{raw_labels[-1]})")
        lookup = np.full(max(raw_labels) + 1, -1, dtype=np.int32)
        for raw, i in index.items():
            lookup[raw] = i
        arrays[part] = (images, lookup[labels])
    return (*arrays["train"], *arrays["test"], classes, folder_source(folder))


def folder_source(folder: Path) -> str:
    """Where local files came from, as results record it: the folder's name, not this machine's
    path to it (the command records the path as given, and sha256 the contents)."""
    return f"local NIST files in a folder named {Path(folder).resolve().name}"


# --------------------------------------------------------------------------- tensorflow-datasets

_DOWNLOAD_MB = 560  # gzip.zip holds every split: 561,753,746 bytes in TFDS's url_checksums/emnist.txt
_CONNECT_TIMEOUT_S = 5


def tfds_data_dir() -> str | None:
    """Where tensorflow-datasets keeps EMNIST: $EMNIST_BENCH_TFDS_DIR, else None (TFDS's own
    default, $TFDS_DATA_DIR or ~/tensorflow_datasets)."""
    return os.environ.get("EMNIST_BENCH_TFDS_DIR") or None


def _tfds_builder(split: str):
    """TFDS's `emnist/<split>` builder, in tfds_data_dir() (constructing it writes nothing).

    Raises:
        DataError: tensorflow-datasets, or the TensorFlow it reads and writes with, is not
            installed (the suite itself trains without TensorFlow on JAX and PyTorch).
    """
    try:
        import tensorflow  # noqa: F401  (TFDS imports it lazily, deep inside a download)
    except ModuleNotFoundError as error:
        if error.name != "tensorflow":
            raise
        raise DataError(f"EMNIST '{split}' is not available: no local files were given, and "
                        "tensorflow-datasets needs TensorFlow, which is not installed; point "
                        f"--data-dir (or EMNIST_BENCH_DATA) at a folder holding NIST's "
                        f"emnist-{split}-* IDX files, or install tensorflow") from None
    try:
        import tensorflow_datasets as tfds
    except ModuleNotFoundError as error:
        if error.name != "tensorflow_datasets":
            raise  # installed but broken: a missing dependency, not a missing data source
        raise DataError(f"EMNIST '{split}' is not available: no local files were given and "
                        f"tensorflow-datasets is not installed; point --data-dir (or "
                        f"EMNIST_BENCH_DATA) at a folder holding NIST's emnist-{split}-* IDX "
                        "files") from None
    return tfds.builder(f"emnist/{split}", data_dir=tfds_data_dir())


def _tfds_cache_key(builder) -> str:
    """Our decode cache's key for TFDS's copy: TFDS's version, its folder, the URL it fetched."""
    import tensorflow_datasets as tfds

    stamp = ["tfds", tfds.__version__, str(builder.data_dir), type(builder).URL]
    return "tfds-" + hashlib.sha256("\n".join(stamp).encode()).hexdigest()[:20]


def _check_reachable(url: str) -> None:
    """Raise OSError unless the host of `url` (or the proxy requests would use) takes a TCP
    connection within a few seconds; TFDS itself retries for minutes before giving up."""
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(host):
        proxy_parts = urllib.parse.urlsplit(proxy if "//" in proxy else f"http://{proxy}")
        host, port = proxy_parts.hostname, proxy_parts.port or 80
    socket.create_connection((host, port), timeout=_CONNECT_TIMEOUT_S).close()


def _paths_under(root: Path) -> set[Path]:
    """`root`, and everything in the folders TFDS writes for this dataset (downloads/, emnist/)."""
    tops = [root / "downloads", root / "emnist"]
    return {p for p in (root, *tops) if p.exists()} | {p for top in tops for p in top.rglob("*")}


def _remove_new(root: Path, before: set[Path]) -> None:
    """Delete what appeared under `root` since `before` (a failed TFDS attempt's debris)."""
    new = _paths_under(root) - before
    for path in sorted(p for p in new if p.parent not in new):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _tfds_download(builder, split: str) -> None:
    """Download and prepare `emnist/<split>` with TFDS's own downloader, failing fast offline.

    Raises:
        DataError: one line naming the URL, when the host cannot be reached or the download or
            preparation fails; whatever the attempt wrote is removed again.
    """
    url = type(builder).URL
    hint = (f"point --data-dir (or EMNIST_BENCH_DATA) at a folder holding NIST's "
            f"emnist-{split}-* IDX files instead")
    try:
        _check_reachable(url)
    except OSError as error:
        raise DataError(f"downloading EMNIST failed: tensorflow-datasets fetches it from {url}, "
                        f"which cannot be reached ({error.strerror or error}); {hint}") from None
    print(f"downloading EMNIST via tensorflow-datasets from {url} (about {_DOWNLOAD_MB} MB, "
          "once) ...", file=sys.stderr, flush=True)
    root = Path(builder.data_dir_root)
    before = _paths_under(root)
    try:
        builder.download_and_prepare()
    except BaseException as error:
        _remove_new(root, before)
        if isinstance(error, ImportError) or not isinstance(error, Exception):
            raise  # a missing dependency or Ctrl-C: not a download problem
        reason = (str(error).splitlines() or [""])[0][:200]
        raise DataError(f"downloading EMNIST failed: tensorflow-datasets could not download and "
                        f"prepare emnist/{split} from {url} ({type(error).__name__}: {reason}); "
                        f"{hint}") from None


def _tfds_positions(n: int, part: str) -> np.ndarray:
    """Where TFDS stored NIST's examples 0..n-1 of a split: sorted by the hash of their key (the
    index in NIST's file) salted with the split's name, an order TFDS keeps within a version."""
    from tensorflow_datasets.core import hashing

    hasher = hashing.Hasher(part)
    stored = sorted(range(n), key=hasher.hash_key)  # NIST index of TFDS's example j
    return np.argsort(stored)


def _read_tfds(split: str, builder) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                             tuple[str, ...], str]:
    """TFDS's `emnist/<split>` (downloaded and prepared on first use) as our reader gives NIST's
    files: in NIST's order (TFDS shuffles when it prepares), upright, labels 0..C-1."""
    import tensorflow_datasets as tfds

    absl = logging.getLogger("absl")
    level = absl.level
    absl.setLevel(logging.ERROR)  # not prepared yet is no warning: "Variant folder ... has no ..."
    try:
        prepared = builder.is_prepared()
    finally:
        absl.setLevel(level)
    if not prepared:
        _tfds_download(builder, split)
    parts = tfds.as_numpy(builder.as_dataset(
        split=["train", "test"], batch_size=-1, as_supervised=True,
        read_config=tfds.ReadConfig(interleave_cycle_length=1)))  # shard after shard
    offset = 1 if split == "letters" else 0  # TFDS keeps NIST's 1..26 letter labels
    out = []
    for part, (images, labels) in zip(("train", "test"), parts, strict=True):
        order = (slice(None) if builder.info.disable_shuffling else
                 _tfds_positions(len(labels), part))
        images = np.asarray(images, dtype=np.uint8).reshape(-1, SIDE, SIDE)[order]
        out += [np.ascontiguousarray(images.transpose(0, 2, 1)),
                np.asarray(labels, dtype=np.int32)[order] - offset]
    return (*out, CLASS_CHARS[split], f"tensorflow-datasets emnist/{split}")


# --------------------------------------------------------------------------- cache


def default_cache_dir() -> Path:
    return Path(os.environ.get("EMNIST_BENCH_CACHE") or Path.home() / ".cache" / "emnist-bench")


def _cache_key(split: str, folder: Path) -> str | None:
    try:
        files = find_files(split, folder)
    except DataError:
        return None
    stamp = [split] + [f"{p.resolve()}:{p.stat().st_size}:{p.stat().st_mtime_ns}"
                       for p in files.values()]
    return hashlib.sha256("\n".join(stamp).encode()).hexdigest()[:20]


_ARRAYS = ("x_train", "y_train", "x_test", "y_test")


def _cache_load(entry: Path):
    try:
        meta = json.loads((entry / "meta.json").read_text())
        arrays = [np.load(entry / f"{name}.npy") for name in _ARRAYS]
    except (OSError, ValueError):
        return None
    return (*arrays, tuple(meta["classes"]), meta["source"], meta["sha256"])


def _cache_store(entry: Path, arrays, classes, source, sha) -> None:
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=entry.parent, prefix=".tmp-"))
        for name, array in zip(_ARRAYS, arrays, strict=True):
            np.save(tmp / f"{name}.npy", array)
        (tmp / "meta.json").write_text(json.dumps(
            {"classes": list(classes), "source": source, "sha256": sha}))
        try:
            tmp.rename(entry)
        except OSError:  # another process filled the entry first
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError:
        pass  # a cache that cannot be written only costs time


# --------------------------------------------------------------------------- loading


def checksum(*arrays: np.ndarray) -> str:
    """SHA-256 over the decoded arrays (shape, dtype and bytes), independent of compression."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(f"{array.shape}{array.dtype}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def stratified_subset(labels: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """Sorted indices of a class-stratified random subset of `limit` samples."""
    if limit >= len(labels):
        return np.arange(len(labels))
    from sklearn.model_selection import train_test_split

    indices = np.arange(len(labels))
    counts = np.bincount(labels)
    stratify = labels if counts[counts > 0].min() >= 2 and limit >= (counts > 0).sum() else None
    subset, _ = train_test_split(indices, train_size=limit, random_state=seed, stratify=stratify)
    return np.sort(subset)


def load(split: str = "balanced", data_dir: str | os.PathLike | None = None, *,
         limit: int | None = None, seed: int = 0,
         cache_dir: str | os.PathLike | None = None) -> Dataset:
    """Load an EMNIST split.

    Args:
        split: one of SPLITS.
        data_dir: folder of NIST release files; defaults to $EMNIST_BENCH_DATA, then TFDS
            (kept in $EMNIST_BENCH_TFDS_DIR, else TFDS's default folder).
        limit: keep a class-stratified subset of this many training images (test stays whole).
        seed: seed of that subset.
        cache_dir: where decoded arrays are cached (default $EMNIST_BENCH_CACHE or
            ~/.cache/emnist-bench).

    Returns:
        A Dataset whose fingerprint describes exactly what was loaded.
    """
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    if limit is not None and limit < 1:
        raise DataError(f"--limit must be a positive number of images, got {limit}")
    folder = data_dir or os.environ.get("EMNIST_BENCH_DATA") or None
    if folder is not None:
        key = _cache_key(split, Path(folder))
    else:
        builder = _tfds_builder(split)
        key = _tfds_cache_key(builder)
    entry = None if key is None else Path(cache_dir or default_cache_dir()) / f"{split}-{key}"
    cached = _cache_load(entry) if entry is not None and entry.is_dir() else None
    if cached is not None:
        x_train, y_train, x_test, y_test, classes, source, sha = cached
        if folder is not None:
            source = folder_source(Path(folder))  # caches written before kept the whole path
    else:
        if folder is not None:
            x_train, y_train, x_test, y_test, classes, source = _read_folder(split, Path(folder))
        else:
            x_train, y_train, x_test, y_test, classes, source = _read_tfds(split, builder)
        sha = checksum(x_train, y_train, x_test, y_test)
        if entry is not None:
            _cache_store(entry, (x_train, y_train, x_test, y_test), classes, source, sha)

    official = OFFICIAL_SIZES[split]
    n_train, n_test = len(y_train), len(y_test)
    matches = (n_train, n_test) == official
    if limit is not None and limit < n_train:
        keep = stratified_subset(y_train, limit, seed)
        x_train, y_train = x_train[keep], y_train[keep]
    note = (f"official EMNIST {split} sizes" if matches else
            f"NOT the official EMNIST {split} split: {n_train:,}/{n_test:,} images instead of "
            f"{official[0]:,}/{official[1]:,}")
    if limit is not None and limit < n_train:
        note += f"; training subset of {len(y_train):,} (--limit)"
    fingerprint = {
        "split": split, "source": source, "n_train": n_train, "n_test": n_test,
        "n_classes": len(classes), "sha256": sha, "official_sizes": list(official),
        "matches_official_sizes": matches, "limit": limit, "n_train_used": int(len(y_train)),
        "note": note,
    }
    return Dataset(x_train, y_train, x_test, y_test, tuple(classes), split, source, fingerprint)
