"""What every command's parser shares: a usage error of one line, and the number checks.

A leaf module: the commands (benchmark.commands, bench, bench_data, profiling) raise UsageError,
and benchmark.cli prints it as `emnist-bench: error: ...` with exit code 2.
"""

from __future__ import annotations

import argparse
import math


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


def positive_float(text: str) -> float:
    """A finite number above 0 (seconds, e.g. bench --seconds)."""
    value = float(text)
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def non_negative_float(text: str) -> float:
    """A finite number of 0 or more (seconds, e.g. bench --warmup-seconds)."""
    value = float(text)
    if not value >= 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def fraction(text: str) -> float:
    """A number strictly between 0 and 1 (an accuracy difference, e.g. --rope 0.005)."""
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value
