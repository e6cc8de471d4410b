"""`emnist-bench bench-data`: how fast the data reaches the model, with no model at all.

    emnist-bench bench-data --split bymerge --data-dir ../shared/data/emnist-bymerge-holdout

Three figures, printed (and with --json as one JSON object):

- decode: the first load of the NIST files (gunzip, parse, transpose, write the cache), with
  a fresh temporary cache so nothing is reused;
- cached load: a second load of the same files from that cache (best and median of repeats);
- pipeline: one shuffled epoch of the training split through the same Keras data adapter
  `model.fit` uses on this backend (tf.data on TensorFlow, drawn in graph as fit draws it;
  NumPy batches on JAX; a DataLoader on PyTorch), batch 128, images per second. Compared
  with the fastest training throughput stored in results/bench.csv for this backend, when
  there is one.

With --augment, the pipeline figure is measured for each augmentation pipeline this backend
can run instead (benchmark/augmentation.py: Keras's layers in tf.data, and the NumPy warp in a
PyDataset), each through the same Keras data adapter: what chose the faster one per backend.

The adapter comes from `keras.src.trainers.data_adapters` (Keras's internal module, the one
`fit` itself calls): there is no public API for "fit's input pipeline without a model".
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmark.backends import BACKENDS

BATCH = 128


def add_parser(commands) -> None:
    parser = commands.add_parser("bench-data", help="data loading and input-pipeline speed, "
                                 "no model")
    parser.add_argument("--data-dir", help="folder with NIST's emnist-<split>-* files "
                        "(default: $EMNIST_BENCH_DATA)")
    parser.add_argument("--split", default="balanced", help="EMNIST split (default: balanced)")
    parser.add_argument("--repeats", type=int, default=5, help="cached loads timed (default: 5)")
    parser.add_argument("--batch-size", type=int, default=BATCH, help="default: 128")
    parser.add_argument("--results-dir", help="where bench.csv is read from "
                        "(default: $EMNIST_BENCH_RESULTS, else ./results)")
    parser.add_argument("--backend", choices=BACKENDS)
    parser.add_argument("--augment", action="store_true", help="time the augmented training "
                        "batches of each augmentation pipeline instead of plain ones")
    parser.add_argument("--epochs", type=int, default=0, help="on TensorFlow, also draw N "
                        "epochs as fit draws them through Keras's own pipeline and the suite's "
                        "(benchmark/tf_input.py), timing each epoch's first batch")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def pipeline_iterator(x, y, batch_size: int | None, backend: str):
    """The batches `fit` would draw on this backend, from Keras's own data adapter (`x` arrays,
    or a dataset of batches with y and batch_size None)."""
    from keras.src.trainers import data_adapters

    adapter = data_adapters.get_data_adapter(x, y, batch_size=batch_size, shuffle=y is not None)
    if backend == "tensorflow":
        return adapter.get_tf_dataset()
    if backend == "torch":
        return adapter.get_torch_dataloader()
    return adapter.get_jax_iterator()


def time_pipeline(x, y, batch_size: int | None, backend: str) -> tuple[float, int]:
    """Seconds for one shuffled epoch through the adapter, and the images it yielded.

    On TensorFlow the batches are drawn inside a tf.function, as fit's compiled train function
    draws them (`next(iterator)` in graph); a Python loop over the dataset would add an eager
    tensor per batch that training never makes. JAX and PyTorch batches are drawn in Python,
    as their trainers draw them."""
    iterator = pipeline_iterator(x, y, batch_size, backend)
    if backend == "tensorflow":
        import tensorflow as tf

        @tf.function
        def count(dataset):
            seen = tf.constant(0, tf.int64)
            for batch in dataset:
                seen += tf.shape(batch[0], out_type=tf.int64)[0]
            return seen

        count.get_concrete_function(iterator)  # trace before the clock starts
        start = time.perf_counter()
        seen = int(count(iterator))
        return time.perf_counter() - start, seen
    start = time.perf_counter()
    seen = 0
    for batch in iterator:
        seen += int(batch[0].shape[0])
    return time.perf_counter() - start, seen


def time_augmentation(x, y, batch_size: int, backend: str, say) -> dict[str, float]:
    """Images per second of one augmented epoch through each pipeline this backend can run
    (after a warm-up epoch on a slice), through fit's data adapter."""
    from benchmark import augmentation
    from benchmark.config import TrainConfig

    cfg = TrainConfig(augment=True, batch_size=batch_size)
    rates = {}
    for name in augmentation.PIPELINES:
        if name == "tf.data" and not augmentation.tensorflow_installed():
            say("  augmentation tf.data: TensorFlow is not installed")
            continue
        make = augmentation.tf_batches if name == "tf.data" else augmentation.AugmentedBatches
        time_pipeline(make(cfg, x[:4096], y[:4096], 0), None, None, backend)
        seconds, seen = time_pipeline(make(cfg, x, y, 0), None, None, backend)
        rates[name] = seen / seconds
        say(f"  augmentation {name}: {rates[name]:,.0f} images/s ({seen:,} images in "
            f"{seconds:.2f} s, batch {batch_size}, Keras's {backend} adapter)")
    say(f"  runs on {backend} use {augmentation_used(backend)}")
    return rates


