"""The commands that only list: `emnist-bench models` (presets, parameter counts, --set keys)
and `emnist-bench spaces` (an architecture's search space)."""

from __future__ import annotations

from benchmark import architectures
from benchmark.arguments import UsageError
from benchmark.backends import choose_backend


def spaces(args) -> int:
    import json

    try:
        architectures.get(args.arch)  # an unknown name is refused before Keras is imported
    except ValueError as error:
        raise UsageError(str(error)) from None
    choose_backend(args.backend)
    from tuners import spaces

    space = spaces.describe(args.arch)
    if args.json:
        print(json.dumps({name: info["values"] for name, info in space.items()}))
        return 0
    print(f"{args.arch} search space (defaults = the study's baseline):")
    for name, info in space.items():
        when = ""
        if info["active_when"]:
            (parent, values), = info["active_when"].items()
            when = f"  (only when {parent} is {' or '.join(map(str, values))})"
        print(f"  {name:<18} {info['values']}  default {info['default']}{when}")
    return 0


def models(args) -> int:
    choose_backend(args.backend)
    from benchmark import models, overrides

    if args.keys:
        return print_keys()
    print(f"{'arch':<8}{'preset':<10}{'params':>12}  settings")
    for arch in architectures.names():
        for name in overrides.preset_names(arch):
            config = overrides.resolve(arch, name)
            params = models.build(arch, **config.model).count_params()
            spec = architectures.get(arch).presets[name]
            settings = {**spec["model"], **spec["training"]}
            text = ", ".join(f"{k}={v}" for k, v in settings.items()) or "builder defaults"
            print(f"{arch:<8}{name:<10}{params:>12,}  {text}")
    return 0


def print_keys() -> int:
    """Every --set key per architecture with its value in each preset."""
    from benchmark import overrides

    for arch in architectures.names():
        names = overrides.preset_names(arch)
        configs = {name: overrides.resolve(arch, name) for name in names}
        print(f"{arch}:  " + "  |  ".join(names))
        first = configs[names[0]]
        keys = list(first.model) + list(first.training.__dataclass_fields__)
        for key in keys:
            values = [c.model.get(key, getattr(c.training, key, None)) for c in configs.values()]
            print(f"  {key:<20}" + "  |  ".join(str(v) for v in values))
    return 0
