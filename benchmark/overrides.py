"""A preset made into a full run configuration, with `--set` overrides parsed and checked.

The presets themselves are the architectures' (benchmark/architectures.py): the study's baseline
and best configurations (benchmark/STUDY.md, "Baseline and best presets"), each the builder's
keyword arguments that differ from its defaults (the study's baselines) plus the training
settings. Epoch budgets are ours: the report does not state them; we use those of the reference
runs in the shared data README.
"""

from __future__ import annotations

import dataclasses
import json

from benchmark import architectures
from benchmark.config import RunConfig, TrainConfig


def preset_names(arch: str) -> list[str]:
    """The presets of one architecture (ValueError for an unknown one)."""
    return sorted(architectures.get(arch).presets)


def check(arch: str, preset: str, keys=(), keywords: list[str] | None = None) -> None:
    """Refuse an unknown architecture, preset or `--set` key, importing no Keras, so that the
    command line can do it before a backend is chosen.

    Args:
        arch, preset: as for resolve.
        keys: the `--set` keys, each a builder argument or a TrainConfig field.
        keywords: the builder's arguments with defaults; by default read from its source
            (architectures.keywords). Where the source does not show them, the keys are left
            for resolve, which checks them again with the imported builder's.

    Raises:
        ValueError: the first unknown name, with the known ones.
    """
    presets = architectures.get(arch).presets
    if preset not in presets:
        raise ValueError(f"unknown preset {preset!r} for {arch}; choose from {', '.join(preset_names(arch))}")
    keywords = architectures.keywords(arch) if keywords is None else keywords
    if keywords is None:
        return
    known = set(keywords) | {f.name for f in dataclasses.fields(TrainConfig)}
    for key in keys:
        if key not in known:
            raise ValueError(f"--set {key}: no such setting for {arch}; known: {', '.join(sorted(known))}")


def parse_value(key: str, text: str, default: object) -> object:
    """Parse a --set value as the type of the default it replaces.

    Lists are written "5,5,3" or "[5, 5, 3]"; booleans true/false/on/off/1/0.
    """
    text = text.strip()
    if isinstance(default, bool):
        lowered = text.lower()
        if lowered in ("true", "on", "yes", "1"):
            return True
        if lowered in ("false", "off", "no", "0"):
            return False
        raise ValueError(f"--set {key}: expected true or false, got {text!r}")
    if isinstance(default, str):
        return text
    try:
        value = json.loads(text if not ("," in text and not text.startswith("[")) else f"[{text}]")
    except json.JSONDecodeError:
        raise ValueError(f"--set {key}: cannot read {text!r} as a number or list") from None
    if isinstance(value, list):
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            raise ValueError(f"--set {key}: expected a list of numbers, got {text!r}")
        return tuple(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"--set {key}: expected a number, got {text!r}")
    if isinstance(default, int) and not isinstance(default, bool):
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"--set {key}: expected a whole number, got {text!r}")
        return int(value)
    if isinstance(default, float):
        return float(value)
    return value  # a default that is a tuple accepts a scalar too (dropout, kernels)


def resolve(arch: str, preset: str, overrides: dict[str, str] | None = None, **run) -> RunConfig:
    """The full RunConfig for a preset with --set overrides applied and validated.

    Args:
        arch: a registered architecture.
        preset: one of the architecture's presets.
        overrides: key -> text, each key a builder argument or a TrainConfig field.
        **run: RunConfig fields (folds, seed, split, limit) and TrainConfig fields given as
            plain options (epochs, batch_size, precision); None means "keep the preset's value".

    Raises:
        ValueError: an unknown architecture, preset or key, or a value that cannot build.
    """
    from benchmark import models  # imports keras: the backend must be chosen by now

    builder_defaults = models.defaults(arch)
    check(arch, preset, overrides or {}, keywords=list(builder_defaults))
    presets = architectures.get(arch).presets
    model_kwargs = {**builder_defaults, **presets[preset]["model"]}
    training = {**dataclasses.asdict(TrainConfig()), **presets[preset]["training"]}
    for key in ("epochs", "batch_size", "precision"):
        if run.get(key) is not None:
            training[key] = run.pop(key)
        run.pop(key, None)
    defaults = {**training, **model_kwargs}  # every key is known: check() said so
    changed = {key: parse_value(key, text, defaults[key])
               for key, text in (overrides or {}).items()}
    model_kwargs, training = place(arch, changed, model_kwargs, training)
    train = TrainConfig(**training)
    train.validate()
    models.build(arch, **model_kwargs)  # raises ValueError for a combination that cannot be built
    fields = {k: v for k, v in run.items() if v is not None}
    return RunConfig(arch=arch, preset=preset, model=model_kwargs, training=train,
                     overrides=changed, **fields)


def apply(config: RunConfig, settings: dict, label: str | None = None) -> RunConfig:
    """`config` with typed settings (builder kwargs or TrainConfig fields) replaced.

    Used by the tuners: a search space's settings on top of the baseline. Unknown keys and
    bad training values are a ValueError, as with --set (the spaces only offer
    combinations that build).
    """
    model, training = place(config.arch, settings, config.model,
                            dataclasses.asdict(config.training))
    train = TrainConfig(**training)
    train.validate()
    return dataclasses.replace(config, model=model, training=train,
                               overrides={**config.overrides, **settings},
                               preset=label or config.preset)


def place(arch: str, settings: dict, model: dict, training: dict) -> tuple[dict, dict]:
    """Copies of the builder's keyword arguments and the TrainConfig fields with each typed
    setting put where its key is known, the builder's first: the one routing rule of `--set`,
    the search spaces and the ablation's arms.

    Raises:
        ValueError: a key that is neither.
    """
    model, training = dict(model), dict(training)
    for key, value in settings.items():
        if key in model:
            model[key] = value
        elif key in training:
            training[key] = value
        else:
            raise ValueError(f"no such setting for {arch}: {key}")
    return model, training
