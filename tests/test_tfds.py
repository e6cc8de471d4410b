"""The default data path: TFDS's real `emnist` builder, offline, through `data.load`.

NIST's gzip.zip is built from synthetic IDX files of the official `mnist` split sizes (TFDS's
builder hard-codes them) and served from 127.0.0.1; `EMNIST.URL` points there, so TFDS's own
downloader, extraction, parsing, TFRecord writing and `as_dataset` all run for real.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import importlib.util
import socket
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from benchmark import data
from tests.conftest import run_cli
from tests.synthetic import idx_images, idx_labels, make_images

pytestmark = [
    pytest.mark.any_backend,
    # Only a missing tensorflow-datasets skips; a missing dependency of it must fail.
    pytest.mark.skipif(importlib.util.find_spec("tensorflow_datasets") is None,
                       reason="tensorflow-datasets is not installed"),
]

SPLIT = "mnist"  # the smallest official split: 60,000 + 10,000 images


def _images(labels: np.ndarray, seed: int) -> np.ndarray:
    """Upright images: the class bar of make_images without its noise (TFDS PNG-encodes every
    image, noise makes that slower), plus the image's index in the bottom-left pixels, so that
    every image differs and a reordering or a transposed read shows."""
    images = make_images(labels, seed=seed)
    images[images < 255] = 0
    index = np.arange(len(labels))
    images[:, 27, :3] = np.stack([index >> 16, (index >> 8) & 255, index & 255], axis=1)
    return images


def _write_release(folder: Path) -> dict[str, bytes]:
    """NIST's four gzipped IDX files of SPLIT and its mapping in `folder`; returns the .gz files."""
    folder.mkdir(parents=True)
    files = {}
    for part, count, seed in zip(("train", "test"), data.OFFICIAL_SIZES[SPLIT], (0, 1), strict=True):
        labels = np.random.default_rng(seed).integers(0, 10, count)
        for kind, payload in (("images-idx3", idx_images(_images(labels, seed))),
                              ("labels-idx1", idx_labels(labels))):
            name = f"emnist-{SPLIT}-{part}-{kind}-ubyte.gz"
            files[name] = gzip.compress(payload, 1)
            (folder / name).write_bytes(files[name])
    (folder / f"emnist-{SPLIT}-mapping.txt").write_bytes(
        "".join(f"{i} {48 + i}\r\n" for i in range(10)).encode())
    return files


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def tfds_env(tmp_path, monkeypatch):
    """No local files, TFDS's data dir under tmp_path, loopback never proxied."""
    monkeypatch.delenv("EMNIST_BENCH_DATA", raising=False)
    monkeypatch.setenv("EMNIST_BENCH_TFDS_DIR", str(tmp_path / "tfds"))
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    return tmp_path / "tfds"


@pytest.fixture
def emnist_url(monkeypatch):
    """Points TFDS's EMNIST.URL at a URL, for this test only; returns the setter."""
    from tensorflow_datasets.image_classification import mnist

    def point_at(url: str) -> str:
        monkeypatch.setattr(mnist.EMNIST, "URL", url)
        return url

    return point_at


@pytest.fixture
def site(tmp_path):
    """A web server on 127.0.0.1: yields (its base URL, the folder it serves)."""
    folder = tmp_path / "site"
    folder.mkdir()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", folder
    server.shutdown()
    server.server_close()


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/cs_links/EMNIST/gzip.zip"


def _assert_same(a: data.Dataset, b: data.Dataset) -> None:
    for name in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.classes == b.classes
    assert a.fingerprint["sha256"] == b.fingerprint["sha256"]


@pytest.mark.slow
def test_tfds_download_equals_the_nist_files(tfds_env, emnist_url, site, tmp_path, monkeypatch,
                                             capsys):
    from tensorflow_datasets.image_classification import mnist

    base, served = site
    release = _write_release(tmp_path / "nist")
    with zipfile.ZipFile(served / "gzip.zip", "w") as archive:
        for name, payload in release.items():
            archive.writestr(f"gzip/{name}", payload)
    url = emnist_url(f"{base}/gzip.zip")

    ds = data.load(SPLIT)
    assert f"downloading EMNIST via tensorflow-datasets from {url}" in capsys.readouterr().err
    assert (tfds_env / "emnist" / SPLIT).is_dir()  # TFDS's prepared copy, in its folder
    assert ds.source == ds.fingerprint["source"] == f"tensorflow-datasets emnist/{SPLIT}"
    assert ds.fingerprint["matches_official_sizes"] is True
    # Array for array what our reader makes of the same files: TFDS's shuffle is undone,
    # images are upright, labels mapped.
    _assert_same(ds, data.load(SPLIT, data_dir=tmp_path / "nist"))
    np.testing.assert_array_equal(ds.x_test, _images(ds.y_test, seed=1))

    # A second load comes from our decode cache: TFDS neither downloads nor reads.
    def untouchable(*args, **kwargs):
        raise AssertionError("TFDS was asked for data the cache holds")

    with monkeypatch.context() as patch:
        patch.setattr(mnist.EMNIST, "download_and_prepare", untouchable)
        patch.setattr(mnist.EMNIST, "as_dataset", untouchable)
        _assert_same(data.load(SPLIT), ds)

    # Without that cache, TFDS's prepared copy is read: offline, no second download.
    monkeypatch.setenv("EMNIST_BENCH_CACHE", str(tmp_path / "empty-cache"))
    emnist_url(_closed_port_url())
    _assert_same(data.load(SPLIT), ds)
    assert "downloading" not in capsys.readouterr().err


def test_unreachable_host_fails_fast_in_one_line(tfds_env, emnist_url):
    url = emnist_url(_closed_port_url())
    start = time.perf_counter()
    with pytest.raises(data.DataError) as caught:
        data.load(SPLIT)
    assert time.perf_counter() - start < 10
    message = str(caught.value)
    assert "\n" not in message and "download" in message and url in message
    assert "--data-dir" in message and "EMNIST_BENCH_DATA" in message
    assert not tfds_env.exists()


def test_failed_download_leaves_no_debris(tfds_env, emnist_url, site, capsys):
    """The host answers but has no such file: what TFDS's attempt wrote is removed, what was
    there before stays, one line remains."""
    kept = [tfds_env / "downloads" / "other.zip", tfds_env / "mnist" / "3.0.1" / "x.tfrecord"]
    for path in kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    url = emnist_url(f"{site[0]}/cs_links/EMNIST/gzip.zip")
    with pytest.raises(data.DataError) as caught:
        data.load(SPLIT)
    message = str(caught.value)
    assert "\n" not in message and url in message and "--data-dir" in message
    assert sorted(p for p in tfds_env.rglob("*") if p.is_file()) == sorted(kept)
    assert not (tfds_env / "emnist").exists()


def test_cli_offline_is_one_line_and_writes_nothing(tfds_env, emnist_url, tmp_path, capsys):
    url = emnist_url(_closed_port_url())
    results = tmp_path / "results"
    code, out, err = run_cli(capsys, "cv", "--arch", "mlp", "--preset", "best", "--folds", "2",
                             "--epochs", "1", "--results-dir", str(results))
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("emnist-bench: error: "), err
    assert url in err and "--data-dir" in err
    assert "Traceback" not in err and "ModuleNotFoundError" not in err
    assert not results.exists() and not tfds_env.exists()
