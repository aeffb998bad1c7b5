"""`d2lkit train`, `d2lkit eval`, `d2lkit predict`."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from d2lkit.cli.counts import check_image_count, seed_number
from d2lkit.errors import D2lkitError, TrainingFailed
from d2lkit.text import plural
from d2lkit.train.config import DEVICES, PRECISIONS, SCHEDULERS, TrainConfig, flag
from d2lkit.train.optim import OPTIMIZERS, USUAL_LR
from d2lkit.train.reopen import Reopen

GUIDE = "Guide: docs/basics.md (training loop, run directories) and docs/cnn.md (models)."


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser(
        "train",
        help="train a model; writes a run directory",
        description="Train MODEL on a dataset. Unset flags take the book's setting for the model "
        "(optimiser, learning rate, input size). --resume RUN continues RUN in place up to "
        "--epochs epochs in total.",
        epilog=GUIDE,
    )
    add_train_arguments(train)
    train.set_defaults(handler=run_train)

    evaluate = subparsers.add_parser(
        "eval", help="evaluate a saved run on its test set", epilog=GUIDE
    )
    evaluate.add_argument("run", help="run directory or checkpoint file")
    add_data_arguments(evaluate)
    evaluate.add_argument(
        "--confusion",
        metavar="FILE.png",
        help="a classifier's confusion matrix: which classes its test images are taken for",
    )
    evaluate.set_defaults(handler=run_eval)

    predict = subparsers.add_parser(
        "predict",
        help="save test images with true and predicted labels (a regression run: predicted"
        " against true targets)",
        epilog=GUIDE,
    )
    predict.add_argument("run", help="run directory or checkpoint file")
    predict.add_argument("--out", required=True, help="PNG file to write")
    predict.add_argument(
        "--count",
        type=int,
        default=18,
        help="number of test examples (default 18; at most 144 images, or 100000 points of a"
        " regression run's scatter)",
    )
    predict.add_argument(
        "--seed",
        type=seed_number,
        default=0,
        help="which test examples are drawn at random (default 0; another seed, other examples)",
    )
    add_data_arguments(predict)
    predict.set_defaults(handler=run_predict)


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """eval and predict use the run's own data unless told otherwise."""
    parser.add_argument(
        "--dataset",
        help="test on this instead of the run's dataset; the same kind, with the same classes"
        " (e.g. imagefolder:NEW_PATH when the folder moved; an image folder may lack some)",
    )
    parser.add_argument("--data-dir", help="look for the run's data here first")


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Every TrainConfig field a user sets as a flag (recipes set the rest); None means "not
    given", so defaults stay in one place."""
    parser.add_argument("model", nargs="?", help="model name (see `d2lkit models list`)")
    add = parser.add_argument
    add("--dataset", help="fashion-mnist (default), synthetic-linear, imagefolder:PATH, ...")
    add("--data-dir", help="look for the data here first")
    add("--epochs", type=int, help="epochs in total (default 10)")
    add("--batch-size", type=int, help="batch size (default 256); under torchrun the global batch")
    add(
        "--lr",
        type=float,
        help="learning rate (default: the book's for the model and its optimiser; with another"
        f" --optimizer, that one's usual: {', '.join(f'{k} {v:g}' for k, v in USUAL_LR.items())})",
    )
    add("--optimizer", choices=OPTIMIZERS, help="default: the book's for the model")
    add("--momentum", type=float, help="for momentum/nesterov SGD (default 0.9)")
    add(
        "--weight-decay",
        type=float,
        help="weight decay (default 0): L2, decay x weight added to the gradient; with"
        " --optimizer adamw decoupled instead, each step shrinks the weights by lr x decay,"
        " outside Adam's per-parameter scaling",
    )
    add(
        "--scheduler",
        choices=SCHEDULERS,
        help="learning-rate schedule (default none): step divides the lr by 10 at 50 %% and 75 %%"
        " of the epochs; onecycle warms up over the first 25 %% of the steps from --lr / 25 to"
        " --lr, then anneals towards 0; cosine falls per step from --lr to 0",
    )
    add(
        "--label-smoothing",
        type=float,
        help="train towards (1 - S) x the one-hot target + S spread evenly over the classes,"
        " so the model is not pushed to ever larger logits (default 0: plain one-hot); the test"
        " loss stays plain cross-entropy",
    )
    add("--grad-clip", type=float, help="clip the gradient norm to this value")
    add(
        "--resize",
        type=int,
        help="resize images to RxR (default: the model's input size on Fashion-MNIST, 224 on an"
        " image folder; on VOC, a crop of RxR instead of 320x480)",
    )
    add("--augment", action="store_true", default=None, help="random crop and flip")
    add(
        "--weight-init",
        help="re-initialise every linear and conv layer, biases 0: normal (weights N(0, 0.01^2)),"
        " xavier (Glorot uniform), kaiming (He normal for ReLU, N(0, 2 / fan_in)), constant"
        " (weights 1: the book's example of unbroken symmetry), custom (the book's my_init:"
        " U(-10, 10), then |w| < 5 set to 0) (default: PyTorch's own initialisation)",
    )
    add("--init", help="start from these weights (run directory, checkpoint or state_dict)")
    add("--head-lr-mult", type=float, help="learning-rate multiplier of the last layer (default 1)")
    add(
        "--channels-last",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="NHWC memory layout (default on: faster for every conv net measured)",
    )
    add("--compile", action="store_true", default=None, help="torch.compile the model")
    add("--device", choices=DEVICES, help="default auto: CUDA when present")
    add(
        "--precision",
        choices=PRECISIONS,
        help="default auto: bf16 on CUDA (fp32 for regression); on a CPU fp32, but bf16 for the"
        " models measured faster with it (speednet, speednet_wide) where the CPU has bf16"
        " instructions",
    )
    add("--seed", type=seed_number, help="(default 0)")
    add("--out", help="run directory (default runs/MODEL-TIMESTAMP)")
    add(
        "--train-subset",
        type=int,
        help="train on the first N images only, quick runs (on an image folder: N at random,"
        " fixed by --seed, since it lists one class after another)",
    )
    add(
        "--test-subset",
        type=int,
        help="evaluate on the first N test images only, quick runs (the accuracy is then an"
        " estimate; Fashion-MNIST only)",
    )
    add(
        "--tensorboard",
        action="store_true",
        default=None,
        help="also log to OUT/tensorboard (needs pip install tensorboard)",
    )
    add(
        "--no-progress", dest="progress", action="store_false", default=None, help="no progress bar"
    )
    add(
        "--resume",
        metavar="RUN",
        help="continue RUN in place, to --epochs in total; --dataset, --data-dir, --device and"
        " --precision may point it at moved data or another machine, no other flag applies",
    )
    add("--recipe", help="start from a recipe's settings (see `d2lkit reproduce --list`)")
    add(
        "--profile",
        choices=("auto", "cpu", "book"),
        help="with --recipe: book settings or the cpu variant (default auto: book where it trains"
        " on CUDA, see --device)",
    )


