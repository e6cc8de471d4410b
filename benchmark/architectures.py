"""Every architecture the suite knows, in one registry: builder, presets, search space, PyTorch
peer and precision facts. Every list of architectures in the suite (the commands' choices,
`study --arch all`, `bench`, the report's sections, the app) reads `names()`.

Nothing here imports Keras, KerasTuner or PyTorch: the builder, the search space and the peer are
named as "module:function" and imported when first used, so the command line can list and check
architectures before a backend is chosen; `keywords` and `definition` read a builder's keyword
names and a space's source without importing their modules. The order of registration is the
order of the report.

Adding one (README, "Adding an architecture"): call `register(Architecture(...))` in a module of
your own and name that module in EMNIST_BENCH_PLUGINS (comma-separated module names); the suite
imports them before it reads the registry, in this process and in the worker processes of `bench`
and `profile`.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path

PLUGINS_ENV = "EMNIST_BENCH_PLUGINS"


@dataclasses.dataclass(frozen=True)
class Peer:
    """The plain-PyTorch twin of the `best` preset that `bench --peer` times beside Keras."""

    model: str  # "module:Class", an nn.Module built with no arguments, in training mode
    l1: float = 0.0  # the L1 factor on kernels that the Keras model adds to its loss


@dataclasses.dataclass(frozen=True)
class Architecture:
    """One architecture: what builds it, its presets, what tunes it, what it is timed against."""

    name: str  # the --arch value and the `arch` column of the results
    label: str  # how the report and the app write it
    builder: str  # "module:function": keyword arguments only, defaults = the study's baseline
    space: str  # "module:function": KerasTuner hp -> settings (tuners/spaces.py)
    # preset -> {"model": builder kwargs that differ from the defaults, "training": TrainConfig
    # fields}; "baseline" and "best" at least (study, bench and the peer use them).
    presets: dict[str, dict]
    peer: Peer | None = None  # None: `bench --peer` leaves this architecture's peer row out
    # Backends on which `--precision auto` trains in mixed_bfloat16 on a CPU with native bf16,
    # measured with `emnist-bench bench` (benchmark/precision.py says why).
    faster_in_bf16: frozenset[str] = frozenset()


_REGISTRY: dict[str, Architecture] = {}


def register(arch: Architecture) -> Architecture:
    """File `arch` under its name; a second architecture with the same name is an error."""
    if arch.name in _REGISTRY:
        raise ValueError(f"architecture {arch.name!r} is already registered")
    for needed in ("baseline", "best"):
        if needed not in arch.presets:
            raise ValueError(f"architecture {arch.name!r} has no {needed!r} preset")
    _REGISTRY[arch.name] = arch
    return arch


def _load_plugins() -> None:
    for module in filter(None, (m.strip() for m in os.environ.get(PLUGINS_ENV, "").split(","))):
        importlib.import_module(module)  # registers on first import; later imports are no-ops


def names() -> list[str]:
    """Registered architecture names, in the order of registration (the study's: MLP first)."""
    _load_plugins()
    return list(_REGISTRY)


def get(name: str) -> Architecture:
    """The architecture registered as `name`.

    Raises:
        ValueError: an unknown name, with the known ones.
    """
    _load_plugins()
    if name not in _REGISTRY:
        raise ValueError(f"unknown architecture {name!r}; choose from {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


def load(target: str) -> Callable:
    """The object a "module:attribute" string names."""
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


def _source_file(module: str) -> Path | None:
    """The .py file of `module`, found without importing it or the packages above it (the
    builders' package imports Keras): each level is looked up in its parent's folders."""
    spec, folders = None, None
    parts = module.split(".")
    for depth in range(1, len(parts) + 1):
        name = ".".join(parts[:depth])
        if name in sys.modules:
            spec = getattr(sys.modules[name], "__spec__", None)
        elif depth == 1:
            spec = importlib.util.find_spec(name)  # a top-level name: nothing is imported
        else:
            spec = importlib.machinery.PathFinder.find_spec(name, folders)
        if spec is None:
            return None
        folders = spec.submodule_search_locations
        if depth < len(parts) and folders is None:
            return None
    origin = spec.origin if spec is not None else None
    return Path(origin) if origin and origin.endswith(".py") else None


def definition(target: str) -> ast.FunctionDef | None:
    """The parsed `def` of a "module:function", read from the module's source without importing
    it; None when the source does not show it plainly (no source file, a decorated function, a
    name bound more than once at the module's top level)."""
    module, _, name = target.partition(":")
    path = _source_file(module)
    try:
        tree = ast.parse(path.read_text(encoding="utf-8")) if path else None
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    if tree is None:
        return None
    bound = [node for node in tree.body
             if (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                 and node.name == name)
             or (isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Import,
                                   ast.ImportFrom))
                 and name in _bound_names(node))]
    if len(bound) != 1 or not isinstance(bound[0], ast.FunctionDef) or bound[0].decorator_list:
        return None
    return bound[0]


