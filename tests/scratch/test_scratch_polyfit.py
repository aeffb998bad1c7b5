"""The book's polynomial fitting shows a right fit, underfitting and overfitting."""

import math

import pytest
import torch
import torch.nn.functional as F

from d2lkit.scratch.polyfit import (
    Fit,
    PolyFitSettings,
    book_fits,
    fit_polynomial,
    make_data,
    mean_squared_error,
)

TRUE_W = (5.0, 1.2, -3.4, 5.6)


@pytest.fixture(scope="module")
def fits():
    """The three fits at the default seed, trained once for the whole module (about 3 s)."""
    return book_fits()


def test_the_features_are_the_books_scaled_powers_of_x():
    train_X, train_y, test_X, test_y = make_data(PolyFitSettings())
    assert train_X.shape == (100, 20) and train_y.shape == (100, 1)
    assert test_X.shape == (100, 20) and test_y.shape == (100, 1)
    x = train_X[:, 1]  # x^1 / 1!
    assert torch.equal(train_X[:, 0], torch.ones(100))
    for i in range(20):
        torch.testing.assert_close(train_X[:, i], x**i / math.factorial(i))
    # The labels are the cubic plus N(0, 0.1^2) noise.
    residual = train_y[:, 0] - (5 + 1.2 * x - 3.4 * x**2 / 2 + 5.6 * x**3 / 6)
    assert abs(residual.mean()) < 0.04 and 0.07 < residual.std() < 0.13


def test_mean_squared_error_matches_f_mse_loss(parity, rng):
    """Values and gradients for X, w and y: the mean of (X w - y)^2, as nn.MSELoss."""
    X = torch.randn(7, 4, dtype=torch.float64, generator=rng)
    w = torch.randn(4, 1, dtype=torch.float64, generator=rng)
    y = torch.randn(7, 1, dtype=torch.float64, generator=rng)
    parity(mean_squared_error, lambda X, w, y: F.mse_loss(X @ w, y), X, w, y)


def test_the_normal_fit_recovers_the_cubic(fits):
    normal = fits["normal"]
    # Over seeds 0 to 19 the learned weights are at most 0.11 off (0.004 at this seed).
    assert max(abs(w - t) for w, t in zip(normal.weights, TRUE_W, strict=True)) < 0.2
    # Its losses reach the noise floor: the MSE of N(0, 0.1^2) is 0.01.
    assert normal.train_loss < 0.02 and normal.test_loss < 0.02
    assert len(normal.train_curve) == 400 and normal.test_curve[-1] == normal.test_loss


def test_underfitting_keeps_a_high_training_loss(fits):
    # A straight line cannot follow a cubic: the loss stays hundreds of times above the noise.
    assert fits["underfitting"].train_loss > 100 * fits["normal"].train_loss
    assert len(fits["underfitting"].weights) == 2


def test_overfitting_tests_worse_than_it_trains(fits):
    overfit = fits["overfitting"]
    assert len(overfit.weights) == 20 and len(overfit.train_curve) == 1500
    assert overfit.train_loss < 0.02  # it fits the training data as well as the right model
    # ... but not new data: at this seed (the CLI's default) its test loss is 2.3 times its
    # training loss, and above the normal fit's. Other seeds give a smaller gap (docs/basics.md).
    assert overfit.test_loss > 1.5 * overfit.train_loss
    assert overfit.test_loss > fits["normal"].test_loss


def test_a_seed_gives_the_same_fit_and_another_seed_other_data():
    short = Fit("short", 4, 3)
    first, again = (fit_polynomial(short, PolyFitSettings(seed=3)) for _ in range(2))
    assert first == again
    assert fit_polynomial(short, PolyFitSettings(seed=4)).weights != first.weights


@pytest.mark.parametrize("num_features", [0, 21])
def test_more_features_than_there_are_is_refused(num_features):
    with pytest.raises(ValueError, match="num_features must be 1..20"):
        fit_polynomial(Fit("bad", num_features, 1))
