"""One training run from a `TrainConfig`: build data, model and optimiser, train, and keep the run
directory (DESIGN.md §2): config.json, env.json, metrics.jsonl, summary.json, curves.png,
checkpoint.pt. Continuing a run from its checkpoint is resume.py's."""

from __future__ import annotations

import dataclasses
import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from d2lkit.data.datasets import (
    IGNORE_INDEX,
    PATH_DATASETS,
    DataBundle,
    DataOptions,
    build_dataset,
    expand_user,
)
from d2lkit.errors import D2lkitError
from d2lkit.jsonfile import read_json, write_json_atomic
from d2lkit.models.registry import create_model, get_entry
from d2lkit.train import callbacks as cb
from d2lkit.train import distributed
from d2lkit.train.checkpoint import capture_rng_state, load_checkpoint
from d2lkit.train.compiling import compile_model
from d2lkit.train.config import TrainConfig
from d2lkit.train.environment import (
    environment_facts,
    resolve_device,
    resolve_precision,
    seed_everything,
    tune_backend,
)
from d2lkit.train.headline import curves_title, headline
from d2lkit.train.optim import USUAL_LR, build_optimizer, build_scheduler, param_groups
from d2lkit.train.run_lock import held_elsewhere, writing
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
    dataset = f"{kind}:{Path(expand_user(data_path)).resolve()}" if absolute else config.dataset
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


def data_options(
    config: TrainConfig,
    device: torch.device,
    test_only: bool = False,
    known_classes: Sequence[str] | None = None,
) -> DataOptions:
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
        known_classes=None if known_classes is None else tuple(known_classes),
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


def refuse_batch_norm_on_single_images(model: nn.Module, config: TrainConfig) -> None:
    """Batch norm over features normalises each by the batch's statistics: over one image they
    are undefined (nn.BatchNorm1d raises mid-step; the scratch layer, which also serves dense
    layers, divides by zero). Over channels (BatchNorm2d) one image still has H x W values."""
    from d2lkit.scratch.batchnorm import BatchNorm as ScratchBatchNorm

    if distributed.rank_batch_size(config.batch_size) > 1:
        return
    if any(isinstance(m, nn.BatchNorm1d | ScratchBatchNorm) for m in model.modules()):
        raise D2lkitError(
            f"{config.model} has batch-norm layers, which need batches of two or more images"
            f" (each rank's share of --batch-size {config.batch_size}); pass a larger --batch-size"
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
    config: TrainConfig,
    out: Path,
    test_only: bool = False,
    known_classes: Sequence[str] | None = None,
) -> Run:
    """The run `config` describes, ready to train; with `test_only`, ready to be evaluated only
    (eval and predict): its data may hold no training split, so nothing can train, and an image
    folder's test split may hold some of the `known_classes` (the run's) only."""
    config = resolve(config.validate())
    if config.tensorboard and not test_only:  # eval and predict write no logs
        cb.check_tensorboard()
    device = resolve_device(config.device)
    tune_backend(device)
    config.precision = resolve_precision(config.precision, device, config.model)
    seed_everything(config.seed)
    data = build_dataset(config.dataset, data_options(config, device, test_only, known_classes))
    # e.g. --train-subset 1: a last batch of one is left out
    if len(data.train) == 0 and not test_only:
        raise D2lkitError(
            f"{config.dataset}: too few training images for one batch of two or more; use more"
        )
    check_model_fits_data(config, data)
    model, initial = build_model(config, data, device)
    if not test_only:  # evaluation normalises by the running statistics
        refuse_batch_norm_on_single_images(model, config)
    trainer = build_trainer(config, model, data, device, test_only)
    fresh, unused = (initial.fresh, initial.unused) if initial else (None, None)
    return Run(config, out, data, model, trainer, fresh, unused)


