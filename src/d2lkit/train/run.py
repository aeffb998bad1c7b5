"""One training run from a `TrainConfig`: build data, model and optimiser, train, and keep the run
directory (DESIGN.md §2): config.json, env.json, metrics.jsonl, summary.json, curves.png,
checkpoint.pt."""

from __future__ import annotations

import dataclasses
import shlex
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from d2lkit.data.datasets import IGNORE_INDEX, PATH_DATASETS, DataBundle, DataOptions, build_dataset
from d2lkit.errors import D2lkitError
from d2lkit.jsonfile import read_json, write_json_atomic
from d2lkit.models.registry import create_model, get_entry
from d2lkit.text import plural
from d2lkit.train import callbacks as cb
from d2lkit.train import distributed
from d2lkit.train.checkpoint import capture_rng_state, load_checkpoint, restore_rng_state
from d2lkit.train.config import TrainConfig
from d2lkit.train.environment import (
    environment_facts,
    resolve_device,
    resolve_precision,
    seed_everything,
)
from d2lkit.train.optim import USUAL_LR, build_optimizer, build_scheduler, param_groups
from d2lkit.train.reopen import UNCHANGED, Reopen, check_same_classes, saved_config
from d2lkit.train.run_lock import writing
from d2lkit.train.trainer import Trainer

if TYPE_CHECKING:
    from d2lkit.train.initial_weights import InitialWeights

CHECKPOINT = "checkpoint.pt"


@dataclass
class Run:
    """Everything built for one training run."""

    config: TrainConfig  # resolved: no None left where the model supplies a default
    out: Path
    data: DataBundle
    model: nn.Module  # the plain module (its state_dict has no torch.compile prefixes)
    trainer: Trainer
    # With --init: the model's tensors its file did not fill (a new head, other input channels),
    # and the file's tensors that fit none of the model's (another architecture's layers).
    fresh_after_init: list[str] | None = None
    unused_from_init: list[str] | None = None


def resolve(config: TrainConfig) -> TrainConfig:
    """Fill the settings left to the model's defaults: the book's optimiser, lr and input size.
    Another optimiser than the book's takes its own usual lr (`USUAL_LR`), not the book's."""
    entry = get_entry(config.model)
    optimizer = config.optimizer or entry.optimizer
    lr = config.lr
    if lr is None:
        lr = entry.lr if optimizer == entry.optimizer else USUAL_LR[optimizer]
    native = entry.input_size[-1]
    resize = config.resize
    if resize is None and config.dataset == "fashion-mnist" and native != 28:
        resize = native
    # Paths absolute, so that eval and --resume from another folder read the same files.
    kind, _, data_path = config.dataset.partition(":")
    absolute = kind in PATH_DATASETS and data_path  # `imagefolder:` alone is the builder's error
    dataset = f"{kind}:{Path(data_path).resolve()}" if absolute else config.dataset
    return dataclasses.replace(
        config,
        optimizer=optimizer,
        lr=lr,
        resize=resize,
        dataset=dataset,
        data_dir=config.data_dir and str(Path(config.data_dir).resolve()),
        init=config.init and str(Path(config.init).resolve()),
    )


def default_out(config: TrainConfig) -> Path:
    return Path("runs") / f"{config.model}-{datetime.now():%Y%m%d-%H%M%S}"


def loss_function(task: str, label_smoothing: float) -> nn.Module:
    if task == "regression":
        return nn.MSELoss()
    # Segmentation: the same loss per pixel, VOC's object borders left out.
    return nn.CrossEntropyLoss(label_smoothing=label_smoothing, ignore_index=IGNORE_INDEX)


