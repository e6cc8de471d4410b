"""`emnist-bench pack` and `unpack`: results made on another machine (an offline GPU) brought
home as one archive.

    emnist-bench pack gpu-results.tar.gz --results-dir gpu-results       # there
    emnist-bench unpack gpu-results.tar.gz                                # here, into results/

`pack` writes the run folders (cv runs, searches, ablations, studies) and bench.csv of a results
folder into one gzip'd tar, leaving out what is never committed (saved models, locks, partial
writes). `unpack` reads it with tarfile's "data" filter (no links out, no absolute paths) into
a scratch folder, then moves each run folder into the results folder:

- a folder that is not there yet is added;
- one that is there with the same configuration (config.json's digest) is replaced when every
  file of the copy here is in the archive too (the archive's run went further), else kept;
- one that is there with another configuration is left alone, and said so.

bench.csv's rows are appended (rows already there are not doubled) and runs.csv is rebuilt.
A plain `tar` does the same for a results folder that is still empty.
"""

from __future__ import annotations

import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

from benchmark.arguments import UsageError

LEFT_OUT = ("model.keras", ".lock", ".partial")  # names (or parts of names) never packed
BENCH = "bench.csv"


def add_parsers(commands) -> None:
    pack = commands.add_parser("pack", help="put a results folder's runs and bench.csv into "
                               "one .tar.gz (to bring them from another machine)")
    pack.add_argument("archive", help="the .tar.gz to write")
    pack.add_argument("--results-dir", help="default: $EMNIST_BENCH_RESULTS, else ./results")
    unpack = commands.add_parser("unpack", help="add the runs of a `pack` archive to a "
                                 "results folder")
    unpack.add_argument("archive", help="a .tar.gz written by `emnist-bench pack`")
    unpack.add_argument("--results-dir", help="default: $EMNIST_BENCH_RESULTS, else ./results")


def _root(args) -> Path:
    from benchmark import results

    return Path(args.results_dir) if args.results_dir else results.default_root()


def _kept(name: str) -> bool:
    return not any(part in name for part in LEFT_OUT)


def pack(args) -> int:
    root = _root(args)
    if not root.is_dir():
        raise UsageError(f"no results folder at {root}")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and (p / "config.json").is_file())
    bench = root / BENCH
    if not folders and not bench.is_file():
        raise UsageError(f"{root} holds no runs and no {BENCH}: nothing to pack")
    archive = Path(args.archive)
    partial = archive.with_name(archive.name + ".partial")
    with tarfile.open(partial, "w:gz") as tar:
        for folder in folders:
            tar.add(folder, arcname=folder.name,
                    filter=lambda info: info if _kept(Path(info.name).name) else None)
        if bench.is_file():
            tar.add(bench, arcname=BENCH)
    partial.replace(archive)
    print(f"emnist-bench pack: {len(folders)} run folder(s)"
          f"{' and ' + BENCH if bench.is_file() else ''} -> {archive} "
          f"({archive.stat().st_size / 2**20:.1f} MiB)", file=sys.stderr)
    return 0


def _digest(folder: Path) -> str | None:
    import json

    try:
        return json.loads((folder / "config.json").read_text()).get("digest")
    except (OSError, ValueError):
        return None


def _files(folder: Path) -> set[str]:
    """The files of a run folder that travel (locks and saved models do not)."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*")
            if p.is_file() and _kept(p.name)}


def unpack(args) -> int:
    from benchmark import results

    archive, root = Path(args.archive), _root(args)
    if not archive.is_file():
        raise UsageError(f"no archive at {archive}")
    root.mkdir(parents=True, exist_ok=True)
    results.check_writable(root)
    added, replaced, kept, refused = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="emnist-bench-unpack-", dir=root) as scratch:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(scratch, filter="data")
        except (tarfile.TarError, OSError, EOFError) as error:
            raise UsageError(f"cannot read {archive}: {error}") from None
        for folder in sorted(p for p in Path(scratch).iterdir() if p.is_dir()):
            try:
                results.check_run_id(folder.name)
            except ValueError:
                refused.append(f"{folder.name} (not a run name)")
                continue
            target = root / folder.name
            if not target.exists():
                shutil.move(str(folder), target)
                added.append(folder.name)
            elif _digest(target) != _digest(folder):
                refused.append(f"{folder.name} (another configuration has that name here)")
            elif _files(target) <= _files(folder):
                try:
                    with results.locked(target / ".lock", wait=False):
                        shutil.rmtree(target)
                        shutil.move(str(folder), target)
                except results.RunBusy:
                    refused.append(f"{folder.name} (it is running here)")
                    continue
                replaced.append(folder.name)
            else:
                kept.append(folder.name)
        bench = Path(scratch) / BENCH
        new_rows = _merge_bench(bench, root / BENCH) if bench.is_file() else 0
    results.update_index(root)
    print(f"emnist-bench unpack: {len(added)} added, {len(replaced)} replaced (they went further "
          f"there), {len(kept)} kept as they were here, {new_rows} bench row(s) -> {root}",
          file=sys.stderr)
    for line in refused:
        print(f"emnist-bench unpack: left out {line}", file=sys.stderr)
    return 1 if refused else 0


def _merge_bench(incoming: Path, target: Path) -> int:
    """Append the archive's bench rows that target lacks; the number appended."""
    import pandas as pd

    from benchmark import bench, results

    new = pd.read_csv(incoming)
    if target.is_file():
        old = pd.read_csv(target)
        key = ["bench_id", "arch", "backend", "precision", "batch_size"]
        seen = set(map(tuple, old[key].astype(str).to_numpy()))
        new = new[[tuple(row) not in seen for row in new[key].astype(str).to_numpy()]]
        merged = pd.concat([old, new], ignore_index=True)
    else:
        merged = new
    results.write_csv(target, merged.reindex(columns=list(dict.fromkeys(
        [*bench.COLUMNS, *merged.columns]))))
    return len(new)
