"""The progress bar: live on a terminal, silent in a log file (the epoch table rows remain)."""

from __future__ import annotations

import dataclasses
import io
import json
import sys
from types import SimpleNamespace

import pytest

from d2lkit.train.callbacks import ProgressBar
from d2lkit.train.config import TrainConfig
from d2lkit.train.headline import HEADLINE_SETTINGS, changed_settings


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def epoch_bar(monkeypatch, stream: io.StringIO, enabled: bool = True) -> ProgressBar:
    monkeypatch.setattr(sys, "stderr", stream)
    trainer = SimpleNamespace(train_loader=range(5), epoch=1, epochs=1)
    bar = ProgressBar(enabled=enabled)
    bar.on_epoch_start(trainer)
    return bar


@pytest.mark.parametrize(
    ("stream", "enabled", "shown"),
    [(Terminal(), True, True), (io.StringIO(), True, False), (Terminal(), False, False)],
)
def test_the_bar_shows_only_on_a_terminal_and_when_enabled(monkeypatch, stream, enabled, shown):
    bar = epoch_bar(monkeypatch, stream, enabled)
    bar.bar.close()
    assert ("0/5 [" in stream.getvalue()) is shown


def test_testing_after_an_epoch_has_a_bar_of_its_own(monkeypatch):
    """The test pass was silent: minutes on a large image folder."""
    stream = Terminal()
    bar = epoch_bar(monkeypatch, stream)
    trainer = SimpleNamespace(test_loader=range(3), epoch=1)
    bar.on_eval_start(trainer)
    for _ in range(3):
        bar.on_eval_batch_end(trainer)
    assert "testing after epoch 1:   0%|          | 0/3 [" in stream.getvalue()
    assert (bar.bar.n, bar.bar.total) == (3, 3)


def test_training_starts_with_its_settings_and_regression_shows_its_loss(
    tmp_path, tiny_fashion, capsys
):
    from d2lkit.cli import main

    flags = ["--epochs", "1", "--batch-size", "64", "--no-progress"]
    assert main(["train", "lenet", "--optimizer", "sgd", *flags, "--out", str(tmp_path / "a")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "lenet on fashion-mnist: 1 epoch, batch 64, sgd lr 0.1 (the book trains lenet with adam,"
        " lr 0.001), cpu fp32"
    )
    assert lines[1].split() == ["epoch", "train_loss", "train_acc", "test_acc", "train_s", "eval_s"]
    regression = ["train", "linreg", "--dataset", "synthetic-linear", *flags]
    assert main([*regression, "--out", str(tmp_path / "b")]) == 0
    header, row = capsys.readouterr().out.splitlines()[1:3]
    assert header.split() == ["epoch", "train_loss", "test_loss", "train_s", "eval_s"]
    assert "-" not in row.split()  # no empty accuracy columns


def test_the_first_line_names_every_setting_changed_from_its_default(
    tmp_path, tiny_fashion, capsys
):
    from d2lkit.cli import main

    changed = ["--weight-decay", "0.01", "--scheduler", "cosine", "--label-smoothing", "0.1"]
    changed += ["--grad-clip", "1", "--augment", "--weight-init", "xavier", "--seed", "3"]
    changed += ["--train-subset", "128", "--test-subset", "64"]
    flags = ["--epochs", "1", "--batch-size", "64", "--no-progress", "--out", str(tmp_path)]
    assert main(["train", "softmax", *changed, *flags]) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        "softmax on fashion-mnist: 1 epoch, batch 64, sgd lr 0.1, weight-decay 0.01, scheduler"
        " cosine, label-smoothing 0.1, grad-clip 1, augment, weight-init xavier, seed 3,"
        " train-subset 128, test-subset 64, cpu fp32"
    )
    # A new TrainConfig field must choose: always shown, shown when changed, or never.
    always = ["model", "dataset", "epochs", "batch_size", "optimizer", "lr", "resize", "device"]
    never = ["data_dir", "out", "tensorboard", "progress", "channels_last"]
    fields = [field.name for field in dataclasses.fields(TrainConfig)]
    assert sorted([*always, "precision", *HEADLINE_SETTINGS, *never]) == sorted(fields)
    # Experiments' class selections (fine-tuning on classes 5-9) have no flag of their own.
    assert changed_settings(TrainConfig("mlp", classes=(5, 6), train_per_class=10)) == [
        "classes 5,6", "train-per-class 10"
    ]  # fmt: skip


def test_segmentation_shows_its_miou_in_the_table_and_the_last_line(
    tmp_path, tiny_fashion, monkeypatch, capsys
):
    """Pixel accuracy is mostly background: a near-useless model scores 0.74 on it."""
    from d2lkit.cli import main
    from d2lkit.data import scenes

    monkeypatch.setattr(scenes, "TEST_SCENES", 32)
    flags = ["--dataset", "fashion-scenes:32", "--epochs", "1", "--batch-size", "16"]
    assert main(["train", "fcn_small", *flags, "--no-progress", "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == [
        "epoch", "train_loss", "train_acc", "test_acc", "test_miou", "train_s", "eval_s"
    ]  # fmt: skip
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert lines[2].split()[4] == f"{summary['test_miou']:.4f}"
    assert (
        f"test mIoU {summary['test_miou']:.4f}, pixel acc {summary['test_acc']:.4f} after 1 epoch"
        in lines[3]
    )


def test_eval_closes_its_test_bar_before_printing_the_result(
    tmp_path, tiny_fashion, monkeypatch, capsys
):
    """On a terminal the result was printed on the bar's line."""
    from d2lkit.cli import main
    from d2lkit.train import callbacks

    out = tmp_path / "run"
    assert main(["train", "mlp", "--epochs", "1", "--no-progress", "--out", str(out)]) == 0
    bars = []
    monkeypatch.setattr(callbacks.ProgressBar, "new_bar", recording_bars(bars))
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert main(["eval", str(out)]) == 0
    (bar,) = bars
    assert bar.desc == "testing" and bar.n == bar.total > 0
    assert bar.disable  # closed: tqdm disables a bar it closes


def recording_bars(bars: list):
    original = ProgressBar.new_bar

    def new_bar(self, total, desc):
        bar = original(self, total, desc)
        bars.append(bar)
        return bar

    return new_bar


def test_the_bars_loss_is_read_twice_a_second_not_every_few_steps(monkeypatch):
    """Reading the loss waits for a GPU: every 10 steps stalled a fast one's queue, while on a
    slow CPU 10 steps could take a minute with the figures frozen."""
    from d2lkit.train import callbacks

    clock = iter([0.0, *(0.1 * step for step in range(1, 21))])
    monkeypatch.setattr(callbacks.time, "perf_counter", lambda: next(clock))
    reads = []
    loss = SimpleNamespace(item=lambda: reads.append(len(reads)) or 0.25)
    stream = Terminal()
    bar = epoch_bar(monkeypatch, stream)
    trainer = SimpleNamespace(batch_loss=loss, images_in_epoch=0, step=0)
    for step in range(1, 21):  # 2 s of steps of 0.1 s
        trainer.step, trainer.images_in_epoch = step, 64 * step
        bar.on_batch_end(trainer)
    assert len(reads) == 4  # at 0.5, 1.0, 1.5 and 2.0 s
    assert "img_s=640, loss=0.2500" in stream.getvalue()
