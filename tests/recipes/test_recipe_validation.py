"""A recipe is checked when it is made: unknown fields and bad values are one clear D2lkitError."""

from __future__ import annotations

import dataclasses

import pytest

from d2lkit.errors import D2lkitError
from d2lkit.recipes import Band, BookFigure, CpuProfile, Recipe

BOOK = BookFigure(
    0.759, "0.759", "Adam 1e-3, bs 256, 5 ep", "ShusenTang Dive-into-DL-PyTorch ch5.5"
)
TRAIN = {"model": "lenet", "epochs": 5, "batch_size": 256, "optimizer": "adam", "lr": 1e-3}


def make(**changes) -> Recipe:
    fields = {
        "name": "lenet-test",
        "description": "LeNet",
        "metric": "test_acc",
        "metric_label": "test accuracy",
        "book": BOOK,
        "band": Band(minimum=0.749),
        "train": TRAIN,
    }
    return Recipe(**{**fields, **changes})


def test_a_good_recipe_keeps_its_settings_and_merges_the_cpu_profile():
    recipe = make(
        cpu=CpuProfile({"epochs": 1, "train_subset": 512}, note="smoke", comparable=False)
    )
    assert recipe.train_settings("book") == TRAIN
    assert recipe.train_settings("cpu") == {**TRAIN, "epochs": 1, "train_subset": 512}
    assert recipe.comparable("book") and not recipe.comparable("cpu")
    assert recipe.deviation_note("book") == "" and recipe.deviation_note("cpu") == "smoke"


def test_recipes_are_frozen_all_the_way_down():
    recipe = make()
    with pytest.raises(dataclasses.FrozenInstanceError):
        recipe.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        recipe.train["epochs"] = 50  # type: ignore[index]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"train": {**TRAIN, "batchsize": 64}},
         "unknown training field 'batchsize' in train; did you mean 'batch_size'?"),
        ({"train": {**TRAIN, "xyz": 1}},
         "unknown training field 'xyz' in train; see d2lkit.train.config.TrainConfig"),
        ({"cpu": CpuProfile({"epoch": 1}, note="x")},
         "unknown training field 'epoch' in cpu overrides"),
        ({"train": {**TRAIN, "out": "runs/x"}}, "sets 'out', which each run sets itself"),
        ({"train": {**TRAIN, "seed": 3}}, "sets 'seed', which each run sets itself"),
        ({"options": {"penalty": 3.0}}, "unknown options key 'penalty' for kind 'train'"),
    ],
)  # fmt: skip
def test_unknown_fields_are_rejected(changes, message):
    with pytest.raises(D2lkitError, match="recipe 'lenet-test'") as caught:
        make(**changes)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("train", "message"),
    [
        ({**TRAIN, "epochs": "5"}, "field 'epochs' must be <class 'int'>, got '5'"),
        ({**TRAIN, "epochs": 5.0}, "field 'epochs' must be"),
        ({**TRAIN, "augment": 1}, "field 'augment' must be"),
        ({**TRAIN, "lr": True}, "field 'lr' must be"),
        ({**TRAIN, "classes": (0, "1")}, "field 'classes' must be"),
        ({**TRAIN, "epochs": 0}, "--epochs must be at least 1, got 0"),
        ({**TRAIN, "lr": -0.1}, "--lr must be positive"),
        ({**TRAIN, "optimizer": "adamm"}, "optimizer 'adamm' is not one of"),
        ({**TRAIN, "scheduler": "linear"}, "--scheduler must be one of"),
        ({**TRAIN, "label_smoothing": 1.0}, "--label-smoothing must be below 1"),
        ({**TRAIN, "resize": 4}, "--resize must be 8 to 4096 pixels"),
        ({k: v for k, v in TRAIN.items() if k != "model"}, "names no model"),
    ],
)
def test_bad_training_values_are_rejected(train, message):
    with pytest.raises(D2lkitError) as caught:
        make(train=train)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_bad_cpu_override_is_caught_in_the_cpu_profile():
    with pytest.raises(D2lkitError, match="cpu profile: --batch-size must be at least 1"):
        make(cpu=CpuProfile({"batch_size": 0}, note="smaller batches"))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "LeNet"}, "must be lower-case words joined by '-'"),
        ({"name": "lenet_test"}, "must be lower-case words joined by '-'"),
        ({"metric": " "}, "metric must be a non-empty string"),
        ({"band": Band()}, "band needs a minimum, a maximum or both"),
        ({"band": Band(minimum=0.9, maximum=0.1)}, "band minimum 0.9 is above its maximum 0.1"),
        ({"band": Band(minimum=float("nan"))}, "band bounds must be finite numbers"),
        ({"book": dataclasses.replace(BOOK, value=float("inf"))}, "book value must be a finite"),
        ({"book": dataclasses.replace(BOOK, source=" ")}, "book source must say something"),
        ({"cpu": CpuProfile({"epochs": 1})}, "its note must say how"),
        ({"cpu": CpuProfile(comparable="no")}, "cpu comparable must be True or False"),
        ({"kind": "finetunning"}, "unknown recipe kind 'finetunning'"),
        ({"tuned_from": "lenet-test"}, "cannot be tuned from itself"),
    ],
)
def test_bad_recipe_values_are_rejected(changes, message):
    with pytest.raises(D2lkitError) as caught:
        make(**changes)
    assert message in str(caught.value)


def test_kinds_without_training_take_no_training_fields():
    with pytest.raises(
        D2lkitError, match="kind 'weight-decay' takes no training fields, got model"
    ):
        make(kind="weight-decay", train={"model": "linreg"})


@pytest.mark.parametrize(
    ("kind", "options", "message"),
    [
        ("weight-decay", {"penalty": -3.0}, "option 'penalty' must be positive"),
        ("weight-decay", {"lambda": 3.0}, "unknown options key 'lambda'"),
        ("linreg-scratch", {"batch_size": 0}, "option 'batch_size' must be a positive integer"),
        ("optimizers", {"optimizers": (("adamx", 0.1),)}, "is not (one of"),
        ("optimizers", {"optimizers": (("adam", 0),)}, "the lr of adam must be positive"),
        ("optimizers", {"optimizers": ()}, "must list (name, lr) pairs"),
    ],
)
def test_bad_kind_options_are_rejected(kind, options, message):
    train = {"model": "mlp"} if kind == "optimizers" else {}
    with pytest.raises(D2lkitError) as caught:
        make(kind=kind, train=train, options=options)
    assert message in str(caught.value)


def test_a_bad_cpu_option_is_caught_in_the_cpu_profile():
    with pytest.raises(D2lkitError, match="cpu profile: option 'epochs' must be a positive"):
        make(kind="weight-decay", train={}, cpu=CpuProfile(options={"epochs": 0}, note="fewer"))
