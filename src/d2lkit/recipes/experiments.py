"""Runners for the book's experiments that are more than one training run: linear regression judged
by the weights it recovers, the weight-decay experiment, and the optimiser comparison."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import torch

from d2lkit.experiments.common import run_facts
from d2lkit.jsonfile import write_json_atomic
from d2lkit.recipes.kinds import (
    Kind,
    RecipeRun,
    not_positive_integer,
    not_positive_number,
    register_kind,
)
from d2lkit.train.rerun import train_or_resume, train_or_reuse


def parameter_error(w: list[float], b: float) -> float:
    """max |w - true_w|, |b - true_b| against the book's y = 2 x1 - 3.4 x2 + 4.2."""
    from d2lkit.data.synthetic import TRUE_B, TRUE_W

    errors = [abs(learned - true) for learned, true in zip(w, TRUE_W, strict=True)]
    return max(*errors, abs(b - TRUE_B))


def _record_weights(summary: dict, w: list[float], b: float) -> dict:
    from d2lkit.data.synthetic import TRUE_B, TRUE_W

    return {
        **summary,
        "w": w,
        "b": b,
        "true_w": list(TRUE_W),
        "true_b": TRUE_B,
        "param_error": parameter_error(w, b),
        "details": f"learned w = [{', '.join(f'{v:.4f}' for v in w)}], b = {b:.4f}",
    }


# -- linreg: the concise version, trained by the trainer ---------------------------------------


def record_learned_weights(run: RecipeRun, summary: dict) -> dict:
    """Add the learned w, b and their error to a finished linreg run's summary.json."""
    from torch import nn

    from d2lkit.train.trained import load_trained

    trained, _ = load_trained(run.out)
    linear = next(m for m in trained.model.modules() if isinstance(m, nn.Linear))
    summary = _record_weights(
        summary, linear.weight.detach().flatten().tolist(), linear.bias.item()
    )
    write_json_atomic(run.out / "summary.json", summary)
    return summary


def run_linreg(run: RecipeRun) -> dict:
    return record_learned_weights(run, train_or_resume(run.config, run.out))


register_kind(
    Kind(
        name="linreg",
        run=run_linreg,
        trains=True,
        single_run=True,
        finish=record_learned_weights,
    )
)


# -- linreg-scratch: the book's hand-written loop ---------------------------------------------

LINREG_SCRATCH_DEFAULTS = {"epochs": 3, "batch_size": 10, "lr": 0.03, "num_examples": 1000}


def check_linreg_scratch(options: dict) -> str | None:
    problem = not_positive_integer(options, "epochs", "batch_size", "num_examples")
    return problem or not_positive_number(options, "lr")


def run_linreg_scratch(run: RecipeRun) -> dict:
    """w ~ N(0, 0.01^2), b = 0, minibatch SGD on the summed squared loss (the book's 3.2)."""
    from d2lkit.data.synthetic import synthetic_linear
    from d2lkit.report.curves import plot_curves
    from d2lkit.scratch.linreg import data_iter, linreg, sgd, squared_loss
    from d2lkit.train.callbacks import write_metrics

    opts = run.options
    X, y = synthetic_linear(opts["num_examples"], seed=run.seed)  # X (N, 2), y (N, 1)
    generator = torch.Generator().manual_seed(run.seed)
    w = torch.normal(0.0, 0.01, (X.shape[1], 1), generator=generator).requires_grad_()
    b = torch.zeros(1, requires_grad=True)
    history = []
    started = time.perf_counter()
    for epoch in range(1, opts["epochs"] + 1):
        epoch_start = time.perf_counter()
        for X_batch, y_batch in data_iter(opts["batch_size"], X, y, generator):
            squared_loss(linreg(X_batch, w, b), y_batch).sum().backward()
            sgd([w, b], opts["lr"], X_batch.shape[0])
        with torch.no_grad():
            loss = squared_loss(linreg(X, w, b), y).mean().item()
        history.append(
            {
                "epoch": epoch,
                "train_loss": loss,
                "train_acc": None,
                "test_loss": None,  # the book's section holds no examples out
                "train_s": time.perf_counter() - epoch_start,
            }  # fmt: skip
        )
    wall_s = time.perf_counter() - started
    run.out.mkdir(parents=True, exist_ok=True)
    write_metrics(run.out / "metrics.jsonl", history)
    plot_curves(history, run.out / "curves.png", "linear regression from scratch")
    summary = {
        **history[-1],
        "model": "linreg (scratch)",
        "dataset": "synthetic-linear",
        "epochs": opts["epochs"],
        "wall_s": wall_s,
        "train_images_per_s": opts["epochs"] * opts["num_examples"] / wall_s,
        "device": "cpu",
        "precision": "fp32",
    }
    summary = _record_weights(summary, w.detach().flatten().tolist(), b.item())
    write_json_atomic(run.out / "summary.json", summary)
    return summary


register_kind(
    Kind(
        name="linreg-scratch",
        run=run_linreg_scratch,
        trains=False,
        single_run=False,
        option_defaults=LINREG_SCRATCH_DEFAULTS,
        check_options=check_linreg_scratch,
    )
)


# -- weight decay: high-dimensional linear regression with and without the L2 penalty ---------

WEIGHT_DECAY_DEFAULTS = {"penalty": 3.0, "epochs": 100}


