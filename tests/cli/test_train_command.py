"""`d2lkit train | eval | predict`: bad input is one line on stderr and exit code 2, and
nothing is written."""

from __future__ import annotations

import json
import re

import pytest
import torch
from cli_helpers import assert_one_line_error, run_cli

from d2lkit.cli import main
from d2lkit.train.config import TrainConfig

TRAIN = ["train", "--no-progress", "--batch-size", "64"]


@pytest.mark.parametrize(
    "flags, fragments",
    [
        (["lenet", "--epochs", "-1"], ["--epochs must be at least 1, got -1"]),
        (["lenet", "--epochs", "0"], ["--epochs must be at least 1, got 0"]),
        (["lenet", "--batch-size", "0"], ["--batch-size must be at least 1"]),
        (["lenet", "--lr", "-0.1"], ["--lr must be positive"]),
        (["lenet", "--weight-decay", "-1"], ["--weight-decay must not be negative"]),
        (["lenet", "--label-smoothing", "1"], ["--label-smoothing must be below 1"]),
        (["lenet", "--resize", "4"], ["--resize must be 8 to 4096 pixels", "got 4"]),
        # An allocation traceback before; 2**70 overflowed inside torch.
        (["lenet", "--resize", "100000"], ["--resize must be 8 to 4096 pixels"]),
        (["lenet", "--resize", str(2**70)], ["--resize must be 8 to 4096 pixels"]),
        # Finite in Python, an overflow in the float32 step: a traceback mid-training before.
        (["lenet", "--lr", "1e39"], ["--lr is beyond float32's range"]),
        (["lenet", "--weight-decay", "1e39"], ["--weight-decay is beyond float32's range"]),
        (["lenet", "--lr", "1e30", "--head-lr-mult", "1e30"], ["--lr times --head-lr-mult"]),
        # nn.BatchNorm1d raised "Expected more than 1 value per channel" in the first step.
        (["lenet_bn", "--batch-size", "1"], ["lenet_bn has batch-norm layers", "batches of two"]),
        (["lenet_bn_scratch", "--batch-size", "1"], ["batch-norm layers"]),
        (["lenet", "--head-lr-mult", "0"], ["--head-lr-mult must be positive"]),
        # A negative clip turns descent into ascent; zero stops learning; NaN passes every `<`.
        (["lenet", "--grad-clip", "-1"], ["--grad-clip must be positive, got -1.0"]),
        (["lenet", "--grad-clip", "0"], ["--grad-clip must be positive"]),
        (["lenet", "--weight-decay", "nan"], ["--weight-decay must be a finite number, got nan"]),
        (["lenet", "--label-smoothing", "nan"], ["--label-smoothing must be a finite number"]),
        (["lenet", "--momentum", "nan"], ["--momentum must be a finite number"]),
        (["lenet", "--lr", "inf"], ["--lr must be a finite number, got inf"]),
        (["lenet", "--head-lr-mult", "inf"], ["--head-lr-mult must be a finite number"]),
        (["lenet", "--seed", "-1"], ["--seed: must be in 0..4294967295, got -1"]),
        (["lenet", "--seed", str(2**32)], ["--seed: must be in 0..4294967295, got 4294967296"]),
        (["lenet", "--optimizer", "momentum", "--momentum", "1"], ["--momentum must be below 1"]),
        # Flags that would be recorded in config.json but change nothing:
        (["lenet", "--momentum", "0.5"], ["--momentum applies to", "not adam"]),
        (["lenet", "--profile", "book"], ["--profile picks a recipe's settings"]),
        (["lenet", "--dataset", "fashion-mnist:foo"], ["fashion-mnist takes no argument"]),
        (["lenet", "--train-subset", "0"], ["--train-subset must be at least 1"]),
        (["lenet", "--train-subset", "1"], ["too few training images for one batch"]),
        (["lenet", "--test-subset", "-5"], ["--test-subset must be at least 1"]),
        # Beyond the data: trained on all of it, but recorded (and shown by eval) as this size.
        (["lenet", "--train-subset", "99999"], ["--train-subset 99999 is more than the 256"]),
        (["lenet", "--test-subset", "129"], ["--test-subset 129 is more than the 128 test"]),
        (["lenett"], ["unknown model 'lenett'", "did you mean lenet"]),
        (["mlp_dropuot"], ["did you mean mlp_dropout"]),
        (["qqqq"], ["unknown model 'qqqq'", "d2lkit models list"]),
        (["lenet", "--dataset", "cifar10"], ["unknown dataset 'cifar10'", "fashion-mnist"]),
        (["softmax", "--dataset", "synthetic-linear"], ["classification model", "regression"]),
        # A layer of fixed width meets another input size: one line, not a shape traceback.
        (["lenet", "--resize", "32"], ["'lenet' cannot take", "1x32x32", "pass --resize 28"]),
        (["mlp", "--resize", "56"], ["'mlp' cannot take", "1x56x56", "built for 1x28x28"]),
        (["linreg", "--dataset", "synthetic-linear", "--label-smoothing", "0.1"], ["regression"]),
        (["linreg", "--dataset", "synthetic-linear", "--resize", "32"], ["does not apply"]),
        ([], ["name a MODEL"]),
        (["lenet", "--optimizer", "lbfgs"], ["invalid choice: 'lbfgs'", "d2lkit train --help"]),
        (["lenet", "--epochs", "two"], ["invalid int value: 'two'"]),
        (
            ["lenet", "--foo"],
            ["d2lkit train: error: unrecognized arguments: --foo", "train --help"],
        ),
    ],
)
def test_bad_train_flags(flags, fragments, tmp_path, tiny_fashion, capsys):
    out = tmp_path / "run"
    code, _, err = run_cli([*TRAIN, *flags, "--out", str(out)], capsys)
    assert_one_line_error(code, err, *fragments)
    assert not out.exists()  # nothing was written for a refused run


