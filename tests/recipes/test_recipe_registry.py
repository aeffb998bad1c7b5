"""Every registered recipe: its settings build a valid TrainConfig in both profiles, its model is in
the zoo (recipes whose model another part of the project adds are skipped until it lands), and the
cpu profile keeps the book's settings exactly where the issue promises comparable results."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from d2lkit.cli import main
from d2lkit.errors import D2lkitError
from d2lkit.models.registry import list_models
from d2lkit.recipes import (
    book_comparison,
    flag_changes,
    get_recipe,
    list_recipes,
    missing_requirements,
    recipe_config,
    register_recipes,
    single_run_config,
)
from d2lkit.recipes.kinds import get_kind

# The list: the book's experiments every install must define.
REQUIRED = [
    "linreg",
    "linreg-scratch",
    "softmax",
    "softmax-scratch",
    "mlp",
    "mlp-scratch",
    "dropout",
    "dropout-scratch",
    "weight-decay",
    "lenet",
    "alexnet",
    "vgg",
    "nin",
    "googlenet",
    "batchnorm",
    "batchnorm-scratch",
    "resnet",
    "densenet",
    "optimizers",
]
CLASSIC_CNNS = ["lenet", "alexnet", "vgg", "nin", "googlenet", "batchnorm", "resnet", "densenet"]
# The small set `d2lkit reproduce --profile cpu` must finish on 2 cores at the book's settings.
SMALL_SET = [
    "linreg",
    "softmax",
    "softmax-scratch",
    "mlp",
    "mlp-scratch",
    "dropout",
    "dropout-scratch",
    "weight-decay",
    "lenet",
    "batchnorm",
    "batchnorm-scratch",
    "optimizers",
]


def test_the_book_experiments_and_tuned_twins_are_all_registered():
    names = list_recipes()
    missing = [n for n in REQUIRED + [f"{c}-tuned" for c in CLASSIC_CNNS] if n not in names]
    assert missing == []
    assert list_recipes("*-tuned") == [f"{c}-tuned" for c in CLASSIC_CNNS]


@pytest.mark.parametrize("name", list_recipes())
def test_each_recipe_builds_its_config_in_both_profiles(name):
    recipe = get_recipe(name)
    for profile in ("book", "cpu"):
        config = recipe_config(recipe, profile, seed=3)
        if get_kind(recipe.kind).trains:
            assert config.seed == 3 and config.model == recipe.train["model"]
        else:
            assert config is None
    assert missing_requirements(recipe, "book") == []  # every model and dataset it names exists
    if get_kind(recipe.kind).trains:
        assert recipe.train["model"] in list_models()


@pytest.mark.parametrize("name", SMALL_SET)
def test_the_small_set_runs_the_book_settings_on_the_cpu(name):
    recipe = get_recipe(name)
    assert recipe.comparable("cpu")
    assert recipe.train_settings("cpu") == recipe.train_settings("book")
    assert recipe.option_settings("cpu") == recipe.option_settings("book")


@pytest.mark.parametrize("name", ["alexnet", "vgg", "nin", "googlenet", "resnet", "densenet"])
def test_large_networks_say_how_their_cpu_profile_departs(name):
    recipe = get_recipe(name)
    assert not recipe.comparable("cpu") and recipe.comparable("book")
    assert recipe.cpu.note and recipe.cpu.note in recipe.deviation_note("cpu")
    assert recipe_config(recipe, "cpu").epochs < recipe_config(recipe, "book").epochs


@pytest.mark.parametrize("name", ["alexnet", "vgg"])
def test_224_pixel_smoke_runs_test_on_a_stated_part_of_the_test_set(name):
    recipe = get_recipe(name)
    assert recipe_config(recipe, "cpu").test_subset == 2000
    assert recipe_config(recipe, "book").test_subset is None  # the book's figure: all 10,000
    assert "tested on the first 2000 test images" in recipe.deviation_note("cpu")


@pytest.mark.parametrize("base", CLASSIC_CNNS)
def test_a_tuned_twin_trains_the_same_network_differently(base):
    plain, tuned = get_recipe(base), get_recipe(f"{base}-tuned")
    assert tuned.tuned_from == base
    book, better = recipe_config(plain, "book"), recipe_config(tuned, "book")
    assert better.model == book.model and better.resize == book.resize
    assert better.epochs == book.epochs and better.batch_size == book.batch_size
    changed = {k for k, v in better.to_dict().items() if book.to_dict()[k] != v}
    assert changed and changed <= {
        "optimizer", "lr", "momentum", "weight_decay", "scheduler", "label_smoothing",
        "weight_init", "augment", "grad_clip",
    }  # fmt: skip
    assert tuned.book == plain.book and "tuned" in tuned.deviation_note("book")


def test_book_figures_and_bands_follow_the_design_table():
    assert get_recipe("lenet").book.value == 0.759
    assert get_recipe("lenet").band.minimum == pytest.approx(0.749)
    assert get_recipe("batchnorm-scratch").book.value == 0.859
    assert get_recipe("linreg").band.maximum == 0.01
    assert get_recipe("weight-decay").book.value == pytest.approx(15.11 / 0.035)
    assert "ch5.5" in get_recipe("lenet").book.source


def test_the_verdict_needs_a_comparable_profile_the_band_and_every_check():
    lenet, nin = get_recipe("lenet"), get_recipe("nin")
    assert lenet.verdict("cpu", 0.75) == "pass"
    assert lenet.verdict("cpu", 0.748) == "below band"
    assert lenet.verdict("cpu", 0.75, [True, False]) == "below band"
    assert get_recipe("linreg").verdict("cpu", 0.02) == "below band"  # its band is <= 0.01
    assert nin.verdict("cpu", 0.1) == "not comparable"  # the cpu profile is a smoke run
    assert nin.verdict("book", 0.1) == "below band"


def test_unknown_recipe_names_suggest_close_ones():
    with pytest.raises(D2lkitError, match="unknown recipe 'lenett': did you mean lenet"):
        get_recipe("lenett")


def test_a_recipe_registered_twice_is_an_error():
    with pytest.raises(ValueError, match="registered twice"):
        register_recipes(get_recipe("lenet"))


def test_only_single_training_runs_go_through_train_recipe():
    recipe, profile, config = single_run_config("lenet", "cpu")
    assert (recipe.name, profile, config.model) == ("lenet", "cpu", "lenet")
    with pytest.raises(D2lkitError, match="not one training run; run it with `d2lkit reproduce"):
        single_run_config("optimizers", "cpu")


def test_the_auto_profile_follows_the_device_the_runs_train_on(monkeypatch, tmp_path):
    """On a GPU machine `--device cpu` got the book profile: AlexNet at 224 pixels on a CPU."""
    import torch

    from d2lkit.recipes import resolve_profile

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_profile("auto") == resolve_profile("auto", "cuda") == "book"
    assert resolve_profile("auto", "cpu") == "cpu"
    assert resolve_profile("book", "cpu") == "book"  # asked for by name: the user's choice
    out = tmp_path / "run"
    flags = ["--epochs", "1", "--device", "cpu", "--no-progress", "--out", str(out)]
    assert main(["train", "--recipe", "linreg", *flags]) == 0
    assert json.loads((out / "recipe.json").read_text())["profile"] == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_profile("auto") == "cpu"


def test_train_recipe_takes_the_recipe_and_lets_flags_override_single_fields(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        ["train", "--recipe", "linreg", "--epochs", "2", "--no-progress", "--out", str(out)]
    )
    assert code == 0
    config = json.loads((out / "config.json").read_text())
    assert config["epochs"] == 2  # the flag
    assert (config["batch_size"], config["lr"], config["dataset"]) == (10, 0.03, "synthetic-linear")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["param_error"] < 0.01  # the recipe's own figure, added after training
    printed = capsys.readouterr().out
    assert f"max |error| of learned w, b {summary['param_error']:.4g}" in printed
    assert "not comparable (flags changed the recipe: epochs 3 -> 2)" in printed
    assert (summary["recipe"], summary["profile"]) == ("linreg", "cpu")  # kept with the run
    assert summary["book"] in printed

    # Resumed to the recipe's own 3 epochs, the run is the recipe again, and still says so.
    assert main(["train", "--resume", str(out), "--epochs", "3", "--no-progress"]) == 0
    resumed = json.loads((out / "summary.json").read_text())
    assert (resumed["recipe"], resumed["epoch"]) == ("linreg", 3)
    assert resumed["book"].endswith("within the band <= 0.01")
    assert resumed["book"] in capsys.readouterr().out


@pytest.mark.parametrize(
    ("mark", "why"),
    [
        ({"foo": 1}, "it names no recipe"),  # was a KeyError traceback after the epoch
        ({"recipe": "nope", "profile": "cpu"}, "unknown recipe 'nope'"),  # renamed since
        ({"recipe": "linreg", "profile": "cpu", "changes": 3}, "its changes are no table of"),
    ],
)
def test_a_resume_with_a_damaged_recipe_mark_stops_before_training(mark, why, tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--recipe", "linreg", "--epochs", "1", "--no-progress", "--out", str(out)]
    assert main(argv) == 0
    (out / "recipe.json").write_text(json.dumps(mark))
    before = (out / "checkpoint.pt").read_bytes()
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--epochs", "2", "--no-progress"]) == 2
    out_text, err = capsys.readouterr()
    assert err.startswith(f"d2lkit: error: {out / 'recipe.json'}: not a mark this d2lkit reads (")
    assert why in err and err.rstrip().endswith("delete it to resume the run without its"
        " recipe's comparison with the book") and err.count("\n") == 1  # fmt: skip
    assert out_text == "" and (out / "checkpoint.pt").read_bytes() == before  # not trained on


def test_train_recipe_rejects_resume_alongside(tmp_path, capsys):
    code = main(["train", "--recipe", "lenet", "--resume", str(tmp_path)])
    assert code == 2
    assert "drop --recipe" in capsys.readouterr().err


def test_flags_that_change_what_a_run_computes_are_listed_and_the_rest_are_not():
    recipe, _, base = single_run_config("nin", "cpu")
    given = dataclasses.replace(base, train_subset=8192, seed=3, out="x", progress=False)
    assert flag_changes(base, given) == {"train_subset": (16384, 8192)}
    assert flag_changes(base, dataclasses.replace(base, seed=5, device="cpu")) == {}


def test_a_recipe_changed_by_flags_is_not_held_to_the_band_nor_described_by_its_stale_note():
    recipe = get_recipe("nin")
    line = book_comparison(recipe, "cpu", {"test_acc": 0.5}, {"train_subset": (16384, 8192)})
    assert "not comparable (flags changed the recipe: train_subset 16384 -> 8192)" in line
    assert "16384 training images" not in line  # the cpu profile's note describes 16384
    lenet = get_recipe("lenet")
    assert "within the band >= 0.749" in book_comparison(lenet, "cpu", {"test_acc": 0.76})
    changed = book_comparison(lenet, "cpu", {"test_acc": 0.76}, {"epochs": (5, 1)})
    assert "within" not in changed and "epochs 5 -> 1" in changed


def test_only_the_smoke_runs_of_plain_deep_networks_change_the_init():
    for name in ("vgg", "googlenet"):
        recipe = get_recipe(name)
        assert recipe.train_settings("cpu")["weight_init"] == "kaiming"
        assert "He init" in recipe.deviation_note("cpu")
        assert "weight_init" not in recipe.train_settings("book")  # the book's (PyTorch's) init


def test_the_list_marks_the_recipes_train_recipe_cannot_run(capsys):
    assert main(["reproduce", "--list"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert set(rows) == set(list_recipes())
    for name, line in rows.items():
        single = get_kind(get_recipe(name).kind).single_run
        assert line.endswith("[reproduce only]") != single, name


def test_a_reader_that_stops_early_is_not_an_error(tmp_path):
    """`d2lkit reproduce --list | head -1`: the closed pipe is no traceback."""
    import os
    import subprocess
    import sys

    import d2lkit

    env = dict(os.environ, PYTHONPATH=str(Path(d2lkit.__file__).parents[1]))
    reader = subprocess.Popen(
        [sys.executable, "-m", "d2lkit", "reproduce", "--list"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, bufsize=0,
    )  # fmt: skip
    reader.stdout.read(10)
    reader.stdout.close()  # as `head` does once it has its lines
    assert reader.wait(timeout=60) == 0
    assert reader.stderr.read() == b""


def test_train_recipe_outside_its_band_exits_1_as_reproduce_does(tmp_path, capsys, monkeypatch):
    from d2lkit.recipes import registry
    from d2lkit.recipes.recipe import Band

    strict = dataclasses.replace(get_recipe("linreg"), band=Band(maximum=1e-9))
    monkeypatch.setitem(registry._RECIPES, "linreg", strict)
    out = tmp_path / "run"
    assert main(["train", "--recipe", "linreg", "--no-progress", "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "OUTSIDE the band <= 1e-09" in captured.out
    assert captured.err == (
        "d2lkit: failed: recipe linreg missed the book (see the line above); its run is kept, and"
        " `d2lkit reproduce --seeds N` shows the run-to-run spread\n"
    )
    assert json.loads((out / "summary.json").read_text())["verdict"] == "below band"
    # Changed by a flag, the run is not the recipe: not held to the band.
    flagged = ["train", "--recipe", "linreg", "--epochs", "2", "--no-progress"]
    assert main([*flagged, "--out", str(tmp_path / "flagged")]) == 0
