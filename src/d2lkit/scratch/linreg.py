"""Linear regression from scratch: minibatches, the model, the squared loss and minibatch SGD."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch


def data_iter(
    batch_size: int,
    features: torch.Tensor,
    labels: torch.Tensor,
    generator: torch.Generator | None = None,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield (features (B, D), labels (B, ...)) batches in random order; the last may be short."""
    num_examples = features.shape[0]
    order = torch.randperm(num_examples, generator=generator)
    for start in range(0, num_examples, batch_size):
        index = order[start : start + batch_size]
        yield features[index], labels[index]


def linreg(X: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The linear model X w + b: (B, D) @ (D, 1) + (1,) -> (B, 1)."""
    return X @ w + b


def squared_loss(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-example loss (y_hat - y)^2 / 2, shaped like y_hat (not reduced)."""
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def sgd(params: Iterable[torch.Tensor], lr: float, batch_size: int) -> None:
    """Minibatch SGD for the gradient of a *summed* loss: p -= lr * grad / batch_size.

    Dividing by the batch size turns the summed gradient into the mean; with a loss that is already
    a mean, pass batch_size=1 (dividing twice is the bug that made the book's ports need lr 100).
    """
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()
