"""The study's search spaces (benchmark/STUDY.md, "Search spaces"), one function per architecture.

Each space reads its values from a KerasTuner `hp` and returns *settings*: builder keyword
arguments and TrainConfig fields, keyed by name. Every default is the study's baseline, so
`HyperParameters()` gives the baseline preset. Values that are lists (channels, kernel sizes,
blocks) are strings such as "5,5,3" because KerasTuner choices hold scalars only.

Where the report names a value but not its size, the size is chosen here and recorded with
every trial: L1 1e-5 (the report's), L2 1e-4, MLP dropout "on" = the baseline's per-layer
rates (0.25 on every hidden layer but the last), ResNet dropout "on" = 0.5 before the classifier.

KerasTuner (and with it Keras) is imported only when a space is run: `names` and `check_factors`
read a space's hyperparameter names from its source, so the command line refuses an unknown
factor before a backend is chosen.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import TYPE_CHECKING

from benchmark import architectures, factors
from benchmark.config import ACTIVATIONS, OPTIMIZERS

if TYPE_CHECKING:
    import keras_tuner

L1_FACTOR = 1e-5  # the report's L1 factor
L2_FACTOR = 1e-4  # not in the report: a common weight-decay size
MLP_DROPOUT = 0.25  # per hidden layer, the last one excepted (the baseline's [0.25, 0.25, 0.0])
CNN_DROPOUT = 0.5  # the report's "0.5"
RESNET_DROPOUT = 0.5  # not in the report: the same as the CNN's

REGULARIZATION = [*factors.PENALTIES, "none"]


def _regularization(kind: str) -> dict:
    return factors.penalties(kind, {"l1": L1_FACTOR, "l2": L2_FACTOR})


def mlp_space(hp: keras_tuner.HyperParameters) -> dict:
    """MLP: depth, width, LR scheduler, activation, optimizer, BN, regularization, dropout, aug."""
    layers = hp.Choice("hidden_layers", [3, 4, 5], default=3)
    units = hp.Choice("units", [32, 64, 128], default=128)
    schedule = hp.Choice("schedule", ["none", "step", "plateau"], default="none")
    activation = hp.Choice("activation", list(ACTIVATIONS), default="relu")
    optimizer = hp.Choice("optimizer", list(OPTIMIZERS), default="adam")
    batch_norm = hp.Boolean("batch_norm", default=True)
    regularization = hp.Choice("regularization", REGULARIZATION, default="l1")
    dropout = hp.Boolean("dropout", default=True)
    augment = hp.Boolean("augment", default=False)
    rates = (MLP_DROPOUT,) * (layers - 1) + (0.0,) if dropout else (0.0,) * layers
    return {"hidden_layers": layers, "units": units, "activation": activation,
            "batch_norm": batch_norm, "dropout": rates, **_regularization(regularization),
            "schedule": schedule, "optimizer": optimizer, "augment": augment}


def cnn_space(hp: keras_tuner.HyperParameters) -> dict:
    """CNN: channels, kernel sizes (one per conv layer), scheduler, activation, optimizer, BN,
    regularization, dropout. Kernel lists are conditional on the channels, so every
    combination builds."""
    channels = hp.Choice("channels", ["32,64", "32,64,128"], default="32,64")
    with hp.conditional_scope("channels", ["32,64"]):
        kernels_2 = hp.Choice("kernels_2_layers", ["3,3", "5,3"], default="3,3")
    with hp.conditional_scope("channels", ["32,64,128"]):
        kernels_3 = hp.Choice("kernels_3_layers", ["3,3,3", "5,5,3", "5,3,3"], default="3,3,3")
    schedule = hp.Choice("schedule", ["cosine", "step"], default="cosine")
    activation = hp.Choice("activation", list(ACTIVATIONS), default="relu")
    optimizer = hp.Choice("optimizer", list(OPTIMIZERS), default="adam")
    batch_norm = hp.Boolean("batch_norm", default=True)
    regularization = hp.Choice("regularization", REGULARIZATION, default="none")
    dropout = hp.Choice("dropout", [CNN_DROPOUT, 0.0], default=CNN_DROPOUT)
    two_layers = channels.count(",") == 1
    kernels = factors.listed(*(("kernels_2_layers", kernels_2) if two_layers
                               else ("kernels_3_layers", kernels_3)))
    return {**factors.listed("channels", channels), **kernels, "activation": activation,
            "batch_norm": batch_norm, "dropout": dropout, **_regularization(regularization),
            "schedule": schedule, "optimizer": optimizer}


def resnet_space(hp: keras_tuner.HyperParameters) -> dict:
    """ResNet: blocks per stage, scheduler, activation, optimizer, BN, regularization, dropout,
    augmentation. Kernel size 5 and filters [64, 128, 256] stay fixed, as in the study."""
    blocks = hp.Choice("blocks", ["2,2,2", "3,3,3", "1,2,3"], default="2,2,2")
    schedule = hp.Choice("schedule", ["cosine", "none", "step", "plateau"], default="cosine")
    # the ResNet's baseline activation first: ["leaky_relu", "relu", "elu"]
    activations = ["leaky_relu", *(name for name in ACTIVATIONS if name != "leaky_relu")]
    activation = hp.Choice("activation", activations, default="leaky_relu")
    optimizer = hp.Choice("optimizer", list(OPTIMIZERS), default="adam")
    batch_norm = hp.Boolean("batch_norm", default=True)
    regularization = hp.Choice("regularization", REGULARIZATION, default="none")
    dropout = hp.Boolean("dropout", default=False)
    augment = hp.Boolean("augment", default=False)
    return {**factors.listed("blocks", blocks), "activation": activation, "batch_norm": batch_norm,
            "dropout": RESNET_DROPOUT if dropout else 0.0, **_regularization(regularization),
            "schedule": schedule, "optimizer": optimizer, "augment": augment}


def get(arch: str) -> Callable[[keras_tuner.HyperParameters], dict]:
    """The search space of `arch`, as its registry entry names it (benchmark/architectures.py)."""
    return architectures.load(architectures.get(arch).space)


def hyperparameters(arch: str) -> keras_tuner.HyperParameters:
    """A HyperParameters object with the whole space registered, every value at its default."""
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    get(arch)(hp)
    return hp


def _values(h) -> list:
    """A hyperparameter's values; a Boolean's are [True, False]."""
    import keras_tuner

    if isinstance(h, keras_tuner.engine.hyperparameters.Boolean):
        return [True, False]
    return list(h.values)


def _json_value(value):
    if isinstance(value, str) and value.replace(",", "").isdigit():
        return [int(v) for v in value.split(",")]
    return value


def describe(arch: str) -> dict[str, dict]:
    """{name: {"values": [...], "default": ..., "active_when": {parent: [values]} or None}}."""
    out = {}
    for h in hyperparameters(arch).space:
        values = _values(h)
        condition = None
        if h.conditions:
            c = h.conditions[0].get_config()
            condition = {c["name"]: [_json_value(v) for v in c["values"]]}
        out[h.name] = {"values": [_json_value(v) for v in values],
                       "default": _json_value(h.default), "active_when": condition}
    return out


def settings(arch: str, values: dict | None = None) -> dict:
    """The settings for hyperparameter `values` (missing ones at their defaults).

    Raises:
        ValueError: a name that is not in the space, or a value it does not offer.
    """
    space = describe(arch)
    for name in values or {}:
        if name not in space:
            raise ValueError(f"{name!r} is not a hyperparameter of the {arch} space; "
                             f"choose from {', '.join(space)}")
    import keras_tuner

    # Values set before the space registers: a conditional hyperparameter that the values
    # activate (CNN kernels for three layers) then gets its default when it registers.
    hp = keras_tuner.HyperParameters()
    hp.values.update(values or {})
    return get(arch)(hp)


def alternatives(arch: str, factors: list[str] | None = None) -> list[tuple[str, object, dict]]:
    """One-factor-at-a-time arms: (factor, value, hyperparameter values) for every non-default
    value. A factor that is only active under another choice (CNN kernels for three layers)
    also sets that parent to the first value that activates it.

    Raises:
        ValueError: a factor that is not in the space.
    """
    check_factors(arch, factors, list(describe(arch)))
    hp = hyperparameters(arch)
    arms = []
    for h in hp.space:
        if factors and h.name not in factors:
            continue
        values = _values(h)
        parent = {}
        if h.conditions:
            c = h.conditions[0].get_config()
            if hp.values.get(c["name"]) not in c["values"]:
                parent = {c["name"]: c["values"][0]}
        for value in values:
            if value == h.default:  # the baseline, or (with a parent) the parent's own arm
                continue
            arms.append((h.name, value, {**parent, h.name: value}))
    return arms


# The HyperParameters methods that register one hyperparameter, its name first.
REGISTERING = ("Choice", "Boolean", "Int", "Float", "Fixed")


def names(arch: str) -> list[str] | None:
    """The hyperparameter names of `arch`'s space in the order it registers them, read from the
    space's source (every `hp.Choice("name", ...)` and the like), so without KerasTuner or
    Keras; None when the source does not show them all: a name that is not a string literal,
    or `hp` used otherwise than by calling its methods (handed to another function, say).

    Raises:
        ValueError: an unknown architecture.
    """
    node = architectures.definition(architectures.get(arch).space)
    if node is None or not node.args.args:
        return None
    hp = node.args.args[0].arg
    parent = {child: above for above in ast.walk(node) for child in ast.iter_child_nodes(above)}
    found = []
    for use in ast.walk(node):
        if not (isinstance(use, ast.Name) and use.id == hp):
            continue
        method, call = parent.get(use), parent.get(parent.get(use))
        if not (isinstance(method, ast.Attribute) and isinstance(call, ast.Call)
                and call.func is method):
            return None
        if method.attr == "conditional_scope":
            continue
        first = call.args[0] if call.args else next(
            (k.value for k in call.keywords if k.arg == "name"), None)
        if method.attr not in REGISTERING or not (
                isinstance(first, ast.Constant) and isinstance(first.value, str)):
            return None
        found.append((call.lineno, call.col_offset, first.value))
    return list(dict.fromkeys(name for *_, name in sorted(found)))


def check_factors(arch: str, factors: list[str] | None, known: list[str] | None = None) -> None:
    """Refuse a factor that is not a hyperparameter of `arch`'s space.

    Args:
        arch: a registered architecture.
        factors: the factors asked for (None: all).
        known: the space's names; by default read from its source (`names`), importing no
            Keras. Where the source does not show them, the factors are left for
            `alternatives`, which checks them again with the space run.

    Raises:
        ValueError: the first unknown factor, with the known ones (or an unknown architecture).
    """
    if not factors:
        return
    known = names(arch) if known is None else known
    if known is None:
        return
    unknown = [f for f in factors or [] if f not in known]
    if unknown:
        raise ValueError(f"{unknown[0]!r} is not a factor of the {arch} space; "
                         f"choose from {', '.join(known)}")