def test_an_empty_out_is_refused_not_taken_for_the_default(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli([*TRAIN, "lenet", "--out", ""], capsys)
    assert_one_line_error(code, err, "--out is empty")
    assert not (tmp_path / "runs").exists()


def test_out_that_already_holds_a_run(tmp_path, tiny_fashion, capsys):
    out = tmp_path / "run"
    assert main([*TRAIN, "mlp", "--epochs", "1", "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    code, _, err = run_cli([*TRAIN, "mlp", "--epochs", "1", "--out", str(out)], capsys)
    assert_one_line_error(code, err, "already holds a run", f"--resume {out}")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


@pytest.mark.parametrize(
    "command",
    [["eval", "{run}"], ["predict", "{run}", "--out", "x.png"], ["train", "--resume", "{run}"]],
    ids=["eval", "predict", "resume"],
)
def test_missing_run(command, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "no-such-run"
    code, _, err = run_cli([arg.format(run=missing) for arg in command], capsys)
    assert_one_line_error(code, err, f"{missing}: no such folder; pass a run directory")
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize(
    "command",
    [["eval", "{run}"], ["predict", "{run}", "--out", "x.png"], ["train", "--resume", "{run}"]],
    ids=["eval", "predict", "resume"],
)
def test_a_folder_of_another_tool_is_no_run(command, tmp_path, capsys, monkeypatch):
    """It was told "no epoch finished ...: train it again with the same command", which meant
    nothing for a folder that d2lkit never trained into."""
    monkeypatch.chdir(tmp_path)
    other = tmp_path / "othertool"
    other.mkdir()
    (other / "config.json").write_text('{"lr": 3}')
    (other / "model.ckpt").write_bytes(b"weights")
    code, _, err = run_cli([arg.format(run=other) for arg in command], capsys)
    assert_one_line_error(code, err, f"{other}: not a d2lkit run (its config.json is not a run's")
    assert not (tmp_path / "x.png").exists()


def test_run_directory_without_checkpoint(tmp_path, capsys):
    code, _, err = run_cli(["eval", str(tmp_path)], capsys)
    assert_one_line_error(code, err, f"{tmp_path / 'checkpoint.pt'}: no checkpoint here")


def test_resume_of_a_finished_run_changes_nothing(tmp_path, tiny_fashion, capsys):
    out = tmp_path / "run"
    assert main([*TRAIN, "mlp", "--epochs", "2", "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    for extra in ([], ["--epochs", "1"], ["--epochs", "2"]):
        code, _, err = run_cli(["train", "--resume", str(out), *extra], capsys)
        assert_one_line_error(code, err, "already trained for 2 epochs", "--epochs N with N > 2")
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_resume_continues_to_more_epochs(tmp_path, tiny_fashion, capsys):
    out = tmp_path / "run"
    assert main([*TRAIN, "mlp", "--epochs", "1", "--out", str(out)]) == 0
    env = json.loads((out / "env.json").read_text())
    # As if trained elsewhere: env.json describes the session that trained the last epochs.
    (out / "env.json").write_text(json.dumps({**env, "torch": "2.0.0", "device": "cuda:3"}))
    assert main(["train", "--resume", str(out), "--epochs", "3"]) == 0
    assert json.loads((out / "env.json").read_text()) == env
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in rows] == [1, 2, 3]
    assert json.loads((out / "config.json").read_text())["epochs"] == 3
    assert torch.load(out / "checkpoint.pt", weights_only=True)["epoch"] == 3
    assert "after 3 epochs" in capsys.readouterr().out


def test_resume_shows_the_bar_unless_this_command_says_no_progress(tmp_path, tiny_fashion):
    """The bar is the command's choice: --no-progress was dropped beside --resume, and a run
    started without a bar never showed one again."""
    out = tmp_path / "run"
    assert main([*TRAIN, "mlp", "--epochs", "1", "--out", str(out)]) == 0
    progress = []
    for flags in (["--epochs", "2"], ["--epochs", "3", "--no-progress"]):
        assert main(["train", "--resume", str(out), *flags]) == 0
        progress.append(json.loads((out / "config.json").read_text())["progress"])
    assert progress == [True, False]


@pytest.mark.parametrize("scheduler", ["cosine", "step", "onecycle"])
def test_resume_refuses_to_stretch_a_learning_rate_schedule(
    tmp_path, tiny_fashion, capsys, scheduler
):
    """The saved schedule kept its old length: cosine restarted, step never decayed, onecycle
    stopped the run with a traceback; config.json said the new length all the same."""
    out = tmp_path / "run"
    flags = ["--epochs", "1", "--batch-size", "32", "--scheduler", scheduler]  # 8 steps
    assert main([*TRAIN, "mlp", *flags, "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    code, _, err = run_cli(["train", "--resume", str(out), "--epochs", "3"], capsys)
    assert_one_line_error(
        code,
        err,
        f"{scheduler} learning-rate schedule is laid out for 1 epoch",
        "--epochs 3",
        f"--init {out}",
    )
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_rerun_with_another_length_starts_a_scheduled_run_over(tmp_path, tiny_fashion):
    from d2lkit.train.rerun import train_or_resume

    out = tmp_path / "run"
    config = TrainConfig(model="mlp", batch_size=64, epochs=1, scheduler="cosine", progress=False)
    train_or_resume(config, out)
    config.epochs = 2
    assert train_or_resume(config, out)["epoch"] == 2
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["lr"] < rows[0]["lr"] / 10  # one cosine over both epochs: near 0 at the end


@pytest.mark.parametrize(
    ("model", "dataset", "fix"),
    [
        ("linreg", "fashion-mnist", "--dataset synthetic-linear"),
        ("mlp", "synthetic-linear", "--dataset fashion-mnist or imagefolder:PATH"),
        ("fcn_small", "fashion-mnist", "--dataset fashion-scenes or voc:PATH"),
    ],
)
def test_a_model_given_another_tasks_data_is_told_which_data_it_takes(
    model, dataset, fix, tmp_path, tiny_fashion, capsys
):
    """It said "pick a matching pair (see `d2lkit models list`)", which lists no datasets."""
    argv = [*TRAIN, model, "--dataset", dataset, "--out", str(tmp_path / "run")]
    code, _, err = run_cli(argv, capsys)
    assert_one_line_error(code, err, f"model '{model}' is a", fix)


def test_tensorboard_without_its_package_is_one_line_before_anything_is_written(
    tmp_path, tiny_fashion, capsys, monkeypatch
):
    """It was a ModuleNotFoundError traceback, after config.json and env.json were written."""
    import importlib.util

    logged = tmp_path / "logged"
    assert main([*TRAIN, "mlp", "--epochs", "1", "--tensorboard", "--out", str(logged)]) == 0
    find_spec = importlib.util.find_spec

    def without_tensorboard(name, *args):
        return None if name == "tensorboard" else find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", without_tensorboard)
    assert main(["eval", str(logged)]) == 0  # reading a logged run needs no tensorboard
    out = tmp_path / "run"
    code, _, err = run_cli([*TRAIN, "mlp", "--tensorboard", "--out", str(out)], capsys)
    assert_one_line_error(code, err, "--tensorboard needs the tensorboard package", "pip install")
    assert not out.exists()


def test_predict_count_must_be_positive(tmp_path, capsys):
    code, _, err = run_cli(["predict", str(tmp_path), "--out", "x.png", "--count", "0"], capsys)
    assert_one_line_error(code, err, "--count must be at least 1, got 0")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_a_gpu(tmp_path, tiny_fashion, capsys):
    code, _, err = run_cli([*TRAIN, "lenet", "--device", "cuda", "--out", str(tmp_path)], capsys)
    assert_one_line_error(code, err, "--device cuda: no CUDA device")


def test_an_interrupted_run_says_how_to_continue_once_an_epoch_is_saved(
    tmp_path, tiny_fashion, capsys, monkeypatch
):
    """Ctrl-C in epoch 2 leaves epoch 1's checkpoint, and the message names the --resume command
    that continues it (with its --epochs: a resume that extends the run stops short without);
    in epoch 1 nothing is saved yet, and the same command starts over."""
    from d2lkit.train.callbacks import Callback
    from d2lkit.train.trainer import Trainer

    class CtrlCIn(Callback):
        def __init__(self, epoch: int) -> None:
            self.epoch = epoch

        def on_batch_end(self, trainer) -> None:
            if trainer.epoch == self.epoch:
                raise KeyboardInterrupt

    fit = Trainer.fit
    for epoch, out in ((2, tmp_path / "late run"), (1, tmp_path / "early")):

        def interrupted_fit(self, *args, epoch=epoch, **kwargs):
            self.callbacks.append(CtrlCIn(epoch))
            return fit(self, *args, **kwargs)

        monkeypatch.setattr(Trainer, "fit", interrupted_fit)
        code, _, err = run_cli([*TRAIN, "lenet", "--epochs", "3", "--out", str(out)], capsys)
        assert code == 130
        if epoch == 2:
            assert err.strip() == (
                "d2lkit: interrupted; the last finished epoch is saved; continue with"
                f" `d2lkit train --resume '{out}' --epochs 3`"  # quoted: the path has a space
            )
            monkeypatch.setattr(Trainer, "fit", fit)
            assert run_cli(["train", "--resume", str(out), "--no-progress"], capsys)[0] == 0
        else:
            assert err.strip() == (
                "d2lkit: interrupted; no epoch finished, so nothing is saved; run the same"
                " command again"
            )
            monkeypatch.setattr(Trainer, "fit", fit)
            argv = [*TRAIN, "lenet", "--epochs", "1", "--out", str(out)]
            assert run_cli(argv, capsys)[0] == 0  # the same command, into the same --out


def test_an_interrupt_after_epoch_ones_row_says_whether_its_checkpoint_was_saved(
    tmp_path, tiny_fashion, capsys, monkeypatch
):
    """The row is printed and logged first; the checkpoint is saved before the figure is drawn
    (half a second), so an interrupt while drawing loses nothing."""
    from d2lkit.train import callbacks

    def interrupted(self, trainer) -> None:
        raise KeyboardInterrupt

    argv = [*TRAIN, "mlp", "--epochs", "2", "--out", str(tmp_path / "a")]
    with monkeypatch.context() as patch:
        patch.setattr(callbacks.CheckpointSaver, "on_epoch_end", interrupted)
        code, _, err = run_cli(argv, capsys)
    assert code == 130 and err.strip() == (
        "d2lkit: interrupted; its first epoch was not saved yet, so nothing is saved; run the"
        " same command again"
    )
    assert run_cli(argv, capsys)[0] == 0  # the same command, into the same --out
    with monkeypatch.context() as patch:
        patch.setattr(callbacks.CurvePlotter, "on_epoch_end", interrupted)
        argv[-1] = str(tmp_path / "b")
        code, _, err = run_cli(argv, capsys)
    assert code == 130 and "the last finished epoch is saved; continue with" in err


def test_sigterm_stops_a_run_like_ctrl_c_and_exits_143(tmp_path, tiny_fashion, capsys):
    """A batch scheduler's stop (SIGTERM) ended the process without a word."""
    import os
    import signal

    from d2lkit.train.callbacks import Callback
    from d2lkit.train.trainer import Trainer

    class TerminatedIn(Callback):
        def on_batch_end(self, trainer) -> None:
            if trainer.epoch == 2:
                os.kill(os.getpid(), signal.SIGTERM)

    fit = Trainer.fit

    def terminated_fit(self, *args, **kwargs):
        self.callbacks.append(TerminatedIn())
        return fit(self, *args, **kwargs)

    out = tmp_path / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Trainer, "fit", terminated_fit)
        code, _, err = run_cli([*TRAIN, "mlp", "--epochs", "3", "--out", str(out)], capsys)
    assert code == 143
    assert err.strip().startswith("d2lkit: interrupted; the last finished epoch is saved;")
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the caller's handler is back
    assert run_cli(["train", "--resume", str(out), "--no-progress"], capsys)[0] == 0


def test_sigterm_is_handled_once_and_a_callers_own_handler_is_left_alone(monkeypatch):
    import signal

    from d2lkit.termination import Termination

    with Termination() as termination:
        handler = signal.getsignal(signal.SIGTERM)
        with pytest.raises(KeyboardInterrupt):
            handler(signal.SIGTERM, None)
        handler(signal.SIGTERM, None)  # a second one, while the first is handled: nothing
    assert termination.received and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    monkeypatch.setattr(signal, "getsignal", lambda signum: signal.SIG_IGN)  # inherited
    with Termination() as termination:
        assert not termination.installed


def test_sigterm_before_the_cli_is_ready_is_one_line_and_143(monkeypatch, capsys):
    """`python -m d2lkit` installs the handler before importing torch (a second or two): a
    SIGTERM then ended the process without a word."""
    import os
    import signal
    import time

    import d2lkit.cli
    from d2lkit.__main__ import entry

    def terminated_while_starting(argv=None):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler interrupts this at once

    monkeypatch.setattr(d2lkit.cli, "main", terminated_while_starting)
    assert entry() == 143
    assert capsys.readouterr().err == "d2lkit: interrupted\n"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_resume_refuses_settings_it_would_drop(tmp_path, tiny_fashion, capsys):
    out = tmp_path / "run"
    assert main([*TRAIN, "mlp", "--epochs", "1", "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    flags = ["lenet", "--resume", str(out), "--epochs", "2", "--lr", "5", "--out", "elsewhere"]
    code, _, err = run_cli(["train", *flags], capsys)
    assert_one_line_error(
        code, err, "drop MODEL, --lr, --out", "(only --epochs, --no-progress, and --dataset"
    )
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_eval_of_a_test_subset_run_says_it_used_that_subset(tmp_path, tiny_fashion, capsys):
    out = tmp_path / "run"
    assert main([*TRAIN, "softmax", "--epochs", "1", "--test-subset", "5", "--out", str(out)]) == 0
    capsys.readouterr()
    code, printed, _ = run_cli(["eval", str(out)], capsys)
    assert code == 0 and "on fashion-mnist (its first 5 test images, as trained):" in printed
    code, _, err = run_cli(["train", "--resume", str(out)], capsys)
    assert_one_line_error(code, err, "already trained for 1 epoch;")


@pytest.mark.parametrize("command", [["eval", "run"], ["predict", "run", "--out", "p.png"]])
def test_eval_and_predict_under_torchrun_are_refused(command, monkeypatch, capsys):
    """Each process tested its own share of the test set and printed it as the whole."""
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    code, _, err = run_cli(command, capsys)
    assert_one_line_error(code, err, "runs in one process, not 2: run it without torchrun")


def test_resume_of_a_run_stopped_in_its_first_epoch_says_to_train_again(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    # What run_training writes before epoch 1 ends.
    (out / "config.json").write_text(json.dumps(TrainConfig("softmax", out=str(out)).to_dict()))
    code, _, err = run_cli(["train", "--resume", str(out)], capsys)
    assert_one_line_error(code, err, "no epoch finished", "train it again with the same command")


def test_a_run_whose_checkpoint_was_deleted_is_not_said_to_have_finished_no_epoch(
    tmp_path, tiny_fashion, capsys
):
    out = tmp_path / "run"
    assert main([*TRAIN, "mlp", "--epochs", "2", "--out", str(out)]) == 0
    (out / "checkpoint.pt").unlink()
    capsys.readouterr()
    for command in (["train", "--resume", str(out), "--epochs", "3"], ["eval", str(out)]):
        code, _, err = run_cli(command, capsys)
        assert_one_line_error(code, err, "missing, though 2 epochs of this run were logged")
    # One logged epoch, no checkpoint: a finished 1-epoch run (its summary written) lost it...
    rows = (out / "metrics.jsonl").read_text().splitlines()
    (out / "metrics.jsonl").write_text(rows[0] + "\n")
    code, _, err = run_cli(["eval", str(out)], capsys)
    assert_one_line_error(
        code, err, "though 1 epoch of this run was logged", "put its checkpoint back"
    )
    # ...and a run without a summary was killed while saving its first.
    (out / "summary.json").unlink()
    code, _, err = run_cli(["train", "--resume", str(out)], capsys)
    assert_one_line_error(
        code, err, "stopped before its first checkpoint was saved", "the command that started it"
    )
    # A mistyped file name beside a run is just no checkpoint, not a lost one.
    code, _, err = run_cli(["eval", str(out / "checkpont.pt")], capsys)
    assert_one_line_error(code, err, "checkpont.pt: no checkpoint here")


def test_batch_norm_over_channels_trains_on_single_images(tmp_path, tiny_fashion):
    """One image still gives BatchNorm2d H x W values a channel: only BatchNorm1d is refused."""
    from d2lkit.models import create_model

    model = create_model("resnet18_small", num_classes=10, in_channels=1)
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in model.modules())
    flags = ["--epochs", "1", "--batch-size", "1", "--train-subset", "4", "--test-subset", "4"]
    assert (
        main(["train", "resnet18_small", "--no-progress", *flags, "--out", str(tmp_path / "r")])
        == 0
    )


def test_a_full_disk_is_one_line_exit_1_and_keeps_what_was_saved(
    tmp_path, tiny_fashion, capsys, monkeypatch
):
    """torch.save reports a full disk as 'RuntimeError: ... unexpected pos': a 30-line
    traceback before."""
    import shutil
    from collections import namedtuple

    from d2lkit.train import checkpoint

    out = tmp_path / "run"
    save = checkpoint.torch.save
    calls = []

    def full_after_the_first(state, file):
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 2 vs 1")
        save(state, file)

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(checkpoint.torch, "save", full_after_the_first)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10, 10, 0))
    code, _, err = run_cli([*TRAIN, "mlp", "--epochs", "3", "--out", str(out)], capsys)
    assert code == 1
    (line,) = err.splitlines()
    assert line.startswith(f"d2lkit: failed: {out / 'checkpoint.pt'}: No space left on device;")
    monkeypatch.undo()
    assert torch.load(out / "checkpoint.pt", weights_only=True)["epoch"] == 1  # kept
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []  # no debris


def test_a_read_only_folder_is_one_line_exit_2(tmp_path, tiny_fashion, capsys, monkeypatch):
    import errno

    from d2lkit.train import run

    def read_only(path, value):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(run, "write_json_atomic", read_only)
    code, _, err = run_cli([*TRAIN, "mlp", "--epochs", "1", "--out", str(tmp_path / "r")], capsys)
    assert_one_line_error(code, err, "config.json: Read-only file system; check that path")


def test_an_os_error_without_a_path_is_the_work_failing_not_a_path_to_check(
    tmp_path, tiny_fashion, capsys, monkeypatch
):
    import errno

    from d2lkit.train import run

    def out_of_memory(*args, **kwargs):
        raise OSError(errno.ENOMEM, "Cannot allocate memory")  # e.g. forking loader workers

    monkeypatch.setattr(run, "execute", out_of_memory)
    code, _, err = run_cli([*TRAIN, "mlp", "--epochs", "1", "--out", str(tmp_path / "r")], capsys)
    assert (code, err) == (1, "d2lkit: failed: Cannot allocate memory\n")


@pytest.mark.parametrize(
    "error, said",
    [
        # torch's CPU allocator, for --resize 100000 (a 34-line traceback before)
        (
            RuntimeError(
                "[enforce fail at alloc_cpu.cpp:121] data. DefaultCPUAllocator: can't allocate"
                " memory: you tried to allocate 320000000000 bytes. Error code 12"
            ),
            " (an allocation of 320.0 GB failed)",
        ),
        (torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0)"),
         " (an allocation of 2.00 GiB failed)"),
        (MemoryError(), ""),
    ],
)  # fmt: skip
def test_running_out_of_memory_is_one_line_that_says_what_to_lower(
    tmp_path, tiny_fashion, capsys, monkeypatch, error, said
):
    from d2lkit.train import run

    def allocate(*args, **kwargs):
        raise error

    monkeypatch.setattr(run, "execute", allocate)
    code, _, err = run_cli([*TRAIN, "mlp", "--epochs", "1", "--out", str(tmp_path / "r")], capsys)
    assert (code, err) == (
        1,
        f"d2lkit: failed: out of memory{said}; lower --batch-size or --resize (or pick a smaller"
        " model)\n",
    )


def test_other_runtime_errors_are_not_taken_for_bad_input(tmp_path, tiny_fashion, monkeypatch):
    from d2lkit.train import run

    def bug(*args, **kwargs):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    monkeypatch.setattr(run, "execute", bug)
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        main([*TRAIN, "mlp", "--epochs", "1", "--out", str(tmp_path / "r")])


def test_out_into_a_users_folder_never_overwrites_files_no_run_wrote(
    tmp_path, tiny_fashion, capsys
):
    project = tmp_path / "project"
    project.mkdir()
    (project / "config.json").write_text('{"my": 1}')
    (project / "notes.txt").write_text("mine")
    code, _, err = run_cli([*TRAIN, "mlp", "--epochs", "1", "--out", str(project)], capsys)
    assert_one_line_error(code, err, "config.json, not written by a d2lkit run", "new or empty")
    assert (project / "config.json").read_text() == '{"my": 1}'
    assert sorted(p.name for p in project.iterdir()) == ["config.json", "notes.txt"]
    # train --recipe wrote its recipe.json mark over the user's before refusing.
    (project / "recipe.json").write_text('{"mine": true}')
    code, _, err = run_cli([*TRAIN, "--recipe", "mlp", "--out", str(project)], capsys)
    assert_one_line_error(code, err, "not written by a d2lkit run")
    assert (project / "recipe.json").read_text() == '{"mine": true}'
    (project / "config.json").unlink()
    code, _, err = run_cli([*TRAIN, "--recipe", "mlp", "--out", str(project)], capsys)
    assert_one_line_error(code, err, "a recipe.json that is no recipe's mark")
    (project / "recipe.json").unlink()
    # Files a run does not write are no obstacle, and are left alone.
    assert main([*TRAIN, "mlp", "--epochs", "1", "--out", str(project)]) == 0
    assert (project / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    "log", ['{"epoch": 1, "train_loss": \n', '{"epoch": 1, "test_acc": "x"}\n', None]
)
def test_eval_needs_only_the_checkpoint_not_the_log(tmp_path, tiny_fashion, capsys, log):
    """A damaged metrics.jsonl stopped eval (advising to delete the run), a text test_acc in it
    was a traceback: the log only adds the recorded figure to compare with."""
    out = tmp_path / "run"
    assert main([*TRAIN, "mlp", "--epochs", "1", "--out", str(out)]) == 0
    if log is None:
        (out / "metrics.jsonl").unlink()
    else:
        (out / "metrics.jsonl").write_text(log)
    capsys.readouterr()
    assert main(["eval", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "mlp (epoch 1) on fashion-mnist: test_loss" in printed and "recorded" not in printed


def test_out_of_memory_in_a_resume_does_not_name_flags_it_refuses(
    tmp_path, tiny_fashion, capsys, monkeypatch
):
    from d2lkit.train import resume

    out = tmp_path / "run"
    assert main([*TRAIN, "mlp", "--epochs", "1", "--out", str(out)]) == 0

    def allocate(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(resume, "execute", allocate)
    capsys.readouterr()
    code, _, err = run_cli(["train", "--resume", str(out), "--epochs", "2"], capsys)
    assert (code, err) == (
        1,
        "d2lkit: failed: out of memory; free memory (other programs, other runs) or use a machine"
        " with more\n",
    )


def test_eval_prints_a_small_regression_loss_in_significant_digits(tmp_path, capsys):
    """linreg's test loss is about 1e-4: four decimals printed it as 0.0001."""
    out = tmp_path / "linreg"
    assert main(["train", "--recipe", "linreg", "--no-progress", "--out", str(out)]) == 0
    recorded = json.loads((out / "summary.json").read_text())["test_loss"]
    capsys.readouterr()
    assert main(["eval", str(out)]) == 0
    printed = float(re.search(r"test_loss (\S+)", capsys.readouterr().out).group(1))
    assert recorded < 1e-3 and abs(printed - recorded) <= 1e-3 * recorded
