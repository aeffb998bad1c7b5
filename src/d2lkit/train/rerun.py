"""Training runs that can be started again into the same folder: a finished run is reused, an
interrupted one continues exactly from its checkpoint, anything else starts over. `d2lkit
reproduce` and the multi-run experiments (fine-tuning, augmentation, optimisers) build on them."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from d2lkit.jsonfile import read_json
from d2lkit.train.config import TrainConfig
from d2lkit.train.run_lock import writing


def train_or_resume(config: TrainConfig, out: Path) -> dict:
    """Train `config` into `out`; continue exactly from out's checkpoint when an earlier attempt
    was interrupted (or only write the summary when its last epoch is saved; or return the
    summary of a finished run whose caller stopped before stamping it), and start over when it
    left no checkpoint, one past `config.epochs`, or one whose schedule was laid out for another
    length."""
    from d2lkit.train.reopen import Reopen
    from d2lkit.train.resume import (
        keeps_its_schedule,
        load_run_checkpoint,
        resume_training,
        saved_summary,
    )
    from d2lkit.train.run import CHECKPOINT, run_training

    config = dataclasses.replace(config, out=str(out))
    with writing(out):  # nothing here is deleted while another process writes it
        checkpoint = out / CHECKPOINT
        if checkpoint.is_file():
            state = load_run_checkpoint(checkpoint)
            done = state["epoch"]
            summary = saved_summary(out) if done == config.epochs else None
            if summary is not None:  # finished; its caller stopped before stamping it
                return summary
            saved = TrainConfig.from_dict(state["config"])
            if done <= config.epochs and keeps_its_schedule(saved, config.epochs):
                # Where the data lies and what runs it are this session's: a reproduce
                # continued on another machine or --device goes on there.
                moved = Reopen(data_dir=config.data_dir, device=config.device)
                return resume_training(out, epochs=config.epochs, changes=moved)
        for leftover in (CHECKPOINT, "metrics.jsonl", "summary.json", "curves.png", "tensorboard"):
            target = out / leftover
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
        return run_training(config)


def train_or_reuse(config: TrainConfig, out: Path) -> dict:
    """The summary of the run that already finished in `out`, else `train_or_resume`."""
    summary_path = out / "summary.json"
    if summary_path.is_file():
        return read_json(summary_path)
    return train_or_resume(config, out)