def config_from_args(args: argparse.Namespace, base: TrainConfig | None = None) -> TrainConfig:
    given = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(TrainConfig)
        if getattr(args, f.name, None) is not None
    }
    if base is not None:
        return dataclasses.replace(base, **given)
    if "model" not in given:
        raise D2lkitError("name a MODEL to train (see `d2lkit models list`) or pass --resume RUN")
    return TrainConfig(**given)


def refuse_settings_beside_resume(args: argparse.Namespace) -> None:
    """A resumed run keeps its own settings: --epochs extends it, and where its data moved to
    (--dataset, --data-dir) or another machine's --device and --precision may change; any other
    would be silently dropped, and a different MODEL or --out would train something else."""
    allowed = {"resume", "epochs", "progress", "dataset", "data_dir", "device", "precision"}
    given = [
        f"--{flag(name)}" if name != "model" else "MODEL"
        for name in [f.name for f in dataclasses.fields(TrainConfig)] + ["recipe", "profile"]
        if name not in allowed and getattr(args, name, None) is not None
    ]
    if given:
        raise D2lkitError(
            f"--resume continues a run with its own settings; drop {', '.join(given)} (only"
            " --epochs, --no-progress, and --dataset, --data-dir, --device, --precision for a"
            " moved run, apply)"
        )


