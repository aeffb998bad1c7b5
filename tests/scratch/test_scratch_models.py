"""The registered scratch models: shapes, parity with the same network built from torch.nn, and
that they learn."""

from itertools import pairwise

import pytest
import torch
from torch import nn

from d2lkit.models.registry import create_model, get_entry, list_models
from d2lkit.scratch.optim import Adam
from d2lkit.scratch.softmax import accuracy, cross_entropy

SCRATCH_MODELS = ["softmax_scratch", "mlp_scratch", "mlp_dropout_scratch", "lenet_bn_scratch"]
TOL = {"atol": 1e-10, "rtol": 0}


def test_all_scratch_models_are_registered():
    assert list_models("*_scratch") == sorted(SCRATCH_MODELS)
    for name in SCRATCH_MODELS:
        entry = get_entry(name)
        assert entry.input_size == (1, 28, 28) and entry.task == "classification"


@pytest.mark.parametrize("name", SCRATCH_MODELS)
@pytest.mark.parametrize("num_classes, in_channels", [(10, 1), (5, 3)])
def test_output_shape_and_every_parameter_gets_a_gradient(name, num_classes, in_channels):
    torch.manual_seed(0)
    model = create_model(name, num_classes=num_classes, in_channels=in_channels)
    out = model(torch.randn(4, in_channels, 28, 28))
    assert out.shape == (4, num_classes)
    out.sum().backward()
    for pname, param in model.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, pname


def reference_lenet_bn() -> nn.Sequential:
    """The same network from torch.nn layers."""
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5),
        nn.BatchNorm2d(6),
        nn.Sigmoid(),
        nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 16, kernel_size=5),
        nn.BatchNorm2d(16),
        nn.Sigmoid(),
        nn.MaxPool2d(2, 2),
        nn.Flatten(),
        nn.Linear(256, 120),
        nn.BatchNorm1d(120),
        nn.Sigmoid(),
        nn.Linear(120, 84),
        nn.BatchNorm1d(84),
        nn.Sigmoid(),
        nn.Linear(84, 10),
    )


def reference_mlp(*hidden: int, dropouts: tuple[float, ...] = ()) -> nn.Sequential:
    """784 -> hidden... -> 10 with ReLU (and dropout, when given) after every hidden layer."""
    layers: list[nn.Module] = [nn.Flatten()]
    widths = (784, *hidden)
    for index, (width_in, width_out) in enumerate(pairwise(widths)):
        layers += [nn.Linear(width_in, width_out), nn.ReLU()]
        if dropouts:
            layers.append(nn.Dropout(dropouts[index]))
    return nn.Sequential(*layers, nn.Linear(widths[-1], 10))


# Written here, not taken from the zoo: a mistake the scratch model and its zoo twin shared (an
# activation, a dropout rate) would pass a comparison of the two.
REFERENCES = {
    "softmax_scratch": lambda: reference_mlp(),
    "mlp_scratch": lambda: reference_mlp(256),
    "mlp_dropout_scratch": lambda: reference_mlp(256, 256, dropouts=(0.2, 0.5)),
    "lenet_bn_scratch": reference_lenet_bn,
}


@pytest.mark.parametrize("reference", ["written here", "the zoo's twin"])
@pytest.mark.parametrize("name", SCRATCH_MODELS)
def test_scratch_model_equals_the_torch_nn_network(name, reference):
    """Each scratch model beside the same network of torch.nn layers, written here and in the zoo
    (its name without `_scratch`): same weights, same input, same scores and gradients, in
    training (batch statistics) and in evaluation (running statistics, no dropout). The dropout
    model is compared in evaluation, where nothing is random, and its rates are checked."""
    torch.manual_seed(0)
    ours = create_model(name).double()
    if reference == "written here":
        theirs = REFERENCES[name]().double()
    else:
        theirs = create_model(name.removesuffix("_scratch")).double()
    our_layers = [m for m in ours if list(m.parameters())]
    their_layers = [m for m in theirs if list(m.parameters())]
    with torch.no_grad():
        for mine, ref in zip(our_layers, their_layers, strict=True):
            # Our Linear stores W as (in, out), the book's layout; nn.Linear as (out, in).
            weight = mine.weight.T if isinstance(ref, nn.Linear) else mine.weight
            ref.weight.copy_(weight)
            ref.bias.copy_(mine.bias)
    our_rates = [m.p for m in ours if hasattr(m, "p")]
    assert our_rates == [m.p for m in theirs if isinstance(m, nn.Dropout)]
    if our_rates:
        ours.eval()
        theirs.eval()
    x = torch.randn(8, 1, 28, 28, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    out, expected = ours(x), theirs(x)
    torch.testing.assert_close(out, expected, **TOL)
    out.square().sum().backward()
    expected.square().sum().backward()
    for mine, ref in zip(our_layers, their_layers, strict=True):
        grad = mine.weight.grad.T if isinstance(ref, nn.Linear) else mine.weight.grad
        torch.testing.assert_close(grad, ref.weight.grad, **TOL)
        torch.testing.assert_close(mine.bias.grad, ref.bias.grad, **TOL)
        if hasattr(ref, "running_var"):
            torch.testing.assert_close(mine.running_mean, ref.running_mean, **TOL)
            torch.testing.assert_close(mine.running_var, ref.running_var, **TOL)
    ours.eval()
    theirs.eval()
    torch.testing.assert_close(ours(x), theirs(x), **TOL)


def test_dropout_is_active_in_training_and_off_in_evaluation():
    torch.manual_seed(0)
    model = create_model("mlp_dropout_scratch")
    x = torch.randn(16, 1, 28, 28)
    assert not torch.equal(model(x), model(x))
    model.eval()
    assert torch.equal(model(x), model(x))


@pytest.mark.parametrize("name", ["mlp_scratch", "lenet_bn_scratch"])
def test_scratch_models_can_fit_a_small_batch(name):
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(32, 1, 28, 28, generator=generator)
    y = torch.randint(0, 10, (32,), generator=generator)
    torch.manual_seed(0)
    model = create_model(name)
    optimizer = Adam(model.parameters(), lr=0.01)
    for _ in range(60):
        optimizer.zero_grad()
        cross_entropy(model(x), y).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        assert accuracy(model(x), y) == 1.0
