"""What the speed commands' parsers share (`bench`, `profile`): --backend and what it names.

Imports no Keras and neither command, so each reads it without the other's internals.
"""

from __future__ import annotations

from benchmark import backends
from benchmark.arguments import UsageError
from benchmark.backends import BACKENDS, installed

BACKEND_CHOICES = (*BACKENDS, "all")


def resolve_backends(name: str | None) -> tuple[list[str], list[str]]:
    """The backends to measure and the ones skipped (not installed) from --backend."""
    if name == "all":
        found = [b for b in BACKENDS if installed(b)]
        return found, [b for b in BACKENDS if b not in found]
    backend = name or backends.current()
    if backend not in BACKENDS:
        raise UsageError(f"KERAS_BACKEND={backend!r} is not one of {', '.join(BACKENDS)}")
    if not installed(backend):
        raise UsageError(f"backend {backend} is not installed")
    return [backend], []
