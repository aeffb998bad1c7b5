"""The book's custom layers, checked against PyTorch's built-ins and plain tensor algebra."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from d2lkit.models.layers import (
    CenteredLayer,
    FlattenLayer,
    GlobalAvgPool2d,
    MyDense,
    MyDictDense,
    shared_layer_net,
)


def test_centered_layer_removes_the_mean():
    x = torch.arange(1.0, 6.0, dtype=torch.float64)
    y = CenteredLayer()(x)
    assert torch.equal(y, torch.tensor([-2.0, -1.0, 0.0, 1.0, 2.0], dtype=torch.float64))
    net = nn.Sequential(nn.Linear(8, 128), CenteredLayer()).double()
    assert abs(net(torch.rand(4, 8, dtype=torch.float64)).mean().item()) < 1e-12


def linear_chain_reference(x: torch.Tensor, weights: list[torch.Tensor]) -> torch.Tensor:
    """x through F.linear with each (in, out) weight, no bias: what the layer's mm chain is."""
    for weight in weights:
        x = F.linear(x, weight.T)
    return x


def assert_same_chain(layer: nn.Module, names: list[str], x: torch.Tensor, **kwargs) -> None:
    """The layer against F.linear on cloned weights: output, then each weight's gradient."""
    params = dict(layer.named_parameters())
    clones = [params[name].detach().clone().requires_grad_() for name in names]
    out = layer(x, **kwargs)
    expected = linear_chain_reference(x, clones)
    torch.testing.assert_close(out, expected)
    upstream = torch.randn(expected.shape, generator=torch.Generator().manual_seed(0))
    out.backward(upstream)
    expected.backward(upstream)
    for name, clone in zip(names, clones, strict=True):
        torch.testing.assert_close(params[name].grad, clone.grad)
    others = [p.grad for name, p in params.items() if name not in names]
    assert all(grad is None for grad in others), "a weight the input never met got a gradient"


def test_my_dense_registers_its_parameter_list():
    layer = MyDense()
    assert [tuple(p.shape) for p in layer.parameters()] == [(4, 4), (4, 4), (4, 4), (4, 1)]
    assert list(layer.state_dict()) == ["params.0", "params.1", "params.2", "params.3"]
    names = ["params.0", "params.1", "params.2", "params.3"]
    assert_same_chain(layer, names, torch.rand(2, 4, generator=torch.Generator().manual_seed(1)))


@pytest.mark.parametrize(("choice", "width"), [("linear1", 4), ("linear2", 1), ("linear3", 2)])
def test_my_dict_dense_picks_a_weight_by_name(choice, width):
    layer = MyDictDense()
    assert sorted(layer.state_dict()) == ["params.linear1", "params.linear2", "params.linear3"]
    x = torch.rand(3, 4, generator=torch.Generator().manual_seed(1))
    assert layer(x, choice).shape == (3, width)
    assert_same_chain(layer, [f"params.{choice}"], x, choice=choice)


def test_my_dict_dense_refuses_an_unknown_name():
    with pytest.raises(KeyError, match="linear9"):
        MyDictDense()(torch.ones(1, 4), "linear9")


def test_global_avg_pool_matches_adaptive_avg_pool():
    x = torch.rand(3, 5, 7, 6, dtype=torch.float64, requires_grad=True)
    ours = GlobalAvgPool2d()(x)
    (ours_grad,) = torch.autograd.grad(ours.pow(2).sum(), x)
    theirs = nn.AdaptiveAvgPool2d(1)(x)
    (theirs_grad,) = torch.autograd.grad(theirs.pow(2).sum(), x)
    assert ours.shape == (3, 5, 1, 1)
    assert torch.allclose(ours, theirs, atol=1e-12)
    assert torch.allclose(ours_grad, theirs_grad, atol=1e-12)


def test_flatten_layer_matches_nn_flatten():
    x = torch.rand(3, 2, 4, 5, requires_grad=True)
    upstream = torch.rand(3, 40)
    ours, theirs = FlattenLayer()(x), nn.Flatten()(x)
    assert torch.equal(ours, theirs)
    (ours_grad,) = torch.autograd.grad(ours, x, upstream)
    (theirs_grad,) = torch.autograd.grad(theirs, x, upstream)
    assert torch.equal(ours_grad, theirs_grad)


def test_shared_layer_is_one_object_counted_once():
    net = shared_layer_net()
    assert net[2] is net[4]
    assert net[2].weight is net[4].weight
    # 4*8+8 + (8*8+8, shared) + 8*1+1: the shared layer's 72 parameters count once.
    assert sum(p.numel() for p in net.parameters()) == 40 + 72 + 9


def test_shared_layer_accumulates_both_gradients():
    torch.manual_seed(0)
    shared_net = shared_layer_net().double()
    # The same network with two independent copies of the shared layer, same starting weights.
    first, second = copy.deepcopy(shared_net[2]), copy.deepcopy(shared_net[2])
    untied = nn.Sequential(
        shared_net[0], nn.ReLU(), first, nn.ReLU(), second, nn.ReLU(), shared_net[6]
    )
    x = torch.rand(5, 4, dtype=torch.float64)
    assert torch.allclose(shared_net(x), untied(x))
    shared_net(x).sum().backward()
    (untied_first, untied_second) = torch.autograd.grad(
        untied(x).sum(), [first.weight, second.weight]
    )
    assert torch.allclose(shared_net[2].weight.grad, untied_first + untied_second, atol=1e-12)
    assert not torch.allclose(untied_first, untied_second)  # both uses really contribute
