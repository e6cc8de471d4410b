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
from pathlib import Path

BACKENDS = ("tensorflow", "jax", "torch")
STUDY_ARCHES = ("mlp", "cnn", "resnet")


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
    """Options shared by every command that reads EMNIST and trains."""
    parser.add_argument("--data-dir", help="folder with NIST's emnist-<split>-* files "
                        "(default: $EMNIST_BENCH_DATA, else tensorflow-datasets)")
    parser.add_argument("--split", default="balanced", help="EMNIST split (default: balanced)")
    parser.add_argument("--limit", type=positive, help="class-stratified subset of N training images")
    parser.add_argument("--seed", type=non_negative, default=0, help="seed (default: 0)")
    parser.add_argument("--results-dir", help="default: $EMNIST_BENCH_RESULTS, else ./results")
    parser.add_argument("--backend", choices=BACKENDS,
                        help="Keras backend (default: $KERAS_BACKEND, else tensorflow)")
    from benchmark.precision import CHOICES as PRECISION_CHOICES  # no Keras import

    parser.add_argument("--precision", default="auto", choices=PRECISION_CHOICES,
                        help="auto (default) = mixed_bfloat16 for the CNN and ResNet on tensorflow "
                        "and torch where the CPU has native bf16, else float32; the run records "
                        "which")
    parser.add_argument("--quiet", action="store_true",
                        help="print no progress (bars, epochs, folds, ETAs); results and exit "
                        "codes are the same")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="emnist-bench", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    cv = commands.add_parser("cv", help="k-fold cross-validation, then one test evaluation")
    cv.add_argument("--arch", help="mlp, cnn or resnet")
    cv.add_argument("--preset", default="baseline", help="baseline or best (default: baseline)")
    cv.add_argument("--folds", type=int, default=5, help="number of folds, at least 2 (default: 5)")
    cv.add_argument("--epochs", type=int, help="epochs per fold (default: the preset's)")
    cv.add_argument("--batch-size", type=int, help="default: the preset's (128)")
    cv.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override one setting, e.g. learning_rate=0.01 or kernels=5,5,3")
    cv.add_argument("--run-id", help="results folder name; rerun with the same id to resume "
                    "(default: derived from the configuration, so a rerun resumes)")
    cv.add_argument("--from-trial", metavar="TUNE_RUN[:TRIAL]",
                    help="train a search's trial (default: its best) instead of a preset")
    cv.add_argument("--save-model", action="store_true",
                    help="keep the final model as results/<run-id>/model.keras")
    add_data_options(cv)

    tune = commands.add_parser("tune", help="KerasTuner search over the study's space, "
                               "each trial scored by K-fold CV")
    tune.add_argument("--arch", required=True, help="mlp, cnn or resnet")
    tune.add_argument("--tuner", default="random", choices=("random", "bayesian", "hyperband", "grid"))
    tune.add_argument("--max-trials", type=int, default=10, help="default: 10 (not hyperband)")
    tune.add_argument("--folds", type=int, default=5, help="folds per trial; 1 = one holdout split")
    tune.add_argument("--epochs", type=int, help="epochs per fold (hyperband: the maximum); "
                      "default: the baseline's")
    tune.add_argument("--batch-size", type=int, help="default: 128")
    tune.add_argument("--run-id", help="default: derived from the search, so a rerun resumes")
    tune.add_argument("--max-memory-growth", type=int, default=1024, metavar="MB",
                      help="restart the process between trials (resuming) once it has grown by "
                      "this much; TensorFlow keeps every traced graph (default: 1024, 0 = never)")
    tune.add_argument("--save-model", action="store_true",
                      help="after the search, train the best trial once on the whole training "
                      "split, test it and keep it as results/<run-id>/model.keras")
    add_data_options(tune)

    ablate = commands.add_parser("ablate", help="the study's one-factor-at-a-time ablation "
                                 "with paired tests")
    ablate.add_argument("--arch", required=True, help="mlp, cnn or resnet")
    ablate.add_argument("--factors", help="comma-separated hyperparameters (default: all)")
    ablate.add_argument("--folds", type=int, default=5, help="default: 5")
    ablate.add_argument("--epochs", type=int, help="default: the baseline's")
    ablate.add_argument("--batch-size", type=int, help="default: 128")
    ablate.add_argument("--run-id", help="default: derived from the baseline, so a rerun resumes")
    add_data_options(ablate)

    study = commands.add_parser("study", help="a whole study of an architecture: both presets "
                                "through CV + test, then the ablation of every factor")
    study.add_argument("--arch", required=True, help="mlp, cnn, resnet or all")
    study.add_argument("--factors", help="comma-separated factors to ablate (default: all)")
    study.add_argument("--folds", type=int, default=5, help="default: 5")
    study.add_argument("--epochs", type=int, help="epochs per fold (default: each preset's)")
    study.add_argument("--batch-size", type=int, help="default: 128")
    add_data_options(study)

    report = commands.add_parser("report", help="write results/REPORT.md and its figures "
                                 "from the stored results")
    report.add_argument("--results-dir", help="default: $EMNIST_BENCH_RESULTS, else ./results")

    space = commands.add_parser("spaces", help="print an architecture's search space")
    space.add_argument("--arch", required=True, help="mlp, cnn or resnet")
    space.add_argument("--json", action="store_true", help="name -> list of values, as JSON")
    space.add_argument("--backend", choices=BACKENDS)

    from benchmark import bench, loading, profile

    bench.add_parser(commands)
    loading.add_parser(commands)
    profile.add_parser(commands)

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


