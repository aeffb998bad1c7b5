"""The recipe registry. Every module of the `d2lkit.recipes` package is imported on first use, so
a new recipe is one `register_recipes(Recipe(...))` call in any module there (a new file works)."""

from __future__ import annotations

import dataclasses
import fnmatch
import importlib
import pkgutil
from typing import Any

from d2lkit.errors import D2lkitError, unknown_name
from d2lkit.recipes.kinds import get_kind, model_requirements
from d2lkit.recipes.recipe import Recipe, resolve_profile
from d2lkit.train.config import TrainConfig

_RECIPES: dict[str, Recipe] = {}
# Modules of the package that define machinery, not recipes.
_MACHINERY = frozenset({"recipe", "registry", "kinds"})
_loaded = False


def register_recipes(*recipes: Recipe) -> None:
    for recipe in recipes:
        if recipe.name in _RECIPES:
            raise ValueError(f"recipe {recipe.name!r} is registered twice")
        _RECIPES[recipe.name] = recipe


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    import d2lkit.recipes as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.name not in _MACHINERY:
            importlib.import_module(f"d2lkit.recipes.{module.name}")


def get_recipe(name: str) -> Recipe:
    _load_all()
    if name not in _RECIPES:
        raise unknown_name("recipe", name, _RECIPES, "d2lkit reproduce --list")
    return _RECIPES[name]


def list_recipes(pattern: str = "*") -> list[str]:
    """Names matching a shell-style pattern, in the order they were registered (the book's)."""
    _load_all()
    return [name for name in _RECIPES if fnmatch.fnmatchcase(name, pattern)]


def recipe_config(
    recipe: Recipe, profile: str, seed: int = 0, overrides: dict[str, Any] | None = None
) -> TrainConfig | None:
    """The TrainConfig of `recipe` under `profile`, with single fields overridden (e.g. from
    `d2lkit train` flags); None for kinds that take no training fields."""
    if not get_kind(recipe.kind).trains:
        return None
    values = {"seed": seed, **recipe.train_settings(profile), **(overrides or {})}
    return TrainConfig.from_dict(values).validate()


def recipe_options(recipe: Recipe, profile: str) -> dict[str, Any]:
    return {**get_kind(recipe.kind).option_defaults, **recipe.option_settings(profile)}


def missing_requirements(recipe: Recipe, profile: str) -> list[str]:
    """What this install lacks to run `recipe` (its model or dataset), or []."""
    if not get_kind(recipe.kind).trains:
        return []
    return model_requirements(dataclasses.asdict(recipe_config(recipe, profile)))


def single_run_config(
    name: str, profile: str, device: str = "auto"
) -> tuple[Recipe, str, TrainConfig]:
    """For `d2lkit train --recipe NAME`: the recipe, the profile resolved for `device` and its
    TrainConfig."""
    recipe = get_recipe(name)
    profile = resolve_profile(profile, device)
    if not get_kind(recipe.kind).single_run:
        raise D2lkitError(
            f"recipe {name!r} is not one training run; run it with"
            f" `d2lkit reproduce --only {name} --out DIR`"
        )
    return recipe, profile, recipe_config(recipe, profile)


def finish_single_run(recipe: Recipe, profile: str, config: TrainConfig, summary: dict) -> dict:
    """After `d2lkit train --recipe`: let the recipe's kind add its own figure to the summary."""
    from pathlib import Path

    from d2lkit.recipes.kinds import RecipeRun

    kind = get_kind(recipe.kind)
    if kind.finish is None:
        return summary
    out = Path(summary["run_dir"])
    run = RecipeRun(recipe, profile, config.seed, out, config, recipe_options(recipe, profile))
    return kind.finish(run, summary)


# TrainConfig fields that say where and how fast a run goes, not what it computes: a flag that sets
# one leaves the recipe's result comparable (`reproduce` holds bf16 runs on a GPU to the band too).
RESULT_NEUTRAL_FIELDS = frozenset(
    {
        "out",
        "seed",
        "progress",
        "tensorboard",
        "device",
        "precision",
        "data_dir",
        "channels_last",
        "compile",
    }
)


def flag_changes(recipe_settings: TrainConfig, given: TrainConfig) -> dict[str, tuple[Any, Any]]:
    """The recipe's settings that `d2lkit train` flags changed: {field: (recipe's, given)}."""
    ours, theirs = dataclasses.asdict(recipe_settings), dataclasses.asdict(given)
    return {
        name: (ours[name], theirs[name])
        for name in ours
        if name not in RESULT_NEUTRAL_FIELDS and ours[name] != theirs[name]
    }


def book_comparison(
    recipe: Recipe, profile: str, summary: dict, changed: dict[str, tuple[Any, Any]] | None = None
) -> str:
    """One line: our figure, the book's, and whether it is within the band. A run whose settings
    flags `changed` (see flag_changes) is not the recipe any more, so it is not held to the band,
    and the profile's own note (which describes the unchanged settings) is not repeated."""
    book = f"book {recipe.book.text} ({recipe.book.source})"
    if recipe.metric not in summary:
        return f"recipe {recipe.name}: {book}"
    value = summary[recipe.metric]
    if changed:
        edits = ", ".join(f"{name} {old} -> {new}" for name, (old, new) in changed.items())
        verdict = f"not comparable (flags changed the recipe: {edits})"
    elif not recipe.comparable(profile):
        verdict = f"not comparable ({recipe.cpu.note})"
    else:
        verdict = "within" if recipe.verdict(profile, value) == "pass" else "OUTSIDE"
        verdict += f" the band {recipe.band.describe()}"
    return f"recipe {recipe.name} ({profile}): {recipe.metric_label} {value:.4g}; {book}; {verdict}"
