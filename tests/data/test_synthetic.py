"""The book's synthetic linear-regression data."""

from __future__ import annotations

import torch

from d2lkit.data.datasets import DataOptions, build_dataset
from d2lkit.data.synthetic import TRUE_B, TRUE_W, synthetic_linear


def test_book_constants():
    assert TRUE_W == (2.0, -3.4) and TRUE_B == 4.2


def test_shapes_and_noise_level():
    X, y = synthetic_linear(1000, seed=0)
    assert X.shape == (1000, 2) and y.shape == (1000, 1)
    residual = y[:, 0] - (X @ torch.tensor(TRUE_W) + TRUE_B)
    assert 0.008 < residual.std() < 0.012  # noise sd 0.01
    assert abs(residual.mean()) < 0.002
    assert 0.9 < X.std() < 1.1


def test_least_squares_recovers_true_w_and_b():
    X, y = synthetic_linear(1000, seed=1)
    design = torch.cat([X, torch.ones(1000, 1)], dim=1).double()
    solution = torch.linalg.lstsq(design, y.double()).solution.flatten()
    assert torch.allclose(solution, torch.tensor([2.0, -3.4, 4.2], dtype=torch.float64), atol=2e-3)


def test_seeded():
    assert torch.equal(synthetic_linear(50, seed=3)[0], synthetic_linear(50, seed=3)[0])
    assert not torch.equal(synthetic_linear(50, seed=3)[0], synthetic_linear(50, seed=4)[0])


def test_custom_weights():
    X, y = synthetic_linear(500, true_w=(1.0, 0.0, -1.0), true_b=0.0, noise=0.0)
    assert X.shape == (500, 3)
    assert torch.allclose(y[:, 0], X[:, 0] - X[:, 2])


def test_synthetic_linear_dataset():
    data = build_dataset("synthetic-linear", DataOptions(batch_size=10))
    assert data.task == "regression" and data.in_channels == 2
    assert len(data.train) == 100 and len(data.test) == 1
    X, y = next(iter(data.train))
    assert X.shape == (10, 2) and y.shape == (10, 1)  # features are not rescaled (scale 1)
    residual = y[:, 0] - (X @ torch.tensor(TRUE_W) + TRUE_B)
    assert residual.abs().max() < 0.05