def check_weight_decay(options: dict) -> str | None:
    return not_positive_number(options, "penalty") or not_positive_integer(options, "epochs")


def run_weight_decay(run: RecipeRun) -> dict:
    from d2lkit.report.weight_decay import plot_weight_decay
    from d2lkit.scratch.weight_decay import WeightDecaySettings, train_with_weight_decay

    settings = WeightDecaySettings(seed=run.seed, epochs=run.options["epochs"])
    penalty = float(run.options["penalty"])
    started = time.perf_counter()
    plain = train_with_weight_decay(0.0, settings)
    decayed = train_with_weight_decay(penalty, settings)
    wall_s = time.perf_counter() - started
    run.out.mkdir(parents=True, exist_ok=True)
    plot_weight_decay({"lambda 0": plain, f"lambda {penalty:g}": decayed}, run.out / "curves.png")
    summary = {
        "model": "linreg (scratch), 200 inputs",
        "dataset": f"synthetic, {settings.n_train} training rows",
        "epochs": settings.epochs,
        "wall_s": wall_s,
        "train_images_per_s": 2 * settings.epochs * settings.n_train / wall_s,
        "device": "cpu",
        "precision": "fp32",
        "penalty": penalty,
        "w_norm_plain": plain.w_norm,
        "w_norm_decay": decayed.w_norm,
        "test_loss_plain": plain.test_loss,
        "test_loss_decay": decayed.test_loss,
        "train_loss_plain": plain.train_loss,
        "train_loss_decay": decayed.train_loss,
        "w_norm_shrink": plain.w_norm / decayed.w_norm,
        "checks": {"test loss falls with the penalty": decayed.test_loss < plain.test_loss},
        "details": f"||w|| {plain.w_norm:.4g} -> {decayed.w_norm:.4g}, test loss"
        f" {plain.test_loss:.4g} -> {decayed.test_loss:.4g} with lambda {penalty:g}",
    }
    write_json_atomic(run.out / "summary.json", summary)
    return summary


register_kind(
    Kind(
        name="weight-decay",
        run=run_weight_decay,
        trains=False,
        single_run=False,
        option_defaults=WEIGHT_DECAY_DEFAULTS,
        check_options=check_weight_decay,
    )
)


# -- optimizers: the same network trained with each of the book's optimisers -----------------

OPTIMIZER_DEFAULTS: dict = {"optimizers": ()}


def check_optimizers(options: dict) -> str | None:
    from d2lkit.train.optim import OPTIMIZERS

    pairs = options["optimizers"]
    if not pairs:
        return "option 'optimizers' must list (name, lr) pairs"
    for pair in pairs:
        if len(pair) != 2 or pair[0] not in OPTIMIZERS:
            return f"option 'optimizers': {pair!r} is not (one of {', '.join(OPTIMIZERS)}, lr)"
        if not isinstance(pair[1], int | float) or not pair[1] > 0:
            return f"option 'optimizers': the lr of {pair[0]} must be positive, got {pair[1]!r}"
    return None


def plot_optimizers(histories: dict[str, list[dict]], out: Path) -> None:
    from matplotlib.ticker import MaxNLocator

    from d2lkit.report.figures import save_figure, subplots

    fig, (loss_ax, acc_ax) = subplots(1, 2, figsize=(9, 3.4))
    for name, history in histories.items():
        epochs = [row["epoch"] for row in history]
        loss_ax.plot(epochs, [row["train_loss"] for row in history], "-o", ms=3, label=name)
        acc_ax.plot(epochs, [row["test_acc"] for row in history], "-o", ms=3, label=name)
    loss_ax.set_ylabel("train loss")
    acc_ax.set_ylabel("test accuracy")
    for ax in (loss_ax, acc_ax):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    acc_ax.legend(fontsize=8)
    save_figure(fig, out)


def run_optimizers(run: RecipeRun) -> dict:
    """One run directory per optimiser under `out`; a finished one is kept on a rerun."""
    from d2lkit.train.callbacks import read_metrics

    per_optimizer, histories, summaries = {}, {}, []
    for name, lr in run.options["optimizers"]:
        sub_out = run.out / name
        config = dataclasses.replace(run.config, optimizer=name, lr=float(lr))
        summary = train_or_reuse(config, sub_out)
        summaries.append(summary)
        histories[name] = read_metrics(sub_out / "metrics.jsonl")
        per_optimizer[name] = {
            key: summary[key] for key in ("test_acc", "train_loss", "wall_s", "train_images_per_s")
        } | {"lr": lr}
    plot_optimizers(histories, run.out / "curves.png")
    worst = min(per_optimizer, key=lambda n: per_optimizer[n]["test_acc"])
    summary = {
        "model": run.config.model,
        "dataset": run.config.dataset,
        "epochs": run.config.epochs,
        **run_facts(*summaries),
        "optimizers": per_optimizer,
        "min_test_acc": per_optimizer[worst]["test_acc"],
        "worst_optimizer": worst,
        "details": "test accuracy "
        + ", ".join(f"{name} {r['test_acc']:.4f}" for name, r in per_optimizer.items()),
    }
    write_json_atomic(run.out / "summary.json", summary)
    return summary


register_kind(
    Kind(
        name="optimizers",
        run=run_optimizers,
        trains=True,
        single_run=False,
        option_defaults=OPTIMIZER_DEFAULTS,
        check_options=check_optimizers,
    )
)