def epoch_iterator(x, y, batch_size: int, pipeline: str):
    """The iterator `fit` draws from on TensorFlow (Keras's TFEpochIterator) for one of the two
    training pipelines: Keras's own from the arrays, or the suite's (tf_input)."""
    import tensorflow as tf
    from keras.src.backend.tensorflow.trainer import TFEpochIterator

    from benchmark import tf_input

    strategy = tf.distribute.get_strategy()
    if pipeline == "keras":
        return TFEpochIterator(x=x, y=y, batch_size=batch_size, shuffle=True,
                               distribute_strategy=strategy)
    return TFEpochIterator(x=tf_input.training_batches(x, y, batch_size, seed=0),
                           steps_per_epoch=tf_input.steps(len(x), batch_size),
                           distribute_strategy=strategy)


def time_epochs(x, y, batch_size: int, epochs: int, say) -> dict[str, dict]:
    """For each TensorFlow training pipeline, seconds to each epoch's first batch and to its
    end, drawing every batch as fit does (`next` on the epoch's iterator), no model."""
    from benchmark import tf_input

    out = {}
    for name, label in (("keras", tf_input.BEFORE), ("suite", tf_input.PIPELINE)):
        iterator = epoch_iterator(x, y, batch_size, name)
        first, whole = [], []
        for _ in range(epochs):
            start = time.perf_counter()
            for step, (_, _, batches) in enumerate(iterator):
                next(batches)
                if step == 0:
                    first.append(time.perf_counter() - start)
            whole.append(time.perf_counter() - start)
        del iterator
        out[name] = {"pipeline": label, "first_batch_seconds": first, "epoch_seconds": whole}
        say(f"  {name} ({label}): first batch of each epoch "
            + " ".join(f"{s:.2f}" for s in first) + f" s; epochs {statistics.median(whole):.2f} s"
            f" median, {max(whole):.2f} s slowest, {sum(whole):.1f} s in all")
    return out


def augmentation_used(backend: str) -> str:
    from benchmark import augmentation

    return augmentation.pipeline(backend)


def fastest_training(root: Path, backend: str, batch_size: int) -> dict | None:
    """The highest images/s among bench.csv's latest measurements for this backend and batch
    size (older invocations, perhaps on another machine, are left out)."""
    path = root / "bench.csv"
    if not path.exists():
        return None
    import pandas as pd

    from benchmark import views

    bench = views.latest_bench(pd.read_csv(path))
    rows = bench[(bench["backend"] == backend) & (bench["batch_size"] == batch_size)]
    if rows.empty:
        return None
    best = rows.loc[rows["images_per_second"].idxmax()]
    return {"images_per_second": float(best["images_per_second"]), "arch": best["arch"],
            "precision": best["precision"], "bench_id": best["bench_id"]}


