"""Linear regression from scratch: minibatches, loss, SGD, and recovering the true w and b."""

import torch
import torch.nn.functional as F

from d2lkit.data.synthetic import TRUE_B, TRUE_W, synthetic_linear
from d2lkit.scratch.linreg import data_iter, linreg, sgd, squared_loss


def test_data_iter_visits_every_example_once_in_shuffled_batches():
    features = torch.arange(23.0).reshape(-1, 1)
    labels = torch.arange(23)
    batches = list(data_iter(5, features, labels, torch.Generator().manual_seed(0)))
    assert [len(y) for _, y in batches] == [5, 5, 5, 5, 3]
    seen = torch.cat([y for _, y in batches])
    assert sorted(seen.tolist()) == list(range(23))
    assert seen.tolist() != list(range(23)), "the order should be shuffled"
    for X, y in batches:
        assert torch.equal(X[:, 0].long(), y), "features and labels must stay paired"


def test_squared_loss_is_half_the_squared_error_per_example():
    y_hat = torch.tensor([[1.0], [2.0], [4.0]])
    loss = squared_loss(y_hat, torch.tensor([1.0, 3.0, 1.0]))
    assert torch.equal(loss, torch.tensor([[0.0], [0.5], [4.5]]))


def test_linreg_matches_f_linear(parity, rng):
    """Values and gradients for X, w and b; w is the book's (D, 1), F.linear's weight (1, D)."""
    X = torch.randn(6, 3, dtype=torch.float64, generator=rng)
    w = torch.randn(3, 1, dtype=torch.float64, generator=rng)
    b = torch.randn(1, dtype=torch.float64, generator=rng)
    parity(linreg, lambda X, w, b: F.linear(X, w.T, b), X, w, b)


def test_squared_loss_matches_half_of_f_mse_loss(parity, rng):
    """Values and gradients for both y_hat and y; y arrives flat (B,), y_hat as (B, 1)."""
    y_hat = torch.randn(6, 1, dtype=torch.float64, generator=rng)
    y = torch.randn(6, dtype=torch.float64, generator=rng)
    parity(
        squared_loss,
        lambda y_hat, y: F.mse_loss(y_hat, y.reshape(y_hat.shape), reduction="none") / 2,
        y_hat,
        y,
    )


def test_sgd_on_a_summed_loss_equals_torch_sgd_on_the_mean():
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(8, 3, dtype=torch.float64, generator=generator)
    y = torch.randn(8, 1, dtype=torch.float64, generator=generator)
    w0 = torch.randn(3, 1, dtype=torch.float64, generator=generator)
    ours = [w0.clone().requires_grad_(), torch.zeros(1, dtype=torch.float64, requires_grad=True)]
    theirs = [w0.clone().requires_grad_(), torch.zeros(1, dtype=torch.float64, requires_grad=True)]
    reference = torch.optim.SGD(theirs, lr=0.1)
    for _ in range(5):
        squared_loss(linreg(X, *ours), y).sum().backward()
        sgd(ours, lr=0.1, batch_size=8)
        reference.zero_grad()
        squared_loss(linreg(X, *theirs), y).mean().backward()
        reference.step()
    for mine, expected in zip(ours, theirs, strict=True):
        torch.testing.assert_close(mine, expected, atol=1e-12, rtol=0)
        assert torch.all(mine.grad == 0), "sgd zeroes the gradients it used"


def test_training_recovers_the_true_parameters():
    # The book's run: 1000 examples, batch 10, lr 0.03, 3 epochs.
    features, labels = synthetic_linear(1000, seed=0)
    generator = torch.Generator().manual_seed(0)
    w = torch.normal(0.0, 0.01, (2, 1), generator=generator).requires_grad_()
    b = torch.zeros(1, requires_grad=True)
    for _ in range(3):
        for X, y in data_iter(10, features, labels, generator):
            squared_loss(linreg(X, w, b), y).sum().backward()
            sgd([w, b], lr=0.03, batch_size=10)
    assert torch.allclose(w.detach().flatten(), torch.tensor(TRUE_W), atol=0.01)
    assert abs(b.item() - TRUE_B) < 0.01
