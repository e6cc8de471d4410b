"""The `emnist-bench` command: it parses the arguments and calls one function per command.

    emnist-bench cv --arch cnn --preset best --folds 5 --epochs 15
    KERAS_BACKEND=jax emnist-bench cv --arch mlp --preset baseline --data-dir DIR
    emnist-bench models

Bad input ends with one line on stderr and exit code 2 (arguments) or 1 (data, training),
before any training starts where it can be known then; an unknown architecture, preset,
--set key or factor before any backend is imported. Keras is imported only after the
backend is chosen: --backend wins over KERAS_BACKEND. Nothing imports this module; the
commands live in benchmark.commands (cv, tune, ablate, study), benchmark.listings (models,
spaces), benchmark.report, benchmark.planner (plan), benchmark.bench, benchmark.bench_data,
benchmark.profiling and benchmark.archive (pack, unpack).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

from benchmark import architectures
from benchmark.arguments import OneLineParser, UsageError, fraction, non_negative, positive
from benchmark.backends import BACKENDS
from benchmark.config import RunConfig


def add_budget_options(parser: argparse.ArgumentParser, *, folds: str = "default: 5",
                       epochs: str, batch: str = "default: 128") -> None:
    """--folds, --repeats, --epochs and --batch-size: the budget of cv, tune, ablate, study."""
    parser.add_argument("--folds", type=int, default=5, help=folds)
    parser.add_argument("--repeats", type=int, default=1, help="repeat the K folds with new "
                        "shuffles R times (RepeatedStratifiedKFold): R x K scores per arm for "
                        "the paired tests (default: 1)")
    parser.add_argument("--epochs", type=int, help=epochs)
    parser.add_argument("--batch-size", type=int, help=batch)


def add_verdict_options(parser: argparse.ArgumentParser) -> None:
    """--rope and --until-decided: how ablate and study decide (benchmark/verdicts.py,
    benchmark/adaptive.py)."""
    from benchmark.verdicts import ROPE  # no Keras import

    parser.add_argument("--rope", type=fraction, default=ROPE,
                        help="region of practical equivalence, in accuracy: an arm whose whole "
                        "interval lies within +-ROPE of the baseline is 'equivalent' "
                        f"(default: {ROPE}, half a point)")
    parser.add_argument("--until-decided", action="store_true",
                        help="adaptive: run the K folds a repeat at a time, and stop each arm "
                        "as soon as its verdict is decided (better, worse, equivalent); "
                        "--repeats is then the cap (each look tests at 0.05 / repeats)")


def add_data_options(parser: argparse.ArgumentParser, *, search: bool = False) -> None:
    """Options shared by every command that reads EMNIST and trains. `search`: cv, whose
    --from-trial takes the data options not given from the search (commands.data_options)."""
    also = "; with --from-trial, the search's" if search else ""
    parser.add_argument("--data-dir", help="folder with NIST's emnist-<split>-* files "
                        f"(default: $EMNIST_BENCH_DATA, else tensorflow-datasets{also})")
    parser.add_argument("--split", default=None if search else RunConfig.split,
                        help=f"EMNIST split (default: {RunConfig.split}{also})")
    parser.add_argument("--limit", type=positive, help="class-stratified subset of N training "
                        f"images{f' (default: all{also})' if search else ''}")
    parser.add_argument("--seed", type=non_negative, default=None if search else RunConfig.seed,
                        help=f"seed (default: {RunConfig.seed}{also})")
    parser.add_argument("--results-dir", help="default: $EMNIST_BENCH_RESULTS, else ./results")
    parser.add_argument("--backend", choices=BACKENDS,
                        help="Keras backend (default: $KERAS_BACKEND, else tensorflow)")
    from benchmark.precision import CHOICES as PRECISION_CHOICES  # no Keras import

    parser.add_argument("--precision", default="auto", choices=PRECISION_CHOICES,
                        help="auto (default) = on a GPU what its tensor cores do fast "
                        "(mixed_bfloat16 from Ampere on, else mixed_float16); on a CPU "
                        "mixed_bfloat16 for the CNN and ResNet on tensorflow and torch where it "
                        "has native bf16, else float32; the run records which and the device")
    parser.add_argument("--quiet", action="store_true",
                        help="print no progress (bars, epochs, folds, ETAs); results, "
                        "warnings and exit codes are the same")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="emnist-bench", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    arches = ", ".join(architectures.names())

    cv = commands.add_parser("cv", help="k-fold cross-validation, then one test evaluation")
    what = cv.add_mutually_exclusive_group(required=True)  # usage: (--arch A | --from-trial T)
    what.add_argument("--arch", help=f"{arches} (required unless --from-trial is given)")
    what.add_argument("--from-trial", metavar="TUNE_RUN[:TRIAL]",
                      help="train a search's trial (default: its best) on the baseline instead "
                      "of a preset; the search's --data-dir, --split, --limit and --seed unless "
                      "given")
    cv.add_argument("--preset", default="baseline", help="baseline or best (default: baseline)")
    add_budget_options(cv, folds="number of folds, at least 2 (default: 5)",
                       epochs="epochs per fold (default: the preset's)",
                       batch="default: the preset's (128)")
    cv.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override one setting, e.g. learning_rate=0.01 or kernels=5,5,3")
    cv.add_argument("--run-id", help="results folder name; rerun with the same id to resume "
                    "(default: derived from the configuration, so a rerun resumes)")
    cv.add_argument("--save-model", action="store_true",
                    help="keep the final model as results/<run-id>/model.keras")
    add_data_options(cv, search=True)

    tune = commands.add_parser("tune", help="KerasTuner search over the study's space, "
                               "each trial scored by K-fold CV")
    tune.add_argument("--arch", required=True, help=arches)
    tune.add_argument("--tuner", default="random", choices=("random", "bayesian", "hyperband", "grid"))
    tune.add_argument("--max-trials", type=int, default=10, help="default: 10 (not hyperband)")
    tune.add_argument("--epoch-budget", type=int, metavar="EPOCHS",
                      help="start no trial once the trials have trained this many epochs in "
                      "all (summed over folds); hyperband repeats its brackets until then, so "
                      "oracles compare at equal training compute (default: no budget)")
    add_budget_options(tune, folds="folds per trial; 1 = one holdout split (default: 5)",
                       epochs="epochs per fold (hyperband: the maximum); default: the "
                       "baseline's")
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
    ablate.add_argument("--arch", required=True, help=arches)
    ablate.add_argument("--factors", help="comma-separated hyperparameters (default: all)")
    add_budget_options(ablate, epochs="epochs per fold (default: the baseline's)")
    ablate.add_argument("--run-id", help="default: derived from the baseline, so a rerun resumes")
    ablate.add_argument("--reuse", metavar="RUN_ID",
                        help="an earlier ablation under results/ whose arms ran the same "
                        "configuration with fewer or more --repeats: their folds and, at equal "
                        "final epochs, their tests are copied instead of trained again")
    add_verdict_options(ablate)
    add_data_options(ablate)

    study = commands.add_parser("study", help="a whole study of an architecture: both presets "
                                "through CV + test, then the ablation of every factor")
    study.add_argument("--arch", required=True, help=f"{arches} or all")
    study.add_argument("--factors", help="comma-separated factors to ablate (default: all)")
    add_budget_options(study, epochs="epochs per fold (default: each preset's)")
    add_verdict_options(study)
    add_data_options(study)

    report = commands.add_parser("report", help="write results/REPORT.md and its figures "
                                 "from the stored results")
    report.add_argument("--results-dir", help="default: $EMNIST_BENCH_RESULTS, else ./results")

    from benchmark.verdicts import ROPE  # no Keras import

    plan = commands.add_parser("plan", help="for every claim still open, the cheapest folds x "
                               "repeats that would decide it, and its cost here and on a GPU")
    plan.add_argument("--results-dir", help="default: $EMNIST_BENCH_RESULTS, else ./results")
    plan.add_argument("--rope", type=fraction, help="region of practical equivalence to plan "
                      f"for (default: each claim's own, as it was judged, else {ROPE})")

    space = commands.add_parser("spaces", help="print an architecture's search space")
    space.add_argument("--arch", required=True, help=arches)
    space.add_argument("--json", action="store_true", help="name -> list of values, as JSON")
    space.add_argument("--backend", choices=BACKENDS)

    from benchmark import archive, bench, bench_data, profiling

    archive.add_parsers(commands)
    bench.add_parser(commands)
    bench_data.add_parser(commands)
    profiling.add_parser(commands)

    models = commands.add_parser("models", help="list architectures and presets")
    models.add_argument("--backend", choices=BACKENDS)
    models.add_argument("--keys", action="store_true",
                        help="list every KEY that --set accepts, with each preset's value")
    return parser


# command -> (module, function): imported when the command runs, after the backend is chosen.
COMMANDS = {"cv": ("commands", "cv"), "tune": ("commands", "tune"), "ablate": ("commands", "ablate"),
            "study": ("commands", "study"), "report": ("report", "run"),
            "plan": ("planner", "run"),
            "spaces": ("listings", "spaces"), "models": ("listings", "models"),
            "bench": ("bench", "run"), "bench-data": ("bench_data", "run"),
            "profile": ("profiling", "run"), "pack": ("archive", "pack"),
            "unpack": ("archive", "unpack")}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    started = time.perf_counter()  # progress lines count "elapsed" from here
    try:
        args = build_parser().parse_args(argv)
        args.in_process = argv is not None  # main(["cv", ...]) from Python, not the console
        args.started = started
        module, function = COMMANDS[args.command]
        return getattr(importlib.import_module(f"benchmark.{module}"), function)(args)
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
