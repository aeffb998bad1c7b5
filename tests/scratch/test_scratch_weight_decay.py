"""The book's weight-decay experiment shows its effect."""

import pytest

from d2lkit.scratch.weight_decay import (
    WeightDecaySettings,
    make_data,
    train_with_weight_decay,
)


def test_the_data_has_the_books_shapes():
    train_X, train_y, test_X, test_y = make_data(WeightDecaySettings())
    assert train_X.shape == (20, 200) and train_y.shape == (20, 1)
    assert test_X.shape == (100, 200) and test_y.shape == (100, 1)


def test_weight_decay_shrinks_w_by_orders_of_magnitude_and_lowers_the_test_loss():
    plain = train_with_weight_decay(0.0)
    decayed = train_with_weight_decay(3.0)
    # The book: ||w|| 15.11 without the penalty, 0.035 with lambda = 3.
    assert plain.w_norm > 5
    assert decayed.w_norm < plain.w_norm / 100
    assert decayed.test_loss < plain.test_loss / 100
    # Without the penalty the 20 training rows are fitted almost exactly: overfitting.
    assert plain.train_loss < decayed.train_loss
    assert len(plain.train_curve) == 100 and plain.test_curve[-1] == plain.test_loss


def test_negative_lambda_is_refused():
    with pytest.raises(ValueError, match="lambd"):
        train_with_weight_decay(-1.0, WeightDecaySettings(epochs=1))