def check_input_shape(
    model: nn.Module, data: DataBundle, config: TrainConfig, device: torch.device
) -> None:
    """One forward pass of one test input before anything trains: a model whose layers fix the
    input size (a flatten into a Linear of set width, as in LeNet, AlexNet, VGG, the MLPs) would
    otherwise stop in its first step with a matrix-shape traceback."""
    try:
        x, _ = next(iter(data.test))
    except StopIteration:  # this rank's share of a tiny test set is empty
        return
    x = x[:1].to(device)
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(x)
    except (RuntimeError, ValueError) as err:  # a shape mismatch, or the model's own size check
        built_for = get_entry(config.model).input_size  # (C, H, W)
        raise D2lkitError(
            f"model {config.model!r} cannot take {config.dataset} inputs of"
            f" {'x'.join(map(str, x.shape[1:]))} ({str(err).splitlines()[0][:120]}); it is built"
            f" for {'x'.join(map(str, built_for))}: pass --resize {built_for[-1]}"
        ) from None
    finally:
        model.train(training)


def data_options(config: TrainConfig, device: torch.device, test_only: bool = False) -> DataOptions:
    """The dataset's options for this process (under torchrun: its rank's share of a batch)."""
    launch = distributed.active_launch()
    return DataOptions(
        batch_size=distributed.rank_batch_size(config.batch_size),
        data_dir=config.data_dir,
        resize=config.resize,
        augment=config.augment,
        seed=config.seed,
        device=str(device),
        rank=launch.rank,
        world_size=launch.world_size,
        train_subset=config.train_subset,
        test_subset=config.test_subset,
        classes=config.classes,
        train_per_class=config.train_per_class,
        test_only=test_only,
    )


# The datasets of each task, for the message that a model was given another task's data.
DATASETS_FOR = {
    "classification": "fashion-mnist or imagefolder:PATH",
    "regression": "synthetic-linear",
    "segmentation": "fashion-scenes or voc:PATH",
}


def check_model_fits_data(config: TrainConfig, data: DataBundle) -> None:
    task = get_entry(config.model).task
    if task != data.task:
        raise D2lkitError(
            f"model {config.model!r} is a {task} model but dataset {config.dataset!r} is"
            f" for {data.task}; pass --dataset {DATASETS_FOR[task]}"
        )
    if data.task == "regression" and config.label_smoothing:
        raise D2lkitError(
            f"--label-smoothing smooths class labels; {config.dataset} is a regression set: drop it"
        )


def build_model(
    config: TrainConfig, data: DataBundle, device: torch.device
) -> tuple[nn.Module, InitialWeights | None]:
    """The model sized for `data`, initialised as asked, on `device`; with `--init`, also what
    --init left fresh (a new head) and what of its file it found no place for."""
    model = create_model(config.model, num_classes=data.num_classes, in_channels=data.in_channels)
    if config.weight_init:
        from d2lkit.models.init import init_model

        init_model(model, config.weight_init)
    initial = None
    if config.init:
        from d2lkit.train.initial_weights import load_initial_weights

        initial = load_initial_weights(model, config.init, config.model)
    model.to(device)
    if config.channels_last:
        model.to(memory_format=torch.channels_last)
    check_input_shape(model, data, config, device)
    return model, initial


def build_run(
    config: TrainConfig, out: Path, callbacks: list | None = None, test_only: bool = False
) -> Run:
    """The run `config` describes, ready to train; with `test_only`, ready to be evaluated only
    (eval and predict): its data may hold no training split, so nothing can train."""
    config = resolve(config.validate())
    if config.tensorboard and not test_only:  # eval and predict write no logs
        cb.check_tensorboard()
    device = resolve_device(config.device)
    config.precision = resolve_precision(config.precision, device, config.model)
    seed_everything(config.seed)
    data = build_dataset(config.dataset, data_options(config, device, test_only))
    # e.g. --train-subset 1: a last batch of one is left out
    if len(data.train) == 0 and not test_only:
        raise D2lkitError(
            f"{config.dataset}: too few training images for one batch of two or more; use more"
        )
    check_model_fits_data(config, data)
    model, initial = build_model(config, data, device)
    groups = param_groups(model, config.lr, config.head_lr_mult)
    optimizer = build_optimizer(
        config.optimizer,
        groups,
        config.lr,
        config.momentum,
        config.weight_decay,
        fused=device.type == "cuda",
    )
    # Without training batches, no schedule (onecycle refuses a run of no steps).
    scheduler, per_step = build_scheduler(
        "none" if test_only else config.scheduler, optimizer, config.epochs, len(data.train)
    )
    trained = distributed.wrap_model(model, device)  # DDP under torchrun
    trainer = Trainer(
        torch.compile(trained) if config.compile else trained,
        optimizer,
        distributed.shard_weighted(loss_function(data.task, config.label_smoothing)),
        data.train,
        data.test,
        task=data.task,
        num_classes=data.num_classes,
        device=device,
        precision=config.precision,
        scheduler=scheduler,
        scheduler_per_step=per_step,
        grad_clip=config.grad_clip,
        channels_last=config.channels_last,
        callbacks=callbacks or [],
        test_loss_fn=loss_function(data.task, label_smoothing=0.0),
    )
    if initial is None:
        return Run(config, out, data, model, trainer)
    return Run(config, out, data, model, trainer, initial.fresh, initial.unused)