def refuse_unused_momentum(args: argparse.Namespace, config: TrainConfig) -> None:
    from d2lkit.train.run import resolve

    optimizer = resolve(config.validate()).optimizer  # bad values first, in their own words
    if args.momentum is not None and optimizer not in ("momentum", "nesterov"):
        raise D2lkitError(
            f"--momentum applies to --optimizer momentum or nesterov, not {optimizer}; drop it"
            " or pick one of those"
        )


def print_summary(summary: dict) -> None:
    out = Path(summary["run_dir"])
    acc = summary.get("test_acc")
    result = f"test acc {acc:.4f}" if acc is not None else f"test loss {summary['test_loss']:.4g}"
    if summary.get("test_miou") is not None:  # segmentation: its accuracy is per pixel
        result = f"test mIoU {summary['test_miou']:.4f}, pixel acc {acc:.4f}"
    epochs = plural(summary["epoch"], "epoch")
    print(
        f"{summary['model']} on {summary['dataset']}: {result} after {epochs},"
        f" {summary['wall_s']:.1f} s, {summary['train_images_per_s']:.0f} images/s"
        f" ({summary['device']}, {summary['precision']})"
    )
    if "train_images" in summary:  # image folders and VOC: what was read is worth a look
        left_out = summary.get("images_left_out")
        print(
            f"data: {summary['train_images']} training and {summary['test_images']} test images"
            + (f"; {left_out} smaller than the crop left out" if left_out else "")
        )
    fresh = summary.get("fresh_after_init")
    if fresh:  # what --init could not fill is worth knowing: a new head, or a whole trunk?
        print(f"--init left {len(fresh)} tensors as initialised: {first_names(fresh)}")
    # Beyond a replaced head (its tensors are in both lists): another architecture's layers.
    unused = [name for name in summary.get("unused_from_init") or [] if name not in (fresh or [])]
    if unused:
        print(
            f"--init found no place for {len(unused)} of its file's tensors (names or shapes"
            f" differ): {first_names(unused)}"
        )
    print(
        f"run directory: {out}  (curves: {out / 'curves.png'}, checkpoint: {out / 'checkpoint.pt'})"
    )


def first_names(names: list[str], shown: int = 6) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def run_train(args: argparse.Namespace) -> int:
    from d2lkit.cli.train_recipe import (
        after_resume,
        recipe_mark,
        refuse_reproduce_run,
        train_recipe,
    )
    from d2lkit.train.distributed import is_main
    from d2lkit.train.resume import resume_training
    from d2lkit.train.run import run_training

    if args.resume:
        refuse_settings_beside_resume(args)
        refuse_reproduce_run(Path(args.resume))
        mark = recipe_mark(Path(args.resume))
        # The bar is this command's choice, as for a new run: shown unless --no-progress.
        changes = Reopen(
            args.dataset, args.data_dir, args.device, args.precision, args.progress is not False
        )
        summary = resume_training(args.resume, epochs=args.epochs, changes=changes)
        summary = after_resume(summary, args.epochs, mark)
    elif args.recipe:

        def config_of(base: TrainConfig) -> TrainConfig:
            config = config_from_args(args, base)
            refuse_unused_momentum(args, config)
            return config

        summary = train_recipe(
            args.recipe, args.profile or "auto", args.device or "auto", config_of
        )
    else:
        if args.profile is not None:
            raise D2lkitError("--profile picks a recipe's settings; pass --recipe NAME or drop it")
        config = config_from_args(args)
        refuse_unused_momentum(args, config)
        summary = run_training(config)
    if is_main():  # under torchrun, one summary for the job
        print_summary(summary)
        if "book" in summary:
            print(summary["book"])
        if summary.get("verdict") == "below band":  # exit 1, as `d2lkit reproduce` gives
            raise TrainingFailed(
                f"recipe {summary['recipe']} missed the book (see the line above); its run is"
                " kept, and `d2lkit reproduce --seeds N` shows the run-to-run spread"
            )
    return 0


