"""A worker that writes its pid and then waits: test_workers stops its parent under it."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from benchmark import workers


def measure(spec: dict) -> dict:
    Path(spec["pid_file"]).write_text(str(os.getpid()))
    time.sleep(120)
    return {}


if __name__ == "__main__":
    sys.exit(workers.serve(sys.argv[1:], measure, "sleepy"))
