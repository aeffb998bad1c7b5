"""Exact resume: a run killed with SIGKILL mid-epoch and continued with `d2lkit train --resume`
ends bit-identical to the same run trained straight through."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import torch

import d2lkit
from d2lkit.train.checkpoint import load_checkpoint
from d2lkit.train.config import TrainConfig
from d2lkit.train.run import run_training

SRC = str(Path(d2lkit.__file__).parents[1])
# Must match tests/conftest.py, which runs this process on one thread.
ENV = dict(os.environ, PYTHONPATH=SRC, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
TIMING_KEYS = {"train_s", "eval_s", "train_cpu_s", "train_images_per_s"}

KILLED_RUN = textwrap.dedent(
    """
    import json, os, signal, sys
    from d2lkit.train.callbacks import Callback
    from d2lkit.train.config import TrainConfig
    from d2lkit.train.run import run_training

    class KillAt(Callback):
        def __init__(self, epoch, step):
            self.epoch, self.step = epoch, step

        def on_batch_end(self, trainer):
            if (trainer.epoch, trainer.step) == (self.epoch, self.step):
                os.kill(os.getpid(), signal.SIGKILL)

    run_training(TrainConfig(**json.loads(sys.argv[1])), callbacks=[KillAt(epoch=2, step=3)])
    """
)


def settings(out: Path) -> dict:
    # Dropout draws from the global RNG, Adam has state tensors, the cosine schedule has state,
    # the loader reshuffles: everything an exact resume has to restore.
    return dict(
        model="mlp_dropout",
        optimizer="adam",
        lr=1e-3,
        scheduler="cosine",
        train_subset=256,  # all of tiny_fashion; 4 batches an epoch of the real data
        batch_size=64,
        epochs=2,
        seed=3,
        out=str(out),
        progress=False,
    )


def assert_identical(a, b, where: str = "checkpoint") -> None:
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype, where
        assert torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_identical(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_identical(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def metrics(out: Path) -> list[dict]:
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if k not in TIMING_KEYS} for row in rows]


def test_killed_and_resumed_run_equals_straight_run(tmp_path, fashion):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    run_training(TrainConfig(**settings(straight)))

    script = tmp_path / "killed_run.py"
    script.write_text(KILLED_RUN)
    result = subprocess.run(
        [sys.executable, str(script), json.dumps(settings(killed))],
        env=ENV,
        capture_output=True,
        text=True,
    )
    assert result.returncode == -9, result.stderr  # SIGKILL, in epoch 2 step 3
    assert load_checkpoint(killed / "checkpoint.pt")["epoch"] == 1
    assert [row["epoch"] for row in metrics(killed)] == [1]

    result = subprocess.run(
        # --no-progress as the straight run had: the bar is each command's own choice.
        [sys.executable, "-m", "d2lkit", "train", "--resume", str(killed), "--no-progress"],
        env=ENV,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert str(killed) in result.stdout

    a = load_checkpoint(straight / "checkpoint.pt")
    b = load_checkpoint(killed / "checkpoint.pt")
    assert a["epoch"] == b["epoch"] == 2
    assert a["model"].keys() == b["model"].keys()
    for name in a["model"]:
        assert torch.equal(a["model"][name], b["model"][name]), name
    state_tensors = [
        (k, v) for s in a["optimizer"]["state"].values() for k, v in s.items() if v.dim() > 0
    ]
    assert len(state_tensors) == 2 * len(a["model"])  # exp_avg and exp_avg_sq per parameter
    for key in ("optimizer", "scheduler", "loader", "rng"):
        assert_identical(a[key], b[key], key)
    a["config"].pop("out"), b["config"].pop("out")
    assert a["config"] == b["config"]
    assert metrics(straight) == metrics(killed)
    summary = json.loads((killed / "summary.json").read_text())
    assert summary["epoch"] == 2 and summary["test_acc"] == metrics(straight)[-1]["test_acc"]


def finished_run(tmp_path: Path) -> Path:
    out = tmp_path / "run"
    run_training(TrainConfig(**{**settings(out), "model": "mlp", "scheduler": "none"}))
    return out


def test_a_run_killed_after_its_last_checkpoint_gets_its_summary_not_more_training(
    tmp_path, tiny_fashion
):
    """Killed between the last checkpoint and summary.json (or the summary damaged): resuming
    writes the summary from the saved state; before, it said 'already trained' for ever, and
    reproduce trained the run again from epoch 1."""
    from d2lkit.train.rerun import train_or_resume
    from d2lkit.train.resume import resume_training

    out = finished_run(tmp_path)
    summary = json.loads((out / "summary.json").read_text())
    saved = (out / "checkpoint.pt").read_bytes(), (out / "metrics.jsonl").read_text()
    (out / "summary.json").unlink()
    again = resume_training(out)
    assert again["test_acc"] == summary["test_acc"] and again["epoch"] == 2
    assert ((out / "checkpoint.pt").read_bytes(), (out / "metrics.jsonl").read_text()) == saved

    (out / "summary.json").write_text('{"mod')  # damaged: the run is not marked finished
    config = TrainConfig(**{**settings(out), "model": "mlp", "scheduler": "none"})
    assert train_or_resume(config, out)["test_acc"] == summary["test_acc"]
    assert (out / "checkpoint.pt").read_bytes() == saved[0]  # nothing trained again
    assert json.loads((out / "summary.json").read_text())["test_acc"] == summary["test_acc"]


def test_a_metrics_file_missing_epochs_the_checkpoint_holds_is_refused(tmp_path, tiny_fashion):
    """Continuing would drop those epochs from the run's record for good."""
    import pytest

    from d2lkit.errors import D2lkitError
    from d2lkit.train.resume import resume_training

    out = finished_run(tmp_path)
    rows = (out / "metrics.jsonl").read_text().splitlines(keepends=True)
    (out / "metrics.jsonl").write_text(rows[1])  # epoch 1's row lost
    with pytest.raises(D2lkitError, match=r"metrics.jsonl: holds epochs \[2\] but the checkpoint"):
        resume_training(out, epochs=3)
    with pytest.raises(D2lkitError, match=f"reproduce run: delete {out} and run the same"):
        resume_training(out, epochs=3)  # not only "into a new --out", which reproduce has not


