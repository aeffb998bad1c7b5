"""Finding, checking and continuing a run's checkpoint: `d2lkit train --resume`, a torchrun restart
after a lost rank, and the reopening of a saved run by eval and predict (trained.py)."""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from pathlib import Path

from d2lkit.errors import D2lkitError
from d2lkit.jsonfile import read_json
from d2lkit.text import plural
from d2lkit.train import callbacks as cb
from d2lkit.train import distributed
from d2lkit.train.checkpoint import load_checkpoint, restore_rng_state
from d2lkit.train.config import TrainConfig
from d2lkit.train.optim import load_optimizer_state
from d2lkit.train.reopen import UNCHANGED, Reopen, check_same_classes, saved_config
from d2lkit.train.run import (
    CHECKPOINT,
    Run,
    build_run,
    execute,
    read_run_config,
    write_settings,
)
from d2lkit.train.run_lock import writing


def find_checkpoint(path: str | Path) -> Path:
    """A run directory or a checkpoint file -> the checkpoint file."""
    path = Path(os.path.expanduser(path))  # a quoted `~/runs/x` reaches us as it is
    folder = path.parent if path.suffix == ".pt" else path  # RUN or RUN/checkpoint.pt
    if not path.exists() and not folder.is_dir():
        raise D2lkitError(f"{folder}: no such folder; pass a run directory made by `d2lkit train`")
    if path.is_dir():
        path = path / CHECKPOINT
    # Only a run's own checkpoint name says the folder is a run; another name is a typo.
    if not path.is_file() and path.name == CHECKPOINT:
        logged = len(cb.readable_metrics(path.parent / "metrics.jsonl"))
        # An epoch's row is written before its checkpoint, and the summary after the last: one
        # row, no summary and no checkpoint is most likely a run stopped while saving its first.
        if logged == 1 and not (path.parent / "summary.json").is_file():
            raise D2lkitError(
                f"{path}: missing, though epoch 1 was logged; the run stopped before its first"
                " checkpoint was saved (or it was removed): train it again with the command that"
                " started it"
            )
        if logged:
            raise D2lkitError(
                f"{path}: missing, though {plural(logged, 'epoch')} of this run"
                f" {'was' if logged == 1 else 'were'} logged; put its checkpoint back, or train it"
                " again"
            )
        config_file = path.parent / "config.json"
        if config_file.is_file() and read_run_config(config_file) is None:
            # Another tool's folder: training again "with the same command" means nothing.
            raise D2lkitError(
                f"{path.parent}: not a d2lkit run (its config.json is not a run's settings); pass"
                " a run directory made by `d2lkit train`"
            )
        if config_file.is_file():  # a run stopped in its first epoch
            raise D2lkitError(
                f"{path.parent}: no epoch finished, so it has no checkpoint to open or continue;"
                " train it again with the same command"
            )
    if not path.is_file():
        raise D2lkitError(
            f"{path}: no checkpoint here; pass a run directory made by `d2lkit train`"
        )
    return path


def resumable(path: str | Path) -> Path:
    """The checkpoint to continue in place. A copy beside the folder's own checkpoint.pt (a backup
    of an earlier epoch) is refused: continuing it would overwrite that run's later epochs."""
    checkpoint = find_checkpoint(path)
    own = checkpoint.parent / CHECKPOINT
    if checkpoint.name != CHECKPOINT and own.exists():
        raise D2lkitError(
            f"{checkpoint}: resuming it would overwrite {own}, that folder's own run; copy it"
            f" into a new folder as {CHECKPOINT} and resume that folder"
        )
    return checkpoint


def read_run(checkpoint_path: Path) -> tuple[dict, list[dict]]:
    """A run's state, from its checkpoint file, and its metrics rows."""
    state = load_run_checkpoint(checkpoint_path)
    return state, cb.read_metrics(checkpoint_path.parent / "metrics.jsonl")


def resume_training(
    run_dir: str | Path,
    epochs: int | None = None,
    callbacks: Sequence[cb.Callback] = (),
    changes: Reopen = UNCHANGED,
) -> dict:
    """Continue a run in place, exactly: same batches in the same order, same RNG streams.
    Under torchrun, with any number of ranks that divides the batch size. `changes`: where its
    data moved to, or the device and precision of another machine."""
    with distributed.process_group():
        # Only rank 0 reads the run directory (other machines may not see it).
        checkpoint_path = distributed.on_main(lambda: resumable(run_dir))
        with writing(checkpoint_path.parent):
            state, rows = distributed.on_main(lambda: read_run(checkpoint_path))
            return continue_run(checkpoint_path, state, rows, epochs, callbacks, changes)


