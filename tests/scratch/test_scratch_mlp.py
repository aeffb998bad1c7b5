"""relu, dropout and l2_penalty: values and gradients against PyTorch, dropout's statistics."""

import pytest
import torch
import torch.nn.functional as F

from d2lkit.scratch.mlp import dropout, l2_penalty, relu


def test_relu_matches_pytorch_including_exact_zeros(parity, rng):
    x = torch.randn(5, 7, dtype=torch.float64, generator=rng)
    x[0, :3] = 0.0  # F.relu's gradient at 0 is 0
    parity(relu, F.relu, x)


@pytest.mark.parametrize(
    ("p", "training"), [(0.5, False), (0.0, True), (1.0, True)], ids=["eval", "p0", "p1"]
)
def test_dropout_without_randomness_matches_f_dropout(parity, rng, p, training):
    """Where dropout draws nothing (evaluation, p 0 or 1), it equals PyTorch's exactly, values
    and gradients: at p 1 the gradient is zero, not missing."""
    x = torch.randn(4, 6, dtype=torch.float64, generator=rng)
    parity(
        lambda x: dropout(x, p, training=training),
        lambda x: F.dropout(x, p, training=training),
        x,
    )


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_keeps_and_scales_like_f_dropout(p):
    """Masks come from different generators, so compare what they must share: the dropped
    fraction, p for both (1e6 draws each: standard error below 5e-4), the survivors' value
    x / (1 - p), and so the mean x."""
    x = torch.full((1000, 1000), 2.0, dtype=torch.float64)
    ours = dropout(x, p, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    theirs = F.dropout(x, p)
    assert abs((ours == 0).double().mean() - (theirs == 0).double().mean()) < 0.004
    assert abs((ours == 0).double().mean().item() - p) < 0.003
    assert torch.equal(ours[ours != 0].unique(), theirs[theirs != 0].unique())
    assert torch.all((ours == 0) | (ours == 2.0 / (1 - p)))
    assert abs(ours.mean().item() - 2.0) < 0.02


@pytest.mark.parametrize("seed", [0, 1])
def test_dropout_in_bfloat16_drops_p_and_keeps_the_mean(seed):
    """bf16 keeps 8 bits, so uniform numbers drawn in it round near p: p 0.1 dropped 10.2 % and
    the mean fell to 0.996. 4e6 draws: the dropped fraction's standard error is 1.5e-4."""
    x = torch.ones(2000, 2000, dtype=torch.bfloat16)
    y = dropout(x, 0.1, generator=torch.Generator().manual_seed(seed))
    survivor = (x[0, 0] / 0.9).item()  # 1 / 0.9 rounded to bf16, as F.dropout's survivors
    assert torch.all((y == 0) | (y == survivor))
    assert abs((y == 0).double().mean().item() - 0.1) < 6e-4
    assert abs(y.double().mean().item() - 0.9 * survivor) < 6e-4


def test_dropout_gradient_is_the_kept_mask_scaled(rng):
    x = (torch.rand(50, 40, dtype=torch.float64, generator=rng) + 0.5).requires_grad_()
    y = dropout(x, 0.3, generator=torch.Generator().manual_seed(1))
    y.sum().backward()
    torch.testing.assert_close(x.grad, (y != 0).double() / 0.7, atol=1e-12, rtol=0)


def test_dropout_same_generator_seed_same_mask():
    x = torch.ones(10, 10)
    a = dropout(x, 0.5, generator=torch.Generator().manual_seed(3))
    b = dropout(x, 0.5, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_rejects_a_probability_outside_0_1(p):
    with pytest.raises(ValueError, match="probability"):
        dropout(torch.ones(3), p)


def test_l2_penalty_is_half_the_squared_norm(parity, rng):
    w = torch.randn(20, 3, dtype=torch.float64, generator=rng)
    parity(l2_penalty, lambda w: torch.linalg.vector_norm(w) ** 2 / 2, w)
