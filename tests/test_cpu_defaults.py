"""The suite starts TensorFlow with its oneDNN kernels on unless the user said otherwise, and
every result records the setting it ran with."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.any_backend  # the same on every backend: run in one pass
SCRIPT = """
import json, os
from benchmark import backends, provenance
backends.choose_backend(os.environ["KERAS_BACKEND"])
import tensorflow as tf
print(json.dumps({"env": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
                  "recorded": provenance.stamp(os.environ["KERAS_BACKEND"])["settings"]}))
"""


def started(user_value: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    if user_value is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = user_value
    env["PYTHONPATH"] = str(REPO)
    env.setdefault("KERAS_BACKEND", "tensorflow")
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, env=env, text=True,
                          capture_output=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("user_value, expected", [(None, "1"), ("0", "0")])
def test_onednn_is_on_unless_the_user_set_it_and_the_result_says_which(user_value, expected):
    pytest.importorskip("tensorflow")
    found = started(user_value)
    assert found["env"] == expected
    assert found["recorded"]["TF_ENABLE_ONEDNN_OPTS"] == expected
