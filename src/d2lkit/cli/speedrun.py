"""`d2lkit speedrun [--seeds 3]`: the fastest way to >= 92 % Fashion-MNIST test accuracy."""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path

from d2lkit.cli.counts import folder_name
from d2lkit.errors import D2lkitError, TrainingFailed

GUIDE = "Guide: docs/performance.md (the speedrun: its tricks and how it is timed)."


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "speedrun",
        help="train SpeedNet to >= 92 %% test accuracy as fast as possible, over several seeds",
        description="Each seed runs in a fresh process, timed from its start (imports and data "
        "loading included) to its test accuracy; prints each seed and the mean ± std. "
        "Writes OUT/speedrun.json.",
        epilog=GUIDE,
    )
    parser.add_argument(
        "--target",
        choices=("92", "93"),
        default="92",
        help="92: SpeedNet, 4 epochs, for >= 92 %% in <= 60 s (default); 93: the stretch target,"
        " SpeedNet 1.5x wide, 6 epochs, for >= 93 %% in <= 120 s",
    )
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    parser.add_argument("--model", help="(default: the target's)")
    parser.add_argument("--epochs", type=int, help="(default: the target's)")
    parser.add_argument("--threads", type=int, help="torch threads (default: the cores)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), help="(default auto)")
    parser.add_argument(
        "--precision", choices=("auto", "fp32", "bf16"), help="(default auto: bf16 if it is fast)"
    )
    parser.add_argument("--data-dir", help="look for Fashion-MNIST here first")
    parser.add_argument(
        "--out",
        type=folder_name,
        default="runs/speedrun",
        help="folder for speedrun.json (default runs/speedrun)",
    )
    parser.set_defaults(handler=run_speedrun_command)


def run_speedrun_command(args: argparse.Namespace) -> int:
    from d2lkit.train.speedrun import TARGETS, format_summary, run_speedrun

    if args.seeds < 1:
        raise D2lkitError(f"--seeds must be at least 1, got {args.seeds}")
    if args.epochs is not None and args.epochs < 1:
        raise D2lkitError(f"--epochs must be at least 1, got {args.epochs}")
    cores = os.cpu_count() or 1
    if args.threads is not None and not 1 <= args.threads <= cores:
        # More threads than cores only wait on each other (100,000 crashed the child process).
        raise D2lkitError(
            f"--threads must be 1 to {cores} (this machine's cores), got {args.threads}"
        )
    given = {
        name: getattr(args, name)
        for name in ("model", "epochs", "threads", "device", "precision", "data_dir")
        if getattr(args, name) is not None
    }
    config = dataclasses.replace(TARGETS[args.target], **given)
    from d2lkit.data.fashion_mnist import check_data_dir

    check_data_dir(config.data_dir)  # one line now, not from each seed's process
    from d2lkit.models.registry import get_entry

    entry = get_entry(config.model)  # an unknown name is one line, before any child starts
    if entry.task != "classification" or entry.input_size != (1, 28, 28):
        raise D2lkitError(
            f"speedrun trains Fashion-MNIST classifiers on 28x28 images; {config.model} takes"
            f" {'x'.join(map(str, entry.input_size))} for {entry.task}: e.g. --model speednet_wide"
        )
    if config.device == "cuda":
        from d2lkit.train.environment import resolve_device

        resolve_device("cuda")  # one clear line when there is no GPU, before any child starts
    summary = run_speedrun(config, args.seeds, Path(args.out))
    print(format_summary(summary))
    print(f"wrote {Path(args.out) / 'speedrun.json'}")
    if not summary["target_met"]:
        raise TrainingFailed("the target was not met (see the line above)")
    return 0
