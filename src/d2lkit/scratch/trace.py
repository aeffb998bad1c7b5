"""The optimisation chapter's pictures: optimiser trajectories on f(x) = 0.1 x1^2 + 2 x2^2, and the
same optimisers' loss curves on a real task (softmax regression on Fashion-MNIST).

f is the book's ill-conditioned quadratic: its curvature along x2 is 20 times that along x1, so a
learning rate small enough for x2 crawls along x1 — what momentum and the adaptive methods fix.
Every optimiser here is the scratch one from d2lkit.scratch.optim.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.optim import Optimizer

from d2lkit.scratch.layers import Linear
from d2lkit.scratch.linreg import data_iter
from d2lkit.scratch.optim import SGD, AdaDelta, AdaGrad, Adam, Momentum, RMSProp
from d2lkit.scratch.softmax import cross_entropy

START = (-5.0, -2.0)  # the book's starting point


def f_2d(x: torch.Tensor) -> torch.Tensor:
    """f(x) = 0.1 x1^2 + 2 x2^2, minimum 0 at the origin."""
    return 0.1 * x[0] ** 2 + 2 * x[1] ** 2


@dataclass(frozen=True)
class OptimizerSpec:
    name: str
    label: str  # name with its hyperparameters, for the plots
    build: Callable[[list[torch.Tensor]], Optimizer]
    gradient_noise: float = 0.0  # std of N(0, s^2) noise added to each gradient (SGD's noise)
    full_batch: bool = False  # real task: gradient of the whole training set (GD) or a minibatch


# The book's settings where it traces the optimiser (GD, momentum, AdaGrad, RMSProp); AdaDelta and
# Adam, which it only runs on real data, get settings that show their behaviour in 20 steps
# (AdaDelta with eps 1e-6 would take ~1e-3-sized steps here: its step is sqrt(eps)-scaled at first).
TRACE_OPTIMIZERS = (
    OptimizerSpec("GD", "GD, lr 0.4", lambda p: SGD(p, lr=0.4)),
    OptimizerSpec("SGD", "SGD, lr 0.1, N(0,1) gradient noise", lambda p: SGD(p, lr=0.1), 1.0),
    OptimizerSpec(
        "Momentum", "momentum, lr 0.6, beta 0.5", lambda p: Momentum(p, lr=0.6, momentum=0.5)
    ),
    OptimizerSpec("AdaGrad", "AdaGrad, lr 0.4", lambda p: AdaGrad(p, lr=0.4)),
    OptimizerSpec("RMSProp", "RMSProp, lr 0.4, alpha 0.9", lambda p: RMSProp(p, lr=0.4, alpha=0.9)),
    OptimizerSpec(
        "AdaDelta", "AdaDelta, rho 0.9, eps 1e-2", lambda p: AdaDelta(p, rho=0.9, eps=1e-2)
    ),
    OptimizerSpec("Adam", "Adam, lr 0.5", lambda p: Adam(p, lr=0.5)),
)

# Softmax regression on pixels in [0, 1], with learning rates picked from a small sweep on a
# 10000-image subset (2 epochs, batch 256): the adaptive methods need ~10x less than SGD. Full-batch
# GD diverges at 0.5 and zigzags at 0.2 (its loss rises in 34 of 78 steps), which would show GD as
# noisy; at 0.1 its loss falls at every step and ends barely higher (0.745 against 0.736).
REAL_TASK_OPTIMIZERS = (
    OptimizerSpec("GD", "GD (full batch), lr 0.1", lambda p: SGD(p, lr=0.1), full_batch=True),
    OptimizerSpec("SGD", "minibatch SGD, lr 0.1", lambda p: SGD(p, lr=0.1)),
    OptimizerSpec(
        "Momentum", "momentum, lr 0.05, 0.9", lambda p: Momentum(p, lr=0.05, momentum=0.9)
    ),
    OptimizerSpec("AdaGrad", "AdaGrad, lr 0.03", lambda p: AdaGrad(p, lr=0.03)),
    OptimizerSpec(
        "RMSProp", "RMSProp, lr 0.003, alpha 0.9", lambda p: RMSProp(p, lr=0.003, alpha=0.9)
    ),
    OptimizerSpec("AdaDelta", "AdaDelta, rho 0.9", lambda p: AdaDelta(p, rho=0.9)),
    OptimizerSpec("Adam", "Adam, lr 0.003", lambda p: Adam(p, lr=0.003)),
)


def trajectory(spec: OptimizerSpec, steps: int = 20, seed: int = 0) -> torch.Tensor:
    """The points (steps + 1, 2) visited by `spec`'s optimiser minimising f_2d from START."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.tensor(START, dtype=torch.float64, requires_grad=True)
    optimizer = spec.build([x])
    points = [x.detach().clone()]
    for _ in range(steps):
        optimizer.zero_grad()
        f_2d(x).backward()
        if spec.gradient_noise:
            noise = torch.normal(0.0, spec.gradient_noise, (2,), generator=generator)
            x.grad += noise.double()
        optimizer.step()
        points.append(x.detach().clone())
    return torch.stack(points)


