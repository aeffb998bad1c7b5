"""batch_norm and BatchNorm against F.batch_norm / nn.BatchNorm1d/2d, running stats included."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from d2lkit.scratch.batchnorm import BatchNorm, batch_norm

TOL = {"atol": 1e-10, "rtol": 0}
SHAPES = [(4, 3), (2, 5), (7, 1), (2, 3, 4, 5), (1, 2, 3, 3), (3, 4, 1, 2)]


def make_inputs(shape, rng):
    C = shape[1]
    x = torch.randn(shape, dtype=torch.float64, generator=rng) * 3 + 1
    gamma = torch.rand(C, dtype=torch.float64, generator=rng) + 0.5
    beta = torch.randn(C, dtype=torch.float64, generator=rng)
    moving_mean = torch.randn(C, dtype=torch.float64, generator=rng)
    moving_var = torch.rand(C, dtype=torch.float64, generator=rng) + 0.5
    return x, gamma, beta, moving_mean, moving_var


@pytest.mark.parametrize("momentum", [0.1, 0.3])
@pytest.mark.parametrize("shape", SHAPES)
def test_training_matches_f_batch_norm_values_gradients_and_running_stats(
    parity, rng, shape, momentum
):
    x, gamma, beta, moving_mean, moving_var = make_inputs(shape, rng)
    eps = 1e-5
    parity(
        lambda x, g, b: batch_norm(x, g, b, moving_mean, moving_var, eps, momentum, True)[0],
        lambda x, g, b: F.batch_norm(
            x, moving_mean.clone(), moving_var.clone(), g, b, True, momentum, eps
        ),
        x,
        gamma,
        beta,
    )
    # F.batch_norm updates the running statistics in place; ours returns the new ones.
    running_mean, running_var = moving_mean.clone(), moving_var.clone()
    F.batch_norm(x, running_mean, running_var, gamma, beta, True, momentum, eps)
    _, new_mean, new_var = batch_norm(x, gamma, beta, moving_mean, moving_var, eps, momentum, True)
    torch.testing.assert_close(new_mean, running_mean, **TOL)
    torch.testing.assert_close(new_var, running_var, **TOL)
    assert not torch.equal(new_var, moving_var)


@pytest.mark.parametrize("shape", SHAPES)
def test_evaluation_uses_the_running_stats_like_pytorch(parity, rng, shape):
    x, gamma, beta, moving_mean, moving_var = make_inputs(shape, rng)
    parity(
        lambda x, g, b: batch_norm(x, g, b, moving_mean, moving_var, training=False)[0],
        lambda x, g, b: F.batch_norm(x, moving_mean, moving_var, g, b, training=False),
        x,
        gamma,
        beta,
    )
    _, new_mean, new_var = batch_norm(x, gamma, beta, moving_mean, moving_var, training=False)
    assert torch.equal(new_mean, moving_mean) and torch.equal(new_var, moving_var)


def test_the_books_parameter_shapes_are_accepted_and_kept(rng):
    x, gamma, beta, moving_mean, moving_var = make_inputs((2, 3, 4, 4), rng)
    as_book = [t.reshape(1, 3, 1, 1) for t in (gamma, beta, moving_mean, moving_var)]
    y, new_mean, new_var = batch_norm(x, *as_book)
    y_flat, mean_flat, var_flat = batch_norm(x, gamma, beta, moving_mean, moving_var)
    torch.testing.assert_close(y, y_flat, **TOL)
    assert new_mean.shape == (1, 3, 1, 1)
    torch.testing.assert_close(new_mean.flatten(), mean_flat, **TOL)
    torch.testing.assert_close(new_var.flatten(), var_flat, **TOL)


def test_one_value_per_channel_is_refused_when_training_like_pytorch(rng):
    x, gamma, beta, moving_mean, moving_var = make_inputs((1, 3), rng)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        batch_norm(x, gamma, beta, moving_mean, moving_var)
    with pytest.raises(ValueError):
        F.batch_norm(x, moving_mean, moving_var, gamma, beta, training=True)
    # In evaluation a batch of one is fine.
    y, _, _ = batch_norm(x, gamma, beta, moving_mean, moving_var, training=False)
    assert torch.isfinite(y).all()


def test_other_ranks_are_refused(rng):
    with pytest.raises(ValueError, match=r"\(B, C\)"):
        batch_norm(torch.zeros(2, 3, 4, dtype=torch.float64), *make_inputs((2, 3), rng)[1:])


def test_bf16_input_is_normalised_with_fp32_statistics(rng):
    x, gamma, beta, moving_mean, moving_var = (t.float() for t in make_inputs((8, 4, 5, 5), rng))
    y, new_mean, _ = batch_norm(x.bfloat16(), gamma, beta, moving_mean, moving_var)
    reference = F.batch_norm(x, moving_mean.clone(), moving_var.clone(), gamma, beta, True)
    assert y.dtype == torch.bfloat16 and new_mean.dtype == torch.float32
    torch.testing.assert_close(y.float(), reference, atol=0.05, rtol=0.02)


@pytest.mark.parametrize("dims", [2, 4])
def test_module_follows_nn_batchnorm_through_training_and_evaluation(rng, dims):
    C = 3
    shape = (6, C) if dims == 2 else (4, C, 5, 5)
    ours = BatchNorm(C, momentum=0.2).double()
    theirs = (nn.BatchNorm1d if dims == 2 else nn.BatchNorm2d)(C, momentum=0.2).double()
    with torch.no_grad():
        for module in (ours, theirs):
            module.weight.copy_(torch.linspace(0.5, 1.5, C))
            module.bias.copy_(torch.linspace(-1, 1, C))
    for step in range(3):
        x = torch.randn(shape, dtype=torch.float64, generator=rng) * (step + 1)
        for module in (ours, theirs):
            module.zero_grad()
        y_ours, y_theirs = ours(x), theirs(x)
        torch.testing.assert_close(y_ours, y_theirs, **TOL)
        (y_ours**3).sum().backward()
        (y_theirs**3).sum().backward()
        torch.testing.assert_close(ours.weight.grad, theirs.weight.grad, **TOL)
        torch.testing.assert_close(ours.bias.grad, theirs.bias.grad, **TOL)
        torch.testing.assert_close(ours.running_mean, theirs.running_mean, **TOL)
        torch.testing.assert_close(ours.running_var, theirs.running_var, **TOL)
    ours.eval()
    theirs.eval()
    x = torch.randn(shape, dtype=torch.float64, generator=rng)
    torch.testing.assert_close(ours(x), theirs(x), **TOL)
    before = ours.running_mean.clone()
    ours(x)
    assert torch.equal(ours.running_mean, before), "evaluation must not touch the running stats"
