"""Measurements in processes of their own, one configuration each (`bench` and `profile`).

The parent runs `python -m <module> --worker SPEC` (spawn); the worker's `main` calls
`serve(argv, measure)`, which runs `measure(spec)` and writes its record, or
{"error": "<one line>"}, as JSON to SPEC's "out" path. A file, not stdout: stray library
output cannot corrupt it, and the worker's own output goes to the parent's stderr.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path


def spawn(spec: dict, folder: Path, module: str) -> dict:
    """Run one configuration in a fresh `python -m <module> --worker` process; its record."""
    out = folder / f"{len(list(folder.iterdir()))}.json"
    env = dict(os.environ, KERAS_BACKEND=spec["backend"] if spec["kind"] == "keras" else "torch")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    sys.stderr.flush()
    done = subprocess.run([sys.executable, "-m", module, "--worker",
                           json.dumps({**spec, "out": str(out)})],
                          env=env, stdin=subprocess.DEVNULL, stdout=2, check=False)
    try:
        record = json.loads(out.read_text())
    except (OSError, ValueError):
        record = {"error": f"the worker exited with code {done.returncode} and no result"}
    return record


def serve(argv: list[str], measure: Callable[[dict], dict], command: str) -> int:
    """A worker's main: `--worker SPEC` -> measure(spec) written to SPEC's "out" path.

    Any other arguments are refused in one line (users run `emnist-bench <command>`).
    """
    if argv[:1] != ["--worker"] or len(argv) != 2:
        print(f"emnist-bench: error: this module runs one {command} worker (`--worker SPEC`); "
              f"run `emnist-bench {command}` instead", file=sys.stderr)
        return 2
    spec = json.loads(argv[1])
    exit_with_parent()
    try:
        record = measure(spec)
    except Exception as error:  # the parent reports it in one line and goes on
        traceback.print_exc()
        record = {"error": f"{type(error).__name__}: {error}".splitlines()[0]}
    Path(spec["out"]).write_text(json.dumps(record))
    return 1 if "error" in record else 0


def exit_with_parent(poll_seconds: float = 1.0) -> None:
    """End this worker as soon as its parent is gone (killed, or stopped with SIGTERM, which
    a child does not receive), rather than measuring on as an orphan that skews the machine."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_seconds)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
