"""The orchestration of the commands that train: cv, tune, ablate and study.

Each command is one function of the parsed arguments (benchmark.cli parses and calls it):
it checks the budget and the names (architecture, preset, `--set` keys, factors: read from
the registry and the builders' and spaces' source, so before any backend is imported), chooses
the backend, resolves the configuration, loads the data, opens the run's folder (resuming) and
hands over to benchmark.cv, tuners.search, benchmark.ablation or benchmark.study. Bad input raises
UsageError before anything trains, where it can be known then. Keras is imported only after the
backend is chosen.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

from benchmark import architectures
from benchmark.arguments import UsageError
from benchmark.backends import choose_backend


def start(args) -> str:
    """Choose the backend (this imports Keras), then count the progress lines' "elapsed" from
    the start of the command (benchmark.cli notes it), not from the import."""
    backend = choose_backend(args.backend)
    from benchmark import progress as clocks

    clocks.command_started(getattr(args, "started", None))
    return backend


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


def parse_factors(text: str | None) -> list[str] | None:
    """--factors "a,b" as a list (None: every factor)."""
    return [f.strip() for f in text.split(",") if f.strip()] if text else None


def check_names(arch: str, preset: str = "baseline", sets: list[str] = (),
                factors: list[str] | None = None) -> None:
    """Refuse an unknown architecture, preset, --set key or factor before a backend is chosen:
    overrides.check and spaces.check_factors import no Keras."""
    from benchmark import overrides
    from tuners import spaces

    try:
        overrides.check(arch, preset, parse_sets(sets))
        spaces.check_factors(arch, factors)
    except ValueError as error:
        raise UsageError(str(error)) from None


def check_budget(args, min_folds: int) -> None:
    """Refuse bad fold, epoch, batch and split values before anything is loaded."""
    if args.folds < min_folds:
        what = "cross-validation" if min_folds > 1 else "a search (1 = one holdout split)"
        raise UsageError(f"--folds must be at least {min_folds} for {what}, got {args.folds}")
    if getattr(args, "repeats", 1) < 1:
        raise UsageError(f"--repeats must be at least 1, got {args.repeats}")
    if getattr(args, "repeats", 1) > 1 and args.folds < 2:
        raise UsageError("--repeats needs K-fold cross-validation (--folds 2 or more), "
                         "not one holdout split")
    if args.epochs is not None and args.epochs < 1:
        raise UsageError(f"--epochs must be at least 1, got {args.epochs}")
    if args.batch_size is not None and args.batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, got {args.batch_size}")
    from benchmark import data as data_module

    if args.split not in data_module.SPLITS:
        raise UsageError(f"unknown split {args.split!r}; choose from {', '.join(data_module.SPLITS)}")


def folds_text(config) -> str:
    """"5 folds", or "5 folds x 3 repeats"."""
    return f"{config.folds} folds" + (f" x {config.repeats} repeats" if config.repeats > 1 else "")


def resolve_config(args, arch: str, preset: str, sets: list[str]):
    """The RunConfig of the command line (arch, preset, --set, budget, data options)."""
    from benchmark import overrides, precision

    try:
        chosen = precision.resolve(getattr(args, "precision", "auto"), arch,
                                   os.environ["KERAS_BACKEND"])
        return overrides.resolve(arch, preset, parse_sets(sets), folds=max(args.folds, 2),
                               repeats=getattr(args, "repeats", 1), seed=args.seed, split=args.split, limit=args.limit,
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


def open_store(args, run_id: str, record: dict):
    """The results folder of a run: created with `record` (results.config_record) as its
    config.json, or reopened to resume when it was made by the same configuration (the same
    digest; else a usage error)."""
    from benchmark import results

    try:
        store = results.RunStore(args.results_dir or results.default_root(), run_id)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if store.exists():
        config = store.read_config()
        stored = config.get("digest")
        if stored != record["digest"]:
            raise UsageError(f"run {run_id} already exists with another configuration "
                             f"({stored} vs {record['digest']}); choose another --run-id")
        warn_pipeline_changed(run_id, config, record)
    else:
        store.write_config(record)
    return store


def warn_pipeline_changed(run_id: str, stored: dict, record: dict) -> None:
    """One line on stderr when a TensorFlow run resumes under another input pipeline than the
    one it started with (benchmark/tf_input.py): its remaining folds are not bit-identical to
    what the first pipeline would have trained."""
    from benchmark import tf_input

    if stored.get("backend") != "tensorflow" or "input_pipeline" not in record:
        return
    before = stored.get("input_pipeline", tf_input.BEFORE)
    if before != record["input_pipeline"]:
        print(f"emnist-bench: note: {run_id} started with {before}; its remaining folds use "
              f"{record['input_pipeline']} (the images come in another order)",
              file=sys.stderr, flush=True)


def results_root(args) -> Path:
    from benchmark import results

    return Path(args.results_dir or results.default_root())


def describe_data(fp: dict) -> str:
    return (f"{fp['split']} ({fp['n_train_used']:,} train / {fp['n_test']:,} test; "
            f"{fp['note']})")


def cv(args) -> int:
    search = read_search(args) if args.from_trial else None
    data_options(args, search)
    check_budget(args, min_folds=2)
    if search is None:
        check_names(args.arch, args.preset, args.set)
    else:
        check_names(search["arch"], "baseline", args.set)
    backend = start(args)
    if search is not None:
        config = config_from_trial(args, search)
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
    from benchmark import cv, provenance, results

    digest = config.digest(data.fingerprint["sha256"])
    preset = config.preset.replace(":", "-").replace("/", "-")
    run_id = run_id or f"{config.arch}-{preset}-{backend}-{digest}"
    store = open_store(args, run_id, results.config_record(
        "cv", digest=digest, data=data.fingerprint, stamp=provenance.stamp(backend),
        run=config.to_dict(), final_epochs_rule=cv.FINAL_EPOCHS_RULE))
    say(args, f"emnist-bench cv: {config.arch}/{config.preset} on {backend}, "
        f"{describe_data(data.fingerprint)}, {folds_text(config)} x "
        f"{config.training.epochs} epochs -> {store.dir}")
    if store.test_done():
        say(args, f"run {run_id} is already complete")
    row = cv.run(config, data, store, progress(args),
                 save_model=getattr(args, "save_model", False))
    warn_collapsed(run_id, row)
    return row


def warn_collapsed(name: str, row: dict) -> None:
    """One line on stderr (--quiet too) for a run that learned nothing (results.collapsed)."""
    from benchmark import results

    line = results.collapse_warning(name, row)
    if line:
        print(line, file=sys.stderr, flush=True)


def read_search(args) -> dict:
    """The config.json of the search that --from-trial TUNE_RUN[:TRIAL] names (no Keras)."""
    import json

    from benchmark import results

    run_id = args.from_trial.partition(":")[0]
    try:
        results.check_run_id(run_id)
    except ValueError as error:
        raise UsageError(str(error)) from None
    run_dir = results_root(args) / run_id
    try:
        search = json.loads((run_dir / "config.json").read_text())
    except (OSError, ValueError):
        search = {}
    if search.get("kind") != "tune" or not search.get("arch"):
        raise UsageError(f"--from-trial: {run_dir} is not a search folder "
                         "(run `emnist-bench tune` first)")
    return search


def data_options(args, search: dict | None) -> None:
    """cv's --split, --limit, --seed and --data-dir: as given on the command line, else (with
    --from-trial) the search's, so its best trial is trained on the same data and folds, else
    the defaults (RunConfig's)."""
    from benchmark.config import RunConfig

    if search is not None:
        base = search.get("base") or {}
        for name in ("split", "limit", "seed"):
            if getattr(args, name) is None and base.get(name) is not None:
                setattr(args, name, base[name])
        if args.data_dir is None:
            args.data_dir = search_data_dir(search)
            if args.data_dir is not None and not Path(args.data_dir).is_dir():
                raise UsageError(f"--from-trial: the search read its data from {args.data_dir}, "
                                 "which is not a folder here; give --data-dir")
    for name in ("split", "seed"):
        if getattr(args, name) is None:
            setattr(args, name, getattr(RunConfig, name))


def search_data_dir(search: dict) -> str | None:
    """The --data-dir of the command that ran a search, as its config.json records the command
    (None: it read $EMNIST_BENCH_DATA or tensorflow-datasets)."""
    import shlex

    try:
        words = shlex.split(search.get("command") or "")
    except ValueError:
        return None
    for at, word in enumerate(words):
        if word == "--data-dir" and at + 1 < len(words):
            return words[at + 1]
        if word.startswith("--data-dir="):
            return word.partition("=")[2]
    return None


def config_from_trial(args, tune: dict):
    """--from-trial TUNE_RUN[:TRIAL]: a search's trial (default: its best) as a cv run;
    `tune` is the search's config.json (read_search)."""
    from benchmark import overrides
    from tuners import search, spaces

    run_id, _, trial_id = args.from_trial.partition(":")
    run_dir = results_root(args) / run_id
    arch = tune["arch"]
    try:
        if trial_id in ("", "best"):
            row = search.best_trial(run_dir)
        else:
            trials = search.pd.read_csv(run_dir / "trials.csv", dtype={"trial_id": str})
            match = trials[trials["trial_id"] == trial_id]
            if match.empty and trial_id.isdigit():  # "0" names trial "000" (KerasTuner pads)
                match = trials[trials["trial_id"].map(
                    lambda known: known.isdigit() and int(known) == int(trial_id))]
            if match.empty:
                raise ValueError(f"no trial {trial_id!r} in {run_dir / 'trials.csv'}")
            row = match.iloc[0]
        config = resolve_config(args, arch, "baseline", args.set)
        settings = spaces.settings(arch, search.trial_values(row, arch))
        chosen = {k: v for k, v in settings.items() if k not in parse_sets(args.set)}
        return overrides.apply(config, chosen, label=f"trial:{run_id}/{row['trial_id']}")
    except (ValueError, OSError) as error:
        raise UsageError(f"--from-trial: {error}") from None


def tune(args) -> int:
    check_budget(args, min_folds=1)
    if args.max_trials < 1:
        raise UsageError(f"--max-trials must be at least 1, got {args.max_trials}")
    if args.epoch_budget is not None and args.epoch_budget < 1:
        raise UsageError(f"--epoch-budget must be at least 1, got {args.epoch_budget}")
    check_names(args.arch)
    backend = start(args)
    config = resolve_config(args, args.arch, "baseline", [])
    config = dataclasses.replace(config, folds=args.folds)
    from benchmark import provenance, results
    from tuners import search, spaces
    from tuners.hypermodels import EmnistHyperModel

    data, config = load_data(args, config)
    digest = config.digest(data.fingerprint["sha256"] + args.tuner)
    run_id = args.run_id or f"tune-{config.arch}-{args.tuner}-{backend}-{digest}"
    store = open_store(args, run_id, results.config_record(
        "tune", digest=digest, data=data.fingerprint, stamp=provenance.stamp(backend),
        arch=config.arch, tuner=args.tuner, folds=args.folds, repeats=config.repeats,
        objective="mean validation accuracy over the folds", base=config.to_dict(),
        space=spaces.describe(config.arch), max_trials=args.max_trials,
        epoch_budget=args.epoch_budget))
    if store.read_config().get("epoch_budget") != args.epoch_budget:  # resumed with another
        store.write_config({**store.read_config(), "max_trials": args.max_trials,
                            "epoch_budget": args.epoch_budget})
    budget = args.epoch_budget is not None
    oracle = search.make_oracle(args.tuner, max_trials=args.max_trials,
                                epochs=config.training.epochs, seed=args.seed, until_budget=budget)
    tuner = search.CVTuner(oracle, EmnistHyperModel(config), data, args.folds, store.dir,
                           stream=progress(args), max_growth_mb=args.max_memory_growth or None,
                           epoch_budget=args.epoch_budget)
    role = os.environ.get("KERASTUNER_TUNER_ID", "")
    trials = "hyperband's brackets" if args.tuner == "hyperband" else f"up to {args.max_trials} trials"
    say(args, f"emnist-bench tune: {config.arch} with {args.tuner} on {backend}, "
        f"{describe_data(data.fingerprint)}, {trials} x {args.folds} fold(s) x up to "
        f"{config.training.epochs} epochs"
        f"{f', until the trials have trained {args.epoch_budget:,} epochs' if budget else ''}"
        f"{f' as {role}' if role else ''} -> {store.dir}")
    try:
        trials = search.search(tuner)
    except search.MemoryBudgetReached as reason:
        # Everything done is on disk: start again in a fresh process, which resumes the search.
        say(args, f"emnist-bench tune: {reason}; restarting the process to release it")
        sys.stdout.flush()
        if args.in_process:  # called as a function (tests): carry on here, without a budget
            args.max_memory_growth = 0
            return tune(args)
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


def ablate(args) -> int:
    check_budget(args, min_folds=2)
    factors = parse_factors(args.factors)
    check_names(args.arch, factors=factors)
    backend = start(args)
    config = resolve_config(args, args.arch, "baseline", [])
    check_factors(config, factors)
    reuse_from = reused_ablation(args)
    data, config = load_data(args, config)
    run_id, table = run_ablation(args, config, data, backend, factors, args.run_id,
                                 reuse_from=reuse_from)
    from benchmark import verdicts

    def number(value, spec):
        return "-" if value is None or value != value else format(value, spec)

    for row in table.to_dict("records"):
        if row["status"] == "failed":
            print(f"{row['factor']:<18} {str(row['value']):<12} failed: {row['reason']}")
            continue
        # The verdict (benchmark/verdicts.py) reads the p-values adjusted across the arms, as
        # the report and the app do.
        extra = "" if row["baseline"] else (
            f"  delta {number(row['delta'], '+.4f')}"
            f"  p_adjusted {number(row['p_adjusted'], '.3f')}"
            f"  {verdicts.text(row)}")
        print(f"{row['factor']:<18} {str(row['value']):<12} cv "
              f"{number(row['val_accuracy_mean'], '.4f')}{extra}  "
              f"test {number(row['test_accuracy'], '.4f')}")
    print(f"{run_id}: {len(table)} arms  ({results_root(args) / run_id / 'ablations.csv'})")
    return 0


def reused_ablation(args) -> Path | None:
    """The folder of the ablation `--reuse` names, or None; a usage error when there is none."""
    if not getattr(args, "reuse", None):
        return None
    folder = results_root(args) / args.reuse
    if not (folder / "arms").is_dir():
        raise UsageError(f"--reuse {args.reuse}: no ablation of that name under "
                         f"{results_root(args)}")
    return folder


def check_factors(config, factors: list[str] | None) -> None:
    """Refuse a factor outside the architecture's space before any data is loaded."""
    from benchmark import ablation

    try:
        ablation.plan(config, factors)
    except ValueError as error:
        raise UsageError(str(error)) from None


def run_ablation(args, config, data, backend: str, factors: list[str] | None,
                 run_id: str | None, finished: dict | None = None, *,
                 reuse_from: Path | None = None):
    """The one-factor-at-a-time ablation in its run folder (resuming); (run id, ablations.csv).
    `finished`: arm id -> a finished run folder to copy instead of training; `reuse_from`: an
    earlier ablation whose arms' folds and tests are copied where they match (ablation.run_arms)."""
    from benchmark import ablation, provenance, results, verdicts

    arms = ablation.plan(config, factors)
    rounds = config.repeats if getattr(args, "until_decided", False) else None
    rope = getattr(args, "rope", None) or verdicts.ROPE
    # An adaptive run's folds depend on its rope and cap: they name it (a fixed budget's rope
    # only changes the verdicts, which a rerun rewrites).
    adaptive = f"until-decided rope {rope}" if rounds else ""
    digest = config.digest(data.fingerprint["sha256"] + adaptive)
    run_id = run_id or f"ablate-{config.arch}-{backend}-{digest}"
    stamp = provenance.stamp(backend)
    store = open_store(args, run_id, results.config_record(
        "ablate", digest=digest, data=data.fingerprint, stamp=stamp, arch=config.arch,
        base=config.to_dict(), test=ablation.TEST_NAME, rope=rope, adaptive_rounds=rounds))
    if store.read_config().get("rope") != rope:  # a fixed budget judged again at another rope
        store.write_config({**store.read_config(), "rope": rope})
    budget = (f"up to {rounds} rounds of {config.folds} folds, each arm stopping once decided"
              if rounds else folds_text(config))
    say(args, f"emnist-bench ablate: {config.arch} on {backend}, "
        f"{describe_data(data.fingerprint)}, {len(arms)} arms x {budget} x "
        f"{config.training.epochs} epochs -> {store.dir}")
    return run_id, ablation.run_arms(arms, data, store.dir, stamp, progress(args), finished,
                                     rounds=rounds, rope=rope, reuse_from=reuse_from)


def study(args) -> int:
    check_budget(args, min_folds=2)
    arches = architectures.names() if args.arch == "all" else [args.arch]
    if args.arch != "all" and args.arch not in architectures.names():
        raise UsageError(f"unknown architecture {args.arch!r}; choose from "
                         f"{', '.join(architectures.names())} or all")
    factors = parse_factors(args.factors)
    for arch in arches:
        check_names(arch, factors=factors)
    backend = start(args)
    bases = {arch: resolve_config(args, arch, "baseline", []) for arch in arches}
    for base in bases.values():
        check_factors(base, factors)
    for arch in arches:
        study_one(args, bases[arch], backend, factors)
    return 0


def study_one(args, base, backend: str, factors: list[str] | None) -> None:
    """One architecture's study: its baseline and best presets, then its ablation."""
    from benchmark import provenance, results, study

    data, base = load_data(args, base)
    best = resolve_config_for(args, base, "best")
    same = best.model == base.model and best.training == base.training
    # --until-decided: --repeats caps the ablation's rounds; the presets' runs take one.
    single = (dataclasses.replace(base, repeats=1), dataclasses.replace(best, repeats=1)) \
        if args.until_decided else (base, best)
    adaptive = f"until-decided rope {args.rope}" if args.until_decided else ""
    digest = base.digest(data.fingerprint["sha256"] + "study" + ",".join(factors or [])
                         + adaptive)
    store = open_store(args, f"study-{base.arch}-{backend}-{digest}", results.config_record(
        "study", digest=digest, data=data.fingerprint, stamp=provenance.stamp(backend),
        arch=base.arch, factors=factors or "all",
        budget={"folds": base.folds, "repeats": base.repeats, "epochs": args.epochs,
                "limit": args.limit, "batch_size": args.batch_size, "seed": args.seed,
                "split": args.split},
        base=base.to_dict()))
    say(args, f"emnist-bench study: {base.arch} on {backend}, {describe_data(data.fingerprint)} "
        f"-> {store.dir}")

    finished = {}  # the baseline part's run, which the ablation's baseline arm is a copy of

    def baseline_part():
        row = run_cv(args, single[0], data, backend, None)
        finished["baseline"] = results_root(args) / row["run_id"]
        return study.cv_part(row)

    def best_part():
        if same:  # the study's ResNet: baseline and best are one configuration, trained once
            return {**study.cv_part(run_cv(args, single[0], data, backend, None)),
                    "reason": "same model and training as the baseline (shared run)"}
        return study.cv_part(run_cv(args, single[1], data, backend, None))

    table = study.run(store, {
        "baseline": baseline_part,
        "best": best_part,
        "ablation": lambda: study.ablation_part(
            *run_ablation(args, base, data, backend, factors, None, finished)),
    }, progress(args))
    print(study.summary_text(store.run_id, table))


def resolve_config_for(args, base, preset: str):
    """`preset` at the same budget and data as `base` (its num_classes too)."""
    config = resolve_config(args, base.arch, preset, [])
    return dataclasses.replace(config, model={**config.model,
                                              "num_classes": base.model["num_classes"]})
