"""Kinds of recipe: how a recipe runs. Most are one training run ("train"); the experiments that
are not (weight decay, the optimiser comparison, ...) register their own runner here.

A runner gets a `RecipeRun` and returns the summary it wrote to `out/summary.json`, which must hold
the recipe's metric. It may find `out` half-filled by an interrupted earlier attempt and must cope
(the "train" runner resumes from the checkpoint).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from d2lkit.errors import D2lkitError
from d2lkit.train.config import TrainConfig
from d2lkit.train.rerun import train_or_resume

if TYPE_CHECKING:
    from d2lkit.recipes.recipe import Recipe


@dataclass(frozen=True)
class RecipeRun:
    """One run of a recipe: its settings resolved for a profile and a seed."""

    recipe: Recipe
    profile: str
    seed: int
    out: Path
    config: TrainConfig | None  # None for kinds that take no training fields
    options: dict[str, Any]  # the kind's options, defaults filled in
    # Where this session runs it (`reproduce --data-dir, --device`), for the kinds that train
    # without a TrainConfig; `config` carries them too.
    data_dir: str | None = None
    device: str = "auto"


@dataclass(frozen=True)
class Kind:
    name: str
    run: Callable[[RecipeRun], dict]
    trains: bool  # takes TrainConfig fields
    single_run: bool  # the config is one `d2lkit train` run (so `d2lkit train --recipe` can run it)
    option_defaults: Mapping[str, Any] = field(default_factory=dict)
    check_options: Callable[[dict], str | None] = lambda options: None  # a problem, or None
    # For single runs: turns the trainer's summary into the recipe's (e.g. adds a metric).
    finish: Callable[[RecipeRun, dict], dict] | None = None


_KINDS: dict[str, Kind] = {}
BUILTIN_KIND_MODULES = ("d2lkit.recipes.experiments", "d2lkit.recipes.vision")


def register_kind(kind: Kind) -> Kind:
    if kind.name in _KINDS:
        raise ValueError(f"recipe kind {kind.name!r} is registered twice")
    _KINDS[kind.name] = kind
    return kind


def not_positive_integer(options: dict, *keys: str) -> str | None:
    """The first of `keys` whose option is not a positive integer, as a problem line."""
    for key in keys:
        if not isinstance(options[key], int) or options[key] < 1:
            return f"option {key!r} must be a positive integer, got {options[key]!r}"
    return None


def not_positive_number(options: dict, key: str) -> str | None:
    if not isinstance(options[key], int | float) or not options[key] > 0:
        return f"option {key!r} must be positive, got {options[key]!r}"
    return None


def get_kind(name: str) -> Kind:
    import importlib

    # Import the kind modules only until the name turns up: they register recipes too, and the
    # registry keeps the order recipes arrive in (the book's chapter order).
    for module in BUILTIN_KIND_MODULES:
        if name in _KINDS:
            break
        importlib.import_module(module)
    if name not in _KINDS:
        raise D2lkitError(f"unknown recipe kind {name!r}; known: {', '.join(sorted(_KINDS))}")
    return _KINDS[name]


# -- the "train" kind: one run of the trainer -------------------------------------------------


def model_requirements(config: dict) -> list[str]:
    """What a training config names that this install lacks: its model or its dataset."""
    from d2lkit.data.datasets import dataset_names
    from d2lkit.models.registry import list_models

    missing = []
    if config["model"] not in list_models():
        missing.append(f"model {config['model']!r}")
    dataset = config.get("dataset", "fashion-mnist").partition(":")[0]
    if dataset not in dataset_names():
        missing.append(f"dataset {dataset!r}")
    return missing


def run_train(run: RecipeRun) -> dict:
    return train_or_resume(run.config, run.out)


register_kind(Kind(name="train", run=run_train, trains=True, single_run=True))
