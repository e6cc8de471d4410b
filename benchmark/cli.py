"""The `emnist-bench` command.

    emnist-bench cv --arch cnn --preset best --folds 5 --epochs 15
    KERAS_BACKEND=jax emnist-bench cv --arch mlp --preset baseline --data-dir DIR
    emnist-bench models

Bad input ends with one line on stderr and exit code 2 (arguments) or 1 (data, training),
before any training starts where it can be known then. Keras is imported only after the
backend is chosen: --backend wins over KERAS_BACKEND.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.util
import logging
import os
import sys
from datetime import datetime, timezone

BACKENDS = ("tensorflow", "jax", "torch")


class UsageError(Exception):
    """Bad command-line input: one line, exit code 2."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but an error is one line (no usage block) with exit code 2."""

    def error(self, message: str):
        raise UsageError(message)


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def add_data_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by every command that reads EMNIST."""
    parser.add_argument("--data-dir", help="folder with NIST's emnist-<split>-* files "
                        "(default: $EMNIST_BENCH_DATA, else tensorflow-datasets)")
    parser.add_argument("--split", default="balanced", help="EMNIST split (default: balanced)")
    parser.add_argument("--limit", type=positive, help="class-stratified subset of N training images")
    parser.add_argument("--seed", type=non_negative, default=0, help="seed (default: 0)")
    parser.add_argument("--results-dir", help="default: $EMNIST_BENCH_RESULTS, else ./results")
    parser.add_argument("--backend", choices=BACKENDS,
                        help="Keras backend (default: $KERAS_BACKEND, else tensorflow)")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="emnist-bench", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    cv = commands.add_parser("cv", help="k-fold cross-validation, then one test evaluation")
    cv.add_argument("--arch", required=True, help="mlp, cnn or resnet")
    cv.add_argument("--preset", default="baseline", help="baseline or best (default: baseline)")
    cv.add_argument("--folds", type=int, default=5, help="number of folds, at least 2 (default: 5)")
    cv.add_argument("--epochs", type=int, help="epochs per fold (default: the preset's)")
    cv.add_argument("--batch-size", type=int, help="default: the preset's (128)")
    cv.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override one setting, e.g. learning_rate=0.01 or kernels=5,5,3")
    cv.add_argument("--run-id", help="results folder name; rerun with the same id to resume "
                    "(default: derived from the configuration, so a rerun resumes)")
    add_data_options(cv)

    models = commands.add_parser("models", help="list architectures and presets")
    models.add_argument("--backend", choices=BACKENDS)
    models.add_argument("--keys", action="store_true",
                        help="list every KEY that --set accepts, with each preset's value")
    return parser


def choose_backend(name: str | None) -> str:
    """Set KERAS_BACKEND before Keras is imported; refuse a switch once it has been."""
    backend = name or os.environ.get("KERAS_BACKEND") or "tensorflow"
    if "keras" in sys.modules:
        import keras

        if keras.backend.backend() != backend:
            raise UsageError(f"Keras already runs on {keras.backend.backend()}; "
                             f"start a new process for {backend}")
    os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with native_stderr_silenced():
        # TensorFlow's C++ start-up lines ignore TF_CPP_MIN_LOG_LEVEL. Keras's data adapters and
        # tensorflow-datasets import TensorFlow on every backend sooner or later, so do it here.
        if importlib.util.find_spec("tensorflow") is not None:
            import tensorflow  # noqa: F401
        import keras  # noqa: F401
    # tf.function retracing notices between folds are expected (one new model per fold).
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    return backend


@contextlib.contextmanager
def native_stderr_silenced():
    """Send file descriptor 2 to /dev/null for the duration (Python exceptions still propagate)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def parse_sets(pairs: list[str]) -> dict[str, str]:
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set expects KEY=VALUE, got {pair!r}")
        overrides[key.strip()] = value
    return overrides


