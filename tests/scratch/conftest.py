"""Parity checking shared by the scratch tests: float64, values and gradients within 1e-10."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

TOLERANCE = 1e-10


def assert_parity(
    ours: Callable[..., torch.Tensor],
    reference: Callable[..., torch.Tensor],
    *inputs: torch.Tensor,
    seed: int = 0,
) -> None:
    """Run both functions on copies of `inputs` (floating ones get requires_grad), compare the
    outputs, then back-propagate the same random upstream gradient through both and compare the
    gradient of every floating input."""
    ours_inputs = [_leaf(x) for x in inputs]
    reference_inputs = [_leaf(x) for x in inputs]
    out = ours(*ours_inputs)
    expected = reference(*reference_inputs)
    assert out.shape == expected.shape
    torch.testing.assert_close(out, expected, atol=TOLERANCE, rtol=0)
    upstream = torch.randn(
        expected.shape, dtype=expected.dtype, generator=torch.Generator().manual_seed(seed)
    )
    out.backward(upstream)
    expected.backward(upstream)
    for mine, theirs in zip(ours_inputs, reference_inputs, strict=True):
        if theirs.requires_grad:
            assert mine.grad is not None, "no gradient reached an input"
            torch.testing.assert_close(mine.grad, theirs.grad, atol=TOLERANCE, rtol=0)


def _leaf(x: torch.Tensor) -> torch.Tensor:
    x = x.detach().clone()
    return x.requires_grad_() if x.is_floating_point() else x


@pytest.fixture(autouse=True)
def one_thread():
    """These tensors are tiny: a second thread gains nothing, and on a busy machine its barriers
    cost far more than the work."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def parity() -> Callable[..., None]:
    return assert_parity


@pytest.fixture
def rng() -> torch.Generator:
    return torch.Generator().manual_seed(1234)
