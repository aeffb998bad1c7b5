"""The scratch nn.Module wrappers against their torch.nn twins with the same weights: outputs, the
input's gradient and every parameter's gradient, so a wrapper that drops an option (stride,
padding, the pooling mode) or transposes a weight fails here, not only deep inside a model."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from d2lkit.scratch.layers import Conv2d, Linear, Pool2d, ReLU

TOLERANCE = 1e-10


def assert_same_module(ours: nn.Module, theirs: nn.Module, x: torch.Tensor) -> None:
    """Forward copies of x (float64) through both, back-propagate one random upstream gradient,
    compare the outputs, the input gradients and the parameter gradients (in registration
    order: weight, then bias)."""
    ours_x, theirs_x = x.clone().requires_grad_(), x.clone().requires_grad_()
    out, expected = ours(ours_x), theirs(theirs_x)
    torch.testing.assert_close(out, expected, atol=TOLERANCE, rtol=0)
    upstream = torch.randn(
        expected.shape, dtype=x.dtype, generator=torch.Generator().manual_seed(1)
    )
    out.backward(upstream)
    expected.backward(upstream)
    torch.testing.assert_close(ours_x.grad, theirs_x.grad, atol=TOLERANCE, rtol=0)
    for (name, mine), reference in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        expected_grad = reference.grad
        if name == "weight" and isinstance(ours, Linear):
            expected_grad = expected_grad.T  # ours is (in, out), nn.Linear's (out, in)
        torch.testing.assert_close(mine.grad, expected_grad, atol=TOLERANCE, rtol=0)


def test_linear_matches_nn_linear(rng):
    ours = Linear(12, 5).double()
    theirs = nn.Linear(12, 5).double()
    with torch.no_grad():
        theirs.weight.copy_(ours.weight.T)
        theirs.bias.copy_(ours.bias)
    # (B, 3, 2, 2) inputs: Linear flattens them to (B, 12) like the book's scratch nets do.
    x = torch.randn(4, 3, 2, 2, dtype=torch.float64, generator=rng)
    assert_same_module(ours, nn.Sequential(nn.Flatten(), theirs), x)


@pytest.mark.parametrize(
    ("stride", "padding"), [(1, 0), (2, 1), ((2, 1), (0, 2))], ids=["plain", "s2p1", "uneven"]
)
def test_conv2d_matches_nn_conv2d(rng, stride, padding):
    ours = Conv2d(3, 4, 3, stride=stride, padding=padding).double()
    theirs = nn.Conv2d(3, 4, 3, stride=stride, padding=padding).double()
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(2, 3, 9, 8, dtype=torch.float64, generator=rng)
    assert_same_module(ours, theirs, x)


@pytest.mark.parametrize(
    ("mode", "stride", "padding"),
    [("max", None, 0), ("max", 2, 1), ("avg", 2, 1), ("avg", 1, 0)],
    ids=["max", "max-s2p1", "avg-s2p1", "avg-s1"],
)
def test_pool2d_matches_nn_pooling(rng, mode, stride, padding):
    # All negative: a max pool that pads with zeros instead of -inf picks the padding.
    x = -(torch.rand(2, 3, 7, 6, dtype=torch.float64, generator=rng) + 1)
    twin = nn.MaxPool2d if mode == "max" else nn.AvgPool2d
    assert_same_module(Pool2d(3, stride, padding, mode), twin(3, stride=stride, padding=padding), x)


def test_relu_matches_nn_relu(rng):
    x = torch.randn(3, 8, dtype=torch.float64, generator=rng)
    assert_same_module(ReLU(), nn.ReLU(), x)