def checkpoint_state(run: Run, wall_s: float) -> dict:
    trainer = run.trainer
    return {
        "model": run.model.state_dict(),
        "optimizer": trainer.optimizer.state_dict(),
        "scheduler": trainer.scheduler.state_dict() if trainer.scheduler else None,
        "epoch": trainer.epoch,
        "rng": capture_rng_state(),
        "loader": run.data.train.state_dict() if hasattr(run.data.train, "state_dict") else None,
        "config": run.config.to_dict(),
        "class_names": run.data.class_names,  # eval on another folder checks them
        "wall_s": wall_s,
        "launch": distributed.launch_id(),  # lets a torchrun restart find its own checkpoint
    }


def headline(run: Run) -> str:
    """What is trained, and how, with the settings a user left to defaults filled in."""
    config = run.config
    entry = get_entry(config.model)
    book = ""
    if config.optimizer != entry.optimizer:
        book = f" (the book trains {config.model} with {entry.optimizer}, lr {entry.lr:g})"
    size = f", {config.resize}x{config.resize} input" if config.resize else ""
    return (
        f"{config.model} on {config.dataset}: {plural(config.epochs, 'epoch')}, batch"
        f" {config.batch_size}, {config.optimizer} lr {config.lr:g}{book}{size},"
        f" {run.trainer.device} {config.precision}"
    )


def curves_title(config: TrainConfig) -> str:
    """What curves.png shows: the model, its data (a subset said so) and how it was trained."""
    subset = f" ({config.train_subset} training images)" if config.train_subset else ""
    return f"{config.model} on {config.dataset}{subset}, {config.optimizer} lr {config.lr:g}"


def standard_callbacks(run: Run, started: float, wall_before: float) -> list:
    out = run.out
    callbacks = [
        cb.ProgressBar(enabled=run.config.progress, headline=headline(run)),
        cb.MetricsWriter(out / "metrics.jsonl"),
        cb.CurvePlotter(out / "curves.png", curves_title(run.config)),
        cb.CheckpointSaver(
            out / CHECKPOINT,
            lambda: checkpoint_state(run, wall_before + time.perf_counter() - started),
        ),
    ]
    if run.config.tensorboard:
        callbacks.append(cb.TensorBoardWriter(out / "tensorboard"))
    return callbacks


def summarize(run: Run, wall_s: float) -> dict:
    history = run.trainer.history
    last = dict(history[-1]) if history else {}
    # Images over seconds of all epochs, not a mean of the epochs' rates.
    train_s = sum(row["train_s"] for row in history)
    images = sum(row["train_images_per_s"] * row["train_s"] for row in history)
    return {
        **last,
        "model": run.config.model,
        "dataset": run.config.dataset,
        "epochs": run.config.epochs,
        "wall_s": wall_s,
        "train_images_per_s": images / train_s if train_s else None,
        "best_test_acc": max(
            (r["test_acc"] for r in history if r["test_acc"] is not None), default=None
        ),
        "device": str(run.trainer.device),
        "precision": run.config.precision,
        "params": sum(p.numel() for p in run.model.parameters()),
        "run_dir": str(run.out),
        **run.data.extra,
        **(
            {"fresh_after_init": run.fresh_after_init, "unused_from_init": run.unused_from_init}
            if run.config.init
            else {}
        ),
    }


