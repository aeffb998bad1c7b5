"""Fake recipes for the reproduce tests: a kind whose runner trains nothing and writes the value its
options give, counting its calls, so resuming and reporting are tested in milliseconds."""

from __future__ import annotations

import json

import pytest

from d2lkit.errors import TrainingFailed
from d2lkit.recipes import Band, BookFigure, CpuProfile, Recipe, registry
from d2lkit.recipes.kinds import _KINDS, Kind, RecipeRun


class FakeRunner:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []
        self.crash_on: set[str] = set()  # recipes whose next run is interrupted

    def __call__(self, run: RecipeRun) -> dict:
        self.calls.append((run.recipe.name, run.seed))
        if run.recipe.name in self.crash_on:
            self.crash_on.discard(run.recipe.name)
            raise KeyboardInterrupt  # the process dies mid-run
        if run.options["diverge"]:
            raise TrainingFailed("non-finite loss (nan) at epoch 1 step 3")
        value = run.options["value"] + 0.01 * run.seed
        (run.out / "curves.png").write_bytes(b"png")
        summary = {
            "value_metric": value,
            "epochs": 5,
            "wall_s": 1.0,
            "train_images_per_s": 1000.0 * (1 + run.seed),  # seeds 0, 1, 2: 1000, 2000, 3000
            "device": "cpu",
            "precision": "fp32",
        }
        (run.out / "summary.json").write_text(json.dumps(summary))
        return summary


@pytest.fixture
def fake_recipes(monkeypatch):
    """Register fake-good (0.80 vs book 0.79), fake-low (0.50, below its band), fake-smoke (not
    comparable on the cpu) and fake-good-tuned; returns the runner that records calls."""
    runner = FakeRunner()
    monkeypatch.setitem(
        _KINDS,
        "fake",
        Kind(
            name="fake",
            run=runner,
            trains=False,
            single_run=False,
            option_defaults={"value": 0.8, "diverge": False},
        ),
    )
    book = BookFigure(0.79, "0.790", "5 ep", "the book ch0")
    common = {
        "kind": "fake",
        "metric": "value_metric",
        "metric_label": "test accuracy",
        "book": book,
        "band": Band(minimum=0.78),
    }
    recipes = [
        Recipe(name="fake-good", description="good", **common),
        Recipe(name="fake-low", description="low", options={"value": 0.5}, **common),
        Recipe(
            name="fake-smoke",
            description="smoke",
            options={"value": 0.3},
            cpu=CpuProfile(options={"value": 0.3}, note="1 epoch on 512 images", comparable=False),
            **common,
        ),
        Recipe(
            name="fake-good-tuned",
            description="tuned",
            options={"value": 0.9},
            tuned_from="fake-good",
            deviation="tuned on purpose: adamw",
            **common,
        ),
        Recipe(name="fake-diverges", description="diverges", options={"diverge": True}, **common),
    ]
    registry._load_all()
    for recipe in recipes:
        monkeypatch.setitem(registry._RECIPES, recipe.name, recipe)
    return runner