def progress(args):
    """Where progress goes: stderr, or nowhere with --quiet. Call after choose_backend."""
    from benchmark.training import STDERR

    return None if getattr(args, "quiet", False) else STDERR


def say(args, text: str) -> None:
    """One progress line (silenced by --quiet)."""
    stream = progress(args)
    if stream is not None:
        print(text, file=stream, flush=True)


def parse_sets(pairs: list[str]) -> dict[str, str]:
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set expects KEY=VALUE, got {pair!r}")
        overrides[key.strip()] = value
    return overrides


def check_budget(args, min_folds: int) -> None:
    """Refuse bad fold, epoch, batch and split values before anything is loaded."""
    if args.folds < min_folds:
        what = "cross-validation" if min_folds > 1 else "a search (1 = one holdout split)"
        raise UsageError(f"--folds must be at least {min_folds} for {what}, got {args.folds}")
    if args.epochs is not None and args.epochs < 1:
        raise UsageError(f"--epochs must be at least 1, got {args.epochs}")
    if args.batch_size is not None and args.batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, got {args.batch_size}")
    from benchmark import data as data_module

    if args.split not in data_module.SPLITS:
        raise UsageError(f"unknown split {args.split!r}; choose from {', '.join(data_module.SPLITS)}")


def resolve_config(args, arch: str, preset: str, sets: list[str]):
    """The RunConfig of the command line (arch, preset, --set, budget, data options)."""
    from benchmark import precision, presets

    try:
        chosen = precision.resolve(getattr(args, "precision", "auto"), arch,
                                   os.environ["KERAS_BACKEND"])
        return presets.resolve(arch, preset, parse_sets(sets), folds=max(args.folds, 2),
                               seed=args.seed, split=args.split, limit=args.limit,
                               epochs=args.epochs, batch_size=args.batch_size,
                               precision=chosen)
    except ValueError as error:
        raise UsageError(str(error)) from None


def load_data(args, config):
    """The dataset, and the config with num_classes set from it (e.g. 26 for letters).
    The results folder is checked first: an unwritable folder or a full disk stops here."""
    from benchmark import data as data_module
    from benchmark import results

    results.check_writable(args.results_dir or results.default_root())

    data = data_module.load(args.split, args.data_dir, limit=args.limit, seed=args.seed)
    from benchmark import cv

    try:
        cv.check_folds(data.y_train, args.folds)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if config.model.get("num_classes") != len(data.classes):
        config = dataclasses.replace(config, model={**config.model, "num_classes": len(data.classes)})
    return data, config


def open_store(args, run_id: str, digest: str, payload: dict):
    """The results folder of a run: created with `payload` as config.json, or reopened to resume
    when it was made by the same configuration (else a usage error)."""
    from benchmark import results

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
        store.write_config({**payload, "digest": digest})
    return store


def results_root(args) -> Path:
    from benchmark import results

    return Path(args.results_dir or results.default_root())


def describe_data(fp: dict) -> str:
    return (f"{fp['split']} ({fp['n_train_used']:,} train / {fp['n_test']:,} test; "
            f"{fp['note']})")


