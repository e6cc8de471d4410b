"""A tiny name -> builder registry: register, get, build, names, defaults."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import keras

_BUILDERS: dict[str, Callable[..., keras.Model]] = {}


def register(name: str) -> Callable[[Callable[..., keras.Model]], Callable[..., keras.Model]]:
    """Decorator that files a builder under `name`; a second builder with the same name is an error."""

    def decorator(builder: Callable[..., keras.Model]) -> Callable[..., keras.Model]:
        if name in _BUILDERS:
            raise ValueError(f"architecture {name!r} is already registered")
        _BUILDERS[name] = builder
        return builder

    return decorator


def get(name: str) -> Callable[..., keras.Model]:
    """The builder registered as `name`.

    Args:
        name: an architecture name, one of `names()`.

    Returns:
        The builder function.
    """
    if name not in _BUILDERS:
        raise ValueError(f"unknown architecture {name!r}; choose from {', '.join(names())}")
    return _BUILDERS[name]


def build(name: str, **kwargs) -> keras.Model:
    """Build the architecture `name` with the builder's keyword arguments (uncompiled)."""
    return get(name)(**kwargs)


def names() -> list[str]:
    """Registered architecture names, sorted."""
    return sorted(_BUILDERS)


def defaults(name: str) -> dict:
    """The builder's keyword defaults: the study's baseline for that architecture."""
    params = inspect.signature(get(name)).parameters.values()
    return {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}