def test_a_second_process_writing_the_same_run_is_refused(tmp_path, tiny_fashion):
    """Two trainings into one --out mixed their epochs into one metrics.jsonl, and each removed
    the checkpoint the other was writing."""
    import pytest

    from d2lkit.errors import D2lkitError
    from d2lkit.train.resume import resume_training
    from d2lkit.train.run_lock import locked, unlock

    out = finished_run(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    held = [locked(out), locked(other)]  # as another process holds them
    try:
        with pytest.raises(D2lkitError, match="another d2lkit process is writing this folder"):
            resume_training(out, epochs=3)
        config = TrainConfig(**{**settings(other), "model": "mlp", "scheduler": "none"})
        with pytest.raises(D2lkitError, match="another d2lkit process is writing this folder"):
            run_training(config)
        assert list(other.iterdir()) == []  # nothing written
    finally:
        for descriptor in held:
            unlock(descriptor)
    assert resume_training(out, epochs=3)["epoch"] == 3  # released: it goes on


def test_a_backup_checkpoint_beside_the_runs_own_is_not_resumed_over_it(tmp_path, tiny_fashion):
    """It continued in place and overwrote the folder's later epochs with the backup's."""
    import shutil

    import pytest

    from d2lkit.errors import D2lkitError
    from d2lkit.train.resume import resume_training

    out = finished_run(tmp_path)
    shutil.copy(out / "checkpoint.pt", out / "epoch2-backup.pt")
    resume_training(out, epochs=3)
    latest = (out / "checkpoint.pt").read_bytes()
    with pytest.raises(D2lkitError, match="epoch2-backup.pt: resuming it would overwrite"):
        resume_training(out / "epoch2-backup.pt", epochs=4)
    assert (out / "checkpoint.pt").read_bytes() == latest


def test_checkpoints_other_code_wrote_are_one_line_naming_the_file(tmp_path, tiny_fashion):
    import pytest

    from d2lkit.errors import D2lkitError
    from d2lkit.train.resume import resume_training
    from d2lkit.train.trained import load_trained

    out = finished_run(tmp_path)
    path = out / "checkpoint.pt"
    state = torch.load(path, weights_only=True)
    torch.save({k: v for k, v in state.items() if k not in ("optimizer", "rng")}, path)
    with pytest.raises(D2lkitError, match=r"checkpoint.pt: holds the weights but not .*optimizer"):
        resume_training(out, epochs=3)
    assert load_trained(out)[1]["epoch"] == 2  # eval and predict still open it
    for config in ({**state["config"], "bogus": 1}, ["a", "list"]):
        torch.save({**state, "config": config}, path)
        with pytest.raises(D2lkitError, match=r"checkpoint.pt: its training settings do not"):
            load_trained(out)


def test_a_finished_run_whose_caller_did_not_stamp_its_summary_is_returned_as_it_is(
    tmp_path, tiny_fashion
):
    """reproduce adds its own keys to summary.json after training; interrupted in between, the
    next reproduce must take the run as it is (it said 'already trained' for ever)."""
    from d2lkit.train.rerun import train_or_resume

    out = finished_run(tmp_path)
    saved = (out / "checkpoint.pt").read_bytes()
    config = TrainConfig(**{**settings(out), "model": "mlp", "scheduler": "none"})
    summary = json.loads((out / "summary.json").read_text())
    assert train_or_resume(config, out) == summary
    assert (out / "checkpoint.pt").read_bytes() == saved


def test_a_refused_second_process_deletes_and_rewrites_nothing(tmp_path, tiny_fashion, capsys):
    import pytest

    from d2lkit.cli import main
    from d2lkit.errors import D2lkitError
    from d2lkit.train.rerun import train_or_resume
    from d2lkit.train.run_lock import locked, unlock

    out = finished_run(tmp_path)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    descriptor = locked(out)  # as the process training it holds it
    try:
        config = TrainConfig(**{**settings(out), "model": "mlp", "epochs": 1})
        with pytest.raises(D2lkitError, match="another d2lkit process"):
            train_or_resume(config, out)  # would start over: its checkpoint is past 1 epoch
        argv = ["train", "--recipe", "linreg", "--lr", "0.5", "--out", str(out)]
        assert main(argv) == 2
    finally:
        unlock(descriptor)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # no recipe.json either


def test_a_filesystem_that_cannot_lock_folders_trains_without_the_lock(
    tmp_path, tiny_fashion, monkeypatch
):
    import errno
    import fcntl

    def unsupported(descriptor, operation):
        raise OSError(errno.ENOSYS, "Function not implemented")

    monkeypatch.setattr(fcntl, "flock", unsupported)
    assert finished_run(tmp_path)  # Lustre without -o flock, NFS without lockd


def test_a_new_training_into_a_live_run_says_it_is_live_not_to_resume_it(tmp_path, tiny_fashion):
    """It advised `--resume OUT`, which the lock then refused in turn."""
    import pytest

    from d2lkit.errors import D2lkitError
    from d2lkit.train.run_lock import locked, unlock

    out = finished_run(tmp_path)
    config = TrainConfig(**{**settings(out), "model": "mlp", "scheduler": "none"})
    with pytest.raises(D2lkitError, match="already holds a run; continue it with `--resume"):
        run_training(config)  # a finished run: resume it
    descriptor = locked(out)  # as the process training it holds it
    try:
        with pytest.raises(D2lkitError, match="another d2lkit process is writing this folder"):
            run_training(config)
    finally:
        unlock(descriptor)


def test_a_checkpoint_copied_in_from_another_models_run_is_refused(tmp_path, tiny_fashion):
    """A LeNet checkpoint copied over a softmax run's went on as LeNet: config.json, summary.json
    and metrics.jsonl rewritten, softmax's epoch 1 followed by LeNet's epoch 2."""
    import pytest

    from d2lkit.errors import D2lkitError
    from d2lkit.train.resume import resume_training

    runs = {}
    for model in ("softmax", "lenet"):
        runs[model] = tmp_path / model
        run_training(TrainConfig(model, epochs=1, out=str(runs[model]), progress=False))
    (runs["softmax"] / "checkpoint.pt").write_bytes((runs["lenet"] / "checkpoint.pt").read_bytes())
    before = {p.name: p.read_bytes() for p in runs["softmax"].iterdir()}
    with pytest.raises(D2lkitError, match="checkpoint.pt: holds a lenet run, but .*config.json"
        " is a softmax run's; put this run's own checkpoint back"):  # fmt: skip
        resume_training(runs["softmax"], epochs=2)
    assert {p.name: p.read_bytes() for p in runs["softmax"].iterdir()} == before
