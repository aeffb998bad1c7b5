"""A real (small) run on Fashion-MNIST: the run directory of DESIGN.md §2, `d2lkit eval`
reproducing the recorded accuracy exactly, and `d2lkit predict`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from d2lkit.cli import main
from d2lkit.data import fashion_mnist
from d2lkit.report import curves
from d2lkit.train.config import TrainConfig
from d2lkit.train.run import run_training
from d2lkit.train.trained import load_trained

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
METRIC_KEYS = {"epoch", "train_loss", "train_acc", "test_acc", "train_s", "eval_s"}
SUMMARY_KEYS = {"model", "dataset", "epochs", "wall_s", "train_images_per_s", "device"}
SUMMARY_KEYS |= {"precision", "params", "seed"}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "mlp"
    config = TrainConfig("mlp", train_subset=512, batch_size=64, epochs=2, out=str(out))
    run_training(TrainConfig(**{**config.to_dict(), "progress": False}))
    return out


def read_metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_run_directory_holds_every_file(run_dir):
    names = {p.name for p in run_dir.iterdir()}
    expected = {"config.json", "env.json", "metrics.jsonl", "summary.json", "curves.png"}
    assert expected | {"checkpoint.pt"} == names


def test_config_is_the_resolved_configuration(run_dir):
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"] == "mlp" and config["dataset"] == "fashion-mnist"
    assert config["optimizer"] == "sgd" and config["lr"] == 0.5  # the book's, filled in
    assert config["precision"] == "fp32" and config["out"] == str(run_dir)
    assert TrainConfig.from_dict(config).train_subset == 512


def test_env_records_versions_and_device(run_dir):
    import torch

    env = json.loads((run_dir / "env.json").read_text())
    assert env["torch"] == torch.__version__ and env["device"] == "cpu"
    assert {"d2lkit", "python", "torchvision", "numpy", "git_revision", "cpu_count"} <= env.keys()


def test_metrics_one_row_per_epoch(run_dir):
    rows = read_metrics(run_dir)
    assert [row["epoch"] for row in rows] == [1, 2]
    for row in rows:
        assert row.keys() >= METRIC_KEYS
        assert 0 <= row["train_acc"] <= 1 and 0 <= row["test_acc"] <= 1
        assert row["train_loss"] > 0 and row["train_s"] > 0 and row["eval_s"] > 0
    assert rows[1]["train_loss"] < rows[0]["train_loss"]
    assert rows[1]["test_acc"] > 0.25  # chance is 0.1: it learnt from 512 images


def test_summary_is_the_last_epoch_plus_run_facts(run_dir):
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary.keys() >= SUMMARY_KEYS | METRIC_KEYS
    last = read_metrics(run_dir)[-1]
    assert all(summary[k] == last[k] for k in METRIC_KEYS)
    assert summary["model"] == "mlp" and summary["dataset"] == "fashion-mnist"
    assert summary["epochs"] == 2 and summary["device"] == "cpu"
    assert summary["precision"] == "fp32" and summary["seed"] == 0
    assert summary["params"] == 784 * 256 + 256 + 256 * 10 + 10
    assert summary["wall_s"] >= last["train_s"] + last["eval_s"]
    # All images over all training seconds, not the mean of the epochs' rates.
    rows = read_metrics(run_dir)
    images = sum(row["train_images_per_s"] * row["train_s"] for row in rows)
    assert summary["train_images_per_s"] == pytest.approx(images / sum(r["train_s"] for r in rows))
    assert "fresh_after_init" not in summary  # only runs started with --init say it
    # The copy of Fashion-MNIST it read, of the several places d2lkit looks.
    assert summary["data_source"] == str(fashion_mnist.locate().resolve())


def test_curves_png_shows_loss_train_acc_and_test_acc(run_dir, tmp_path, saved_figures):
    assert (run_dir / "curves.png").read_bytes()[:8] == PNG_SIGNATURE
    curves.plot_curves(read_metrics(run_dir), tmp_path / "curves.png")
    lines = saved_figures[0].axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["train loss", "train acc", "test acc"]
    rows = read_metrics(run_dir)
    assert list(lines[2].get_ydata()) == [row["test_acc"] for row in rows]
    assert saved_figures[0].axes[0].get_ylabel() == "loss; accuracy"
    # Which run: a subset and the optimiser said (it read "mlp on fashion-mnist" for any).
    from d2lkit.train.headline import curves_title

    config = TrainConfig.from_dict(json.loads((run_dir / "config.json").read_text()))
    assert curves_title(config) == "mlp on fashion-mnist (512 training images), sgd lr 0.5"


def test_curves_of_one_epoch_and_of_the_other_tasks_say_what_they_show(tmp_path, saved_figures):
    """One epoch sat beside an empty epoch 2; segmentation's pixel accuracy was "test acc"; a
    regression's log scale was not said."""
    seg = {"epoch": 1, "train_loss": 1.2, "train_acc": 0.5, "test_acc": 0.4, "test_miou": 0.2}
    curves.plot_curves([seg], tmp_path / "seg.png")
    ax = saved_figures[0].axes[0]
    assert ax.get_xlim()[1] < 2
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["train loss", "train pixel acc", "test pixel acc", "test mIoU"]
    regression = [{"epoch": e, "train_loss": 10.0 / e, "test_loss": 12.0 / e} for e in (1, 2)]
    curves.plot_curves(regression, tmp_path / "reg.png")
    ax = saved_figures[1].axes[0]
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "loss (log scale)"
    assert [line.get_label() for line in ax.get_lines()] == ["train loss", "test loss"]