def cmd_cv(args) -> int:
    check_budget(args, min_folds=2)
    if args.arch is None and args.from_trial is None:
        raise UsageError("the following arguments are required: --arch (or --from-trial)")
    backend = choose_backend(args.backend)
    if args.from_trial:
        config = config_from_trial(args)
    else:
        config = resolve_config(args, args.arch, args.preset, args.set)
    data, config = load_data(args, config)
    row = run_cv(args, config, data, backend, args.run_id)
    cv_std = row["cv_std"] if row["cv_std"] == row["cv_std"] else 0.0
    print(f"{row['run_id']}: cv {row['cv_mean']:.4f} ± {cv_std:.4f} over {row['folds_done']} "
          f"folds, test {row['test_accuracy']:.4f}  ({results_root(args) / row['run_id']})")
    return 0


def run_cv(args, config, data, backend: str, run_id: str | None) -> dict:
    """Cross-validate and test one configuration in its run folder (resuming); runs.csv's row."""
    from benchmark import cv, provenance

    digest = config.digest(data.fingerprint["sha256"])
    preset = config.preset.replace(":", "-").replace("/", "-")
    run_id = run_id or f"{config.arch}-{preset}-{backend}-{digest}"
    store = open_store(args, run_id, digest, {
        "kind": "cv", "run": config.to_dict(), "data": data.fingerprint,
        **provenance.stamp(backend), "final_epochs_rule": cv.FINAL_EPOCHS_RULE})
    say(args, f"emnist-bench cv: {config.arch}/{config.preset} on {backend}, "
        f"{describe_data(data.fingerprint)}, {config.folds} folds x "
        f"{config.training.epochs} epochs -> {store.dir}")
    if store.test_done():
        say(args, f"run {run_id} is already complete")
    return cv.run(config, data, store, progress(args),
                  save_model=getattr(args, "save_model", False))


def config_from_trial(args):
    """--from-trial TUNE_RUN[:TRIAL]: a search's trial (default: its best) as a cv run."""
    import json

    from benchmark import presets, results
    from tuners import search, spaces

    run_id, _, trial_id = args.from_trial.partition(":")
    try:
        results.check_run_id(run_id)
    except ValueError as error:
        raise UsageError(str(error)) from None
    run_dir = results_root(args) / run_id
    try:
        tune = json.loads((run_dir / "config.json").read_text())
    except (OSError, ValueError):
        raise UsageError(f"--from-trial: {run_dir} is not a search folder "
                         "(run `emnist-bench tune` first)") from None
    arch = tune.get("arch")
    if tune.get("kind") != "tune" or (args.arch and args.arch != arch):
        raise UsageError(f"--from-trial: {run_id} is not a search over {args.arch or 'any arch'}")
    try:
        if trial_id in ("", "best"):
            row = search.best_trial(run_dir)
        else:
            trials = search.pd.read_csv(run_dir / "trials.csv", dtype={"trial_id": str})
            match = trials[trials["trial_id"] == trial_id]
            if match.empty:
                raise ValueError(f"no trial {trial_id!r} in {run_dir / 'trials.csv'}")
            row = match.iloc[0]
        config = resolve_config(args, arch, "baseline", args.set)
        settings = spaces.settings(arch, search.trial_values(row, arch))
        chosen = {k: v for k, v in settings.items() if k not in parse_sets(args.set)}
        return presets.apply(config, chosen, label=f"trial:{run_id}/{row['trial_id']}")
    except (ValueError, OSError) as error:
        raise UsageError(f"--from-trial: {error}") from None


def cmd_spaces(args) -> int:
    import json

    choose_backend(args.backend)
    from tuners import spaces

    try:
        space = spaces.describe(args.arch)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if args.json:
        print(json.dumps({name: info["values"] for name, info in space.items()}))
        return 0
    print(f"{args.arch} search space (defaults = the study's baseline):")
    for name, info in space.items():
        when = ""
        if info["active_when"]:
            (parent, values), = info["active_when"].items()
            when = f"  (only when {parent} is {' or '.join(map(str, values))})"
        print(f"  {name:<18} {info['values']}  default {info['default']}{when}")
    return 0


