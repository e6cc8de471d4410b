"""Run configuration: a frozen dataclass per concern, every default commented and recorded."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field

# The names a run may choose, one list each: the builders, the training loop, the search spaces
# (tuners/spaces.py) and the plain-PyTorch peer all read these.
ACTIVATIONS = ("relu", "elu", "leaky_relu")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
SCHEDULES = ("none", "step", "plateau", "cosine")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")

# The one rule for settings added after runs were stored: each setting here, at the value that
# every run before it used without recording it, is left out of the digest, so those runs keep
# their digests and their folders still resume. A changed default needs no entry: the digest
# holds the value a run used, whatever the default was then (the presets' `init` became
# "torch" while older runs recorded "keras", which stays out of their digests by this table).
UNRECORDED_BEFORE = {
    ("training", "precision"): "float32",  # before --precision: every run trained in float32
    ("repeats",): 1,  # before --repeats: one K-fold split
    ("model", "init"): "keras",  # before `init`: Keras's initialisers
}


@dataclass(frozen=True)
class TrainConfig:
    """How a model is trained; the study's gaps are filled with the defaults named here."""

    optimizer: str = "adam"  # adam | sgd | rmsprop
    learning_rate: float = 1e-3  # initial learning rate
    momentum: float = 0.0  # SGD only; the study's SGD ran without momentum
    schedule: str = "none"  # none | step (StepLR) | plateau (ReduceLROnPlateau) | cosine
    step_size: int = 10  # StepLR: epochs between decays (the study's MLP: 10)
    gamma: float = 0.5  # StepLR: decay factor (the study's MLP: 0.5)
    plateau_factor: float = 0.5  # ReduceLROnPlateau: factor on val_loss plateau
    plateau_patience: int = 2  # ReduceLROnPlateau: epochs without improvement
    min_learning_rate: float = 0.0  # CosineAnnealingLR's eta_min
    augment: bool = False  # random rotation / shift / zoom / shear during training
    rotation_degrees: float = 10.0  # augmentation: max rotation either way
    shift: float = 0.1  # augmentation: max shift, fraction of the image side
    zoom: float = 0.1  # augmentation: max zoom in or out, fraction
    shear: float = 0.1  # augmentation: max shear factor
    batch_size: int = 128  # the study's batch size is not stated; 128 as in the data README
    epochs: int = 15  # per fold; presets set their own
    patience: int = 5  # early stopping on val_accuracy, best weights restored
    precision: str = "float32"  # float32 | mixed_bfloat16 | mixed_float16 (Keras dtype policy);
    # the CLI's auto picks what the device does fast (benchmark.precision) and records it

    def validate(self) -> None:
        """Raise ValueError for a value that cannot train."""
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose from {', '.join(OPTIMIZERS)}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r}; choose from {', '.join(PRECISIONS)}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; choose from {', '.join(SCHEDULES)}")
        for name in ("learning_rate", "gamma", "plateau_factor"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("step_size", "plateau_patience", "batch_size", "epochs", "patience"):
            if not getattr(self, name) >= 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("momentum", "min_learning_rate", "rotation_degrees", "shift", "zoom", "shear"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")


@dataclass(frozen=True)
class RunConfig:
    """One cross-validated run: architecture, model kwargs, training, data and seed."""

    arch: str  # mlp | cnn | resnet (the model registry's names)
    preset: str  # baseline | best: the preset the run starts from
    model: dict = field(default_factory=dict)  # the builder's keyword arguments, every default
    training: TrainConfig = TrainConfig()
    overrides: dict = field(default_factory=dict)  # what --set changed on top of the preset
    folds: int = 5  # stratified K-fold splits of the training split
    repeats: int = 1  # repetitions of the K-fold split with new shuffles (RepeatedStratifiedKFold)
    seed: int = 0  # seeds Python, NumPy and the backend, the folds and --limit
    split: str = "balanced"  # EMNIST split
    limit: int | None = None  # class-stratified subset of the training split

    def to_dict(self) -> dict:
        """The configuration as plain JSON types."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def digest(self, data_sha256: str = "") -> str:
        """A short hash of everything that changes the numbers (not the backend)."""
        values = self.to_dict()
        for path, before in UNRECORDED_BEFORE.items():
            *parents, name = path
            holder = values
            for parent in parents:
                holder = holder.get(parent, {})
            if name in holder and holder[name] == before:
                del holder[name]
        text = json.dumps(values, sort_keys=True) + data_sha256
        return hashlib.sha256(text.encode()).hexdigest()[:8]


def train_config_from_dict(values: dict) -> TrainConfig:
    """Rebuild a TrainConfig from stored JSON, ignoring unknown keys from other versions."""
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in values.items() if k in known})