def execute(run: Run, start_epoch: int, wall_before: float, extra_callbacks: list) -> dict:
    started = time.perf_counter()
    # Under torchrun only rank 0 writes, shows progress and saves; every rank runs the rest.
    writers = standard_callbacks(run, started, wall_before) if distributed.is_main() else []
    run.trainer.callbacks = (
        distributed.rank_callbacks(run.config.seed) + writers + list(extra_callbacks)
    )
    try:
        run.trainer.fit(run.config.epochs, start_epoch=start_epoch)
    except KeyboardInterrupt:  # the CLI prints the message beside "interrupted"
        if not (run.out / CHECKPOINT).exists():
            raise KeyboardInterrupt(
                "no epoch finished, so nothing is saved; run the same command again"
            ) from None
        command = f"d2lkit train --resume {shlex.quote(str(run.out))} --epochs {run.config.epochs}"
        raise KeyboardInterrupt(
            f"the last finished epoch is saved; continue with `{command}`"
        ) from None
    summary = summarize(run, wall_before + time.perf_counter() - started)
    if distributed.is_main():
        write_json_atomic(run.out / "summary.json", summary)
    return summary


def choose_out(config: TrainConfig) -> tuple[Path, bool]:
    """The run directory, and whether to continue its checkpoint (after a torchrun restart)."""
    distributed.require_out_for_restarts(config.out)
    out = Path(config.out) if config.out else default_out(config)
    if (out / CHECKPOINT).exists():
        restarted = distributed.current_launch().restart_count > 0
        if restarted and distributed.continues_this_launch(load_checkpoint(out / CHECKPOINT)):
            return out, True
        refuse_a_second_run(out)
    return out, False


def refuse_a_second_run(out: Path) -> None:
    if (out / CHECKPOINT).exists():
        raise D2lkitError(
            f"{out}: already holds a run; continue it with `--resume {out}` or choose another --out"
        )


def run_training(config: TrainConfig, callbacks: list = ()) -> dict:
    """Train from scratch into `config.out` and return the summary."""
    with distributed.process_group():
        # Rank 0 decides, so that every rank agrees on a directory named after its clock.
        out, restarted = distributed.on_main(lambda: choose_out(config))
        if restarted:
            return resume_training(out, epochs=config.epochs, callbacks=callbacks)
        run = build_run(config, out)
        run.config.out = str(out)
        with writing(out):
            # Again, now that no other process can: one may have started here since.
            distributed.on_main(lambda: refuse_a_second_run(out))
            if distributed.is_main():
                write_json_atomic(out / "config.json", run.config.to_dict())
                facts = environment_facts(run.trainer.device) | distributed.facts()
                write_json_atomic(out / "env.json", facts)
                (out / "metrics.jsonl").write_text("")
            return execute(run, start_epoch=0, wall_before=0.0, extra_callbacks=list(callbacks))


def find_checkpoint(path: str | Path) -> Path:
    """A run directory or a checkpoint file -> the checkpoint file."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.is_file():
        if (path.parent / "config.json").is_file():  # a run stopped in its first epoch
            raise D2lkitError(
                f"{path.parent}: no epoch finished, so there is no checkpoint to continue; train"
                " it again with the same command"
            )
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
    callbacks: list = (),
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
    callbacks: list,
    changes: Reopen = UNCHANGED,
) -> dict:
    config = saved_config(state, changes)
    out = checkpoint_path.parent
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
    run.trainer.optimizer.load_state_dict(state["optimizer"])
    if run.trainer.scheduler is not None and state["scheduler"] is not None:
        run.trainer.scheduler.load_state_dict(state["scheduler"])
    if state["loader"] is not None:
        run.data.train.load_state_dict(state["loader"])
    restore_rng_state(state["rng"])
    run.trainer.history = history
    if distributed.is_main():
        cb.write_metrics(out / "metrics.jsonl", run.trainer.history)
        write_json_atomic(out / "config.json", run.config.to_dict())
    return execute(run, done, state.get("wall_s", 0.0), list(callbacks))


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
            " restore the file, or train the run again into a new --out"
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
