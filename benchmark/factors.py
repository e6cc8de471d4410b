"""The search spaces' factors and the builder settings they become, one map read both ways:
tuners/spaces.py turns a factor's value into settings with it, and the ablation tables read a
baseline's value of each factor back from its stored settings (`value`).

A setting is a builder keyword argument or a TrainConfig field; a factor not named here is the
setting of its own name, its value as is.
"""

from __future__ import annotations

import math

# A factor written as a comma-separated list ("5,5,3": KerasTuner's choices hold scalars only)
# and the setting it becomes, a tuple of ints.
LISTS = {"channels": "filters", "kernels_2_layers": "kernels", "kernels_3_layers": "kernels",
         "blocks": "blocks"}
# The regularization factor's kinds, each setting the weight penalty of its own name; "none"
# sets neither.
PENALTIES = ("l1", "l2")


def listed(factor: str, text: str) -> dict[str, tuple[int, ...]]:
    """A list factor's setting: "5,5,3" of `kernels_3_layers` is {"kernels": (5, 5, 3)}."""
    return {LISTS[factor]: tuple(int(v) for v in text.split(","))}


def penalties(kind: str, sizes: dict[str, float]) -> dict[str, float]:
    """The regularization factor's settings: its kind's penalty at its size, the others 0."""
    return {penalty: sizes[penalty] if kind == penalty else 0.0 for penalty in PENALTIES}


def normalise(value) -> str:
    """A factor value as text that compares equal however the CSV typed it ("0.0" == "0")."""
    text = str(value).strip()
    if text.lower() in ("true", "false"):
        return text.lower()
    try:
        number = float(text)
    except ValueError:
        return text
    return f"{number:g}" if math.isfinite(number) else text


def value(factor: str, settings: dict, switch: bool) -> str | None:
    """A factor's value read back from the settings it became (a baseline's stored ones), as
    `normalise` writes it; None when the settings do not have it. `switch`: the factor is an
    on/off switch in its space (its values "true" and "false": the MLP's and the ResNet's
    dropout), on when any rate it set is not 0; otherwise a value is its setting's own (the
    CNN's dropout rate)."""
    if factor == "regularization":
        return next((penalty for penalty in PENALTIES if settings.get(penalty)), "none")
    if factor in LISTS:
        listed = settings.get(LISTS[factor])
        return ",".join(str(v) for v in listed) if isinstance(listed, list) else None
    if switch and factor in settings:
        rates = settings[factor] if isinstance(settings[factor], list) else [settings[factor] or 0]
        return "true" if any(r for r in rates) else "false"
    return normalise(settings[factor]) if factor in settings else None
