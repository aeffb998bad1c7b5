"""The computer-vision recipes: their kinds' option checks, and what each recipe asks for."""

from __future__ import annotations

import pytest

from d2lkit.errors import D2lkitError
from d2lkit.recipes import Recipe, get_recipe, recipe_config, recipe_options
from d2lkit.recipes.recipe import Band, BookFigure
from d2lkit.recipes.vision import finetune_options


def finetune_recipe(**options) -> Recipe:
    return Recipe(
        name="finetune-variant",
        description="a variant",
        kind="finetune",
        metric="finetune_acc",
        metric_label="fine-tuned test accuracy",
        train={"model": "lenet_bn", "head_lr_mult": 10.0},
        options=options,
        book=BookFigure(None, "-", "-", "-"),
        band=Band(minimum=0.5),
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"target_classes": (4, 5, 6)}, "overlap"),
        ({"source_classes": (0, 12)}, "classes 0-9"),
        ({"train_per_class": 0}, "train_per_class"),
        ({"pretrain_epochs": 1.5}, "pretrain_epochs"),
        ({"pretrain_steps": 3}, "unknown options key 'pretrain_steps'"),
    ],
)
def test_bad_finetune_options_fail_when_the_recipe_is_made(options, message):
    with pytest.raises(D2lkitError, match=message):
        finetune_recipe(**options)


def test_options_survive_the_json_round_trip_of_a_run_directory():
    recipe = get_recipe("finetune")
    options = recipe_options(recipe, "cpu")
    as_json = {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()}
    assert finetune_options(as_json) == finetune_options(options)
    assert finetune_options(options).pretrain_epochs == 2


def test_recipes_ask_for_what_the_issue_measures():
    fcn = recipe_config(get_recipe("fcn"), "cpu")
    assert (fcn.model, fcn.dataset) == ("fcn_small", "fashion-scenes")
    assert get_recipe("fcn").metric == "test_miou" and get_recipe("fcn").band.minimum == 0.60
    finetune = recipe_config(get_recipe("finetune"), "cpu")
    assert finetune.head_lr_mult == 10 and finetune.init is None
    augmentation = recipe_config(get_recipe("augmentation"), "cpu")
    assert augmentation.augment is False  # the runner trains both with and without