def continue_run(
    checkpoint_path: Path,
    state: dict,
    rows: list[dict],
    epochs: int | None,
    callbacks: Sequence[cb.Callback],
    changes: Reopen,
) -> dict:
    """`resume_training` once rank 0 has read the checkpoint: refuse what cannot go on, rebuild
    the run, load its saved state and train its remaining epochs."""
    config = saved_config(state, changes)
    out = checkpoint_path.parent
    distributed.on_main(lambda: refuse_a_foreign_checkpoint(out, config))
    if epochs is not None and not keeps_its_schedule(config, epochs):
        raise D2lkitError(
            f"{out}: its {config.scheduler} learning-rate schedule is laid out for"
            f" {plural(config.epochs, 'epoch')} and cannot be changed to {epochs}; train a new"
            f" run with --epochs {epochs} (--init {shlex.quote(str(out))} starts from its weights)"
        )
    if epochs is not None:
        config.epochs = epochs
    config.out = str(out)
    done = state["epoch"]
    # Refuse before anything in the run directory is rewritten. A run whose last epoch is saved
    # but whose summary is not (killed in between, or the summary damaged) only gets its summary
    # written; so does a torchrun restart after the last checkpoint.
    if done >= config.epochs and not distributed.on_main(
        lambda: (
            (done == config.epochs and saved_summary(out) is None)
            or distributed.continues_this_launch(state)
        )
    ):
        raise D2lkitError(
            f"{out}: already trained for {plural(done, 'epoch')}; pass --epochs N"
            f" with N > {done} to go on"
        )
    missing = sorted({"optimizer", "scheduler", "loader", "rng"} - state.keys())
    if missing:
        raise D2lkitError(
            f"{checkpoint_path}: holds the weights but not the training state a resume needs"
            f" ({', '.join(missing)}); eval and predict can use it, training must start again"
        )
    history = distributed.on_main(lambda: history_until(rows, done, out / "metrics.jsonl"))
    run = build_run(config, out)
    load_saved_weights(run, state, checkpoint_path)
    load_optimizer_state(run.trainer.optimizer, state["optimizer"])
    if run.trainer.scheduler is not None and state["scheduler"] is not None:
        run.trainer.scheduler.load_state_dict(state["scheduler"])
    if state["loader"] is not None:
        run.data.train.load_state_dict(state["loader"])
    restore_rng_state(state["rng"])
    run.trainer.history = history
    if distributed.is_main():
        cb.write_metrics(out / "metrics.jsonl", run.trainer.history)
        write_settings(run)
    return execute(run, done, state.get("wall_s", 0.0), list(callbacks))


def refuse_a_foreign_checkpoint(out: Path, config: TrainConfig) -> None:
    """A checkpoint copied in from another run would carry on under this run's record: its
    config.json and metrics.jsonl rewritten, a softmax's first epoch followed by a LeNet's
    second. (A config.json that is missing or damaged is written again from the checkpoint.)"""
    recorded = out / "config.json"
    settings = read_run_config(recorded)
    if settings is not None and settings.model != config.model:
        raise D2lkitError(
            f"{out / CHECKPOINT}: holds a {config.model} run, but {recorded} is a"
            f" {settings.model} run's; put this run's own checkpoint back, or train a new run"
        )


def keeps_its_schedule(saved: TrainConfig, epochs: int) -> bool:
    """Whether a run saved with `saved` can go on to `epochs` epochs in total. A learning-rate
    schedule keeps the length it was built for: continued to another, it would restart (cosine),
    never decay (step) or stop the run (onecycle) instead."""
    return saved.scheduler == "none" or epochs == saved.epochs


def saved_summary(out: Path) -> dict | None:
    """`out`'s summary.json (the mark of a finished run), or None when it is missing or
    damaged."""
    try:
        return read_json(out / "summary.json")
    except (D2lkitError, FileNotFoundError):
        return None


def history_until(rows: list[dict], done: int, path: Path) -> list[dict]:
    """The metrics rows of epochs 1..done, the checkpoint's. Rows logged after it (a crash between
    the two writes) are dropped to be redone; a missing or repeated one means the file was
    damaged, and continuing would lose those epochs from the run's record for good."""
    kept = [row for row in rows if row["epoch"] <= done]
    epochs = [row["epoch"] for row in kept]
    if epochs != list(range(1, done + 1)):
        raise D2lkitError(
            f"{path}: holds epochs {epochs or 'none'} but the checkpoint has finished 1..{done};"
            " restore the file, or train the run again into a new --out (a reproduce run:"
            f" delete {path.parent} and run the same reproduce command again)"
        )
    return kept


def load_saved_weights(run: Run, state: dict, checkpoint_path: Path) -> None:
    """The checkpoint's weights into `run`'s model, built for the data it was reopened with:
    refused in one line when that data's classes are not the run's."""
    check_same_classes(state, run.data.class_names, run.config.dataset)
    try:
        run.model.load_state_dict(state["model"])
    except RuntimeError as err:  # a checkpoint without class names, on data with more or fewer
        raise D2lkitError(
            f"{checkpoint_path}: its weights do not fit {run.config.model} built for"
            f" {run.config.dataset} ({str(err).splitlines()[-1].strip()[:120]}); pass data with"
            " the run's classes"
        ) from None


def load_run_checkpoint(checkpoint_path: Path) -> dict:
    """A checkpoint written by `d2lkit train`, not any file torch can load."""
    state = load_checkpoint(checkpoint_path)
    if not isinstance(state, dict) or not {"config", "model", "epoch"} <= state.keys():
        raise D2lkitError(
            f"{checkpoint_path}: not a d2lkit checkpoint (no config, model and epoch); pass a run"
            " directory made by `d2lkit train` (plain state_dicts go to `--init`)"
        )
    try:
        if not isinstance(state["config"], dict):
            raise D2lkitError(f"its settings are a {type(state['config']).__name__}")
        TrainConfig.from_dict(state["config"])
    except (D2lkitError, TypeError) as err:  # e.g. written by another version of d2lkit
        raise D2lkitError(
            f"{checkpoint_path}: its training settings do not load ({err}); this d2lkit cannot"
            " open it: train the run again"
        ) from None
    return state
