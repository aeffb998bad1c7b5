"""Each scratch optimiser follows its torch.optim counterpart for 50 steps within 1e-10."""

import copy

import pytest
import torch

from d2lkit.scratch import optim

STEPS = 50

# (ours, torch.optim's, keyword arguments both take): PyTorch's argument names throughout.
CASES = [
    (optim.SGD, torch.optim.SGD, {"lr": 0.1}),
    (optim.SGD, torch.optim.SGD, {"lr": 0.1, "weight_decay": 0.05}),
    (optim.Momentum, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9}),
    (optim.Momentum, torch.optim.SGD, {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.05}),
    (optim.Momentum, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "dampening": 0.3}),
    (
        optim.Momentum,
        torch.optim.SGD,
        {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
    ),
    (optim.AdaGrad, torch.optim.Adagrad, {"lr": 0.1}),
    (
        optim.AdaGrad,
        torch.optim.Adagrad,
        {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.05, "initial_accumulator_value": 0.1},
    ),
    (optim.RMSProp, torch.optim.RMSprop, {"lr": 0.01}),
    (optim.RMSProp, torch.optim.RMSprop, {"lr": 0.01, "alpha": 0.9, "weight_decay": 0.05}),
    (
        optim.RMSProp,
        torch.optim.RMSprop,
        {"lr": 0.005, "alpha": 0.9, "momentum": 0.5, "centered": True, "eps": 1e-6},
    ),
    (optim.AdaDelta, torch.optim.Adadelta, {}),
    (optim.AdaDelta, torch.optim.Adadelta, {"lr": 0.5, "rho": 0.95, "weight_decay": 0.05}),
    (optim.Adam, torch.optim.Adam, {"lr": 0.01}),
    (optim.Adam, torch.optim.Adam, {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.05}),
    (optim.Adam, torch.optim.Adam, {"lr": 0.01, "amsgrad": True}),
    (
        optim.Adam,
        torch.optim.Adam,
        {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True},
    ),
]


def make_problem(seed: int = 0):
    """A small non-convex regression: tanh(X W + b) against Y, and its initial parameters."""
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(32, 5, dtype=torch.float64, generator=generator)
    Y = torch.randn(32, 3, dtype=torch.float64, generator=generator)
    W = torch.randn(5, 3, dtype=torch.float64, generator=generator)
    b = torch.randn(3, dtype=torch.float64, generator=generator)
    return X, Y, (W, b)


def train(optimizer_class, kwargs, param_groups=False):
    X, Y, initial = make_problem()
    W, b = (p.clone().requires_grad_() for p in initial)
    if param_groups:  # a second group with its own learning rate
        params = [{"params": [W]}, {"params": [b], "lr": kwargs.get("lr", 1.0) / 2}]
    else:
        params = [W, b]
    optimizer = optimizer_class(params, **kwargs)
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss = ((torch.tanh(X @ W + b) - Y) ** 2).mean()
        loss.backward()
        optimizer.step()
    return [W.detach(), b.detach()], initial


def case_id(case):
    ours, _, kwargs = case
    return ours.__name__ + "".join(f"-{k}={v}" for k, v in kwargs.items())


@pytest.mark.parametrize("ours, theirs, kwargs", CASES, ids=[case_id(c) for c in CASES])
def test_parameters_after_50_steps_equal_torch_optim(ours, theirs, kwargs):
    mine, initial = train(ours, kwargs)
    expected, _ = train(theirs, kwargs)
    for p, q, start in zip(mine, expected, initial, strict=True):
        torch.testing.assert_close(p, q, atol=1e-10, rtol=0)
        assert (p - start).abs().max() > 1e-3, "the optimiser should have moved the parameters"


GROUP_CASES = [CASES[3], CASES[7], CASES[10], CASES[12], CASES[14]]


@pytest.mark.parametrize("ours, theirs, kwargs", GROUP_CASES, ids=[case_id(c) for c in GROUP_CASES])
def test_parameter_groups_keep_their_own_settings(ours, theirs, kwargs):
    mine, _ = train(ours, kwargs, param_groups=True)
    expected, _ = train(theirs, kwargs, param_groups=True)
    for p, q in zip(mine, expected, strict=True):
        torch.testing.assert_close(p, q, atol=1e-10, rtol=0)


def test_a_closure_is_evaluated_and_its_loss_returned():
    w = torch.tensor([3.0], requires_grad=True)
    optimizer = optim.Adam([w], lr=0.1)

    def closure():
        optimizer.zero_grad()
        loss = (w**2).sum()
        loss.backward()
        return loss

    assert optimizer.step(closure).item() == 9.0
    assert w.item() < 3.0


ALL_OPTIMIZERS = (
    optim.SGD,
    optim.Momentum,
    optim.AdaGrad,
    optim.RMSProp,
    optim.AdaDelta,
    optim.Adam,
)


def test_parameters_without_gradients_are_left_alone():
    used, unused = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    for optimizer_class in ALL_OPTIMIZERS:
        optimizer = optimizer_class([used, unused], lr=0.1)
        optimizer.zero_grad()
        used.sum().backward()
        optimizer.step()
        assert torch.equal(unused, torch.ones(2))


@pytest.mark.parametrize(
    "build",
    [
        lambda p: optim.SGD(p, lr=-1),
        lambda p: optim.Momentum(p, lr=0.1, momentum=1.5),
        lambda p: optim.Momentum(p, lr=0.1, nesterov=True, dampening=0.1),
        lambda p: optim.AdaGrad(p, weight_decay=-0.1),
        lambda p: optim.RMSProp(p, alpha=2),
        lambda p: optim.AdaDelta(p, rho=-0.5),
        lambda p: optim.Adam(p, betas=(0.9, 1.0)),
    ],
)
def test_bad_hyperparameters_are_refused(build):
    with pytest.raises(ValueError):
        build([torch.zeros(1, requires_grad=True)])


@pytest.mark.parametrize("optimizer_class", ALL_OPTIMIZERS, ids=lambda c: c.__name__)
def test_state_dict_round_trip_continues_identically(optimizer_class):
    X, Y, initial = make_problem()

    def loss_of(W, b):
        return ((torch.tanh(X @ W + b) - Y) ** 2).mean()

    W, b = (p.clone().requires_grad_() for p in initial)
    optimizer = optimizer_class([W, b], lr=0.01)
    for _ in range(5):
        optimizer.zero_grad()
        loss_of(W, b).backward()
        optimizer.step()
    W2, b2 = W.detach().clone().requires_grad_(), b.detach().clone().requires_grad_()
    resumed = optimizer_class([W2, b2], lr=0.01)
    # A deep copy stands for a checkpoint file (state_dict() holds the live state tensors).
    resumed.load_state_dict(copy.deepcopy(optimizer.state_dict()))
    for opt, params in ((optimizer, (W, b)), (resumed, (W2, b2))):
        for _ in range(5):
            opt.zero_grad()
            loss_of(*params).backward()
            opt.step()
    assert torch.equal(W, W2) and torch.equal(b, b2)