def visible_ticks(ax) -> list[float]:
    low, high = ax.get_xlim()
    return [float(tick) for tick in ax.get_xticks() if low <= tick <= high]


@pytest.mark.parametrize("epochs", [1, 3])
def test_epoch_axes_tick_whole_epochs(epochs, tmp_path, saved_figures):
    """A 1-epoch curves.png ticked 0.80, 0.84, ... 1.20: the integer locator gave up when only
    one whole number was in view. The other per-epoch figures share its locator."""
    from d2lkit.report.loss_panels import plot_loss_panels
    from d2lkit.report.optimizers import plot_optimizers

    rows = [
        {"epoch": e, "train_loss": 1.0 / e, "train_acc": 0.5, "test_acc": 0.4}
        for e in range(1, epochs + 1)
    ]
    curves.plot_curves(rows, tmp_path / "curves.png")
    plot_optimizers({"sgd": rows, "adam": rows}, tmp_path / "optimizers.png")
    losses = [row["train_loss"] for row in rows]
    plot_loss_panels({"lambda 0": (losses, losses)}, "loss", tmp_path / "panels.png")
    axes = [ax for figure in saved_figures for ax in figure.axes]
    assert len(axes) == 4
    for ax in axes:
        assert visible_ticks(ax) == [float(e) for e in range(1, epochs + 1)]


def test_linreg_from_scratch_draws_no_test_curve_it_does_not_have(tmp_path, saved_figures):
    """Its "test loss" was the training loss again, drawn on top of it as if held out."""
    from d2lkit.recipes import get_recipe
    from d2lkit.recipes.experiments import run_linreg_scratch
    from d2lkit.recipes.kinds import RecipeRun
    from d2lkit.recipes.registry import recipe_options

    recipe = get_recipe("linreg-scratch")
    options = recipe_options(recipe, "cpu")
    run_linreg_scratch(RecipeRun(recipe, "cpu", 0, tmp_path / "run", None, options))
    rows = read_metrics(tmp_path / "run")
    assert all(row["test_loss"] is None for row in rows)
    assert [line.get_label() for line in saved_figures[0].axes[0].get_lines()] == ["train loss"]


def test_eval_reproduces_the_recorded_test_accuracy_exactly(run_dir, capsys):
    recorded = read_metrics(run_dir)[-1]
    run, state = load_trained(run_dir)
    result = run.trainer.evaluate()
    assert state["epoch"] == 2
    assert result["acc"] == recorded["test_acc"]
    assert result["loss"] == recorded["test_loss"]

    for target in (run_dir, run_dir / "checkpoint.pt"):
        assert main(["eval", str(target)]) == 0
        out = capsys.readouterr().out
        assert f"test_acc {recorded['test_acc']:.4f}" in out
        assert f"recorded test_acc {recorded['test_acc']:.4f}" in out


