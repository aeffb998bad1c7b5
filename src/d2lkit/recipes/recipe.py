"""`Recipe`: one experiment of the book as frozen, checked data.

A recipe holds the book's settings (the `book` profile, a mapping of `TrainConfig` fields), what the
book reports and where, the band our result must reach, and the `cpu` profile: the changes that make
it finish on a 2-core CPU, said in words, and whether the result is still comparable to the book's.
Every value is checked when the recipe is made, so a typo fails at import with one clear line.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from d2lkit.errors import D2lkitError
from d2lkit.train.config import TrainConfig

PROFILES = ("book", "cpu")
# Set per run by `d2lkit reproduce` / `d2lkit train`, never by a recipe.
RUN_FIELDS = frozenset({"out", "seed", "progress"})
TRAIN_FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}
NAME_PATTERN = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class BookFigure:
    """What the book reports, in its own terms."""

    value: float | None  # the number to compare with; None where the book states no single number
    text: str  # how the report shows it, e.g. "0.759" or "w = [2, -3.4], b = 4.2"
    settings: str  # the book's hyperparameters in words
    source: str  # e.g. "ShusenTang Dive-into-DL-PyTorch ch5.5"


@dataclass(frozen=True)
class Band:
    """The values a comparable result must fall in (either bound may be open)."""

    minimum: float | None = None
    maximum: float | None = None

    def contains(self, value: float) -> bool:
        if self.minimum is not None and value < self.minimum:
            return False
        return self.maximum is None or value <= self.maximum

    def describe(self) -> str:
        if self.maximum is None:
            return f">= {self.minimum:g}"
        if self.minimum is None:
            return f"<= {self.maximum:g}"
        return f"{self.minimum:g} to {self.maximum:g}"


@dataclass(frozen=True)
class CpuProfile:
    """How the `cpu` profile departs from the book's settings."""

    overrides: Mapping[str, Any] = field(default_factory=dict)  # TrainConfig fields
    options: Mapping[str, Any] = field(default_factory=dict)  # options of the recipe's kind
    note: str = ""  # the departure in words, shown in the report ("" = the book's settings)
    comparable: bool = True  # whether the result can still be held to the book's band


@dataclass(frozen=True)
class Recipe:
    name: str  # lower-case words joined by "-", e.g. "lenet-tuned"
    description: str
    metric: str  # the key of the run's summary.json that holds the result, e.g. "test_acc"
    metric_label: str  # the metric in words, e.g. "test accuracy"
    book: BookFigure
    band: Band
    train: Mapping[str, Any] = field(default_factory=dict)  # the book profile, TrainConfig fields
    cpu: CpuProfile = field(default_factory=CpuProfile)
    kind: str = "train"  # how it runs: "train" = one training run; others: see kinds.py
    options: Mapping[str, Any] = field(default_factory=dict)  # settings of a non-"train" kind
    deviation: str = ""  # a departure from the book that holds in every profile
    tuned_from: str | None = None  # for a tuned variant: the recipe whose network it trains better

    def __post_init__(self) -> None:
        # Freeze the mappings too, so a recipe cannot be changed after it was checked.
        for name in ("train", "options"):
            object.__setattr__(self, name, types.MappingProxyType(dict(getattr(self, name))))
        cpu = dataclasses.replace(
            self.cpu,
            overrides=types.MappingProxyType(dict(self.cpu.overrides)),
            options=types.MappingProxyType(dict(self.cpu.options)),
        )
        object.__setattr__(self, "cpu", cpu)
        validate_recipe(self)

    def train_settings(self, profile: str) -> dict[str, Any]:
        """The TrainConfig fields of `profile` ("book" or "cpu")."""
        check_profile(profile)
        return {**self.train, **(self.cpu.overrides if profile == "cpu" else {})}

    def option_settings(self, profile: str) -> dict[str, Any]:
        """The kind's options of `profile`, without the kind's defaults."""
        check_profile(profile)
        return {**self.options, **(self.cpu.options if profile == "cpu" else {})}

    def comparable(self, profile: str) -> bool:
        return profile == "book" or self.cpu.comparable

    def verdict(self, profile: str, value: float, checks: Iterable[bool] = ()) -> str:
        """ "pass", "below band" or "not comparable": a result (and the recipe's own checks)
        against the book."""
        if not self.comparable(profile):
            return "not comparable"
        return "pass" if self.band.contains(value) and all(checks) else "below band"

    def deviation_note(self, profile: str) -> str:
        notes = [self.deviation] + ([self.cpu.note] if profile == "cpu" else [])
        return "; ".join(note for note in notes if note)


def resolve_profile(profile: str, device: str = "auto") -> str:
    """`auto`: the book's settings where the runs train on CUDA (`device` cuda, or auto with a
    CUDA device present), else the cpu profile: `--device cpu` on a GPU machine must not get
    the runs sized for a GPU."""
    if profile != "auto":
        check_profile(profile)
        return profile
    if device != "auto":
        return "book" if device == "cuda" else "cpu"
    import torch

    return "book" if torch.cuda.is_available() else "cpu"


def check_profile(profile: str) -> None:
    if profile not in PROFILES:
        raise D2lkitError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")


