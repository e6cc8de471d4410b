"""A bench or profile worker ends with its parent instead of measuring on as an orphan."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.any_backend  # the same on every backend: run in one pass
PARENT = """
import sys
from pathlib import Path
from benchmark import workers
folder = Path(sys.argv[1])
workers.spawn({"kind": "peer", "backend": "torch", "pid_file": str(folder / "pid")},
              folder, "tests.sleepy_worker")
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_the_worker_exits_when_its_parent_is_stopped(tmp_path, how):
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(tmp_path)], cwd=REPO,
                              env=dict(os.environ, PYTHONPATH=str(REPO)))
    pid_file = tmp_path / "pid"
    deadline = time.monotonic() + 60
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    worker = int(pid_file.read_text())
    assert alive(worker)
    parent.send_signal(how)
    parent.wait(timeout=10)
    deadline = time.monotonic() + 10
    while alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        assert not alive(worker), "the worker outlived its parent"
    finally:
        if alive(worker):
            os.kill(worker, signal.SIGKILL)