def cmd_tune(args) -> int:
    check_budget(args, min_folds=1)
    if args.max_trials < 1:
        raise UsageError(f"--max-trials must be at least 1, got {args.max_trials}")
    backend = choose_backend(args.backend)
    config = resolve_config(args, args.arch, "baseline", [])
    config = dataclasses.replace(config, folds=args.folds)
    from benchmark import provenance
    from tuners import search, spaces
    from tuners.hypermodels import EmnistHyperModel

    data, config = load_data(args, config)
    digest = config.digest(data.fingerprint["sha256"] + args.tuner)
    run_id = args.run_id or f"tune-{config.arch}-{args.tuner}-{backend}-{digest}"
    store = open_store(args, run_id, digest, {
        "kind": "tune", "arch": config.arch, "tuner": args.tuner, "folds": args.folds,
        "objective": "mean validation accuracy over the folds", "base": config.to_dict(),
        "space": spaces.describe(config.arch), "data": data.fingerprint,
        **provenance.stamp(backend)})
    oracle = search.make_oracle(args.tuner, max_trials=args.max_trials,
                                epochs=config.training.epochs, seed=args.seed)
    tuner = search.CVTuner(oracle, EmnistHyperModel(config), data, args.folds, store.dir,
                           stream=progress(args), max_growth_mb=args.max_memory_growth or None)
    role = os.environ.get("KERASTUNER_TUNER_ID", "")
    say(args, f"emnist-bench tune: {config.arch} with {args.tuner} on {backend}, "
        f"{describe_data(data.fingerprint)}, up to {args.max_trials} trials x "
        f"{args.folds} fold(s) x {config.training.epochs} epochs"
        f"{f' as {role}' if role else ''} -> {store.dir}")
    try:
        trials = search.search(tuner)
    except search.MemoryBudgetReached as reason:
        # Everything done is on disk: start again in a fresh process, which resumes the search.
        say(args, f"emnist-bench tune: {reason}; restarting the process to release it")
        sys.stdout.flush()
        if args.in_process:  # called as a function (tests): carry on here, without a budget
            args.max_memory_growth = 0
            return cmd_tune(args)
        os.execv(sys.executable, [sys.executable, "-m", "benchmark.cli", *sys.argv[1:]])
    print(f"{run_id}: {search.summary_line(trials)}  ({store.dir / 'trials.csv'})")
    if args.save_model:
        try:
            final = search.final_model(tuner)
        except ValueError as error:
            raise UsageError(f"--save-model: {error}") from None
        print(f"{run_id}: best trial {final['trial_id']} trained on all "
              f"{final['n_train']:,} training images for {final['final_epochs']} epochs, test "
              f"{final['accuracy']:.4f}  ({store.dir / final['model']})")
    return 0


def cmd_ablate(args) -> int:
    check_budget(args, min_folds=2)
    backend = choose_backend(args.backend)
    config = resolve_config(args, args.arch, "baseline", [])
    factors = [f.strip() for f in args.factors.split(",") if f.strip()] if args.factors else None
    check_factors(config, factors)
    data, config = load_data(args, config)
    run_id, table = run_ablation(args, config, data, backend, factors, args.run_id)
    def number(value, spec):
        return "-" if value is None or value != value else format(value, spec)

    for row in table.to_dict("records"):
        if row["status"] == "failed":
            print(f"{row['factor']:<18} {str(row['value']):<12} failed: {row['reason']}")
            continue
        extra = "" if row["baseline"] else (f"  delta {number(row['delta'], '+.4f')}"
                                            f"  p {number(row['p_value'], '.3f')}")
        print(f"{row['factor']:<18} {str(row['value']):<12} cv "
              f"{number(row['val_accuracy_mean'], '.4f')}{extra}  "
              f"test {number(row['test_accuracy'], '.4f')}")
    print(f"{run_id}: {len(table)} arms  ({results_root(args) / run_id / 'ablations.csv'})")
    return 0


def check_factors(config, factors: list[str] | None) -> None:
    """Refuse a factor outside the architecture's space before any data is loaded."""
    from tuners import ablation

    try:
        ablation.plan(config, factors)
    except ValueError as error:
        raise UsageError(str(error)) from None


def run_ablation(args, config, data, backend: str, factors: list[str] | None,
                 run_id: str | None):
    """The one-factor-at-a-time ablation in its run folder (resuming); (run id, ablations.csv)."""
    from benchmark import provenance
    from tuners import ablation

    arms = ablation.plan(config, factors)
    digest = config.digest(data.fingerprint["sha256"])
    run_id = run_id or f"ablate-{config.arch}-{backend}-{digest}"
    stamp = provenance.stamp(backend)
    store = open_store(args, run_id, digest, {
        "kind": "ablate", "arch": config.arch, "base": config.to_dict(), "data": data.fingerprint,
        "test": ablation.TEST_NAME, **stamp})
    say(args, f"emnist-bench ablate: {config.arch} on {backend}, "
        f"{describe_data(data.fingerprint)}, {len(arms)} arms x {config.folds} folds x "
        f"{config.training.epochs} epochs -> {store.dir}")
    return run_id, ablation.run_arms(arms, data, store.dir, stamp, progress(args))