def _bound_names(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def keywords(name: str) -> list[str] | None:
    """The names of the builder's arguments that have defaults (the model settings `--set` may
    change: what models.defaults returns once Keras is imported), read from the builder's
    source, so without importing Keras; None when the source does not show them (`definition`).

    Raises:
        ValueError: an unknown architecture.
    """
    node = definition(get(name).builder)
    if node is None:
        return None
    args = node.args
    positional = args.posonlyargs + args.args
    with_defaults = positional[len(positional) - len(args.defaults):] if args.defaults else []
    return ([a.arg for a in with_defaults]
            + [a.arg for a, default in zip(args.kwonlyargs, args.kw_defaults, strict=True)
               if default is not None])


register(Architecture(
    name="mlp", label="MLP",
    builder="benchmark.models.mlp:mlp", space="tuners.spaces:mlp_space",
    presets={
        "baseline": {
            "model": {},  # 3 x 128, ReLU, BN, L1 1e-5, dropout [0.25, 0.25, 0.0]
            "training": {"optimizer": "adam", "learning_rate": 0.1, "schedule": "none",
                         "epochs": 20},
        },
        "best": {
            "model": {"activation": "elu"},
            "training": {"optimizer": "sgd", "learning_rate": 0.1, "schedule": "step",
                         "step_size": 10, "gamma": 0.5, "epochs": 20},
        },
    },
    # The builder's default L1 of 1e-5 on every kernel (models/mlp.py).
    peer=Peer("benchmark.torch_peer:MLP", l1=1e-5),
    # Too small for bf16 to pay for its casts: float32 everywhere.
    faster_in_bf16=frozenset(),
))

register(Architecture(
    name="cnn", label="CNN",
    builder="benchmark.models.cnn:cnn", space="tuners.spaces:cnn_space",
    presets={
        "baseline": {
            "model": {},  # [32, 64], 3x3, ReLU, BN, no regularisation, dropout 0.5
            "training": {"optimizer": "adam", "learning_rate": 1e-3, "schedule": "cosine",
                         "epochs": 12},
        },
        "best": {
            "model": {"filters": (32, 64, 128), "kernels": (5, 5, 3),
                      "activation": "leaky_relu", "dropout": 0.0},
            "training": {"optimizer": "adam", "learning_rate": 1e-3, "schedule": "cosine",
                         "epochs": 12},
        },
    },
    peer=Peer("benchmark.torch_peer:CNN"),
    faster_in_bf16=frozenset({"tensorflow", "torch"}),
))

register(Architecture(
    name="resnet", label="ResNet",
    builder="benchmark.models.resnet:resnet", space="tuners.spaces:resnet_space",
    presets={
        # The report's ResNet baseline and best are the same configuration.
        "baseline": {
            "model": {},  # [2, 2, 2] x [64, 128, 256], k5, LeakyReLU, BN, no reg, no dropout
            "training": {"optimizer": "adam", "learning_rate": 1e-3, "schedule": "cosine",
                         "epochs": 8},
        },
        "best": {
            "model": {},
            "training": {"optimizer": "adam", "learning_rate": 1e-3, "schedule": "cosine",
                         "epochs": 8},
        },
    },
    peer=Peer("benchmark.torch_peer:ResNet"),
    faster_in_bf16=frozenset({"tensorflow", "torch"}),
))
