"""The speedrun recipes: registered, options checked, the runner's summary."""

from __future__ import annotations

import json

import pytest

from d2lkit.errors import D2lkitError
from d2lkit.recipes import Recipe, get_recipe, list_recipes, recipe_options
from d2lkit.recipes import speedrun as speedrun_recipes
from d2lkit.recipes.kinds import RecipeRun
from d2lkit.recipes.recipe import Band, BookFigure


def test_both_targets_are_recipes_with_their_bands():
    assert {"speedrun", "speedrun-93"} <= set(list_recipes("speedrun*"))
    assert get_recipe("speedrun").band.minimum == 0.92
    assert get_recipe("speedrun-93").band.minimum == 0.93
    assert recipe_options(get_recipe("speedrun-93"), "cpu")["target"] == "93"


def test_an_unknown_target_is_refused_when_the_recipe_is_made():
    with pytest.raises(D2lkitError, match="option 'target' must be one of 92, 93"):
        Recipe(
            name="speedrun-94",
            description="too fast",
            kind="speedrun",
            options={"target": "94"},
            metric="test_acc",
            metric_label="test accuracy",
            book=BookFigure(None, "none", "none", "none"),
            band=Band(minimum=0.94),
        )


def test_the_runner_writes_the_accuracy_and_the_seconds(tmp_path, monkeypatch):
    record = {
        "test_acc": 0.9244, "test_acc_without_tta": 0.9224, "wall_s": 41.0, "train_s": 36.0,
        "train_images": 4 * 234 * 256,
        "cpu_s": 66.0, "device": "cpu", "precision": "bf16", "load_average": [0.2, 1.4],
    }  # fmt: skip
    calls = []

    def fake_child(config, seed, out):
        calls.append((config.model, seed, out))
        return record

    monkeypatch.setattr(speedrun_recipes, "run_seed", fake_child)
    recipe = get_recipe("speedrun")
    run = RecipeRun(recipe, "cpu", 2, tmp_path, None, recipe_options(recipe, "cpu"))
    summary = speedrun_recipes.run_speedrun_recipe(run)
    assert calls == [("speednet", 2, tmp_path)]
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    assert summary["test_acc"] == 0.9244 and summary["within_target_s"]
    assert summary["train_images_per_s"] == pytest.approx(4 * 234 * 256 / 36.0)
    assert "92.44 % in 41.0 s" in summary["details"]


def test_the_runner_trains_where_reproduce_says(tmp_path, monkeypatch):
    """`reproduce --data-dir --device` reach the speedrun's child, which takes no TrainConfig."""
    seen = []

    def fake_child(config, seed, out):
        seen.append((config.data_dir, config.device))
        raise KeyboardInterrupt  # stop once the settings are seen

    monkeypatch.setattr(speedrun_recipes, "run_seed", fake_child)
    recipe = get_recipe("speedrun")
    options = recipe_options(recipe, "cpu")
    run = RecipeRun(recipe, "cpu", 0, tmp_path, None, options, "/data/fmnist", "cpu")
    with pytest.raises(KeyboardInterrupt):
        speedrun_recipes.run_speedrun_recipe(run)
    assert seen == [("/data/fmnist", "cpu")]
