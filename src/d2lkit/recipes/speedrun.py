"""The speedrun as recipes: `d2lkit reproduce --only speedrun` (and `speedrun-93`).

The book has no speedrun: these hold d2lkit's own targets (>= 92 % Fashion-MNIST test accuracy in
<= 60 s on 2 CPU cores; the stretch, 93 % in <= 120 s). Each seed runs in a fresh process timed
from its start (d2lkit.train.speedrun); the band judges the accuracy, and the summary records the
seconds, which depend on the machine and its load, beside it.
"""

from __future__ import annotations

import dataclasses

from d2lkit.jsonfile import write_json_atomic
from d2lkit.recipes.kinds import Kind, RecipeRun, register_kind
from d2lkit.recipes.recipe import Band, BookFigure, Recipe
from d2lkit.recipes.registry import register_recipes
from d2lkit.train.speedrun import TARGETS, run_seed

SPEEDRUN_DEFAULTS = {"target": "92"}
SOURCE = "d2lkit's own target (CIFAR-10 airbench style), DESIGN.md §6"


def check_speedrun(options: dict) -> str | None:
    if options["target"] not in TARGETS:
        return f"option 'target' must be one of {', '.join(TARGETS)}, got {options['target']!r}"
    return None


def run_speedrun_recipe(run: RecipeRun) -> dict:
    config = dataclasses.replace(
        TARGETS[run.options["target"]], data_dir=run.data_dir, device=run.device
    )
    record = run_seed(config, run.seed, run.out)
    within = record["wall_s"] <= config.target_s
    summary = {
        "model": config.model,
        "dataset": "fashion-mnist",
        "epochs": config.epochs,
        "wall_s": record["wall_s"],
        "train_images_per_s": record["train_images"] / record["train_s"],
        "device": record["device"],
        "precision": record["precision"],
        "test_acc": record["test_acc"],
        "test_acc_without_tta": record["test_acc_without_tta"],
        "cpu_s": record["cpu_s"],
        "target_s": config.target_s,
        "within_target_s": within,
        "details": f"{100 * record['test_acc']:.2f} % in {record['wall_s']:.1f} s from process"
        f" start ({'within' if within else 'over'} {config.target_s:.0f} s on this machine,"
        f" {record['cpu_s']:.0f} CPU-s, load average {record['load_average'][0]:.1f})",
    }
    write_json_atomic(run.out / "summary.json", summary)
    return summary


register_kind(
    Kind(
        name="speedrun",
        run=run_speedrun_recipe,
        trains=False,
        single_run=False,
        option_defaults=SPEEDRUN_DEFAULTS,
        check_options=check_speedrun,
    )
)

register_recipes(
    Recipe(
        name="speedrun",
        description="SpeedNet to >= 92 % test accuracy as fast as possible (4 epochs)",
        kind="speedrun",
        options={"target": "92"},
        metric="test_acc",
        metric_label="test accuracy (flip TTA)",
        book=BookFigure(
            None,
            "none in the book; target >= 92 % in <= 60 s on 2 CPU cores",
            "SpeedNet, 4 ep, one-cycle Nesterov SGD, label smoothing 0.1, flips + flip TTA",
            SOURCE,
        ),
        band=Band(minimum=0.92),
    ),
    Recipe(
        name="speedrun-93",
        description="the speedrun's stretch: SpeedNet 1.5x wide to >= 93 % (6 epochs)",
        kind="speedrun",
        options={"target": "93"},
        metric="test_acc",
        metric_label="test accuracy (flip TTA)",
        book=BookFigure(
            None,
            "none in the book; stretch target >= 93 % in <= 120 s on 2 CPU cores",
            "SpeedNet 24-48-96, 6 ep, one-cycle Nesterov SGD, label smoothing 0.2, flips + TTA",
            SOURCE,
        ),
        band=Band(minimum=0.93),
    ),
)