def plot_trajectories(
    trajectories: dict[str, torch.Tensor], path: str | Path, labels: dict[str, str] | None = None
) -> Path:
    """Each trajectory over the contours of f_2d, one panel per optimiser, into one PNG."""
    from d2lkit.report.figures import save_figure, subplots

    labels = labels or {}
    columns = 4
    rows = -(-len(trajectories) // columns)
    fig, axes = subplots(rows, columns, figsize=(4 * columns, 3 * rows), squeeze=False)
    x1, x2 = torch.meshgrid(
        torch.linspace(-5.5, 2.0, 200), torch.linspace(-3.0, 3.0, 200), indexing="ij"
    )
    f_grid = f_2d(torch.stack([x1, x2]))
    for ax, (name, points) in zip(axes.flat, trajectories.items(), strict=False):
        ax.contour(x1.numpy(), x2.numpy(), f_grid.numpy(), levels=15, colors="#1f77b4")
        ax.plot(points[:, 0].numpy(), points[:, 1].numpy(), "-o", color="#ff7f0e", markersize=3)
        final = f_2d(points[-1]).item()
        ax.set_title(f"{labels.get(name, name)}\nf after {len(points) - 1} steps: {final:.2g}")
        ax.set_xlim(-5.5, 2.0)
        ax.set_ylim(-3.0, 3.0)
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
    for ax in axes.flat[len(trajectories) :]:
        ax.axis("off")
    fig.suptitle("f(x) = 0.1 x1^2 + 2 x2^2 from (-5, -2)")
    return save_figure(fig, path)


@dataclass(frozen=True)
class LossCurve:
    steps: tuple[int, ...]  # optimiser steps taken when each loss was measured
    losses: tuple[float, ...]  # mean cross-entropy over the whole training set at those steps


def real_task_curves(
    images: torch.Tensor,
    labels: torch.Tensor,
    specs: tuple[OptimizerSpec, ...] = REAL_TASK_OPTIMIZERS,
    epochs: int = 2,
    batch_size: int = 256,
    eval_every: int = 5,
    seed: int = 0,
) -> dict[str, LossCurve]:
    """Train softmax regression (scratch) on images (N, ...) uint8 / labels (N,) with each
    optimiser from the same initial weights and the same batch order; measure the training loss
    every `eval_every` steps. GD takes as many steps as the others, each on the whole set; a short
    last batch is dropped."""
    X = images.reshape(images.shape[0], -1).float() / 255  # (N, D)
    num_classes = int(labels.max()) + 1
    curves = {}
    for spec in specs:
        torch.manual_seed(seed)
        model = Linear(X.shape[1], num_classes, init_std=0.01)
        optimizer = spec.build(list(model.parameters()))
        generator = torch.Generator().manual_seed(seed)

        def training_loss(model: Linear = model) -> float:
            with torch.no_grad():
                return cross_entropy(model(X), labels).item()

        steps, losses = [0], [training_loss()]
        step = 0
        for _ in range(epochs):
            for batch_X, batch_y in data_iter(batch_size, X, labels, generator):
                if batch_X.shape[0] < batch_size:
                    continue  # a short last batch is a noisy step that would spike every curve
                if spec.full_batch:
                    batch_X, batch_y = X, labels
                optimizer.zero_grad()
                cross_entropy(model(batch_X), batch_y).backward()
                optimizer.step()
                step += 1
                if step % eval_every == 0:
                    steps.append(step)
                    losses.append(training_loss())
        if steps[-1] != step:
            steps.append(step)
            losses.append(training_loss())
        curves[spec.name] = LossCurve(tuple(steps), tuple(losses))
    return curves


def plot_loss_curves(
    curves: dict[str, LossCurve],
    path: str | Path,
    labels: dict[str, str] | None = None,
    title: str = "softmax regression on Fashion-MNIST",
) -> Path:
    """Training loss against steps, one line per optimiser, into one PNG."""
    from d2lkit.report.figures import save_figure, subplots

    labels = labels or {}
    fig, ax = subplots(figsize=(8, 5))
    for name, curve in curves.items():
        ax.plot(curve.steps, curve.losses, label=labels.get(name, name))
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("training loss (cross-entropy)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, path)
