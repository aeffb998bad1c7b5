"""`d2lkit reproduce --data-dir --device`: where a session finds Fashion-MNIST and trains reaches
every recipe's runs, and a run continued in the same DIR may take another device."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from d2lkit.cli import main
from d2lkit.data import fashion_mnist
from d2lkit.recipes import get_recipe, recipe_config
from d2lkit.report.reproduce import claim_run_directory, identity, reproduce
from d2lkit.train.run import run_training


def run_config(run_dir: Path) -> dict:
    return json.loads((run_dir / "config.json").read_text())


def test_data_dir_and_device_reach_the_recipes_and_the_experiments(
    tmp_path, tiny_fashion, monkeypatch, capsys
):
    """Only $D2LKIT_DATA reached the recipes' loaders before; an experiment (optimizers) builds
    its runs from the recipe's config, so the folder must reach those runs too."""
    data_dir = tmp_path / "elsewhere"
    data_dir.mkdir()  # empty: d2lkit looks further, as the loader below stands in for the files
    asked = []

    def recording_load(directory=None, *args, **kwargs):
        asked.append(directory)
        return tiny_fashion

    monkeypatch.setattr(fashion_mnist, "load", recording_load)
    out = tmp_path / "rep"
    argv = ["reproduce", "--only", "linreg,softmax,optimizers", "--profile", "cpu"]
    code = main([*argv, "--data-dir", str(data_dir), "--device", "cpu", "--out", str(out)])
    assert code in (0, 1), capsys.readouterr().err  # 1: a tiny stand-in may miss a band
    # softmax's run, then each optimiser's: every load looked in the folder given.
    assert len(asked) >= 2 and set(map(str, asked)) == {str(data_dir.resolve())}
    for run_dir in (out / "softmax", out / "optimizers" / "sgd"):
        assert Path(run_config(run_dir)["data_dir"]) == data_dir.resolve()
        assert run_config(run_dir)["device"] == "cpu"
    # linreg's synthetic data reads no folder: it runs, without the flag it would refuse.
    assert run_config(out / "linreg")["data_dir"] is None
    assert run_config(out / "linreg")["device"] == "cpu"


def test_a_run_continued_with_another_device_resumes_on_it(tmp_path):
    """recipe.json leaves the device out, so the run is not refused as another recipe's; the
    resumed run takes this session's device instead of the one it was started with."""
    recipe = get_recipe("linreg")
    run_dir = tmp_path / "linreg"
    claim_run_directory(run_dir, identity(recipe, "cpu", 0))
    config = recipe_config(recipe, "cpu", 0, {"progress": False, "device": "cpu"})
    run_training(dataclasses.replace(config, epochs=1, out=str(run_dir)))  # stopped after 1
    first_epoch = (run_dir / "metrics.jsonl").read_text()

    reproduce(["linreg"], "cpu", 1, tmp_path, say=lambda line: None, device="auto")
    rows = (run_dir / "metrics.jsonl").read_text()
    assert rows.startswith(first_epoch) and len(rows.splitlines()) == config.epochs  # resumed
    assert run_config(run_dir)["device"] == "auto"


def test_reproduce_without_out_is_refused_by_argparse(fake_recipes, capsys):
    """Its usage showed [--out OUT] although every run needs it; --list alone needs none."""
    with pytest.raises(SystemExit) as exit_:
        main(["reproduce", "--only", "fake-good"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1
    assert "one of the arguments --out --list is required" in err
    assert fake_recipes.calls == []
    assert main(["reproduce", "--list"]) == 0
    # A flag that would change nothing is refused, not dropped without a word.
    for action in (["--list"], ["--report-only", "--out", "x"]):
        assert main(["reproduce", *action, "--data-dir", "d"]) == 2
        assert "trains nothing: drop it" in capsys.readouterr().err


def test_the_auto_profile_continues_a_folder_in_the_profile_of_its_runs(
    tmp_path, monkeypatch, capsys
):
    """On a GPU machine, auto is the book profile, and with --device cpu the cpu one: the same
    command with another --device refused every run of the folder as another profile's."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    out = str(tmp_path / "rep")
    first = ["reproduce", "--only", "linreg", "--device", "cpu", "--out", out]
    assert main([*first[:3], "--profile", "book", *first[3:]]) == 0
    capsys.readouterr()
    assert main(first) == 0  # auto: would be cpu for --device cpu
    printed = capsys.readouterr().out
    assert "holds runs of the book profile: continuing with it" in printed
    assert "with the book profile" in printed
    assert json.loads((tmp_path / "rep" / "results.json").read_text())["profile"] == "book"


def test_only_reproduces_own_sound_marks_choose_the_profile(tmp_path):
    """`train --recipe` leaves a recipe.json (no seed) in runs/<model>-<time>/; a damaged mark is
    the recipe's own check to report, not a profile to continue in."""
    from d2lkit.report.reproduce import profiles_in

    marks = {
        "lenet-20250101-000000": {"recipe": "lenet", "profile": "cpu", "changes": {}},
        "softmax": {"recipe": "softmax", "profile": ["cpu"], "seed": 0},
        "mlp": {"recipe": "mlp", "profile": "gpu", "seed": 0},
    }
    for folder, mark in marks.items():
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "recipe.json").write_text(json.dumps(mark))
    assert profiles_in(tmp_path) == set()
    (tmp_path / "linreg" / "seed1").mkdir(parents=True)
    mark = {"recipe": "linreg", "profile": "book", "seed": 1}
    (tmp_path / "linreg" / "seed1" / "recipe.json").write_text(json.dumps(mark))
    assert profiles_in(tmp_path) == {"book"}
