"""`d2lkit train --recipe NAME`, and a --resume of such a run: the run directory keeps which
recipe made it (recipe.json: reproduce's mark, whose recipe and profile keys it shares) and how it
compares."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from d2lkit.errors import D2lkitError
from d2lkit.jsonfile import read_json, write_json_atomic
from d2lkit.recipes import (
    Recipe,
    book_comparison,
    finish_single_run,
    flag_changes,
    single_run_config,
)
from d2lkit.report.reproduce import IDENTITY, is_reproduce_mark
from d2lkit.train.config import TrainConfig
from d2lkit.train.distributed import is_main
from d2lkit.train.run import CHECKPOINT, refuse_a_second_run
from d2lkit.train.run_lock import writing


def mark_run(out: Path, recipe: str, profile: str, changes: dict) -> None:
    """Before training (in the folder `writing` made), so that an interrupted run still knows
    its recipe when resumed."""
    if is_main() and not (out / CHECKPOINT).exists():  # else run_training refuses the out
        refuse_a_second_run(out)  # a folder of the user's own: refused before anything is written
        if (out / IDENTITY).exists() and "recipe" not in read_json(out / IDENTITY):
            raise D2lkitError(
                f"{out}: holds a recipe.json that is no recipe's mark; training would overwrite"
                " it: pass a new or empty folder to --out"
            )
        write_json_atomic(
            out / IDENTITY, {"recipe": recipe, "profile": profile, "changes": changes}
        )


def compared(summary: dict, recipe: Recipe, profile: str, changes: dict) -> dict:
    """The summary with the recipe's own figure and the line comparing it with the book, also
    written to summary.json (by rank 0 under torchrun: the others may not see the folder)."""
    if not is_main():
        return summary
    config = TrainConfig.from_dict(read_json(Path(summary["run_dir"]) / "config.json"))
    summary = finish_single_run(recipe, profile, config, summary)
    line = book_comparison(recipe, profile, summary, changes)
    # Held to the band only when unchanged by flags and comparable, as reproduce holds it.
    held = not changes and recipe.metric in summary
    verdict = recipe.verdict(profile, summary[recipe.metric]) if held else "not comparable"
    summary = {
        **summary, "recipe": recipe.name, "profile": profile, "book": line, "verdict": verdict,
    }  # fmt: skip
    write_json_atomic(Path(summary["run_dir"]) / "summary.json", summary)
    return summary


def train_recipe(
    name: str, profile: str, device: str, config_of: Callable[[TrainConfig], TrainConfig]
) -> dict:
    """`config_of(base)`: the recipe's TrainConfig with the user's flags applied."""
    from d2lkit.train.run import default_out, run_training

    recipe, profile, base = single_run_config(name, profile, device)
    config = config_of(base)
    if config.out is None:
        config.out = str(default_out(config))
    changes = flag_changes(base, config)
    with writing(Path(config.out)):  # the mark too: a refused second run must not rewrite it
        mark_run(Path(config.out), recipe.name, profile, changes)
        return compared(run_training(config), recipe, profile, changes)


def refuse_reproduce_run(run: Path) -> None:
    """A run of `d2lkit reproduce` (its recipe.json holds the seed) belongs to that report:
    resumed here its summary lost the figures the report reads, and with more epochs the next
    reproduce found it past its recipe and trained it again from scratch. Read before training,
    so that a damaged mark stops the resume, not its end."""
    run_dir = run if run.is_dir() else run.parent
    # The mark is in the run's folder, or one up for the runs of an experiment (optimizers/sgd).
    for mark in (run_dir / IDENTITY, run_dir.parent / IDENTITY):
        if not mark.is_file():
            continue
        recorded = read_json(mark)
        if is_reproduce_mark(recorded):
            raise D2lkitError(
                f"{run_dir}: a run of `d2lkit reproduce` (recipe {recorded.get('recipe')}); rerun"
                " reproduce with the same --out to finish it, or copy the run's folder elsewhere"
                " (without a recipe.json) to train it on"
            )


def recipe_mark(run: Path) -> tuple[Recipe, str, TrainConfig, dict] | None:
    """The recipe, profile, recipe settings and flag changes recorded in a run made by
    `train --recipe`, or None for a plain run. Read before a resume trains, so that a damaged or
    outdated mark (a recipe renamed since) stops the resume, not its end."""
    mark = (run if run.is_dir() else run.parent) / IDENTITY
    if not mark.is_file():
        return None
    recorded = read_json(mark)
    try:
        if not isinstance(recorded, dict) or not isinstance(recorded.get("recipe"), str):
            raise D2lkitError("it names no recipe")
        recipe, profile, base = single_run_config(recorded["recipe"], recorded.get("profile", ""))
        try:
            changes = {k: tuple(v) for k, v in dict(recorded.get("changes", {})).items()}
        except (TypeError, ValueError):
            raise D2lkitError("its changes are no table of setting: [recipe's, given]") from None
    except D2lkitError as err:
        raise D2lkitError(
            f"{mark}: not a mark this d2lkit reads ({err}); delete it to resume the run without"
            " its recipe's comparison with the book"
        ) from None
    return recipe, profile, base, changes


def after_resume(summary: dict, epochs: int | None, mark: tuple | None) -> dict:
    """A resumed recipe run (`mark`: recipe_mark's) gets its comparison again; more epochs than
    the recipe's change it."""
    if mark is None:
        return summary
    recipe, profile, base, changes = mark
    changes = {name: change for name, change in changes.items() if name != "epochs"}
    if epochs is not None and epochs != base.epochs:
        changes["epochs"] = (base.epochs, epochs)
    return compared(summary, recipe, profile, changes)