def _fail(recipe_name: str, message: str) -> typing.NoReturn:
    raise D2lkitError(f"recipe {recipe_name!r}: {message}")


def _accepts(value: Any, hint: Any) -> bool:
    """Whether `value` fits a TrainConfig type hint (int, float | None, tuple[int, ...] | None)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_accepts(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin is tuple:
        item = typing.get_args(hint)[0]
        return isinstance(value, tuple | list) and all(_accepts(v, item) for v in value)
    if hint is bool:
        return isinstance(value, bool)
    if hint is float:  # an int is a fine float (lr=1), a bool is not
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


_HINTS = typing.get_type_hints(TrainConfig)


def check_train_fields(recipe_name: str, where: str, values: Mapping[str, Any]) -> None:
    """Unknown names, values set per run, and values of the wrong type are errors."""
    for key, value in values.items():
        if key in RUN_FIELDS:
            _fail(recipe_name, f"{where} sets {key!r}, which each run sets itself; remove it")
        if key not in TRAIN_FIELDS:
            close = difflib.get_close_matches(key, TRAIN_FIELDS, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "see d2lkit.train.config.TrainConfig"
            _fail(recipe_name, f"unknown training field {key!r} in {where}; {hint}")
        if not _accepts(value, _HINTS[key]):
            _fail(
                recipe_name,
                f"{where} field {key!r} must be {_HINTS[key]}, got {value!r}",
            )


def check_train_values(recipe_name: str, where: str, values: Mapping[str, Any]) -> None:
    """The values a run would reject (negative epochs, unknown optimiser, ...) are rejected now."""
    from d2lkit.train.optim import OPTIMIZERS

    if "model" not in values:
        _fail(recipe_name, f"{where} names no model")
    optimizer = values.get("optimizer")
    if optimizer is not None and optimizer not in OPTIMIZERS:
        _fail(recipe_name, f"{where} optimizer {optimizer!r} is not one of {', '.join(OPTIMIZERS)}")
    try:
        TrainConfig.from_dict(dict(values)).validate()
    except D2lkitError as err:
        _fail(recipe_name, f"{where}: {err}")


def validate_recipe(recipe: Recipe) -> None:
    from d2lkit.recipes.kinds import get_kind

    name = recipe.name
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise D2lkitError(
            f"recipe name {name!r} must be lower-case words joined by '-', e.g. 'lenet-tuned'"
        )
    for attr in ("description", "metric", "metric_label"):
        if not isinstance(getattr(recipe, attr), str) or not getattr(recipe, attr).strip():
            _fail(name, f"{attr} must be a non-empty string")
    if not isinstance(recipe.book, BookFigure):
        _fail(name, "book must be a BookFigure")
    if recipe.book.value is not None and not _finite(recipe.book.value):
        _fail(name, f"book value must be a finite number or None, got {recipe.book.value!r}")
    for attr in ("text", "settings", "source"):
        if not getattr(recipe.book, attr).strip():
            _fail(name, f"book {attr} must say something")
    validate_band(name, recipe.band)
    if not isinstance(recipe.cpu.comparable, bool):
        _fail(name, f"cpu comparable must be True or False, got {recipe.cpu.comparable!r}")
    if (recipe.cpu.overrides or recipe.cpu.options) and not recipe.cpu.note.strip():
        _fail(name, "the cpu profile changes settings, so its note must say how")
    if recipe.tuned_from is not None and recipe.tuned_from == name:
        _fail(name, "a tuned variant cannot be tuned from itself")

    kind = get_kind(recipe.kind)
    for where, options in (("options", recipe.options), ("cpu options", recipe.cpu.options)):
        unknown = sorted(set(options) - set(kind.option_defaults))
        if unknown:
            known = ", ".join(sorted(kind.option_defaults)) or "none"
            _fail(
                name, f"unknown {where} key {unknown[0]!r} for kind {kind.name!r}; known: {known}"
            )
    if kind.trains:
        check_train_fields(name, "train", recipe.train)
        check_train_fields(name, "cpu overrides", recipe.cpu.overrides)
        for profile in PROFILES:
            check_train_values(name, f"{profile} profile", recipe.train_settings(profile))
    elif recipe.train or recipe.cpu.overrides:
        keys = sorted(set(recipe.train) | set(recipe.cpu.overrides))
        _fail(name, f"kind {kind.name!r} takes no training fields, got {', '.join(keys)}")
    for profile in PROFILES:
        problem = kind.check_options({**kind.option_defaults, **recipe.option_settings(profile)})
        if problem:
            _fail(name, f"{profile} profile: {problem}")


def validate_band(recipe_name: str, band: Band) -> None:
    if not isinstance(band, Band):
        _fail(recipe_name, "band must be a Band")
    if band.minimum is None and band.maximum is None:
        _fail(recipe_name, "band needs a minimum, a maximum or both")
    for bound in (band.minimum, band.maximum):
        if bound is not None and not _finite(bound):
            _fail(recipe_name, f"band bounds must be finite numbers, got {bound!r}")
    if band.minimum is not None and band.maximum is not None and band.minimum > band.maximum:
        _fail(recipe_name, f"band minimum {band.minimum} is above its maximum {band.maximum}")


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
