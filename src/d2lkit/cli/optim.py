"""`d2lkit optim trace | weight-decay`: the optimisation chapter's pictures and the weight-decay
experiment, from the scratch code in d2lkit.scratch."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from d2lkit.cli.counts import folder_name, seed_number
from d2lkit.errors import D2lkitError, TrainingFailed

GUIDE = "Guide: docs/optimization.md."
WEIGHT_DECAY_GUIDE = "Guide: docs/basics.md#weight-decay."  # a chapter of the basics

# Real-task sizes: the default run and the --quick one (first N training images, epochs, batch).
REAL_TASK_DEFAULT = (10000, 2, 256)
REAL_TASK_QUICK = (2000, 1, 64)
MAX_TRACE_STEPS = 10_000  # a 2-D trajectory; more points draw as one smear and take minutes


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "optim", help="optimiser trajectories, loss curves, weight decay", epilog=GUIDE
    )
    commands = parser.add_subparsers(dest="optim_command", required=True, metavar="ACTION")

    trace = commands.add_parser(
        "trace",
        help="draw GD, SGD, momentum, AdaGrad, RMSProp, AdaDelta, Adam on 0.1 x1^2 + 2 x2^2 "
        "(trajectories.png) and on Fashion-MNIST softmax regression (loss_curves.png)",
        epilog=GUIDE,
    )
    trace.add_argument(
        "--out", type=folder_name, required=True, help="folder for the two PNG files"
    )
    trace.add_argument("--steps", type=int, default=20, help="steps per trajectory (default 20)")
    speed = trace.add_mutually_exclusive_group()
    speed.add_argument(
        "--quick",
        action="store_true",
        help="real task on 2000 images for 1 epoch with batch 64, instead of 10000 for 2 epochs"
        " with batch 256",
    )
    speed.add_argument(
        "--skip-real", action="store_true", help="draw the trajectories only (no dataset needed)"
    )
    trace.add_argument("--data-dir", help="where to look for Fashion-MNIST first")
    trace.add_argument("--seed", type=seed_number, default=0, help="random seed (default 0)")
    trace.set_defaults(handler=run_trace)

    decay = commands.add_parser(
        "weight-decay",
        help="the book's high-dimensional linear regression with and without an L2 penalty",
        epilog=WEIGHT_DECAY_GUIDE,
    )
    decay.add_argument(
        "--lambd",
        type=float,
        nargs="+",
        default=[0.0, 3.0],
        help="penalty weights to compare (default 0 3)",
    )
    decay.add_argument("--epochs", type=int, default=100, help="default 100, as the book")
    decay.add_argument("--seed", type=seed_number, default=0, help="random seed (default 0)")
    decay.add_argument("--out", help="also draw train and test loss per epoch into this PNG file")
    decay.set_defaults(handler=run_weight_decay)


def _output_dir(path: str) -> Path:
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise D2lkitError(f"--out {out} is a file; give a folder for the PNG files")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise D2lkitError(f"cannot create --out folder {out}: {err.strerror}") from err
    return out


def run_trace(args: argparse.Namespace) -> int:
    from d2lkit.scratch import trace

    if not 1 <= args.steps <= MAX_TRACE_STEPS:
        raise D2lkitError(
            f"--steps must be 1 to {MAX_TRACE_STEPS} (a trajectory drawn point by point), got"
            f" {args.steps}"
        )
    if not args.skip_real:
        from d2lkit.data import fashion_mnist

        # Missing data fails before --out is made and the trajectories drawn: no half outputs.
        train = fashion_mnist.load(args.data_dir).train
    out = _output_dir(args.out)

    trajectories = {
        spec.name: trace.trajectory(spec, args.steps, args.seed) for spec in trace.TRACE_OPTIMIZERS
    }
    labels = {spec.name: spec.label for spec in trace.TRACE_OPTIMIZERS}
    print(f"{'optimiser':10s} {'x after ' + str(args.steps) + ' steps':>26s} {'f(x)':>10s}")
    for name, points in trajectories.items():
        x1, x2 = points[-1].tolist()
        print(f"{name:10s} {f'({x1:.4f}, {x2:.4f})':>26s} {trace.f_2d(points[-1]).item():10.3g}")
    print(f"wrote {trace.plot_trajectories(trajectories, out / 'trajectories.png', labels)}")
    if args.skip_real:
        return 0

    size, epochs, batch_size = REAL_TASK_QUICK if args.quick else REAL_TASK_DEFAULT
    curves = trace.real_task_curves(
        train.images[:size],
        train.labels[:size],
        epochs=epochs,
        batch_size=batch_size,
        seed=args.seed,
    )
    print(
        f"softmax regression, first {size} Fashion-MNIST training images, {epochs} epoch(s),"
        f" batch {batch_size}:"
    )
    print(f"{'optimiser':10s} {'steps':>6s} {'loss at start':>14s} {'loss at end':>12s}")
    for name, curve in curves.items():
        print(f"{name:10s} {curve.steps[-1]:6d} {curve.losses[0]:14.4f} {curve.losses[-1]:12.4f}")
    labels = {spec.name: spec.label for spec in trace.REAL_TASK_OPTIMIZERS}
    title = f"softmax regression, {size} Fashion-MNIST images, {epochs} epoch(s), bs {batch_size}"
    print(f"wrote {trace.plot_loss_curves(curves, out / 'loss_curves.png', labels, title)}")
    return 0


def run_weight_decay(args: argparse.Namespace) -> int:
    from d2lkit.scratch.weight_decay import WeightDecaySettings, train_with_weight_decay

    if args.epochs < 1:
        raise D2lkitError(f"--epochs must be at least 1, got {args.epochs}")
    if not all(math.isfinite(lambd) and lambd >= 0 for lambd in args.lambd):
        raise D2lkitError(f"--lambd values must be finite and >= 0, got {args.lambd}")
    if args.out is not None:
        from d2lkit.report.figures import figure_path

        figure_path(args.out)  # a bad --out fails before the training, not after it
    settings = WeightDecaySettings(epochs=args.epochs, seed=args.seed)
    print(
        f"linear regression, {settings.n_train} training rows, {settings.n_test} test rows, "
        f"{settings.num_inputs} inputs, batch {settings.batch_size}, lr {settings.lr}, "
        f"{settings.epochs} epochs"
    )
    print(f"{'lambda':>8s} {'train loss':>12s} {'test loss':>12s} {'||w||':>10s}")
    results = {}
    for lambd in dict.fromkeys(args.lambd):  # `--lambd 0 3 0`: one row and one panel each
        result = results[f"lambda {lambd:g}"] = train_with_weight_decay(lambd, settings)
        print(
            f"{lambd:8g} {result.train_loss:12.4g} {result.test_loss:12.4g} {result.w_norm:10.4g}"
        )
    if args.out is not None:
        from d2lkit.report.weight_decay import plot_weight_decay

        print(f"wrote {plot_weight_decay(results, args.out)}")
    diverged = [name for name, r in results.items() if not math.isfinite(r.train_loss)]
    if diverged:
        raise TrainingFailed(
            f"the loss diverged with {', '.join(diverged)}: a penalty that large overshoots at"
            f" lr {settings.lr}; try a smaller --lambd"
        )
    return 0
