"""The `bench` worker: one configuration measured in a process of its own.

benchmark.bench plans the configurations and runs each in a fresh
`python -m benchmark.bench_worker --worker SPEC` (benchmark.workers), because Keras picks its
backend once per process and so that each peak memory belongs to one configuration alone. A
worker builds the `best` preset, trains on random uint8 images with `model.fit` until it has
compiled and warmed up, then times a second fit: its first epoch is not timed, the following
ones are (epoch ends are where every backend has finished its queued work). Timed epochs are
as long as the warm-up's speed says the budget allows, at most one real epoch; timing stops at
the first epoch end after the budget is spent (at least two epochs), or after the planned
epochs with --steps. The peer is the same architecture as a plain eager PyTorch loop
(`benchmark/torch_peer.py`), timed the same way after its own warm-up. `profile` builds its
models and data here too (best_model, random_data).

FLOPs convention: `forward_flops` counts 2 x multiply-adds per image of the Dense and Conv2D
layers only (bias, BatchNorm, activations, pooling and the optimizer left out); a training step
is counted as 3 x forward (forward, plus gradients with respect to activations and to weights).
GFLOP/s = images per second x training FLOPs per image / 1e9.

Keras, PyTorch and the backend are imported where used, after the backend is chosen.
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import time
from pathlib import Path

from benchmark import data, workers

PRESET = "best"
NUM_CLASSES = len(data.CLASS_CHARS["balanced"])
EPOCH_IMAGES = data.OFFICIAL_SIZES["balanced"][0]  # EMNIST Balanced's training split: what
# epoch_seconds projects to, and the most images a worker's random data holds
TRAIN_FLOPS_PER_FORWARD = 3  # forward + backward (activation and weight gradients)
WARMUP_MIN_STEPS = 2  # steps after the compiling first one, also the speed estimate's sample
MIN_STEPS = 3  # timed steps at the least, whatever the time budget


def plan_steps(step_seconds: float, seconds: float, steps: int | None,
               batch_size: int) -> tuple[int, int]:
    """(timed epochs, steps per epoch) for a time budget or a step count.

    At least two equal epochs (their ends are the timing points), none longer than a real
    epoch of EMNIST Balanced, so the data stays at most one epoch's worth of images. With a
    time budget only the epoch length is used: timing_done decides when to stop.
    """
    total = steps or max(MIN_STEPS, math.ceil(seconds / max(step_seconds, 1e-6)))
    cap = max(1, EPOCH_IMAGES // batch_size)
    epochs = max(2, math.ceil(total / cap))
    return epochs, math.ceil(total / epochs)


def timing_done(epochs_done: int, elapsed: float, epochs: int, seconds: float,
                steps: int | None) -> bool:
    """Whether the timed epochs are enough: the planned ones with --steps; else at least two
    and the time budget spent, so a wrong estimate (the speed of a shared machine changes)
    gives a window neither much longer nor shorter than asked."""
    if steps:
        return epochs_done >= epochs
    return epochs_done >= 2 and elapsed >= seconds


def plan_text(epochs: int, per_epoch: int, seconds: float, steps: int | None) -> str:
    if steps:
        return f"{epochs} epochs of {per_epoch} steps"
    return f"epochs of {per_epoch} steps for {seconds:g} s (at least 2 epochs)"


def peak_memory_mb() -> float:
    """Peak resident memory of this process in MiB.

    VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss across the exec that started the
    worker, so it would report the parent's peak when that is larger.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def random_data(batch_size: int, seed: int):
    """One epoch's worth (at most EPOCH_IMAGES, whole batches) of uint8 images and labels."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = max(1, EPOCH_IMAGES // batch_size) * batch_size
    return (rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8),
            rng.integers(0, NUM_CLASSES, size=n).astype(np.int32))


def forward_flops(model) -> int:
    """Forward FLOPs per image of a Keras model: 2 x multiply-adds of its Dense and Conv2D layers.

    Dense: 2 x inputs x units; Conv2D: 2 x H_out x W_out x k x k x C_in x C_out; both are
    2 x (kernel size without its last axis) x (output elements per image). Bias, BatchNorm,
    activations and pooling are left out. Nested models are walked.
    """
    import keras

    total = 0
    for layer in model.layers:
        if hasattr(layer, "layers"):
            total += forward_flops(layer)
        elif isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)):
            total += 2 * math.prod(layer.kernel.shape[:-1]) * math.prod(layer.output.shape[1:])
    return total


def best_model(arch: str, precision: str, batch_size: int, seed: int):
    """The architecture's best preset, compiled, at this precision (Keras already imported):
    what every `cv` fold builds (cv.new_model)."""
    from benchmark import cv, overrides

    return cv.new_model(overrides.resolve(arch, PRESET, batch_size=batch_size,
                                        precision=precision), seed)


def measure_keras(arch: str, backend: str, precision: str, batch_size: int, seconds: float,
                  warmup_seconds: float, steps: int | None, seed: int) -> dict:
    """Time model.fit of an architecture's best preset in this process (see the module doc)."""
    from benchmark.backends import choose_backend

    # As in every emnist-bench run, TensorFlow is imported on every backend where it is
    # installed (keras.utils.set_random_seed imports it to seed it), so the peak memory of
    # jax and torch includes it too; choose_backend imports it with its C++ start-up silenced.
    choose_backend(backend)
    import keras

    model = best_model(arch, precision, batch_size, seed)
    compute_dtype = next(layer.compute_dtype for layer in model.layers
                         if isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)))
    x, y = random_data(batch_size, seed)

    class WarmUp(keras.callbacks.Callback):
        """Stop once the first (compiling) step and warm-up are done; keep the step ends."""

        def on_train_begin(self, logs=None):
            self.begin, self.ends = time.perf_counter(), []

        def on_train_batch_end(self, batch, logs=None):
            wait_for_device(backend, self.model)
            self.ends.append(time.perf_counter())
            if (len(self.ends) > WARMUP_MIN_STEPS
                    and self.ends[-1] - self.ends[0] >= warmup_seconds):
                self.model.stop_training = True

    class EpochEnds(keras.callbacks.Callback):
        """Epoch ends only: a batch-end hook would make JAX wait for every step."""

        def on_train_begin(self, logs=None):
            self.ends = []

        def on_epoch_end(self, epoch, logs=None):
            wait_for_device(backend, self.model)
            self.ends.append(time.perf_counter())
            if timing_done(len(self.ends) - 1, self.ends[-1] - self.ends[0], epochs,
                           seconds, steps):
                self.model.stop_training = True

    warm = WarmUp()
    model.fit(x, y, batch_size=batch_size, epochs=10**6, verbose=0, callbacks=[warm])
    estimate = statistics.median(b - a for a, b in zip(warm.ends, warm.ends[1:], strict=False))
    epochs, per_epoch = plan_steps(estimate, seconds, steps, batch_size)
    n = per_epoch * batch_size
    progress(f"warmed up in {warm.ends[-1] - warm.begin:.1f} s (first step "
             f"{warm.ends[0] - warm.begin:.1f} s); timing "
             f"{plan_text(epochs, per_epoch, seconds, steps)} after one untimed epoch")
    timer = EpochEnds()
    # One untimed epoch first: a new fit builds a new data iterator, so its first steps wait.
    model.fit(x[:n], y[:n], batch_size=batch_size, epochs=1 + (epochs if steps else 10**6),
              verbose=0, callbacks=[timer])
    threads = None
    if backend == "torch":
        import torch

        threads = torch.get_num_threads()
    return summarise(
        arch=arch, precision=precision, compute_dtype=compute_dtype,
        batch_size=batch_size, steps=(len(timer.ends) - 1) * per_epoch,
        timed_seconds=timer.ends[-1] - timer.ends[0],
        warmup_seconds=warm.ends[-1] - warm.begin, first_step_seconds=warm.ends[0] - warm.begin,
        params=model.count_params(), forward=forward_flops(model), threads=threads,
        peak_device_memory_mb=device_peak_mb(backend))


