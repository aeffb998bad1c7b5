"""`d2lkit reproduce` resumes: finished recipes are kept, interrupted ones are run again, and a
half-trained run continues from its checkpoint instead of starting over."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from d2lkit.cli import main
from d2lkit.errors import D2lkitError
from d2lkit.recipes import Recipe, get_recipe, recipe_config, registry
from d2lkit.report.reproduce import claim_run_directory, identity, reproduce, seeds_in
from d2lkit.report.results import failing_rows
from d2lkit.train.checkpoint import load_checkpoint
from d2lkit.train.rerun import train_or_resume, train_or_reuse
from d2lkit.train.run import run_training


def test_a_finished_recipe_is_not_rerun_after_an_interruption(fake_recipes, tmp_path):
    fake_recipes.crash_on = {"fake-low"}
    with pytest.raises(KeyboardInterrupt):
        reproduce(["fake-good", "fake-low"], "cpu", 1, tmp_path, say=lambda line: None)
    assert fake_recipes.calls == [("fake-good", 0), ("fake-low", 0)]
    assert not (tmp_path / "REPORT.md").exists()

    lines: list[str] = []
    results = reproduce(["fake-good", "fake-low"], "cpu", 1, tmp_path, say=lines.append)
    assert fake_recipes.calls == [("fake-good", 0), ("fake-low", 0), ("fake-low", 0)]
    assert lines[0].startswith("[1/2] fake-good ... 0.8 (book 0.79)")
    assert lines[0].endswith("(finished earlier, kept)")
    assert lines[-1].startswith("[2/2] fake-low ... 0.5 (book 0.79)")
    assert lines[-1].endswith("BELOW BAND")
    assert [row["status"] for row in results["rows"]] == ["pass", "below band"]
    for name in ("REPORT.md", "results.json", "summary.png", "machine.json"):
        assert (tmp_path / name).is_file()


def test_several_seeds_run_into_their_own_directories(fake_recipes, tmp_path):
    results = reproduce(["fake-good"], "cpu", 3, tmp_path, say=lambda line: None)
    assert fake_recipes.calls == [("fake-good", 0), ("fake-good", 1), ("fake-good", 2)]
    for seed in range(3):
        summary = json.loads((tmp_path / "fake-good" / f"seed{seed}" / "summary.json").read_text())
        assert summary["seed"] == seed and summary["value"] == pytest.approx(0.8 + 0.01 * seed)
        # The run's own wall_s counts sessions before a resume; the fake's says 1 s.
        assert summary["recipe_wall_s"] >= 1.0
    row = results["rows"][0]
    assert row["mean"] == pytest.approx(0.81) and row["std"] == pytest.approx(0.01)
    assert row["curves"] == "fake-good/seed0/curves.png"
    # 3 x N images in N/1000 + N/2000 + N/3000 s, not the mean of the rates (2000).
    assert row["images_per_s"] == pytest.approx(3 / (1 / 1000 + 1 / 2000 + 1 / 3000))


def test_a_run_directory_of_another_profile_is_refused(fake_recipes, tmp_path):
    reproduce(["fake-smoke"], "cpu", 1, tmp_path, say=lambda line: None)
    with pytest.raises(D2lkitError, match="fake-smoke: holds a run of the cpu profile, not the"
        " book profile; reproduce into another --out, or move .*fake-smoke away"):  # fmt: skip
        reproduce(["fake-smoke"], "book", 1, tmp_path, say=lambda line: None)
    assert fake_recipes.calls == [("fake-smoke", 0)]


def test_a_folder_holds_one_profile(fake_recipes, tmp_path, capsys):
    """--profile book, then --profile cpu with another recipe into the same folder, mixed the
    two; the report then refused the book runs and advised deleting them."""
    argv = ["reproduce", "--only", "fake-good", "--out", str(tmp_path), "--profile"]
    assert main([*argv, "book"]) == 0
    fake_recipes.calls.clear()
    for extra in ([], ["--report-only"]):
        assert main([*argv, "cpu", *extra]) == 2
        assert capsys.readouterr().err.endswith(
            f"{tmp_path}: holds runs of the book profile; one folder holds one profile: pass"
            " --profile book, or reproduce into another --out\n"
        )
    assert fake_recipes.calls == []


def test_a_finished_run_of_since_changed_settings_is_not_reused(fake_recipes, tmp_path):
    reproduce(["fake-good"], "cpu", 1, tmp_path, say=lambda line: None)
    changed = dataclasses.replace(registry._RECIPES["fake-good"], options={"value": 0.85})
    registry._RECIPES["fake-good"] = changed  # fake_recipes' monkeypatch restores the registry
    with pytest.raises(D2lkitError, match="holds a run of recipe 'fake-good' .* other settings"):
        reproduce(["fake-good"], "cpu", 1, tmp_path, say=lambda line: None)
    assert fake_recipes.calls == [("fake-good", 0)]


def test_a_directory_with_foreign_files_is_refused(fake_recipes, tmp_path):
    (tmp_path / "fake-good").mkdir()
    (tmp_path / "fake-good" / "notes.txt").write_text("mine")
    with pytest.raises(D2lkitError, match="holds files `d2lkit reproduce` did not make"):
        reproduce(["fake-good"], "cpu", 1, tmp_path, say=lambda line: None)
    assert fake_recipes.calls == []


def test_a_diverged_run_is_recorded_then_retried(fake_recipes, tmp_path):
    lines: list[str] = []
    results = reproduce(["fake-diverges", "fake-good"], "cpu", 1, tmp_path, say=lines.append)
    assert any("fake-diverges ... FAILED: non-finite loss" in line for line in lines)
    assert [row["recipe"] for row in failing_rows(results)] == ["fake-diverges"]
    assert "non-finite loss" in results["rows"][0]["failures"][0]
    reproduce(["fake-diverges", "fake-good"], "cpu", 1, tmp_path, say=lambda line: None)
    assert fake_recipes.calls.count(("fake-diverges", 0)) == 2
    assert fake_recipes.calls.count(("fake-good", 0)) == 1


def test_missing_models_stop_reproduce_before_anything_runs(fake_recipes, tmp_path, monkeypatch):
    future = Recipe(
        **{
            **{f.name: getattr(get_recipe("lenet"), f.name) for f in dataclasses.fields(Recipe)},
            "name": "future-net",
            "train": {**get_recipe("lenet").train, "model": "future_net"},
        }
    )
    monkeypatch.setitem(registry._RECIPES, "future-net", future)
    with pytest.raises(D2lkitError, match="future-net needs model 'future_net'"):
        reproduce(["fake-good", "future-net"], "cpu", 1, tmp_path, say=lambda line: None)
    assert fake_recipes.calls == []


def test_the_exit_code_is_1_when_a_comparable_recipe_misses_its_band(
    fake_recipes, tmp_path, capsys
):
    out = str(tmp_path)
    assert (
        main(["reproduce", "--only", "fake-good,fake-smoke", "--profile", "cpu", "--out", out]) == 0
    )
    # fake-smoke's 0.3 is far below the band, but its cpu profile is not comparable.
    code = main(["reproduce", "--only", "fake-good,fake-low", "--profile", "cpu", "--out", out])
    assert code == 1
    err = capsys.readouterr().err
    assert "fake-low 0.5 (band >= 0.78)" in err
    assert err.strip().endswith("one seed each: `--seeds 5` shows the run-to-run spread")
    several = ["reproduce", "--only", "fake-low", "--seeds", "2", "--out", str(tmp_path / "s2")]
    assert main([*several, "--profile", "cpu"]) == 1
    assert "--seeds 5" not in capsys.readouterr().err  # the spread is already in the report
    assert main(["reproduce", "--report-only", "--profile", "cpu", "--out", out]) == 1
    report = (tmp_path / "REPORT.md").read_text()
    assert all(f"| {name} |" in report for name in ("fake-good", "fake-smoke", "fake-low"))


# --report-only --seeds 99999999999 looked for each seed's folder in turn, silent for an hour.
@pytest.mark.parametrize("seeds", ["0", "101", "99999999999"])
@pytest.mark.parametrize("extra", [[], ["--report-only"]])
def test_bad_seeds_are_refused_before_anything_starts(extra, seeds, fake_recipes, tmp_path, capsys):
    code = main(
        ["reproduce", "--only", "fake-good", "--seeds", seeds, "--out", str(tmp_path), *extra]
    )
    out, err = capsys.readouterr()
    assert code == 2
    assert err == f"d2lkit: error: --seeds must be 1 to 100 (runs per recipe), got {seeds}\n"
    assert out == "" and fake_recipes.calls == []


def test_a_half_trained_recipe_continues_from_its_checkpoint(tmp_path):
    """The "train" kind resumes exactly: the epoch already done is kept, and the weights equal a
    run that was never interrupted."""
    config = recipe_config(get_recipe("linreg"), "cpu", seed=0, overrides={"progress": False})
    interrupted, straight = tmp_path / "interrupted", tmp_path / "straight"
    run_training(dataclasses.replace(config, epochs=1, out=str(interrupted)))
    first_epoch = (interrupted / "metrics.jsonl").read_text()

    train_or_resume(config, interrupted)
    train_or_resume(config, straight)
    rows = (interrupted / "metrics.jsonl").read_text()
    assert rows.startswith(first_epoch) and len(rows.splitlines()) == config.epochs
    resumed = load_checkpoint(interrupted / "checkpoint.pt")["model"]
    uninterrupted = load_checkpoint(straight / "checkpoint.pt")["model"]
    assert all(torch.equal(resumed[k], uninterrupted[k]) for k in uninterrupted)


def test_a_finished_run_is_reused_and_a_half_trained_one_resumed_by_the_experiments(tmp_path):
    """train_or_reuse (the fine-tuning, augmentation and optimiser experiments' sub-runs): a run
    with a summary is not trained again; one stopped after an epoch goes on from there."""
    config = recipe_config(get_recipe("linreg"), "cpu", seed=0, overrides={"progress": False})
    out = tmp_path / "run"
    run_training(dataclasses.replace(config, epochs=1, out=str(out)))
    first_epoch = (out / "metrics.jsonl").read_text()
    (out / "summary.json").unlink()  # as if stopped before the run finished

    finished = train_or_reuse(config, out)
    assert (out / "metrics.jsonl").read_text().startswith(first_epoch)
    checkpoint = (out / "checkpoint.pt").stat().st_mtime_ns
    assert train_or_reuse(config, out) == finished
    assert (out / "checkpoint.pt").stat().st_mtime_ns == checkpoint  # nothing was trained


def test_a_run_directory_is_reclaimed_by_the_same_settings(tmp_path):
    """Settings holding tuples (e.g. `classes`) read back from recipe.json as lists; the same
    recipe must still recognise its own directory."""
    lenet = get_recipe("lenet")
    recipe = Recipe(
        **{
            **{f.name: getattr(lenet, f.name) for f in dataclasses.fields(Recipe)},
            "name": "lenet-five-classes",
            "train": {**lenet.train, "classes": (0, 1, 2, 3, 4)},
        }
    )
    claim_run_directory(tmp_path / "run", identity(recipe, "cpu", 0))
    claim_run_directory(tmp_path / "run", identity(recipe, "cpu", 0))
    with pytest.raises(D2lkitError, match="holds a run of recipe 'lenet-five-classes'"):
        claim_run_directory(tmp_path / "run", identity(recipe, "cpu", 1))


def test_an_interrupted_reproduce_says_how_to_continue(fake_recipes, tmp_path, capsys):
    fake_recipes.crash_on = {"fake-low"}
    code = main(["reproduce", "--only", "fake-good,fake-low", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 130
    assert err == (
        "d2lkit: interrupted; run the same command again: finished recipes are kept and the"
        " interrupted one continues from its last saved epoch, if it saved one"
    )


def test_seed_layouts_are_not_mixed_and_report_only_reads_the_seed_count(
    fake_recipes, tmp_path, capsys
):
    """One seed lives in DIR/<recipe>/, several in its seed<k>/: changing --seeds between runs
    into one DIR would nest seed dirs inside a finished run, or misread it as foreign files."""
    reproduce(["fake-good"], "cpu", 2, tmp_path, say=lambda line: None)
    with pytest.raises(
        D2lkitError, match=r"fake-good: holds runs of several seeds \(seed0/ .. seed1/ so far\)"
    ):
        reproduce(["fake-good"], "cpu", 1, tmp_path, say=lambda line: None)
    single = tmp_path / "single"
    reproduce(["fake-good"], "cpu", 1, single, say=lambda line: None)
    with pytest.raises(D2lkitError, match=r"holds a run of 1 seed, not 3; pass --seeds 1"):
        reproduce(["fake-good"], "cpu", 3, single, say=lambda line: None)
    assert not (single / "fake-good" / "seed0").exists()

    # --report-only without --seeds rebuilds the report DIR's runs were made with.
    assert main(["reproduce", "--report-only", "--profile", "cpu", "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["seeds"] == 2 and results["rows"][0]["mean"] == pytest.approx(0.805)
    assert fake_recipes.calls == [("fake-good", 0), ("fake-good", 1), ("fake-good", 0)]


def test_several_seeds_stopped_in_the_first_continue_with_the_same_command(
    fake_recipes, tmp_path, capsys
):
    """Stopped during seed0, DIR/<recipe> holds seed0/ alone: the same --seeds continues it, where
    the count of seed folders (1) used to read as the one-seed layout and refuse the command."""
    fake_recipes.crash_on = {"fake-good"}
    with pytest.raises(KeyboardInterrupt):
        reproduce(["fake-good"], "cpu", 3, tmp_path, say=lambda line: None)
    (tmp_path / "fake-good" / "seed0").mkdir(parents=True, exist_ok=True)  # its first epoch
    with pytest.raises(D2lkitError, match=r"stopped in their first seed; pass the --seeds"):
        seeds_in(tmp_path, ["fake-good"])
    with pytest.raises(D2lkitError, match=r"holds runs of several seeds \(seed0/ so far\), not 1"):
        reproduce(["fake-good"], "cpu", 1, tmp_path, say=lambda line: None)
    results = reproduce(["fake-good"], "cpu", 3, tmp_path, say=lambda line: None)
    assert results["seeds"] == 3 and results["rows"][0]["mean"] == pytest.approx(0.81)
    assert seeds_in(tmp_path, ["fake-good"]) == 3


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--only", ""], "--only names no recipe"),  # not "every recipe", hours of CNNs
        (["--only", "fake-good", "--readme", "absent.md"], "absent.md: not a file"),
        # It advised `reproduce --out DIR`, which runs every recipe: hours.
        (
            ["--report-only"],
            "holds no recipe runs; run some into it first, e.g. `d2lkit"
            " reproduce --only softmax,lenet --out",
        ),  # fmt: skip
    ],
)
def test_bad_reproduce_input_is_refused_before_anything_runs(
    flags, message, fake_recipes, tmp_path, capsys
):
    out = tmp_path / "never-made"
    code = main(["reproduce", "--profile", "cpu", "--out", str(out), *flags])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert fake_recipes.calls == [] and not out.exists()


def test_report_only_of_a_recipe_without_runs_keeps_the_report_of_those_with_runs(
    fake_recipes, tmp_path, capsys
):
    """It wrote a report of one "not run" row over DIR's REPORT.md and results.json."""
    reproduce(["fake-good"], "cpu", 1, tmp_path, say=lambda line: None)
    before = (tmp_path / "REPORT.md").read_text(), (tmp_path / "results.json").read_text()
    argv = ["reproduce", "--report-only", "--profile", "cpu", "--out", str(tmp_path)]
    code = main([*argv, "--only", "fake-good,fake-low"])
    err = capsys.readouterr().err
    assert code == 2 and f"{tmp_path}: holds no runs of fake-low; drop them from --only" in err
    assert ((tmp_path / "REPORT.md").read_text(), (tmp_path / "results.json").read_text()) == before
    assert main([*argv, "--only", "fake-good"]) == 0


def test_one_dir_holds_one_seed_layout_so_its_report_can_hold_every_recipe(fake_recipes, tmp_path):
    reproduce(["fake-good"], "cpu", 1, tmp_path, say=lambda line: None)
    with pytest.raises(D2lkitError, match=r"fake-good: holds a run of 1 seed, not 2"):
        reproduce(["fake-low"], "cpu", 2, tmp_path, say=lambda line: None)
    assert not (tmp_path / "fake-low").exists()
    # A DIR mixed before this rule: the advice names the groups instead of going in a circle.
    (tmp_path / "fake-low" / "seed0").mkdir(parents=True)
    (tmp_path / "fake-low" / "seed1").mkdir()
    with pytest.raises(D2lkitError, match=r"one-seed runs \(fake-good\) and runs of several"):
        seeds_in(tmp_path, ["fake-good", "fake-low"])


def test_a_second_reproduce_into_the_same_dir_is_refused(fake_recipes, tmp_path):
    """Two at once trained the same runs into the same folders."""
    from d2lkit.train.run_lock import locked, unlock

    descriptor = locked(tmp_path)  # as another reproduce holds DIR
    try:
        with pytest.raises(D2lkitError, match="another d2lkit process is writing this folder"):
            reproduce(["fake-good"], "cpu", 1, tmp_path, say=lambda line: None)
    finally:
        unlock(descriptor)
    assert fake_recipes.calls == []
    reproduce(["fake-good"], "cpu", 1, tmp_path, say=lambda line: None)
    assert fake_recipes.calls == [("fake-good", 0)]


@pytest.mark.parametrize("damage", ['{"mod', "[1, 2]"], ids=["torn", "not-an-object"])
def test_a_report_names_a_damaged_summary_instead_of_showing_the_run_as_not_run(
    damage, fake_recipes, tmp_path, capsys
):
    reproduce(["fake-good"], "cpu", 1, tmp_path, say=lambda line: None)
    summary = tmp_path / "fake-good" / "summary.json"
    summary.write_text(damage)
    argv = ["reproduce", "--report-only", "--profile", "cpu", "--out", str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"d2lkit: error: {summary}: damaged") and "\n" not in err
    # A run (not a report) redoes it instead: the fake recipe's runner writes it again.
    reproduce(["fake-good"], "cpu", 1, tmp_path, say=lambda line: None)
    assert json.loads(summary.read_text())["value"] == pytest.approx(0.8)


def test_a_damaged_run_mark_says_to_delete_the_run_not_only_the_mark(fake_recipes, tmp_path):
    reproduce(["fake-good"], "cpu", 1, tmp_path, say=lambda line: None)
    (tmp_path / "fake-good" / "recipe.json").write_text("{")
    with pytest.raises(D2lkitError, match=r"damaged, so which run .* holds is unknown; delete"):
        reproduce(["fake-good"], "cpu", 1, tmp_path, say=lambda line: None)


def test_train_resume_leaves_a_reproduce_run_to_reproduce(tmp_path, capsys):
    """Resumed by `train --resume --epochs 4`, reproduce's linreg run lost the figures the report
    reads, and the next reproduce found it past its recipe's 3 epochs and trained it again."""
    out = tmp_path / "rep"
    assert main(["reproduce", "--only", "linreg", "--profile", "cpu", "--out", str(out)]) == 0
    run = out / "linreg"
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    capsys.readouterr()
    for target in (run, run / "checkpoint.pt"):
        assert main(["train", "--resume", str(target), "--epochs", "4"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "a run of `d2lkit reproduce` (recipe linreg)" in err
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before


def test_train_resume_leaves_the_runs_inside_an_experiment_to_reproduce(
    tmp_path, tiny_fashion, capsys
):
    """An experiment's runs (optimizers/sgd/) carry no mark of their own: the folder above does."""
    experiment = tmp_path / "rep" / "optimizers"
    run = experiment / "sgd"
    flags = ["--epochs", "1", "--batch-size", "64", "--no-progress", "--out", str(run)]
    assert main(["train", "mlp", *flags]) == 0
    (experiment / "recipe.json").write_text(json.dumps({"recipe": "optimizers", "seed": 0}))
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--epochs", "2"]) == 2
    assert "a run of `d2lkit reproduce` (recipe optimizers)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("REPORT.md", "# My project\n\nmy own notes\n"),
        ("results.json", '{"mine": 1}'),
        ("machine.json", "[1, 2]"),
        ("results.json", "not json at all"),
        ("summary.png", "a chart of my own, without results.json"),
    ],
)
@pytest.mark.parametrize("report_only", [False, True])
def test_a_report_file_of_the_users_own_is_refused_before_any_run(
    name, content, report_only, fake_recipes, tmp_path, capsys
):
    """`reproduce --out DIR` replaced the REPORT.md, results.json and machine.json that a
    project folder held (with `--out "$UNSET"`, the current folder's)."""
    reproduce(["fake-good"], "cpu", 1, tmp_path, say=lambda line: None)
    reproduce(["fake-good"], "cpu", 1, tmp_path, say=lambda line: None)  # ours are replaced
    if name == "summary.png":
        (tmp_path / "results.json").unlink()
    (tmp_path / name).write_text(content)
    fake_recipes.calls.clear()
    argv = ["reproduce", "--only", "fake-good,fake-low", "--profile", "cpu", "--out", str(tmp_path)]
    if report_only:
        argv = [*argv[:2], "fake-good", *argv[3:], "--report-only"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == (
        f"d2lkit: error: {tmp_path / name}: not written by `d2lkit reproduce`; its report would"
        " replace it: choose another --out, or move the file away\n"
    )
    assert (tmp_path / name).read_text() == content and fake_recipes.calls == []


def test_report_only_names_a_run_stopped_before_its_summary_unfinished(
    fake_recipes, tmp_path, capsys
):
    """A run interrupted (or its summary.json deleted) was reported as "not run", without a
    word of how to finish it."""
    reproduce(["fake-good", "fake-low"], "cpu", 1, tmp_path, say=lambda line: None)
    (tmp_path / "fake-low" / "summary.json").unlink()
    argv = ["reproduce", "--report-only", "--profile", "cpu", "--out", str(tmp_path)]
    assert main(argv) == 0  # the unfinished run misses nothing yet
    err = capsys.readouterr().err
    results = json.loads((tmp_path / "results.json").read_text())
    assert [row["status"] for row in results["rows"]] == ["pass", "unfinished"]
    assert "| fake-low |" in (tmp_path / "REPORT.md").read_text()
    assert err == (
        f"d2lkit: note: fake-low unfinished in {tmp_path}; `d2lkit reproduce --out {tmp_path}"
        " --only fake-good,fake-low` finishes it and keeps the rest\n"
    )


def test_report_only_of_a_file_says_it_is_one(fake_recipes, tmp_path, capsys):
    (tmp_path / "afile").write_text("mine\n")
    code = main(["reproduce", "--report-only", "--out", str(tmp_path / "afile")])
    assert code == 2 and capsys.readouterr().err == (
        f"d2lkit: error: {tmp_path / 'afile'}: a file; pass the folder that reproduce ran into\n"
    )


def test_a_report_of_some_of_a_folders_recipes_says_which_it_leaves_out(
    fake_recipes, tmp_path, capsys
):
    """Adding a recipe with --only replaced DIR's report of the others with a report of it alone,
    without a word."""
    reproduce(["fake-good", "fake-smoke"], "cpu", 1, tmp_path, say=lambda line: None)
    argv = ["reproduce", "--profile", "cpu", "--out", str(tmp_path)]
    for extra in (["--only", "fake-low"], ["--only", "fake-low", "--report-only"]):
        assert main([*argv, *extra]) == 1  # fake-low misses its band
        assert capsys.readouterr().err.startswith(
            f"d2lkit: note: {tmp_path} also holds runs of fake-good, fake-smoke, left out of this"
            f" report by --only; `d2lkit reproduce --report-only --out {tmp_path}` reports them"
            " all\n"
        )
    assert main([*argv, "--report-only"]) == 1
    assert "also holds" not in capsys.readouterr().err
    assert len(json.loads((tmp_path / "results.json").read_text())["rows"]) == 3


def test_a_run_directory_of_train_is_no_folder_for_reproduce(fake_recipes, tmp_path, capsys):
    run = tmp_path / "run"
    argv = ["train", "--recipe", "linreg", "--epochs", "1", "--no-progress", "--out", str(run)]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(["reproduce", "--only", "fake-good", "--profile", "cpu", "--out", str(run)]) == 2
    assert capsys.readouterr().err == (
        f"d2lkit: error: {run}: a run directory of `d2lkit train`; reproduce into a folder of its"
        " own\n"
    )
    assert fake_recipes.calls == [] and not (run / "fake-good").exists()


def test_report_files_that_are_empty_or_ours_saved_with_a_bom_are_replaced(fake_recipes, tmp_path):
    """Nothing to lose in an empty file; an editor may save REPORT.md with a byte-order mark."""
    reproduce(["fake-good"], "cpu", 1, tmp_path, say=lambda line: None)
    report = (tmp_path / "REPORT.md").read_text(encoding="utf-8")
    (tmp_path / "REPORT.md").write_text("\ufeff" + report, encoding="utf-8")
    (tmp_path / "results.json").write_text("")
    reproduce(["fake-good"], "cpu", 1, tmp_path, say=lambda line: None)
    assert (tmp_path / "REPORT.md").read_text(encoding="utf-8") == report
    assert json.loads((tmp_path / "results.json").read_text())["rows"]
