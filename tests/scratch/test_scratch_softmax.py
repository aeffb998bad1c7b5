"""softmax, naive_softmax, cross_entropy and accuracy against F.softmax / F.cross_entropy."""

import pytest
import torch
import torch.nn.functional as F

from d2lkit.scratch.softmax import accuracy, cross_entropy, logsumexp, naive_softmax, softmax

SHAPES = [(1, 2), (7, 10), (64, 3), (5,)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("fn", [softmax, naive_softmax])
def test_softmax_matches_pytorch(parity, rng, fn, shape):
    logits = torch.randn(shape, dtype=torch.float64, generator=rng) * 4
    parity(fn, lambda x: F.softmax(x, dim=-1), logits)


@pytest.mark.parametrize("shape", [(1, 2), (7, 10), (64, 3)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_matches_pytorch(parity, rng, shape, reduction):
    logits = torch.randn(shape, dtype=torch.float64, generator=rng) * 4
    labels = torch.randint(0, shape[1], shape[:1], generator=rng)
    parity(
        lambda x, y: cross_entropy(x, y, reduction),
        lambda x, y: F.cross_entropy(x, y, reduction=reduction),
        logits,
        labels,
    )


def test_logsumexp_matches_pytorch(parity, rng):
    parity(
        logsumexp,
        lambda x: torch.logsumexp(x, dim=-1),
        torch.randn(6, 9, dtype=torch.float64, generator=rng) * 50,
    )


def test_naive_softmax_overflows_where_the_stable_one_does_not():
    logits = torch.tensor([[1000.0, 0.0, -5.0], [800.0, 801.0, 1.0]], dtype=torch.float64)
    naive = naive_softmax(logits)
    assert not torch.isfinite(naive).all(), "exp(1000) should overflow to inf, inf / inf = nan"
    stable = softmax(logits)
    assert torch.isfinite(stable).all()
    torch.testing.assert_close(stable, F.softmax(logits, dim=-1), atol=1e-10, rtol=0)
    torch.testing.assert_close(stable.sum(dim=-1), torch.ones(2, dtype=torch.float64))


def test_cross_entropy_stays_finite_on_huge_logits(parity):
    # The true class has probability ~e^-2000: log(softmax) would be log(0) = -inf.
    logits = torch.tensor([[1000.0, -1000.0, 0.0], [3.0, 2000.0, -2000.0]], dtype=torch.float64)
    labels = torch.tensor([1, 1])
    loss = cross_entropy(logits, labels)
    assert torch.isfinite(loss)
    assert (-torch.log(naive_softmax(logits)[0, 1])).isinf()
    parity(cross_entropy, F.cross_entropy, logits, labels)


def test_logsumexp_of_a_row_of_minus_infinity_is_minus_infinity():
    x = torch.tensor([[float("-inf")] * 3, [0.0, float("-inf"), 0.0]], dtype=torch.float64)
    torch.testing.assert_close(logsumexp(x), torch.logsumexp(x, dim=-1))


def test_cross_entropy_rejects_an_unknown_reduction():
    with pytest.raises(ValueError, match="reduction"):
        cross_entropy(torch.zeros(2, 3), torch.zeros(2, dtype=torch.long), reduction="max")


def test_accuracy_counts_the_argmax_hits():
    scores = torch.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    assert accuracy(scores, torch.tensor([1, 0, 0, 1])) == 0.5
    assert accuracy(scores, torch.tensor([1, 0, 1, 0])) == 1.0
    with pytest.raises(ValueError):
        accuracy(torch.zeros(0, 2), torch.zeros(0, dtype=torch.long))
