"""The book's weight-decay experiment: high-dimensional linear regression with 20 training rows.

With 200 inputs and only 20 examples, plain SGD can fit the training set with almost any w: the
180 directions the data does not see keep their random initial values, so ||w|| stays near its
initial ~14 and the test loss is large. The L2 penalty lambda ||w||^2 / 2 shrinks every direction
and the test loss falls.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from d2lkit.scratch.linreg import data_iter, linreg, sgd, squared_loss
from d2lkit.scratch.mlp import l2_penalty


@dataclass(frozen=True)
class WeightDecaySettings:
    """The book's settings: y = 0.01 * sum(x) + 0.05 + N(0, 0.01^2), x ~ N(0, I_200)."""

    n_train: int = 20
    n_test: int = 100
    num_inputs: int = 200
    true_w: float = 0.01  # every component of the true weight vector
    true_b: float = 0.05
    noise: float = 0.01
    batch_size: int = 1
    lr: float = 0.003
    epochs: int = 100
    seed: int = 0


@dataclass(frozen=True)
class WeightDecayResult:
    lambd: float
    train_loss: float  # mean of (y_hat - y)^2 / 2 over the training set, after the last epoch
    test_loss: float
    w_norm: float  # ||w||_2
    train_curve: tuple[float, ...]  # training loss after each epoch
    test_curve: tuple[float, ...]


def make_data(
    settings: WeightDecaySettings,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(train X (n_train, D), train y (n_train, 1), test X (n_test, D), test y (n_test, 1))."""
    generator = torch.Generator().manual_seed(settings.seed)
    n = settings.n_train + settings.n_test
    X = torch.normal(0.0, 1.0, (n, settings.num_inputs), generator=generator)
    w = torch.full((settings.num_inputs, 1), settings.true_w)
    y = X @ w + settings.true_b + torch.normal(0.0, settings.noise, (n, 1), generator=generator)
    n_train = settings.n_train
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def train_with_weight_decay(
    lambd: float, settings: WeightDecaySettings | None = None
) -> WeightDecayResult:
    """Fit linreg with minibatch SGD on loss + lambd * ||w||^2 / 2; the data and the initial w
    depend only on settings.seed, so runs with different lambd differ only in the penalty."""
    settings = settings or WeightDecaySettings()
    if lambd < 0:
        raise ValueError(f"lambd must be >= 0, got {lambd}")
    train_X, train_y, test_X, test_y = make_data(settings)
    generator = torch.Generator().manual_seed(settings.seed + 1)
    w = torch.normal(0.0, 1.0, (settings.num_inputs, 1), generator=generator).requires_grad_()
    b = torch.zeros(1, requires_grad=True)

    def mean_loss(X: torch.Tensor, y: torch.Tensor) -> float:
        with torch.no_grad():
            return squared_loss(linreg(X, w, b), y).mean().item()

    train_curve, test_curve = [], []
    for _ in range(settings.epochs):
        for X, y in data_iter(settings.batch_size, train_X, train_y, generator):
            # The penalty is added per example, so dividing the summed gradient by the batch
            # size in sgd leaves exactly one lambd * w in the mean gradient.
            loss = squared_loss(linreg(X, w, b), y) + lambd * l2_penalty(w)
            loss.sum().backward()
            sgd([w, b], settings.lr, X.shape[0])
        train_curve.append(mean_loss(train_X, train_y))
        test_curve.append(mean_loss(test_X, test_y))
    return WeightDecayResult(
        lambd=lambd,
        train_loss=train_curve[-1],
        test_loss=test_curve[-1],
        w_norm=w.detach().norm().item(),
        train_curve=tuple(train_curve),
        test_curve=tuple(test_curve),
    )
