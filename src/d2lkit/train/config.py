"""`TrainConfig`: every setting of one training run, as plain typed values.

The CLI's `d2lkit train` flags, recipes and `config.json` in a run directory all map onto it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from d2lkit.errors import D2lkitError

SCHEDULERS = ("none", "cosine", "onecycle", "step")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad", "adadelta")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "bf16")
SEED_LIMIT = 2**32  # numpy's seeding range, and what torch.manual_seed accepts everywhere
REAL_VALUED = ("lr", "momentum", "weight_decay", "label_smoothing", "grad_clip", "head_lr_mult")
FLOAT32_MAX = 3.4028234663852886e38  # an optimiser's settings meet float32 tensors
MAX_SIDE = 4096  # pixels of --resize: 4096^2 images already take 64 MB each


def flag(name: str) -> str:
    """A field's command-line flag without its dashes: weight_decay -> weight-decay."""
    return name.replace("_", "-")


@dataclass
class TrainConfig:
    model: str
    dataset: str = "fashion-mnist"
    data_dir: str | None = None
    epochs: int = 10
    batch_size: int = 256
    optimizer: str | None = None  # None: the book's optimiser for this model (registry)
    lr: float | None = None  # None: the book's learning rate for this model (registry)
    momentum: float = 0.9
    weight_decay: float = 0.0
    scheduler: str = "none"
    label_smoothing: float = 0.0
    grad_clip: float | None = None
    resize: int | None = None  # None: the model's default input size
    augment: bool = False
    weight_init: str | None = None  # one of the book's initialisation schemes
    init: str | None = None  # a checkpoint or state_dict file to start from
    head_lr_mult: float = 1.0
    # NHWC: measured faster for every convolutional model of the zoo (d2lkit bench, DESIGN.md §6);
    # a no-op for models without 4-D inputs.
    channels_last: bool = True
    compile: bool = False
    device: str = "auto"
    precision: str = "auto"
    seed: int = 0
    out: str | None = None
    train_subset: int | None = None
    test_subset: int | None = None  # evaluate on the first N test images only (quick runs)
    classes: tuple[int, ...] | None = None
    train_per_class: int | None = None
    tensorboard: bool = False
    progress: bool = True

    def validate(self) -> TrainConfig:
        """Raise `D2lkitError` (one line, exit 2) for values no run can use."""
        positive = {"epochs": self.epochs, "batch_size": self.batch_size}
        for name, value in positive.items():
            if value < 1:
                raise D2lkitError(f"--{flag(name)} must be at least 1, got {value}")
        # NaN passes every comparison below and inf wrecks the first step: refuse both first.
        for name in REAL_VALUED:
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise D2lkitError(f"--{flag(name)} must be a finite number, got {value}")
            if value is not None and abs(value) > FLOAT32_MAX:
                raise D2lkitError(f"--{flag(name)} is beyond float32's range (3.4e38), got {value}")
        if self.lr is not None and abs(self.lr * self.head_lr_mult) > FLOAT32_MAX:
            raise D2lkitError("--lr times --head-lr-mult is beyond float32's range (3.4e38)")
        for name in ("lr", "grad_clip", "head_lr_mult"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise D2lkitError(f"--{flag(name)} must be positive, got {value}")
        for name in ("weight_decay", "label_smoothing", "momentum"):
            value = getattr(self, name)
            if value < 0:
                raise D2lkitError(f"--{flag(name)} must not be negative, got {value}")
        if self.momentum >= 1:  # the velocity would grow without bound
            raise D2lkitError(f"--momentum must be below 1, got {self.momentum}")
        if not 0 <= self.seed < SEED_LIMIT:
            raise D2lkitError(f"--seed must be in 0..{SEED_LIMIT - 1}, got {self.seed}")
        if self.label_smoothing >= 1:
            raise D2lkitError(f"--label-smoothing must be below 1, got {self.label_smoothing}")
        if self.resize is not None and not 8 <= self.resize <= MAX_SIDE:
            raise D2lkitError(
                f"--resize must be 8 to {MAX_SIDE} pixels (the book's largest is 224), got"
                f" {self.resize}"
            )
        if self.out is not None and not self.out.strip():  # "" would mean runs/MODEL-TIME
            raise D2lkitError("--out is empty; name a folder, or drop it for runs/MODEL-TIME")
        for name, value in (
            ("train_subset", self.train_subset),
            ("test_subset", self.test_subset),
            ("train_per_class", self.train_per_class),
        ):
            if value is not None and value < 1:
                raise D2lkitError(f"--{flag(name)} must be at least 1, got {value}")
        for name, value, allowed in (
            ("scheduler", self.scheduler, SCHEDULERS),
            ("device", self.device, DEVICES),
            ("precision", self.precision, PRECISIONS),
        ):
            if value not in allowed:
                raise D2lkitError(f"--{name} must be one of {', '.join(allowed)}, got {value!r}")
        if self.optimizer is not None and self.optimizer not in OPTIMIZERS:  # None: the book's
            raise D2lkitError(
                f"--optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}"
            )
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise D2lkitError(f"unknown training settings: {', '.join(unknown)}")
        # Values read from a file (a hand-edited checkpoint or config.json) can be of any type:
        # "ten" epochs reached `validate` as a TypeError traceback.
        for field in dataclasses.fields(cls):
            value = values.get(field.name)
            if field.name in values and not any(is_kind(k, value) for k in field.type.split(" | ")):
                raise D2lkitError(f"setting {field.name} must be {field.type}, got {value!r}")
        values = dict(values)
        if values.get("classes") is not None:
            values["classes"] = tuple(values["classes"])
        return cls(**values)


def is_kind(kind: str, value: object) -> bool:
    """Whether `value` is of one of TrainConfig's field types, as their annotations spell them."""
    if kind == "None":
        return value is None
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    if kind == "tuple[int, ...]":
        return isinstance(value, list | tuple) and all(is_kind("int", item) for item in value)
    raise AssertionError(f"TrainConfig has a field of type {kind}: teach is_kind to check it")
