"""The book's polynomial-fitting experiment: model selection, underfitting and overfitting.

The labels come from a cubic, y = 5 + 1.2 x - 3.4 x^2/2! + 5.6 x^3/3! + N(0, 0.1^2), and a linear
model without bias is fitted on the features x^i / i! (i = 0..19; dividing by i! keeps the high
powers from swamping the gradients). Given the first 4 features, the model has the right capacity
and recovers the cubic's weights; given 2 (a straight line) it cannot bend, and its training loss
stays high (underfitting); given all 20 it has capacity to spare, fits the noise of its 100
training samples, and its test loss stays above its training loss (overfitting).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from d2lkit.scratch.linreg import data_iter, sgd


@dataclass(frozen=True)
class PolyFitSettings:
    """The book's settings; the data and the initial weights depend only on `seed`."""

    max_degree: int = 20  # features x^0/0! .. x^19/19!
    true_w: tuple[float, ...] = (5.0, 1.2, -3.4, 5.6)  # on the first features; the rest are 0
    noise: float = 0.1
    n_train: int = 100
    n_test: int = 100
    lr: float = 0.01
    seed: int = 0

    @property
    def batch_size(self) -> int:
        return min(10, self.n_train)  # the book's min(10, train_labels.shape[0])


@dataclass(frozen=True)
class Fit:
    """One of the book's three fits: how many of the features the model sees, for how long."""

    name: str
    num_features: int
    epochs: int


BOOK_FITS = (
    Fit("normal", 4, 400),
    Fit("underfitting", 2, 400),
    Fit("overfitting", 20, 1500),  # the book trains this one longer
)


@dataclass(frozen=True)
class PolyFitResult:
    fit: Fit
    weights: tuple[float, ...]  # the learned w, one per feature given
    train_loss: float  # mean squared error over the training set, after the last epoch
    test_loss: float
    train_curve: tuple[float, ...]  # training loss after each epoch
    test_curve: tuple[float, ...]


def make_data(
    settings: PolyFitSettings,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(train features (n_train, max_degree), train y (n_train, 1), test features, test y); the
    features of x are x^i / i! for i = 0 .. max_degree - 1, with x ~ N(0, 1)."""
    if len(settings.true_w) > settings.max_degree:
        raise ValueError(
            f"{len(settings.true_w)} true weights need max_degree >= {len(settings.true_w)}"
        )
    generator = torch.Generator().manual_seed(settings.seed)
    n = settings.n_train + settings.n_test
    x = torch.normal(0.0, 1.0, (n, 1), generator=generator)
    powers = torch.arange(settings.max_degree)
    factorials = torch.tensor([math.factorial(i) for i in range(settings.max_degree)])
    features = x**powers / factorials  # (n, 1) ** (max_degree,) -> (n, max_degree)
    true_w = torch.zeros(settings.max_degree, 1)
    true_w[: len(settings.true_w), 0] = torch.tensor(settings.true_w)
    y = features @ true_w + torch.normal(0.0, settings.noise, (n, 1), generator=generator)
    n_train = settings.n_train
    return features[:n_train], y[:n_train], features[n_train:], y[n_train:]


def mean_squared_error(X: torch.Tensor, w: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The book's nn.MSELoss, averaged: mean of (X w - y)^2, without the 1/2 of squared_loss."""
    return ((X @ w - y) ** 2).mean()


def fit_polynomial(fit: Fit, settings: PolyFitSettings | None = None) -> PolyFitResult:
    """Train w (num_features, 1), initialised like nn.Linear(num_features, 1, bias=False), by
    minibatch SGD on the mean squared error of the first `fit.num_features` features."""
    settings = settings or PolyFitSettings()
    if not 1 <= fit.num_features <= settings.max_degree:
        raise ValueError(f"num_features must be 1..{settings.max_degree}, got {fit.num_features}")
    train_X, train_y, test_X, test_y = make_data(settings)
    train_X, test_X = train_X[:, : fit.num_features], test_X[:, : fit.num_features]
    generator = torch.Generator().manual_seed(settings.seed + 1)
    bound = 1 / math.sqrt(fit.num_features)
    w = torch.empty(fit.num_features, 1).uniform_(-bound, bound, generator=generator)
    w.requires_grad_()

    def loss_on(X: torch.Tensor, y: torch.Tensor) -> float:
        with torch.no_grad():
            return mean_squared_error(X, w, y).item()

    train_curve, test_curve = [], []
    for _ in range(fit.epochs):
        for X, y in data_iter(settings.batch_size, train_X, train_y, generator):
            mean_squared_error(X, w, y).backward()
            sgd([w], settings.lr, batch_size=1)  # the loss is already a batch mean
        train_curve.append(loss_on(train_X, train_y))
        test_curve.append(loss_on(test_X, test_y))
    return PolyFitResult(
        fit=fit,
        weights=tuple(w.detach().flatten().tolist()),
        train_loss=train_curve[-1],
        test_loss=test_curve[-1],
        train_curve=tuple(train_curve),
        test_curve=tuple(test_curve),
    )


def book_fits(settings: PolyFitSettings | None = None) -> dict[str, PolyFitResult]:
    """The book's three fits on the same data, by name: normal, underfitting, overfitting."""
    return {fit.name: fit_polynomial(fit, settings) for fit in BOOK_FITS}