def recorded_test_acc(run_dir: Path, epoch: int) -> float | None:
    """The test accuracy metrics.jsonl recorded for `epoch`, if it can be read: eval needs only
    the checkpoint, so a missing or damaged log costs the comparison, not the evaluation."""
    from d2lkit.train.callbacks import readable_metrics

    rows = readable_metrics(run_dir / "metrics.jsonl")
    row = next((row for row in rows if row["epoch"] == epoch), {})
    value = row.get("test_acc")
    return value if isinstance(value, float) else None


def refuse_several_processes(command: str) -> None:
    """eval and predict are one process's work: under torchrun each process would test its own
    share of the test set and print it as the whole, or draw its own figure over the others'."""
    from d2lkit.train.distributed import current_launch

    world_size = current_launch().world_size
    if world_size > 1:
        raise D2lkitError(
            f"`d2lkit {command}` runs in one process, not {world_size}: run it without torchrun"
        )


def run_eval(args: argparse.Namespace) -> int:
    from d2lkit.report.confusion import NAMED_CLASSES, per_class_line, save_confusion_figure
    from d2lkit.report.figures import figure_path
    from d2lkit.train.callbacks import ProgressBar
    from d2lkit.train.metrics import ClassConfusionMeter
    from d2lkit.train.trained import load_trained

    refuse_several_processes("eval")
    run, state = load_trained(args.run, Reopen(dataset=args.dataset, data_dir=args.data_dir))
    classifier = run.data.task == "classification"
    drawn = args.confusion is not None  # '' (an unset shell variable) too: refused below
    if drawn and not classifier:
        raise D2lkitError(f"--confusion is a classifier's; {args.run} is a {run.data.task} run")
    if drawn:
        figure_path(args.confusion)  # a folder or an unknown format: refused before the test pass
    progress = ProgressBar()  # its test bar: a large folder takes minutes
    run.trainer.callbacks = [progress]
    meter = ClassConfusionMeter(run.data.num_classes, run.trainer.device) if classifier else None
    metrics = run.trainer.evaluate(meter)
    progress.bar.close()  # before the result is printed on its line
    recorded = recorded_test_acc(run.out, state["epoch"])
    # A loss in significant digits: a regression's is 1e-4 or smaller, 0.0001 at four decimals.
    parts = [
        f"test_{k} {v:.4g}" if k == "loss" else f"test_{k} {v:.4f}"
        for k, v in metrics.items()
        if isinstance(v, float)
    ]
    where = run.config.dataset
    if run.config.test_subset:
        where += f" (its first {run.config.test_subset} test images, as trained)"
    print(f"{run.config.model} (epoch {state['epoch']}) on {where}: {', '.join(parts)}")
    # The recorded figure is for the run's own test set.
    if args.dataset is None and recorded is not None and metrics.get("acc") is not None:
        print(f"recorded test_acc {recorded:.4f}")
    names = run.data.class_names
    if meter is not None:
        print(per_class_line(meter.confusion, names))
    if drawn:
        title = f"{run.config.model} (epoch {state['epoch']}) on {where}"
        out = save_confusion_figure(meter.confusion, names, title, args.confusion)
        print(f"wrote {out}")
        if len(names) > NAMED_CLASSES:  # the figure numbers them: say which number is which
            print("its classes by number: " + ", ".join(f"{k} {n}" for k, n in enumerate(names)))
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from d2lkit.report.predictions import save_predictions
    from d2lkit.train.trained import load_trained

    refuse_several_processes("predict")
    if args.count < 1:  # before loading anything; the upper bound depends on the run's task
        raise D2lkitError(f"--count must be at least 1, got {args.count}")
    run, _ = load_trained(args.run, Reopen(dataset=args.dataset, data_dir=args.data_dir))
    if run.data.task == "regression":  # a scatter still reads well with thousands of points
        check_image_count(args.count, most=100_000, what="points")
    else:
        check_image_count(args.count)
    out = save_predictions(run, args.out, args.count, args.seed)
    print(f"wrote {out}")
    return 0
