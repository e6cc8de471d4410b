"""The suite's ResNet against its plain-PyTorch twin at equal steps, judged in inference mode.

Issue 28 saw the suite's ResNet validate at chance after 32 steps while a PyTorch twin did not.
Measured again (benchmark/torch_peer.py's ResNet, the same design): after 32 steps of the full
preset both sit far below their training accuracy in inference mode and vary from seed to seed
(eval accuracy 0.30 for the suite, 0.15 for the twin, one seed each; a `cv` fold 0.085), since
batch norm's running statistics trail weights that Adam still moves fast; at 60 steps of a
narrower copy both learn (3 seeds: 0.60, 0.59, 0.66 for the suite, 0.65, 0.48, 0.58 for the
twin). This test pins that: the same narrow design, the same steps, batches and evaluation in
inference mode, and the suite no worse than its twin beyond seed noise.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

from benchmark import data, models, results, training
from benchmark.config import TrainConfig
from tests.conftest import real_sample_dir

torch = pytest.importorskip("torch")

WIDTHS = (16, 32, 64)  # the preset's design (blocks, kernels, stem, shortcuts), a quarter wide
STEPS = 50
BATCH = 128
SEEDS = (0, 1)


def split():
    folder = real_sample_dir()
    if folder is None:
        pytest.skip("needs the real EMNIST Balanced sample (../shared/data or $EMNIST_BENCH_DATA)")
    dataset = data.load("balanced", folder)
    order = np.random.default_rng(0).permutation(len(dataset.y_train))
    train, held = order[:STEPS * BATCH], order[STEPS * BATCH:]
    return (dataset.x_train[train], dataset.y_train[train],
            dataset.x_train[held], dataset.y_train[held])


def twin_accuracy(x, y, x_val, y_val, seed: int) -> float:
    from benchmark import torch_peer

    torch.manual_seed(seed)
    model = torch_peer.ResNet(filters=WIDTHS)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for step in range(STEPS):
        batch = slice(step * BATCH, (step + 1) * BATCH)
        loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(x[batch])),
                                                 torch.from_numpy(y[batch]).long())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        return float((model(torch.from_numpy(x_val)).argmax(1).numpy() == y_val).mean())


# The decode cache the test session was started with (CI's: one for its three backend passes),
# read before conftest gives every test a private one; None (no sharing) when unset.
SHARED_CACHE = os.environ.get("EMNIST_BENCH_CACHE")


def twin_accuracies(x, y, x_val, y_val) -> list[float]:
    """The twin's accuracy for each seed. The twin is PyTorch whatever KERAS_BACKEND is, so CI's
    three backend passes would train it three times: the first to finish leaves its figures in
    SHARED_CACHE, keyed by everything they depend on (the images, the budget, torch's version
    and benchmark/torch_peer.py's source), and the others read them."""
    from benchmark import torch_peer

    if not SHARED_CACHE:
        return [twin_accuracy(x, y, x_val, y_val, seed) for seed in SEEDS]

    key = hashlib.sha256()
    for array in (x, y, x_val, y_val):
        key.update(np.ascontiguousarray(array).tobytes())
    key.update(json.dumps([WIDTHS, STEPS, BATCH, SEEDS, torch.__version__]).encode())
    key.update(Path(torch_peer.__file__).read_bytes())
    path = Path(SHARED_CACHE) / f"resnet-twin-{key.hexdigest()[:16]}.json"
    if path.exists():
        return json.loads(path.read_text())
    found = [twin_accuracy(x, y, x_val, y_val, seed) for seed in SEEDS]
    results.atomic_write(path, json.dumps(found))
    return found


def suite_accuracy(x, y, x_val, y_val, seed: int) -> float:
    training.fresh_state()
    training.set_seed(seed)
    model = models.build("resnet", filters=WIDTHS)  # the preset's init: PyTorch's
    training.compile_model(model, TrainConfig())  # Adam 1e-3, as the preset
    model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    probs = training.predict(model, x_val)  # inference mode: the running statistics
    return float((probs.argmax(1) == y_val).mean())


@pytest.mark.slow
@pytest.mark.real_data
def test_the_resnet_in_inference_mode_learns_as_its_pytorch_twin_does():
    x, y, x_val, y_val = split()
    suite = np.mean([suite_accuracy(x, y, x_val, y_val, seed) for seed in SEEDS])
    twin = np.mean(twin_accuracies(x, y, x_val, y_val))
    chance = 1 / 47
    assert twin > 5 * chance, f"the twin itself did not learn ({twin:.3f})"
    # Seed to seed, either model's inference accuracy at this budget moves by about 0.1.
    assert suite > twin - 0.12, f"suite {suite:.3f} vs PyTorch twin {twin:.3f}"