def cmd_cv(args) -> int:
    if args.folds < 2:
        raise UsageError(f"--folds must be at least 2 for cross-validation, got {args.folds}")
    if args.epochs is not None and args.epochs < 1:
        raise UsageError(f"--epochs must be at least 1, got {args.epochs}")
    if args.batch_size is not None and args.batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, got {args.batch_size}")
    from benchmark import data as data_module

    if args.split not in data_module.SPLITS:
        raise UsageError(f"unknown split {args.split!r}; choose from {', '.join(data_module.SPLITS)}")
    backend = choose_backend(args.backend)
    from benchmark import presets

    try:
        config = presets.resolve(args.arch, args.preset, parse_sets(args.set), folds=args.folds,
                                 seed=args.seed, split=args.split, limit=args.limit,
                                 epochs=args.epochs, batch_size=args.batch_size)
    except ValueError as error:
        raise UsageError(str(error)) from None

    from benchmark import cv, provenance, results

    data = data_module.load(args.split, args.data_dir, limit=args.limit, seed=args.seed)
    if config.model.get("num_classes") != len(data.classes):  # e.g. --split letters: 26 classes
        config = dataclasses.replace(config, model={**config.model, "num_classes": len(data.classes)})
    digest = config.digest(data.fingerprint["sha256"])
    run_id = args.run_id or f"{config.arch}-{config.preset}-{backend}-{digest}"
    try:
        store = results.RunStore(args.results_dir or results.default_root(), run_id)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if store.exists():
        stored = store.read_config().get("digest")
        if stored != digest:
            raise UsageError(f"run {run_id} already exists with another configuration "
                             f"({stored} vs {digest}); choose another --run-id")
    else:
        store.write_config({
            "run": config.to_dict(), "digest": digest, "data": data.fingerprint,
            "backend": backend, "versions": provenance.versions(),
            "code_version": provenance.code_version(), "machine": provenance.machine(),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": "emnist-bench " + " ".join(sys.argv[1:]),
            "final_epochs_rule": cv.FINAL_EPOCHS_RULE,
        })
    fp = data.fingerprint
    print(f"emnist-bench cv: {config.arch}/{config.preset} on {backend}, {fp['split']} "
          f"({fp['n_train_used']:,} train / {fp['n_test']:,} test; {fp['note']}), "
          f"{config.folds} folds x {config.training.epochs} epochs -> {store.dir}",
          file=sys.stderr, flush=True)
    if store.test_done():
        print(f"run {run_id} is already complete", file=sys.stderr)
    row = cv.run(config, data, store)
    cv_std = row["cv_std"] if row["cv_std"] == row["cv_std"] else 0.0
    print(f"{run_id}: cv {row['cv_mean']:.4f} ± {cv_std:.4f} over {row['folds_done']} folds, "
          f"test {row['test_accuracy']:.4f}  ({store.dir})")
    return 0


def cmd_models(args) -> int:
    choose_backend(args.backend)
    from benchmark import presets

    if args.keys:
        return print_keys()
    print(f"{'arch':<8}{'preset':<10}{'params':>12}  settings")
    for arch in sorted(presets.PRESETS):
        for name in presets.preset_names(arch):
            config = presets.resolve(arch, name)
            from benchmark import models

            params = models.build(arch, **config.model).count_params()
            spec = presets.PRESETS[arch][name]
            settings = {**spec["model"], **spec["training"]}
            text = ", ".join(f"{k}={v}" for k, v in settings.items()) or "builder defaults"
            print(f"{arch:<8}{name:<10}{params:>12,}  {text}")
    return 0


def print_keys() -> int:
    """Every --set key per architecture with its value in each preset."""
    from benchmark import presets

    for arch in sorted(presets.PRESETS):
        names = presets.preset_names(arch)
        configs = {name: presets.resolve(arch, name) for name in names}
        print(f"{arch}:  " + "  |  ".join(names))
        first = configs[names[0]]
        keys = list(first.model) + list(first.training.__dataclass_fields__)
        for key in keys:
            values = [c.model.get(key, getattr(c.training, key, None)) for c in configs.values()]
            print(f"  {key:<20}" + "  |  ".join(str(v) for v in values))
    return 0


COMMANDS = {"cv": cmd_cv, "models": cmd_models}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except UsageError as error:
        print(f"emnist-bench: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("emnist-bench: interrupted; run the same command again to resume "
              "(finished folds are kept)", file=sys.stderr)
        return 130
    except Exception as error:  # one line for the user; finished work is already on disk
        from benchmark.data import DataError
        from benchmark.training import TrainingDiverged

        if isinstance(error, (DataError, TrainingDiverged, OSError)):
            print(f"emnist-bench: error: {error}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