def run(args) -> int:
    from benchmark import data, results
    from benchmark.arguments import UsageError
    from benchmark.backends import choose_backend

    if args.repeats < 1 or args.batch_size < 1:
        raise UsageError("--repeats and --batch-size must be at least 1")
    if args.epochs < 0:
        raise UsageError(f"--epochs must be 0 or more, got {args.epochs}")
    if args.split not in data.SPLITS:
        raise UsageError(f"unknown split {args.split!r}; choose from {', '.join(data.SPLITS)}")
    backend = choose_backend(args.backend)
    say = (lambda text: None) if args.json else (lambda text: print(text, file=sys.stderr,
                                                                     flush=True))
    with tempfile.TemporaryDirectory(prefix="emnist-bench-cache-") as cache:
        say(f"bench-data: {args.split} from {args.data_dir or 'EMNIST_BENCH_DATA'}, "
            f"backend {backend}")
        start = time.perf_counter()
        dataset = data.load(args.split, args.data_dir, cache_dir=cache)
        decode = time.perf_counter() - start
        n_images = len(dataset.y_train) + len(dataset.y_test)
        say(f"  decode (first load, fresh cache): {decode:.2f} s for {n_images:,} images")
        loads = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            again = data.load(args.split, args.data_dir, cache_dir=cache)
            loads.append(time.perf_counter() - start)
            del again
        say(f"  cached load: best {min(loads):.3f} s, median {statistics.median(loads):.3f} s "
            f"({args.repeats} loads)")
    if args.augment:
        augmented = time_augmentation(dataset.x_train, dataset.y_train, args.batch_size,
                                      backend, say)
        rate, seen = max(augmented.values(), default=0.0), len(dataset.y_train)
    else:
        augmented = None
        time_pipeline(dataset.x_train[:4096], dataset.y_train[:4096], args.batch_size, backend)
        seconds, seen = time_pipeline(dataset.x_train, dataset.y_train, args.batch_size, backend)
        rate = seen / seconds
        say(f"  pipeline: {rate:,.0f} images/s ({seen:,} images in {seconds:.2f} s, batch "
            f"{args.batch_size}, shuffled, Keras's {backend} adapter"
            f"{', drawn in graph' if backend == 'tensorflow' else ''})")
    boundaries = None
    if args.epochs and backend == "tensorflow":
        say(f"  {args.epochs} epochs as fit draws them, batch {args.batch_size}:")
        boundaries = time_epochs(dataset.x_train, dataset.y_train, args.batch_size,
                                 args.epochs, say)
    elif args.epochs:
        say(f"  --epochs: {backend} does not train from tf.data; nothing to compare")
    root = Path(args.results_dir) if args.results_dir else results.default_root()
    training = fastest_training(root, backend, args.batch_size)
    ratio = rate / training["images_per_second"] if training else None
    if training:
        say(f"  fastest training on {backend} in bench.csv: "
            f"{training['images_per_second']:,.0f} images/s ({training['arch']}, "
            f"{training['precision']}): the pipeline is {ratio:.1f}x faster")
    report = {"split": args.split, "backend": backend, "n_train": len(dataset.y_train),
              "n_test": len(dataset.y_test), "decode_seconds": decode,
              "cached_load_seconds_best": min(loads),
              "cached_load_seconds_median": statistics.median(loads),
              "pipeline_images_per_second": rate, "pipeline_images": seen,
              "augmentation": augmented,
              "augmentation_used": augmentation_used(backend) if args.augment else None,
              "batch_size": args.batch_size, "epoch_boundaries": boundaries,
              "fastest_training": training, "pipeline_vs_training": ratio,
              "data": dataset.fingerprint.get("note")}
    if args.json:
        print(json.dumps(report))
    return 0
