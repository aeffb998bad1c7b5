"""The book's synthetic linear-regression data: y = X w + b + noise."""

from __future__ import annotations

import torch

TRUE_W = (2.0, -3.4)
TRUE_B = 4.2


def synthetic_linear(
    num_examples: int,
    true_w: tuple[float, ...] = TRUE_W,
    true_b: float = TRUE_B,
    noise: float = 0.01,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Features X (N, len(w)) ~ N(0, 1) and targets y (N, 1) = X w + b + N(0, noise^2)."""
    generator = torch.Generator().manual_seed(seed)
    w = torch.tensor(true_w)
    X = torch.normal(0.0, 1.0, (num_examples, len(w)), generator=generator)
    y = X @ w + true_b
    y += torch.normal(0.0, noise, y.shape, generator=generator)
    return X, y.reshape(-1, 1)