def build_trainer(
    config: TrainConfig, model: nn.Module, data: DataBundle, device: torch.device, test_only: bool
) -> Trainer:
    """The optimiser, schedule and loop that train `model` on `data` as `config` says; the loop's
    callbacks are set when it runs (`execute`)."""
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
    return Trainer(
        compile_model(trained) if config.compile else trained,
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
        test_loss_fn=loss_function(data.task, label_smoothing=0.0),
    )


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


def standard_callbacks(run: Run, started: float, wall_before: float) -> list:
    out = run.out
    callbacks = [
        cb.ProgressBar(
            enabled=run.config.progress, headline=headline(run.config, run.trainer.device)
        ),
        cb.MetricsWriter(out / "metrics.jsonl"),
        # Saved before the figure is drawn (half a second): an interrupt in between loses the
        # figure, which a resume redraws, not the epoch.
        cb.CheckpointSaver(
            out / CHECKPOINT,
            lambda: checkpoint_state(run, wall_before + time.perf_counter() - started),
        ),
        cb.CurvePlotter(out / "curves.png", curves_title(run.config)),
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
        "seed": run.config.seed,  # with the figures it gave: runs of several seeds are compared
        "params": sum(p.numel() for p in run.model.parameters()),
        "run_dir": str(run.out),
        **run.data.extra,
        **(
            {"fresh_after_init": run.fresh_after_init, "unused_from_init": run.unused_from_init}
            if run.config.init
            else {}
        ),
    }


def execute(
    run: Run, start_epoch: int, wall_before: float, extra_callbacks: Sequence[cb.Callback]
) -> dict:
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
            finished = "no epoch finished"
            if run.trainer.history:  # stopped between epoch 1's log row and its checkpoint
                finished = "its first epoch was not saved yet"
            raise KeyboardInterrupt(
                f"{finished}, so nothing is saved; run the same command again"
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
    refuse_a_second_run(out)  # before the data is loaded and the model built
    return out, False


# The files a run writes besides its checkpoint (curves.png, metrics.jsonl, ...).
RUN_FILES = ("config.json", "env.json", "metrics.jsonl", "summary.json", "curves.png")


def refuse_a_second_run(out: Path) -> None:
    if (out / CHECKPOINT).exists():
        if held_elsewhere(out):  # `--resume` would be refused too
            raise D2lkitError(
                f"{out}: another d2lkit process is writing this folder; wait for it to finish"
                f" (then `--resume {out}` continues its run), or choose another --out"
            )
        raise D2lkitError(
            f"{out}: already holds a run; continue it with `--resume {out}` or choose another --out"
        )
    # A run stopped in its first epoch is trained again in place; files of that name that no
    # d2lkit run wrote (a folder of the user's own) are not overwritten.
    present = [name for name in RUN_FILES if (out / name).exists()]
    if present and read_run_config(out / "config.json") is None:
        them = "them" if len(present) > 1 else "it"
        raise D2lkitError(
            f"{out}: holds {', '.join(present)}, not written by a d2lkit run; training would"
            f" overwrite {them}: pass a new or empty folder to --out"
        )


def read_run_config(path: Path) -> TrainConfig | None:
    """The run settings a config.json holds, or None when it is missing, damaged or another
    tool's."""
    try:
        return TrainConfig.from_dict(read_json(path))
    except (OSError, D2lkitError, TypeError):
        return None


def write_settings(run: Run) -> None:
    """config.json and env.json: the run's settings, and the machine and versions of the session
    that trains it (a resumed run's latest, as its summary's device and precision are)."""
    write_json_atomic(run.out / "config.json", run.config.to_dict())
    facts = environment_facts(run.trainer.device) | distributed.facts()
    write_json_atomic(run.out / "env.json", facts)


def run_training(config: TrainConfig, callbacks: Sequence[cb.Callback] = ()) -> dict:
    """Train from scratch into `config.out` and return the summary."""
    from d2lkit.train.resume import resume_training  # resume.py builds on this module

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
                write_settings(run)
                (out / "metrics.jsonl").write_text("")
            return execute(run, start_epoch=0, wall_before=0.0, extra_callbacks=list(callbacks))
