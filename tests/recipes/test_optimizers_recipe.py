"""The optimizers experiment: one run per optimiser, the worst one's accuracy as the figure."""

from __future__ import annotations

import dataclasses
import json

import pytest

from d2lkit.recipes import get_recipe, recipe_config, recipe_options
from d2lkit.recipes.experiments import run_optimizers
from d2lkit.recipes.kinds import RecipeRun

OPTIMIZERS = ("sgd", "adam")


def test_each_optimizer_trains_into_its_own_run_and_the_worst_is_the_figure(tmp_path):
    recipe = get_recipe("optimizers")
    config = dataclasses.replace(
        recipe_config(recipe, "cpu"), epochs=1, train_subset=512, test_subset=256, progress=False
    )
    options = {**recipe_options(recipe, "cpu"), "optimizers": (("sgd", 0.1), ("adam", 0.001))}
    summary = run_optimizers(RecipeRun(recipe, "cpu", 0, tmp_path, config, options))

    runs = {name: json.loads((tmp_path / name / "summary.json").read_text()) for name in OPTIMIZERS}
    for name in OPTIMIZERS:
        assert json.loads((tmp_path / name / "config.json").read_text())["optimizer"] == name
    worst = min(runs, key=lambda name: runs[name]["test_acc"])
    assert (summary["worst_optimizer"], summary["min_test_acc"]) == (worst, runs[worst]["test_acc"])
    assert summary["optimizers"]["sgd"]["lr"] == 0.1
    assert summary["wall_s"] == pytest.approx(sum(r["wall_s"] for r in runs.values()))
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    assert (tmp_path / "curves.png").stat().st_size > 0