def cmd_study(args) -> int:
    check_budget(args, min_folds=2)
    arches = list(STUDY_ARCHES) if args.arch == "all" else [args.arch]
    if args.arch != "all" and args.arch not in STUDY_ARCHES:
        raise UsageError(f"unknown architecture {args.arch!r}; choose from "
                         f"{', '.join(STUDY_ARCHES)} or all")
    backend = choose_backend(args.backend)
    factors = [f.strip() for f in args.factors.split(",") if f.strip()] if args.factors else None
    bases = {arch: resolve_config(args, arch, "baseline", []) for arch in arches}
    for base in bases.values():
        check_factors(base, factors)
    for arch in arches:
        study_one(args, bases[arch], backend, factors)
    return 0


def study_one(args, base, backend: str, factors: list[str] | None) -> None:
    """One architecture's study: its baseline and best presets, then its ablation."""
    from benchmark import provenance, study

    data, base = load_data(args, base)
    best = resolve_config_for(args, base, "best")
    same = best.model == base.model and best.training == base.training
    digest = base.digest(data.fingerprint["sha256"] + "study" + ",".join(factors or []))
    store = open_store(args, f"study-{base.arch}-{backend}-{digest}", digest, {
        "kind": "study", "arch": base.arch, "factors": factors or "all",
        "budget": {"folds": base.folds, "epochs": args.epochs, "limit": args.limit,
                   "batch_size": args.batch_size, "seed": args.seed, "split": args.split},
        "base": base.to_dict(), "data": data.fingerprint, **provenance.stamp(backend)})
    say(args, f"emnist-bench study: {base.arch} on {backend}, {describe_data(data.fingerprint)} "
        f"-> {store.dir}")

    def best_part():
        if same:  # the study's ResNet: baseline and best are one configuration, trained once
            return {**study.cv_part(run_cv(args, base, data, backend, None)),
                    "reason": "same model and training as the baseline (shared run)"}
        return study.cv_part(run_cv(args, best, data, backend, None))

    table = study.run(store, {
        "baseline": lambda: study.cv_part(run_cv(args, base, data, backend, None)),
        "best": best_part,
        "ablation": lambda: study.ablation_part(
            *run_ablation(args, base, data, backend, factors, None)),
    }, progress(args))
    print(study.summary_text(store.run_id, table))


def resolve_config_for(args, base, preset: str):
    """`preset` at the same budget and data as `base` (its num_classes too)."""
    config = resolve_config(args, base.arch, preset, [])
    return dataclasses.replace(config, model={**config.model,
                                              "num_classes": base.model["num_classes"]})


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


def cmd_report(args) -> int:
    from benchmark import report

    root = results_root(args)
    if not root.is_dir():
        raise UsageError(f"no results folder at {root}; run `emnist-bench study --arch mlp` "
                         "first, or pass --results-dir")
    path = report.build(root)
    print(f"wrote {path} and {root / report.FIGURES}/")
    return 0


def cmd_bench_data(args) -> int:
    from benchmark import loading

    return loading.run(args)


def cmd_profile(args) -> int:
    from benchmark import profile

    return profile.run(args)


def cmd_bench(args) -> int:
    from benchmark import bench

    return bench.run(args)


COMMANDS = {"cv": cmd_cv, "tune": cmd_tune, "ablate": cmd_ablate, "study": cmd_study, "report": cmd_report,
            "spaces": cmd_spaces, "bench": cmd_bench, "bench-data": cmd_bench_data, "models": cmd_models,
            "profile": cmd_profile}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
        args.in_process = argv is not None  # main(["cv", ...]) from Python, not the console
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
        if isinstance(error, RuntimeError) and "consecutive failures" in str(error):
            # KerasTuner gives up after too many failed trials; their reasons are in trials.csv
            print("emnist-bench: error: KerasTuner stopped the search after repeated failed "
                  "trials; see the reason column of trials.csv", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
