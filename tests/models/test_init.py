"""The book's initialisation schemes applied by name with `init_model`."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from d2lkit.errors import D2lkitError
from d2lkit.models import create_model, init_model


def big_net() -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(16, 32, 3), nn.ReLU(), nn.Flatten(), nn.Linear(512, 400))


def weights_and_biases(net: nn.Module):
    layers = [m for m in net.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    return [m.weight for m in layers], [m.bias for m in layers]


def test_normal_scheme():
    torch.manual_seed(0)
    net = init_model(big_net(), "normal")
    weights, biases = weights_and_biases(net)
    for weight in weights:  # 4,608 and 204,800 draws
        assert abs(weight.std().item() - 0.01) < 0.0015
        assert abs(weight.mean().item()) < 0.001
    assert all(torch.all(bias == 0) for bias in biases)


def test_xavier_scheme():
    torch.manual_seed(0)
    net = init_model(big_net(), "xavier")
    linear = net[3]
    bound = math.sqrt(6 / (512 + 400))  # U(-a, a), a = sqrt(6 / (fan_in + fan_out))
    assert linear.weight.abs().max().item() <= bound
    assert linear.weight.abs().max().item() > 0.99 * bound
    assert abs(linear.weight.var().item() - 2 / (512 + 400)) < 0.05 * 2 / (512 + 400)
    conv_bound = math.sqrt(6 / (16 * 9 + 32 * 9))  # conv fans include the 3x3 window
    assert net[0].weight.abs().max().item() <= conv_bound
    assert torch.all(linear.bias == 0)


def test_kaiming_scheme_draws_n_0_2_over_fan_in():
    torch.manual_seed(0)
    net = init_model(big_net(), "kaiming")
    assert abs(net[3].weight.var().item() - 2 / 512) < 0.03 * 2 / 512
    assert abs(net[0].weight.var().item() - 2 / (16 * 9)) < 0.05 * 2 / (16 * 9)
    assert torch.all(net[3].bias == 0)


def plain_relu_stack(depth: int = 12, width: int = 256) -> nn.Sequential:
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), nn.ReLU()]
    return nn.Sequential(*layers)


def test_kaiming_keeps_a_deep_relu_stack_sensitive_to_its_input_where_the_default_does_not():
    # Why the scheme exists: under PyTorch's default init a deep plain ReLU network's output hardly
    # depends on its input (the spread across inputs shrinks ~2.4x a layer), which is the plateau
    # at loss ln(10) that a short VGG run never leaves.
    torch.manual_seed(0)
    x = torch.randn(512, 256)

    def spread_across_inputs(net: nn.Module) -> float:
        with torch.no_grad():
            return net(x).std(dim=0).mean().item()

    default = spread_across_inputs(plain_relu_stack())
    kaiming = spread_across_inputs(init_model(plain_relu_stack(), "kaiming"))
    assert default < 1e-3  # ~1e-5 measured
    assert 0.05 < kaiming < 5  # ~0.25 measured


def test_custom_scheme_zeroes_small_weights():
    torch.manual_seed(0)
    net = init_model(big_net(), "custom")
    weight = net[3].weight
    kept = weight[weight != 0].abs()
    assert kept.min().item() >= 5 and kept.max().item() <= 10
    zero_fraction = (weight == 0).float().mean().item()
    assert abs(zero_fraction - 0.5) < 0.01  # |U(-10, 10)| < 5 half the time


def test_constant_scheme():
    net = init_model(big_net(), "constant")
    weights, biases = weights_and_biases(net)
    assert all(torch.all(w == 1) for w in weights) and all(torch.all(b == 0) for b in biases)


def test_init_model_leaves_fcn_bilinear_upsampling_alone():
    model = create_model("fcn_resnet18", num_classes=3)
    before = model.transpose_conv.weight.detach().clone()
    init_model(model, "normal")
    assert torch.equal(model.transpose_conv.weight, before)
    assert abs(model.final_conv.weight.std().item() - 0.01) < 0.002


def test_unknown_scheme_names_the_known_ones():
    with pytest.raises(D2lkitError, match="unknown initialisation scheme 'he'.*xavier"):
        init_model(big_net(), "he")


@pytest.mark.parametrize("name", ["softmax_scratch", "mlp_scratch", "lenet_bn_scratch"])
def test_a_model_without_torch_nn_layers_is_refused_not_left_as_it_was(name):
    from d2lkit.models import create_model

    with pytest.raises(D2lkitError, match="no torch.nn linear or convolution layer"):
        init_model(create_model(name), "constant")