def test_a_loaded_run_is_ready_to_predict_and_leaves_the_callers_random_state_alone(run_dir):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    run, _ = load_trained(run_dir)
    assert torch.equal(torch.rand(3), expected)  # building the run seeds; the caller's is back
    assert not run.model.training  # train mode would change batch-norm statistics on predict


def test_predict_writes_a_labelled_grid(run_dir, tmp_path, capsys):
    out = tmp_path / "predictions.png"
    assert main(["predict", str(run_dir), "--out", str(out), "--count", "6"]) == 0
    assert out.read_bytes()[:8] == PNG_SIGNATURE
    assert str(out) in capsys.readouterr().out
    # An image grid has a bound a regression scatter does not (test_regression_predictions).
    assert main(["predict", str(run_dir), "--out", str(out), "--count", "145"]) == 2
    assert "--count must be 1..144 (images in one figure)" in capsys.readouterr().err


def test_predict_heading_counts_the_red_titles(run_dir, tmp_path, monkeypatch):
    """The heading says how to read the grid and how many of the shown images are right; that
    number must agree with the titles left black."""
    import d2lkit.report.predictions as predictions

    drawn = {}

    def record(images, titles, out, **kw):
        drawn.update(kw, images=images)
        return out

    monkeypatch.setattr(predictions, "save_image_grid", record)
    assert main(["predict", str(run_dir), "--out", str(tmp_path / "p.png"), "--count", "6"]) == 0
    right = drawn["title_colors"].count("black")
    assert drawn["heading"].endswith(f"{right} of 6 right")
    assert "true label above predicted, red where they differ" in drawn["heading"]
    # --seed draws other test images (the same seed, the same images).
    shown = []
    for seed in ("0", "1", "0"):
        out = str(tmp_path / f"{seed}.png")
        assert main(["predict", str(run_dir), "--out", out, "--count", "6", "--seed", seed]) == 0
        shown.append(drawn["images"])
    assert torch.equal(shown[0], shown[2]) and not torch.equal(shown[0], shown[1])


def test_the_git_revision_is_d2lkits_own_or_none(tmp_path):
    """Installed into a venv inside the user's repository, env.json recorded that repository's
    commit as d2lkit's."""
    import subprocess

    from d2lkit.train.environment import CHECKOUT, git_revision

    users_repo = tmp_path / "project"
    site = users_repo / ".venv" / "lib" / "python3.11"  # where parents[3] of an install lands
    site.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(users_repo)], check=True)
    subprocess.run(
        ["git", "-c", "user.name=u", "-c", "user.email=u@x", "commit", "-q", "--allow-empty",
         "-m", "the user's"], cwd=users_repo, check=True,
    )  # fmt: skip
    assert git_revision(site) is None
    if (CHECKOUT / ".git").exists():  # this test runs from a checkout: its own commit
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=CHECKOUT, capture_output=True, text=True
        ).stdout.strip()
        assert git_revision().removesuffix("-dirty") == head


def test_a_checkout_with_edits_is_marked_dirty(tmp_path):
    import subprocess

    from d2lkit.train.environment import git_revision

    checkout = tmp_path / "d2lkit"
    (checkout / "src" / "d2lkit").mkdir(parents=True)
    code = checkout / "src" / "d2lkit" / "model.py"
    code.write_text("width = 1\n")
    git = ["git", "-c", "user.name=u", "-c", "user.email=u@x"]
    subprocess.run([*git, "init", "-q"], cwd=checkout, check=True)
    subprocess.run([*git, "add", "."], cwd=checkout, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "first"], cwd=checkout, check=True)
    clean = git_revision(checkout)
    assert clean and not clean.endswith("-dirty")
    (checkout / "notes.txt").write_text("untracked files are not the code that ran")
    assert git_revision(checkout) == clean
    code.write_text("width = 2\n")
    assert git_revision(checkout) == f"{clean}-dirty"