def wait_for_device(backend: str, model) -> None:
    """Block until the device has run the steps queued so far: a GPU step returns as soon as it
    is queued (JAX: block_until_ready on a weight the last step wrote; PyTorch: CUDA
    synchronize). On a CPU, and on TensorFlow, whose fit reads the step's logs back, it
    returns at once."""
    from benchmark import devices

    if not devices.on_gpu(backend):
        return
    if backend == "jax":
        import jax

        jax.block_until_ready([v.value for v in model.trainable_variables])
    elif backend == "torch":
        import torch

        torch.cuda.synchronize()


def device_peak_mb(backend: str) -> float | None:
    """The GPU memory this process held at its peak, in MiB (None on a CPU): PyTorch's
    max_memory_allocated, JAX's peak_bytes_in_use, TensorFlow's get_memory_info peak."""
    from benchmark import devices

    if not devices.on_gpu(backend):
        return None
    try:
        if backend == "torch":
            import torch

            return torch.cuda.max_memory_allocated() / 2**20
        if backend == "jax":
            import jax

            return jax.devices()[0].memory_stats()["peak_bytes_in_use"] / 2**20
        import tensorflow as tf

        return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
    except Exception:  # a figure the runtime does not keep is left empty, never fatal
        return None


def measure_peer(arch: str, precision: str, batch_size: int, seconds: float,
                 warmup_seconds: float, steps: int | None, seed: int) -> dict:
    """Time the plain PyTorch loop of torch_peer in this process, warm-up excluded."""
    import torch

    from benchmark import torch_peer

    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(seed)
    where = torch_peer.device()  # the GPU where there is one, as Keras on torch and JAX use
    model = torch_peer.build(arch).to(where)
    step = torch_peer.make_step(arch, model, precision)
    x, y = (torch.from_numpy(a).to(where) for a in random_data(batch_size, seed))
    y = y.long()
    generator = torch.Generator(where).manual_seed(seed)

    def epoch(steps_per_epoch: int):
        """Shuffled batches of one epoch, gathered as Keras's fit gathers them."""
        order = torch.randperm(steps_per_epoch * batch_size, generator=generator,
                               device=where)
        for i in range(steps_per_epoch):
            index = order[i * batch_size:(i + 1) * batch_size]
            yield x[index], y[index]

    begin, ends = time.perf_counter(), []
    while len(ends) <= WARMUP_MIN_STEPS or ends[-1] - ends[0] < warmup_seconds:
        for xb, yb in epoch(len(x) // batch_size):
            step(xb, yb)
            torch_peer.synchronize(where)  # warm-up steps are timed one by one
            ends.append(time.perf_counter())
            if len(ends) > WARMUP_MIN_STEPS and ends[-1] - ends[0] >= warmup_seconds:
                break
    estimate = statistics.median(b - a for a, b in zip(ends, ends[1:], strict=False))
    epochs, per_epoch = plan_steps(estimate, seconds, steps, batch_size)
    progress(f"warmed up in {ends[-1] - begin:.1f} s (first step {ends[0] - begin:.1f} s); "
             f"timing {plan_text(epochs, per_epoch, seconds, steps)}")
    start, done = time.perf_counter(), 0
    while not timing_done(done, time.perf_counter() - start, epochs, seconds, steps):
        for xb, yb in epoch(per_epoch):
            step(xb, yb)
        torch_peer.synchronize(where)  # an epoch ends when the device has run it
        done += 1
    timed = time.perf_counter() - start
    return summarise(
        arch=arch, precision=precision, compute_dtype=torch_peer.compute_dtype(precision),
        batch_size=batch_size, steps=done * per_epoch, timed_seconds=timed,
        warmup_seconds=ends[-1] - begin, first_step_seconds=ends[0] - begin,
        params=torch_peer.param_count(model), forward=torch_peer.forward_flops(model),
        threads=torch.get_num_threads(), peak_device_memory_mb=device_peak_mb("torch"))


def summarise(*, steps: int, timed_seconds: float, batch_size: int, forward: int,
              **fields) -> dict:
    """A worker's record: the throughput figures derived from steps and seconds."""
    images_per_second = steps * batch_size / timed_seconds
    train = TRAIN_FLOPS_PER_FORWARD * forward
    return {**fields, "batch_size": batch_size, "steps": steps, "timed_seconds": timed_seconds,
            "images_per_second": images_per_second,
            "ms_per_step": 1000 * timed_seconds / steps,
            "epoch_seconds": EPOCH_IMAGES / images_per_second,
            "forward_flops": forward, "train_flops": train,
            "gflops_per_second": images_per_second * train / 1e9}


def progress(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)


def measure(spec: dict) -> dict:
    """A worker's record: one configuration measured in this process, with the machine; its
    backend is the spec's (the parent names the peer's)."""
    budget = {k: spec[k] for k in ("precision", "batch_size", "seconds", "warmup_seconds",
                                   "steps", "seed")}
    if budget["precision"] == "auto":
        from benchmark import devices, precision

        device = devices.current(spec["backend"] if spec["kind"] == "keras" else "torch")
        budget["precision"] = precision.fastest(device)
    if spec["kind"] == "peer":
        record = measure_peer(spec["arch"], **budget)
    else:
        record = measure_keras(spec["arch"], spec["backend"], **budget)
    record.update(kind=spec["kind"], backend=spec["backend"], peak_memory_mb=peak_memory_mb())
    from benchmark import provenance

    record.update(machine=provenance.machine(), versions=provenance.versions(),
                  settings=provenance.settings_text())
    return record


if __name__ == "__main__":  # `python -m benchmark.bench_worker --worker SPEC`
    sys.exit(workers.serve(sys.argv[1:], measure, "bench"))
